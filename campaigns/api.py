"""The brand's campaigns, posts, channels, media library and calendar through the API.

Reads come from each campaign's latest revision (what the editor shows); writes call the same
services as the admin (``campaigns.services``), so every rule, workflow step and permission
applies identically."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, F, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from taggit.models import Tag
from wagtail.images import get_image_model
from wagtail.models import Revision, WorkflowState

from agency.api.conventions import ApiViewSet, AwareDateTimeField, check_if_match, etag_of
from agency.api.errors import Conflict
from campaigns import services
from campaigns.models import CampaignPage, Channel
from campaigns.selectors import calendar_entries

ID = r"[0-9]{1,9}"  # ids beyond int4 are no id of ours: 404, not a database error
STATUSES = ["draft", "in_review", "changes_requested", "approved"]


def campaign_status(*, live: bool, changed: bool, workflow_status: str | None) -> str:
    if workflow_status == WorkflowState.STATUS_IN_PROGRESS:
        return "in_review"
    if workflow_status == WorkflowState.STATUS_NEEDS_CHANGES:
        return "changes_requested"
    if live and not changed:
        return "approved"
    return "draft"


# --- Serializers ----------------------------------------------------------------------------


class MediaItem(serializers.Serializer):
    image = serializers.IntegerField(min_value=1, max_value=2**31 - 1,
                                     help_text="An image id from /api/v1/media/.")
    alt_text = serializers.CharField(max_length=2000, allow_blank=True, default="",
                                     help_text="What the image shows, for screen readers.")


class PostData(serializers.Serializer):
    number = serializers.IntegerField(read_only=True, help_text="1-based, in campaign order.")
    copy = serializers.CharField(max_length=10_000, allow_blank=True, default="",
                                 trim_whitespace=False)
    link = serializers.URLField(max_length=200, allow_blank=True, default="")
    first_comment = serializers.CharField(max_length=5_000, allow_blank=True, default="")
    publish_at = AwareDateTimeField(allow_null=True, default=None)
    channels = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1), max_length=50,
        default=list, help_text="Channel ids from /api/v1/channels/.")
    media = MediaItem(many=True, max_length=10, default=list)


class CampaignData(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(max_length=255)
    status = serializers.ChoiceField(choices=STATUSES, read_only=True)
    goal = serializers.CharField(max_length=5_000, allow_blank=True, required=False)
    audience = serializers.CharField(max_length=5_000, allow_blank=True, required=False)
    key_message = serializers.CharField(max_length=5_000, allow_blank=True, required=False)
    story = serializers.CharField(
        max_length=100_000, allow_blank=True, required=False,
        help_text="HTML: paragraphs, h3, bold, italic, links and lists; anything else is "
                  "removed.")
    starts_on = serializers.DateField(allow_null=True, required=False)
    ends_on = serializers.DateField(allow_null=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50,
                                 required=False)
    post_count = serializers.IntegerField(read_only=True)
    first_post_at = AwareDateTimeField(read_only=True, allow_null=True)
    revision_id = serializers.IntegerField(read_only=True, allow_null=True)
    updated_at = AwareDateTimeField(read_only=True, allow_null=True)
    approved_at = AwareDateTimeField(read_only=True, allow_null=True,
                                     help_text="When the client's approval last published it.")


class CampaignDetail(CampaignData):
    posts = PostData(many=True, max_length=500, required=False,
                     help_text="Every post, in order. On update, replaces all posts.")


def _campaign_row(page, content: dict, tags: dict[int, str], workflow_status) -> dict:
    posts = content.get("posts") or []
    times = [t for t in (parse_datetime(p.get("publish_at") or "") for p in posts) if t]
    return {
        "id": page.pk, "title": content.get("title", page.draft_title),
        "status": campaign_status(live=page.live, changed=page.has_unpublished_changes,
                                  workflow_status=workflow_status),
        **{name: content.get(name) or "" for name in ("goal", "audience", "key_message",
                                                       "story")},
        "starts_on": content.get("starts_on"), "ends_on": content.get("ends_on"),
        "tags": sorted(tags[item["tag"]] for item in content.get("tagged_items") or []
                       if item.get("tag") in tags),
        "post_count": len(posts), "first_post_at": min(times) if times else None,
        "revision_id": page.latest_revision_id,
        "updated_at": page.latest_revision_created_at, "approved_at": page.last_published_at,
    }


def campaign_rows(pages) -> list[dict]:
    """List rows for ``pages`` (annotated with ``workflow_status``): two queries, whatever the
    number of campaigns or posts."""
    contents = dict(Revision.objects.filter(
        id__in=[p.latest_revision_id for p in pages if p.latest_revision_id])
        .values_list("id", "content"))
    tag_ids = {item.get("tag") for c in contents.values() for item in c.get("tagged_items") or []}
    tags = dict(Tag.objects.filter(id__in=tag_ids).values_list("id", "name")) if tag_ids else {}
    return [_campaign_row(p, contents.get(p.latest_revision_id, {}), tags, p.workflow_status)
            for p in pages]


def post_values(page) -> list[dict]:
    rows = []
    for number, post in enumerate(page.posts.all(), start=1):
        rows.append({
            "number": number, "copy": post.copy, "link": post.link,
            "first_comment": post.first_comment, "publish_at": post.publish_at,
            "channels": [c.pk for c in post.channels.all()],
            "media": [{"image": block.value["image"].pk, "alt_text": block.value["alt_text"]}
                      for block in post.media
                      if block.block_type == "image" and block.value.get("image") is not None],
        })
    return rows


# --- Campaigns ------------------------------------------------------------------------------


def campaigns_annotated():
    page_type = ContentType.objects.get_for_model(CampaignPage)
    workflow = WorkflowState.objects.active().filter(
        content_type=page_type, object_id=Cast(OuterRef("pk"), CharField())).values("status")[:1]
    return CampaignPage.objects.annotate(workflow_status=Subquery(workflow),
                                         updated_at=F("latest_revision_created_at"))


LIST_FILTERS = [
    OpenApiParameter("status", str, enum=STATUSES, description="Only campaigns in this state."),
    OpenApiParameter("tag", str, description="Only campaigns with this tag."),
    OpenApiParameter("search", str, description="Words in the title."),
    OpenApiParameter("updated_after", OpenApiTypes.DATETIME,
                     description="Changed at or after this time (with its offset)."),
    OpenApiParameter("updated_before", OpenApiTypes.DATETIME,
                     description="Changed before this time (with its offset)."),
]


def query_time(request, name: str):
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise serializers.ValidationError({name: "Give an ISO 8601 time with its offset, e.g. "
                                                 "2026-12-01T09:00:00Z."})
    return parsed


def query_text(request, name: str, *, max_length: int = 100) -> str:
    value = request.query_params.get(name, "")
    if "\x00" in value or len(value) > max_length:
        raise serializers.ValidationError({name: f"Use plain text of at most {max_length} "
                                                 "characters."})
    return value


class CampaignViewSet(mixins.ListModelMixin, ApiViewSet):
    """Campaigns of the brand: list and filter, draft, update a draft, submit for review."""

    serializer_class = CampaignDetail
    lookup_value_regex = ID
    filter_backends = [OrderingFilter]
    ordering_fields = ["id", "updated_at"]
    ordering = "-id"

    def get_queryset(self):
        pages = campaigns_annotated()
        params = self.request.query_params
        state = params.get("status")
        if state:
            if state not in STATUSES:
                raise serializers.ValidationError(
                    {"status": f"Choose one of {', '.join(STATUSES)}."})
            live_unchanged = Q(live=True, has_unpublished_changes=False)
            pages = {
                "in_review": pages.filter(workflow_status=WorkflowState.STATUS_IN_PROGRESS),
                "changes_requested": pages.filter(
                    workflow_status=WorkflowState.STATUS_NEEDS_CHANGES),
                "approved": pages.filter(live_unchanged, workflow_status__isnull=True),
                "draft": pages.filter(workflow_status__isnull=True).exclude(live_unchanged),
            }[state]
        if tag := query_text(self.request, "tag"):
            pages = pages.filter(tags__name__iexact=tag)
        if search := query_text(self.request, "search"):
            pages = pages.filter(draft_title__icontains=search)
        if after := query_time(self.request, "updated_after"):
            pages = pages.filter(latest_revision_created_at__gte=after)
        if before := query_time(self.request, "updated_before"):
            pages = pages.filter(latest_revision_created_at__lt=before)
        return pages.only("id", "draft_title", "live", "has_unpublished_changes",
                          "latest_revision_id", "latest_revision_created_at",
                          "last_published_at")

    def _page(self, pk) -> CampaignPage:
        return get_object_or_404(campaigns_annotated(), pk=pk)

    def _detail(self, page, status_code=status.HTTP_200_OK, headers=None) -> Response:
        page = self._page(page.pk)
        row = campaign_rows([page])[0]
        row["posts"] = post_values(page.get_latest_revision_as_object())
        data = CampaignDetail(row).data
        return Response(data, status=status_code, headers={
            "ETag": etag_of(page.pk, page.latest_revision_id), **(headers or {})})

    @extend_schema(parameters=LIST_FILTERS, responses=CampaignData(many=True))
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CampaignData(campaign_rows(page), many=True).data)

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
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True,
                                     description="The ETag from your last read.")])
    def partial_update(self, request, pk=None):
        page = self._page(pk)
        check_if_match(request, etag_of(page.pk, page.latest_revision_id))
        serializer = CampaignDetail(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.campaign_draft_update(campaign=page, data=serializer.validated_data,
                                       user=request.user)
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

    @extend_schema(responses=PostData(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def posts(self, request, pk=None):
        """The campaign's posts, in order, as its latest revision has them."""
        page = self._page(pk)
        return Response(PostData(post_values(page.get_latest_revision_as_object()),
                                 many=True).data)


