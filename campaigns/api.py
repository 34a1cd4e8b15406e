"""The brand's campaigns, posts, channels, media library and calendar through the API.

Reads come from each campaign's latest revision (what the editor shows); writes call the same
services as the admin (``campaigns.services``), so every rule, workflow step and permission
applies identically."""

from __future__ import annotations

import datetime as dt
import functools

from django.core.exceptions import ValidationError
from django.db.models import (
    BooleanField,
    F,
    Func,
    Value,
)
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiRequest,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from wagtail.images import get_image_model
from wagtail.models import WorkflowState

from agency.api.conventions import (
    ID,
    IF_MATCH,
    ApiViewSet,
    AwareDateTimeField,
    Integer,
    StrictOrdering,
    Text,
    Url,
    check_if_match,
    etag_of,
    id_parameter,
    query_choice,
    query_id,
    query_text,
    query_time,
    text_parameter,
)
from agency.api.errors import Conflict
from campaigns import networks, services
from campaigns.models import CampaignPage, Channel
from campaigns.selectors import CalendarState, ChannelState, calendar_entries, next_free_slot
from campaigns.status import CampaignStatus, has_status, with_status

STATUSES = CampaignStatus.values


# --- Serializers ----------------------------------------------------------------------------


class MediaItem(serializers.Serializer):
    """An image with its alt text, or a video with its description: one of the two."""

    image = Integer(min_value=1, max_value=2**31 - 1, required=False,
                    help_text="An image id from /api/v1/media/.")
    alt_text = Text(max_length=2000, allow_blank=True, required=False,
                    help_text="What the image shows, for screen readers.")
    video = Integer(min_value=1, max_value=2**31 - 1, required=False,
                    help_text="A video id from /api/v1/videos/.")
    description = Text(
        max_length=2000, allow_blank=True, required=False,
        help_text="What happens in the video, for people who cannot watch it (required with "
                  "video).")

    def validate(self, data):
        if ("image" in data) == ("video" in data):
            raise serializers.ValidationError(
                "Give either image (with alt_text) or video (with description).")
        if "video" in data and not data.get("description", "").strip():
            raise serializers.ValidationError(
                {"description": "Describe what happens in the video, for people who cannot "
                                "watch it."})
        return data


class PostData(serializers.Serializer):
    number = serializers.IntegerField(read_only=True, help_text="1-based, in campaign order.")
    copy = Text(max_length=10_000, allow_blank=True, default="", trim_whitespace=False)
    link = Url(max_length=200, allow_blank=True, default="")
    first_comment = Text(max_length=5_000, allow_blank=True, default="")
    publish_at = AwareDateTimeField(allow_null=True, default=None)
    channels = serializers.ListField(
        child=Integer(min_value=1, max_value=2**31 - 1), max_length=50,
        default=list, help_text="Channel ids from /api/v1/channels/.")
    media = MediaItem(many=True, max_length=10, default=list)
    network_options = serializers.DictField(
        child=serializers.DictField(), default=dict,
        help_text="What a network asks for beyond text and media, by network, e.g. "
                  '{"pinterest": {"board": "123", "title": "Autumn roast"}}; each channel at '
                  "/api/v1/channels/ lists the options its network takes (post_options).")

    def validate_network_options(self, value):
        from campaigns.forms import clean_network_options

        try:
            return clean_network_options(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class CampaignData(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = Text(max_length=255)
    status = serializers.ChoiceField(choices=CampaignStatus.choices, read_only=True)
    goal = Text(max_length=5_000, allow_blank=True, required=False)
    audience = Text(max_length=5_000, allow_blank=True, required=False)
    key_message = Text(max_length=5_000, allow_blank=True, required=False)
    story = Text(
        max_length=100_000, allow_blank=True, required=False,
        help_text="HTML: paragraphs, h3, bold, italic, links and lists; anything else is "
                  "removed.")
    starts_on = serializers.DateField(allow_null=True, required=False)
    ends_on = serializers.DateField(allow_null=True, required=False)
    tags = serializers.ListField(child=Text(max_length=100), max_length=50, required=False)
    post_count = serializers.IntegerField(read_only=True)
    first_post_at = AwareDateTimeField(read_only=True, allow_null=True)
    revision_id = serializers.IntegerField(read_only=True, allow_null=True)
    updated_at = AwareDateTimeField(read_only=True, allow_null=True)
    approved_at = AwareDateTimeField(read_only=True, allow_null=True,
                                     help_text="When the client's approval last published it.")


class CampaignDetail(CampaignData):
    posts = PostData(many=True, max_length=500, required=False,
                     help_text="Every post, in order. On update, replaces all posts.")


class StepData(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["in_progress", "approved", "rejected", "skipped", "cancelled"],
        help_text="rejected: changes were requested (see comment).")
    revision_id = serializers.IntegerField(allow_null=True)
    started_at = AwareDateTimeField()
    finished_at = AwareDateTimeField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)


class CampaignProgress(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    revision_id = serializers.IntegerField(allow_null=True)
    approved_at = AwareDateTimeField(allow_null=True)
    workflow_status = serializers.ChoiceField(
        choices=["in_progress", "approved", "needs_changes", "cancelled"], allow_null=True)
    steps = StepData(many=True)


SUMMARY_TEXTS = ("goal", "audience", "key_message", "story")
SUMMARY_FIELDS = (*SUMMARY_TEXTS, "starts_on", "ends_on", "tags", "post_count", "first_post_at")


def campaign_values(pages):
    """``pages`` (from ``campaigns_annotated``) as rows of plain columns: the draft's title and
    its summary (``CampaignSummary``, written with each revision). One query, whatever the number
    of campaigns or posts. Finish each row with ``_row``."""
    return pages.values("id", "draft_title", "status",
                        "updated_at", "latest_revision_id", "last_published_at",
                        *[f"summary__{name}" for name in SUMMARY_FIELDS])


def campaign_rows(pages) -> list[dict]:
    return [_row(row) for row in campaign_values(pages)]


def _utc(value):
    return value.astimezone(dt.UTC) if value is not None else None


def _row(row: dict) -> dict:
    """A row of ``campaign_values`` in its API form (``CampaignData``'s fields, in order). A page
    saved without a revision has no summary: its texts are empty and it has no posts."""
    out = {"id": row["id"], "title": row["draft_title"],
           "status": row["status"]}
    for name in SUMMARY_TEXTS:
        out[name] = row[f"summary__{name}"] or ""
    out["starts_on"] = row["summary__starts_on"]
    out["ends_on"] = row["summary__ends_on"]
    out["tags"] = row["summary__tags"] or []
    out["post_count"] = row["summary__post_count"] or 0
    # Times in UTC like every time the API gives (the database gives the session's zone).
    out["first_post_at"] = _utc(row["summary__first_post_at"])
    out["revision_id"] = row["latest_revision_id"]
    out["updated_at"] = _utc(row["updated_at"])
    out["approved_at"] = _utc(row["last_published_at"])
    return out


class _HasTag(Func):
    """``tags`` (a text array) holds ``tag``, in any case: ``_HasTag(F(array), Value(tag))``."""

    template = "EXISTS (SELECT FROM unnest(%(expressions)s))"
    arg_joiner = ") AS t(name) WHERE lower(t.name) = lower("
    output_field = BooleanField()


def _media_value(block) -> dict | None:
    if block.block_type == "image" and block.value.get("image") is not None:
        return {"image": block.value["image"].pk, "alt_text": block.value["alt_text"]}
    if block.block_type == "video" and block.value.get("video") is not None:
        return {"video": block.value["video"].pk, "description": block.value["description"]}
    return None


def post_values(page) -> list[dict]:
    rows = []
    for number, post in enumerate(page.posts.all(), start=1):
        rows.append({
            "number": number, "copy": post.copy, "link": post.link,
            "first_comment": post.first_comment, "publish_at": post.publish_at,
            "channels": [c.pk for c in post.channels.all()],
            "media": [value for value in map(_media_value, post.media) if value],
            "network_options": post.network_options or {},
        })
    return rows


# --- Campaigns ------------------------------------------------------------------------------


def campaigns_annotated():
    """Campaign pages with ``status`` and ``updated_at``: a fresh queryset each call."""
    return _campaigns_annotated().all()


@functools.cache
def _campaigns_annotated():
    # Built once per process (building it took a third of a millisecond per request) and never
    # evaluated itself: ``campaigns_annotated`` hands out copies.
    return with_status(CampaignPage.objects).annotate(updated_at=F("latest_revision_created_at"))


LIST_FILTERS = [
    OpenApiParameter("status", str, enum=STATUSES, description="Only campaigns in this state."),
    text_parameter("tag", "Only campaigns with this tag."),
    text_parameter("search", "Words in the title."),
    OpenApiParameter("updated_after", OpenApiTypes.DATETIME,
                     description="Changed at or after this time (with its offset)."),
    OpenApiParameter("updated_before", OpenApiTypes.DATETIME,
                     description="Changed before this time (with its offset)."),
]


class CampaignViewSet(mixins.ListModelMixin, ApiViewSet):
    """Campaigns of the brand: list and filter, draft, update a draft, submit for review."""

    serializer_class = CampaignDetail
    lookup_value_regex = ID
    filter_backends = [StrictOrdering]
    ordering_fields = ["id", "updated_at"]
    ordering = "-id"

    def get_queryset(self):
        pages = campaigns_annotated()
        state = query_choice(self.request, "status", STATUSES)
        if state:
            pages = pages.filter(has_status(state))
        if tag := query_text(self.request, "tag"):  # the draft's tags, as the rows show them
            pages = pages.filter(_HasTag(F("summary__tags"), Value(tag)))
        if search := query_text(self.request, "search"):
            pages = pages.filter(draft_title__icontains=search)
        if after := query_time(self.request, "updated_after"):
            pages = pages.filter(latest_revision_created_at__gte=after)
        if before := query_time(self.request, "updated_before"):
            pages = pages.filter(latest_revision_created_at__lt=before)
        return pages

    def _page(self, pk) -> CampaignPage:
        return get_object_or_404(campaigns_annotated(), pk=pk)

    def _detail(self, page, status_code=status.HTTP_200_OK, headers=None) -> Response:
        page = self._page(page.pk)
        row = campaign_rows(campaigns_annotated().filter(pk=page.pk))[0]
        row["posts"] = post_values(page.get_latest_revision_as_object())
        data = CampaignDetail(row).data
        return Response(data, status=status_code, headers={
            "ETag": etag_of(page.pk, page.latest_revision_id), **(headers or {})})

    @extend_schema(parameters=LIST_FILTERS, responses=CampaignData(many=True))
    def list(self, request, *args, **kwargs):
        # Paginated as plain rows, not Page instances: building 50 Wagtail pages costs more
        # than the query.
        rows = self.paginate_queryset(campaign_values(self.filter_queryset(self.get_queryset())))
        # The rows are plain values already in their API form (times in UTC, rendered with
        # "Z" by the JSON encoder as the serializer would): no per-field serializer pass.
        return self.get_paginated_response([_row(r) for r in rows])

    @extend_schema(responses=CampaignDetail)
    def retrieve(self, request, pk=None):
        return self._detail(self._page(pk))

    @extend_schema(request=CampaignDetail, responses={201: CampaignDetail})
    def create(self, request):
        serializer = CampaignDetail(data=request.data)
        serializer.is_valid(raise_exception=True)
        page = services.campaign_draft_create(data=serializer.validated_data, user=request.user)
        return self._detail(page, status.HTTP_201_CREATED,
                            {"Location": f"/api/v1/campaigns/{page.pk}/"})

    @extend_schema(
        request=CampaignDetail, responses=CampaignDetail,
        parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        page = self._page(pk)
        # The request itself first (400), then whether it applies to the current version.
        serializer = CampaignDetail(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        check_if_match(request, etag_of(page.pk, page.latest_revision_id))
        try:
            services.campaign_draft_update(campaign=page, data=serializer.validated_data,
                                           user=request.user)
        except services.Locked as exc:
            raise Conflict(" ".join(exc.messages)) from None
        return self._detail(page)

    @extend_schema(request=None, responses={202: CampaignDetail})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Submit the latest revision for review (sensitivity review, then the client)."""
        page = self._page(pk)
        try:
            services.campaign_submit(campaign=page, user=request.user)
        except services.ValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from None
        return self._detail(page, status.HTTP_202_ACCEPTED)

    @extend_schema(responses=CampaignProgress)
    @action(detail=True, methods=["get"], url_path="status")
    def progress(self, request, pk=None):
        """Where the campaign is in its approval: the state, and each review step of its
        current (or last) workflow run with its outcome and comment."""
        page = self._page(pk)
        row = campaign_rows(campaigns_annotated().filter(pk=page.pk))[0]
        state = (WorkflowState.objects.filter(
            content_type__app_label=CampaignPage._meta.app_label,
            content_type__model=CampaignPage._meta.model_name,
            object_id=str(page.pk)).order_by("-created_at", "-id").first())
        steps = []
        if state is not None:
            for task_state in (state.task_states.select_related("task", "revision")
                               .order_by("started_at", "id")):
                steps.append({"name": task_state.task.name, "status": task_state.status,
                              "revision_id": task_state.revision_id,
                              "started_at": task_state.started_at,
                              "finished_at": task_state.finished_at,
                              "comment": task_state.comment or ""})
        return Response(CampaignProgress({
            "id": page.pk, "status": row["status"], "revision_id": page.latest_revision_id,
            "approved_at": row["approved_at"],
            "workflow_status": state.status if state is not None else None,
            "steps": steps}).data)

    @extend_schema(responses=PostData(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def posts(self, request, pk=None):
        """The campaign's posts, in order, as its latest revision has them."""
        page = self._page(pk)
        return Response(PostData(post_values(page.get_latest_revision_as_object()),
                                 many=True).data)


# --- Channels -------------------------------------------------------------------------------


class OptionData(serializers.Serializer):
    name = serializers.CharField(help_text="The key in a post's network_options[network].")
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "textarea", "choice", "bool", "datetime",
                                            "url"])
    required = serializers.BooleanField()
    max_length = serializers.IntegerField(allow_null=True)
    choices = serializers.ListField(child=serializers.DictField(), help_text=(
        "For a choice: the values this channel's account offers, as {value, label}."))
    help = serializers.CharField(allow_blank=True)


class ChannelData(serializers.ModelSerializer):
    post_options = serializers.SerializerMethodField(
        help_text="What this channel's network asks for per post, beyond text and media; give "
                  "it in the post's network_options under the channel's network.")

    class Meta:
        model = Channel
        fields = ["id", "name", "network", "handle", "endpoint", "active", "posting_slots",
                  "created_at", "post_options"]

    @extend_schema_field(OptionData(many=True))
    def get_post_options(self, channel) -> list[dict]:
        rules = networks.NETWORKS.get(channel.network)
        return [{"name": o.name, "label": o.label, "kind": o.kind, "required": o.required,
                 "max_length": o.max_length, "help": o.help,
                 "choices": [{"value": v, "label": label}
                             for v, label in o.choices_for([channel])]}
                for o in (rules.post_options if rules else ())]


class NextSlotData(serializers.Serializer):
    channel = serializers.IntegerField()
    publish_at = AwareDateTimeField(
        allow_null=True, help_text="The first posting slot after the given time that no other "
                                   "post takes on this channel; null when there is none.")
    detail = serializers.CharField(allow_blank=True,
                                   help_text="Why there is no slot, and what to do.")


MAX_SLOT_AHEAD_DAYS = 3660


class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The brand's channels (social accounts). Credentials are never shown."""

    serializer_class = ChannelData
    queryset = Channel.objects.all()
    lookup_value_regex = ID
    ordering = "id"

    @extend_schema(
        parameters=[OpenApiParameter(
            "after", OpenApiTypes.DATETIME,
            description=f"From this time (with its offset); now if left out. No slot is "
                        f"offered more than {MAX_SLOT_AHEAD_DAYS} days ahead: a later time "
                        "answers `publish_at: null` with the reason in `detail`.")],
        responses=NextSlotData)
    @action(detail=True, methods=["get"], url_path="next-slot", pagination_class=None,
            filter_backends=[])
    def next_slot(self, request, pk=None):
        """The channel's next free posting slot (its ``posting_slots``, in the brand's time
        zone): the first after ``after`` that no post of any campaign takes on this channel."""
        channel = self.get_object()
        now = dt.datetime.now(dt.UTC)
        after = query_time(request, "after")
        if after is not None and after > now + dt.timedelta(days=MAX_SLOT_AHEAD_DAYS):
            return Response(NextSlotData({
                "channel": channel.pk, "publish_at": None,
                "detail": f"No slot is offered more than {MAX_SLOT_AHEAD_DAYS} days ahead: give "
                          "an earlier time in `after`."}).data)
        found = next_free_slot([channel], after=max(after or now, now))
        return Response(NextSlotData({"channel": channel.pk, "publish_at": found.publish_at,
                                      "detail": found.problem}).data)


# --- Media ----------------------------------------------------------------------------------


IMAGE_TYPES = "image/jpeg, image/png, image/gif, image/webp"
VIDEO_MEDIA_TYPES = "video/mp4, video/x-m4v, video/quicktime, video/webm"


class ImageData(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = Text(max_length=255, required=False)
    alt_text = Text(
        max_length=255, required=False, allow_blank=True, source="description",
        help_text="What the image shows; used as the alt text when a post does not give one.")
    # Checked by the library's own upload form (kind by content, size, pixels), which says
    # why a file is refused; DRF's ImageField would call every refusal "not an image".
    file = serializers.FileField(
        write_only=True, help_text="JPEG, PNG, GIF or WebP, named for what it holds (photo.png); "
                                   "its content is checked, not only its name.")
    width = serializers.IntegerField(read_only=True)
    height = serializers.IntegerField(read_only=True)
    created_at = AwareDateTimeField(read_only=True)


class MediaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The brand's image library. Upload with multipart form data (``file``, ``title``,
    ``alt_text``); the same checks as the admin's upload (type, size, pixels)."""

    serializer_class = ImageData
    lookup_value_regex = ID
    parser_classes = [MultiPartParser, FormParser]
    ordering = "-id"

    def get_queryset(self):
        return get_image_model().objects.all()

    @extend_schema(request={"multipart/form-data": OpenApiRequest(
        ImageData, encoding={"file": {"contentType": IMAGE_TYPES}})}, responses={201: ImageData})
    def create(self, request):
        serializer = ImageData(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = services.image_upload(
            file=serializer.validated_data["file"],
            title=serializer.validated_data.get("title", ""),
            alt_text=serializer.validated_data.get("description", ""), user=request.user)
        return Response(ImageData(image).data, status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/media/{image.pk}/"})


class VideoData(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = Text(max_length=255, required=False)
    file = serializers.FileField(
        write_only=True, help_text="MP4, M4V, MOV or WebM; its content is checked. A file "
                                   "named without an extension is named for what it holds.")
    file_size = serializers.IntegerField(read_only=True, allow_null=True,
                                         help_text="In bytes.")
    created_at = AwareDateTimeField(read_only=True)


class VideoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The brand's videos (documents the editor's video blocks choose from). Upload with
    multipart form data (``file``, ``title``): MP4, M4V, MOV or WebM whose content matches its
    name, up to the size limit. A post gives each video's description."""

    serializer_class = VideoData
    lookup_value_regex = ID
    parser_classes = [MultiPartParser, FormParser]
    ordering = "-id"

    def get_queryset(self):
        from wagtail.documents import get_document_model

        return get_document_model().objects.filter(
            file__iregex=r"\.(" + "|".join(networks.VIDEO_TYPES) + ")$")

    @extend_schema(request={"multipart/form-data": OpenApiRequest(
        VideoData, encoding={"file": {"contentType": VIDEO_MEDIA_TYPES}})},
        responses={201: VideoData})
    def create(self, request):
        serializer = VideoData(data=request.data)
        serializer.is_valid(raise_exception=True)
        video = services.video_upload(file=serializer.validated_data["file"],
                                      title=serializer.validated_data.get("title", ""),
                                      user=request.user)
        return Response(VideoData(video).data, status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/videos/{video.pk}/"})


# --- Calendar -------------------------------------------------------------------------------


class CalendarChannelStateData(serializers.Serializer):
    channel = serializers.IntegerField(help_text="The channel's id (/api/v1/channels/).")
    channel_name = serializers.CharField()
    state = serializers.ChoiceField(
        choices=ChannelState.choices,
        help_text="Where the post is on this channel. Until the outbox has it, the campaign's "
                  "status (draft, in_review, changes_requested, approved); then the state of its "
                  "delivery, as /api/v1/deliveries/ and the publishing queue give it (scheduled, "
                  "claimed: being sent, published, failed, unconfirmed, cancelled), or held: "
                  "scheduled but held by a crisis hold.")
    state_label = serializers.CharField(
        help_text="The state in the words the studio's calendar and publishing queue show.")
    delivery = serializers.IntegerField(
        allow_null=True, help_text="The post's delivery on this channel "
                                   "(/api/v1/deliveries/{id}/); null until the campaign is "
                                   "approved.")


class CalendarEntryData(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    campaign_title = serializers.CharField()
    post_number = serializers.IntegerField()
    copy = serializers.CharField()
    publish_at = AwareDateTimeField(
        help_text="When the post is due on the channels listed: the outbox's time once "
                  "approved (a post staff moved on some channels only is listed once per time).")
    channels = serializers.ListField(child=serializers.IntegerField(),
                                     help_text="The ids of the channels due at this time.")
    state = serializers.ChoiceField(
        choices=CalendarState.choices,
        help_text="The post as a whole: failed if any channel failed or is unconfirmed, "
                  "published once every channel has it, scheduled while an approved post waits; "
                  "otherwise the campaign's status. channel_states gives each channel.")
    channel_states = CalendarChannelStateData(
        many=True, help_text="Each channel's state, in the order of channels.")


MAX_CALENDAR_DAYS = 93


class CalendarViewSet(ApiViewSet):
    """Posts due in a time range, across the brand's campaigns (drafts included)."""

    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True,
                             description="From this time (with its offset)."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, required=True,
                             description=f"Up to this time: after start, and at most "
                                         f"{MAX_CALENDAR_DAYS} days after it (else 400)."),
            id_parameter("channel", "Only posts to this channel."),
        ],
        responses=CalendarEntryData(many=True))
    def list(self, request):
        start, end = query_time(request, "start"), query_time(request, "end")
        problems = {name: "Required: an ISO 8601 time with its offset, e.g. "
                          "2026-12-01T00:00:00Z." for name, v in (("start", start), ("end", end))
                    if v is None}
        # The span, not start + 93 days: that overflows for a start late in year 9999.
        if not problems and not (dt.timedelta(0) < end - start
                                 <= dt.timedelta(days=MAX_CALENDAR_DAYS)):
            problems["end"] = (f"End must be after start and at most {MAX_CALENDAR_DAYS} days "
                               "later.")
        if problems:
            raise serializers.ValidationError(problems)
        channel = query_id(request, "channel", hint=" from /api/v1/channels/")
        entries = calendar_entries(start=start, end=end, channel_id=channel)
        return Response(CalendarEntryData([{
            "campaign_id": e.campaign_id, "campaign_title": e.campaign_title,
            "post_number": e.index + 1, "copy": e.copy, "publish_at": e.publish_at,
            "channels": list(e.channel_ids), "state": e.state,
            "channel_states": [{"channel": c.channel_id, "channel_name": c.name,
                                "state": c.state, "state_label": c.state_label,
                                "delivery": c.delivery_id} for c in e.channels]}
            for e in entries],
            many=True).data)