# --- Channels -------------------------------------------------------------------------------


class ChannelData(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "name", "network", "handle", "endpoint", "active", "created_at"]


class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The brand's channels (social accounts). Credentials are never shown."""

    serializer_class = ChannelData
    queryset = Channel.objects.all()
    lookup_value_regex = ID
    ordering = "id"


# --- Media ----------------------------------------------------------------------------------


class ImageData(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(max_length=255, required=False)
    alt_text = serializers.CharField(
        max_length=255, required=False, allow_blank=True, source="description",
        help_text="What the image shows; used as the alt text when a post does not give one.")
    file = serializers.ImageField(write_only=True, help_text="JPEG, PNG, GIF or WebP.")
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

    @extend_schema(request={"multipart/form-data": ImageData}, responses={201: ImageData})
    def create(self, request):
        serializer = ImageData(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = services.image_upload(
            file=serializer.validated_data["file"],
            title=serializer.validated_data.get("title", ""),
            alt_text=serializer.validated_data.get("description", ""), user=request.user)
        return Response(ImageData(image).data, status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/media/{image.pk}/"})


# --- Calendar -------------------------------------------------------------------------------


class CalendarEntryData(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    campaign_title = serializers.CharField()
    post_number = serializers.IntegerField()
    copy = serializers.CharField()
    publish_at = AwareDateTimeField()
    channels = serializers.ListField(child=serializers.IntegerField())
    state = serializers.ChoiceField(choices=["draft", "in_review", "approved", "scheduled",
                                             "published", "failed"])


MAX_CALENDAR_DAYS = 93


class CalendarViewSet(ApiViewSet):
    """Posts due in a time range, across the brand's campaigns (drafts included)."""

    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True,
                             description="From this time (with its offset)."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, required=True,
                             description=f"Up to this time; at most {MAX_CALENDAR_DAYS} days "
                                         "after start."),
            OpenApiParameter("channel", int, description="Only posts to this channel."),
        ],
        responses=CalendarEntryData(many=True))
    def list(self, request):
        start, end = query_time(request, "start"), query_time(request, "end")
        problems = {name: "Required: an ISO 8601 time with its offset, e.g. "
                          "2026-12-01T00:00:00Z." for name, v in (("start", start), ("end", end))
                    if v is None}
        if not problems and not (start < end <= start + dt.timedelta(days=MAX_CALENDAR_DAYS)):
            problems["end"] = (f"End must be after start and at most {MAX_CALENDAR_DAYS} days "
                               "later.")
        channel = request.query_params.get("channel")
        if channel and not (channel.isdigit() and len(channel) <= 9):
            problems["channel"] = "Give a channel id from /api/v1/channels/."
        if problems:
            raise serializers.ValidationError(problems)
        entries = calendar_entries(start=start, end=end,
                                   channel_id=int(channel) if channel else None)
        return Response(CalendarEntryData([{
            "campaign_id": e.campaign_id, "campaign_title": e.campaign_title,
            "post_number": e.index + 1, "copy": e.copy, "publish_at": e.publish_at,
            "channels": list(e.channel_ids), "state": e.state} for e in entries],
            many=True).data)

