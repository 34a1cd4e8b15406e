"""The brand's inbox through the API: items (replies, mentions, quotes under its posts), an item
with its thread, notes, moderation actions, replies and requests to share its photo or video;
changing its state or assignee; notes; undoing a moderation action; replying as the brand; a
second member approving or returning a reply that awaits their approval.

Every write goes through the inbox's own services (``campaigns.conversations.actions``): the
same checks, the same sensitivity linter and the same exactly-once sending as the inbox screen.
A reply's key on the network is derived from the request's ``Idempotency-Key`` (per API key), so
a retry after a lost answer resends under the same key and never posts twice."""

from __future__ import annotations

import hashlib
import uuid

from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from agency.api.conventions import (
    ID,
    IF_MATCH,
    ApiViewSet,
    AwareDateTimeField,
    Boolean,
    Integer,
    Text,
    check_if_match,
    etag_of,
    id_parameter,
    query_choice,
    query_id,
    query_text,
    text_parameter,
)
from agency.api.errors import Conflict
from campaigns.conversations import actions
from campaigns.conversations.models import (
    Item,
    ItemState,
    ModerationAction,
    Reply,
    ReplyState,
)


def _items():
    """Items with ``awaiting_approval``: one of its replies waits for a second member."""
    return Item.objects.select_related("channel", "assignee").annotate(
        awaiting_approval=Exists(Reply.objects.filter(
            item=OuterRef("pk"), state=ReplyState.AWAITING_APPROVAL)))


class MediaData(serializers.Serializer):
    url = serializers.CharField()
    kind = serializers.ChoiceField(choices=["image", "video"])
    alt = serializers.CharField(required=False, default="")

ACTIONS = ["hide", "escalate", "reply", "none"]


# --- Serializers ----------------------------------------------------------------------------


class ItemData(serializers.ModelSerializer):
    channel_id = serializers.IntegerField(read_only=True)
    delivery_id = serializers.IntegerField(read_only=True, allow_null=True,
                                           help_text="The post (/api/v1/deliveries/) it "
                                                     "answers, if any.")
    assignee_id = serializers.IntegerField(read_only=True, allow_null=True)
    remote_url = serializers.CharField(read_only=True,
                                       help_text="Its address on the network (empty: none).")
    channel_name = serializers.CharField(source="channel.name", read_only=True)
    campaign_id = serializers.IntegerField(source="page_id", read_only=True, allow_null=True)
    assignee_name = serializers.SerializerMethodField()
    media = MediaData(source="media_links", many=True, read_only=True,
                      help_text="Its photos and videos on the network.")
    awaiting_approval = serializers.BooleanField(
        read_only=True, default=False,
        help_text="One of its replies waits for a second member's approval.")

    class Meta:
        model = Item
        fields = ["id", "channel_id", "channel_name", "network", "kind", "remote_id",
                  "remote_url", "in_reply_to", "thread_root", "delivery_id", "campaign_id",
                  "campaign_title", "author_handle", "author_name", "text", "has_media",
                  "media", "created_at", "received_at", "state", "assignee_id",
                  "assignee_name", "pinned", "responded_at", "target_missed_at", "action",
                  "categories", "reason", "urgent", "hidden", "flagged", "awaiting_approval"]
        read_only_fields = fields

    def get_assignee_name(self, item) -> str:
        user = item.assignee
        return (user.get_full_name() or user.email) if user else ""


class NoteData(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    text = serializers.CharField(read_only=True)
    author_id = serializers.IntegerField(read_only=True, allow_null=True)
    created_at = AwareDateTimeField(read_only=True)


class ModerationData(serializers.Serializer):
    id = serializers.IntegerField()
    what = serializers.CharField(help_text="hide, flag, pin, notify, mute or block.")
    description = serializers.CharField(source="get_what_display")
    reason = serializers.CharField(help_text="Why it was done.")
    automatic = serializers.BooleanField(help_text="Done by the classifier, not by staff.")
    by_id = serializers.IntegerField(allow_null=True)
    at = AwareDateTimeField()
    undone_at = AwareDateTimeField(allow_null=True)
    undoable = serializers.BooleanField(help_text="POST its id to the item's undo/ to undo it.")
    error = serializers.CharField(help_text="What went wrong doing it, if anything.")


class ReplyData(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    state = serializers.ChoiceField(choices=ReplyState.choices,
                                    help_text="unconfirmed: checked again at each poll, never "
                                              "sent twice. awaiting_approval: sent once "
                                              "another member approves it; returned: never "
                                              "sent.")
    remote_id = serializers.CharField()
    remote_url = serializers.CharField()
    error = serializers.CharField()
    author_id = serializers.IntegerField(allow_null=True)
    created_at = AwareDateTimeField()
    sent_at = AwareDateTimeField(allow_null=True)
    approval_reason = serializers.CharField(help_text="Why it needs a second member's "
                                                      "approval (empty: it does not).")
    reviewed_by_id = serializers.IntegerField(allow_null=True,
                                              help_text="Who approved or returned it.")
    reviewed_at = AwareDateTimeField(allow_null=True)
    review_note = serializers.CharField(help_text="Why it was returned.")


class ShareData(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="asked, granted, declined or withdrawn.")
    reply_id = serializers.IntegerField(help_text="The reply that asked (in replies).")
    keyword = serializers.CharField(help_text="The word in the author's reply that says yes.")
    asked_by_id = serializers.IntegerField(allow_null=True)
    asked_at = AwareDateTimeField()
    answered_by_id = serializers.IntegerField(allow_null=True, help_text=(
        "Who recorded the answer (null with answer_item_id: recognised from their reply)."))
    answered_at = AwareDateTimeField(allow_null=True)
    answer_item_id = serializers.IntegerField(allow_null=True)
    campaign_id = serializers.IntegerField(source="page_id", allow_null=True,
                                           help_text="The draft campaign crediting the author.")
    draft_at = AwareDateTimeField(allow_null=True)


class ItemDetail(ItemData):
    thread = serializers.SerializerMethodField(
        help_text="The other items of its thread on the channel, oldest first.")
    notes = NoteData(many=True, read_only=True)
    moderation = ModerationData(source="actions", many=True, read_only=True)
    replies = ReplyData(many=True, read_only=True)
    share_requests = ShareData(many=True, read_only=True,
                               help_text="Requests to share its photo or video, oldest first.")

    class Meta(ItemData.Meta):
        fields = [*ItemData.Meta.fields, "thread", "notes", "moderation", "replies",
                  "share_requests"]
        read_only_fields = fields

    @extend_schema_field(ItemData(many=True))
    def get_thread(self, item) -> list[dict]:
        if not item.thread_root:
            return []
        others = (_items().filter(thread_root=item.thread_root, channel_id=item.channel_id)
                  .exclude(pk=item.pk)
                  .order_by("created_at", "id")[:200])
        return ItemData(others, many=True).data


class ItemChange(serializers.Serializer):
    state = serializers.ChoiceField(choices=ItemState.choices, required=False)
    assignee = Integer(min_value=1, max_value=2**31 - 1, allow_null=True, required=False,
                       help_text="A member's user id (null: nobody). Assigning a new item "
                                 "makes it assigned.")

    def validate_assignee(self, value):
        if value is None:
            return None
        user = actions.member(value)
        if user is None:
            raise serializers.ValidationError(
                "Give the user id of a member of this brand (or null for nobody): this id is "
                "not one of the brand's members.")
        return user

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Send state, assignee or both.")
        return data


class NoteRequest(serializers.Serializer):
    text = Text(max_length=5000, help_text="Internal: staff only, never sent anywhere.")


class UndoRequest(serializers.Serializer):
    action = Integer(min_value=1, max_value=2**31 - 1,
                     help_text="The id of one of the item's moderation actions.")


class ReviewRequest(serializers.Serializer):
    reply = Integer(min_value=1, max_value=2**31 - 1,
                    help_text="The id of one of the item's replies awaiting approval.")


class ReturnRequest(ReviewRequest):
    note = Text(max_length=2000, help_text="Why it is returned, for its writer.")


class ReplyRequest(serializers.Serializer):
    text = Text(max_length=5000, help_text="Sent as the brand, in the item's thread.")
    confirm = Boolean(default=False, help_text="Send despite the sensitivity linter's "
                                               "warnings (its errors always stop a reply).")


# --- The viewset ----------------------------------------------------------------------------


LIST_FILTERS = [
    OpenApiParameter("state", str, enum=ItemState.values, description="Only items in this "
                                                                      "state."),
    id_parameter("channel", "Only this channel's items."),
    id_parameter("campaign", "Only items under this campaign's posts."),
    OpenApiParameter("action", str, enum=ACTIONS, description="Only items the classifier "
                                                              "gave this action."),
    OpenApiParameter("assignee", {"type": "string", "pattern": "^(me|none|[1-9][0-9]{0,8})$"},
                     description="A member's user id, me (the key's person) or none."),
    OpenApiParameter("pinned", str, enum=["true", "false"],
                     description="Only pinned (escalated) items, or only the others."),
    text_parameter("q", "Words in the text, the author's handle or name.", max_length=200),
]


class ConversationViewSet(mixins.ListModelMixin, ApiViewSet):
    """The brand's inbox: pinned (escalated) items first, then newest first."""

    serializer_class = ItemData
    lookup_value_regex = ID
    filter_backends = []
    ordering = ("-pinned", "-created_at", "-id")

    def get_queryset(self):
        items = _items()
        if state := query_choice(self.request, "state", ItemState.values):
            items = items.filter(state=state)
        for name, column in (("channel", "channel_id"), ("campaign", "page_id")):
            value = query_id(self.request, name)
            if value is not None:
                items = items.filter(**{column: value})
        if found := query_choice(self.request, "action", ACTIONS):
            items = items.filter(action=found)
        assignee = query_text(self.request, "assignee", max_length=20)
        if assignee == "me":
            items = items.filter(assignee=self.request.user)
        elif assignee == "none":
            items = items.filter(assignee__isnull=True)
        elif assignee or "assignee" in self.request.query_params:  # sent empty: refused
            items = items.filter(assignee_id=query_id(
                self.request, "assignee", hint=" (or me, or none)"))
        if (pinned := query_choice(self.request, "pinned", ["true", "false"])) is not None:
            items = items.filter(pinned=pinned == "true")
        if q := query_text(self.request, "q", max_length=200).strip():
            items = items.filter(Q(text__icontains=q) | Q(author_handle__icontains=q)
                                 | Q(author_name__icontains=q))
        return items

    def _item(self, pk) -> Item:
        return get_object_or_404(Item.objects.select_related("channel", "assignee"), pk=pk)

    def _detail(self, item: Item) -> Response:
        item = _items().prefetch_related("notes", "actions", "replies",
                                         "share_requests").get(pk=item.pk)
        return Response(ItemDetail(item).data, headers={"ETag": _etag(item)})

    @extend_schema(parameters=LIST_FILTERS, responses=ItemData(many=True))
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=ItemDetail)
    def retrieve(self, request, pk=None):
        return self._detail(get_object_or_404(Item, pk=pk))

    @extend_schema(request=ItemChange, responses=ItemDetail, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        """Change the item's state, its assignee, or both."""
        item = self._item(pk)
        change = ItemChange(data=request.data)
        change.is_valid(raise_exception=True)
        check_if_match(request, _etag(item))
        data = change.validated_data
        if "assignee" in data:
            actions.assign(item, data["assignee"])
        if "state" in data:
            actions.set_state(item, data["state"])
        return self._detail(item)

    @extend_schema(request=NoteRequest, responses={201: NoteData})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        """Add an internal note."""
        item = self._item(pk)
        body = NoteRequest(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            note = actions.add_note(item, body.validated_data["text"], request.user)
        except actions.ActionRefused as exc:
            raise serializers.ValidationError({"text": str(exc)}) from None
        return Response(NoteData(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UndoRequest, responses=ModerationData)
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Undo a moderation action (a hidden reply shown again on the network, a flag taken
        off, a muted or blocked author let back)."""
        item = self._item(pk)
        body = UndoRequest(data=request.data)
        body.is_valid(raise_exception=True)
        found = ModerationAction.objects.filter(item=item,
                                                pk=body.validated_data["action"]).first()
        if found is None:
            raise serializers.ValidationError({"action": (
                "No such action on this item: give the id of one of the item's moderation "
                "actions (GET the item, its moderation list).")})
        try:
            actions.undo(found, request.user)
        except actions.ActionRefused as exc:
            raise Conflict(str(exc)) from None
        found.refresh_from_db()
        return Response(ModerationData(found).data)

    @extend_schema(request=ReplyRequest, responses={201: ReplyData, 202: ReplyData})
    @action(detail=True, methods=["post"])
    def replies(self, request, pk=None):
        """Reply as the brand in the item's thread, once. The sensitivity linter checks it
        first (with the brand's words): errors stop it (400), warnings too unless
        ``confirm`` is true. 201: sent; 202: the network has not confirmed it yet (it is
        checked again at each poll, never sent twice), or it is on one of the brand's
        second-approval topics (state ``awaiting_approval``: sent once another member approves
        it); 409: the network refused it. Send an
        ``Idempotency-Key``: a repeat gets the first answer, and the reply goes out once."""
        item = self._item(pk)
        body = ReplyRequest(data=request.data)
        body.is_valid(raise_exception=True)
        text = body.validated_data["text"].strip()
        if not text:
            raise serializers.ValidationError({"text": "Write the reply first: it is empty."})
        key = _reply_key(request)
        if not Reply.objects.filter(idempotency_key=key, item=item).exists():
            findings, blocking = actions.check_reply(text)
            if blocking or (findings and not body.validated_data["confirm"]):
                raise serializers.ValidationError({"text": _findings_message(findings,
                                                                             blocking)})
        try:
            reply, _ = actions.start_reply(item, text, key=key, user=request.user)
        except actions.ActionRefused as exc:
            raise Conflict(str(exc)) from None
        reply = actions.send_reply(reply)
        if reply.state == ReplyState.FAILED:
            raise Conflict(f"The network refused the reply: {reply.error}")
        code = status.HTTP_201_CREATED if reply.state == ReplyState.SENT else \
            status.HTTP_202_ACCEPTED
        return Response(ReplyData(reply).data, status=code)


    def _awaiting(self, item: Item, body) -> Reply:
        body.is_valid(raise_exception=True)
        reply = Reply.objects.filter(item=item, pk=body.validated_data["reply"]).first()
        if reply is None:
            raise serializers.ValidationError({"reply": (
                "No such reply on this item: give the id of one of its replies awaiting "
                "approval (GET the item, its replies list).")})
        return reply

    @extend_schema(request=ReviewRequest, responses={201: ReplyData, 202: ReplyData})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a reply awaiting a second member's approval: it is sent, once. Its writer
        cannot approve it (409). 201: sent; 202: the network has not confirmed it yet; 409:
        not awaiting approval, your own reply, or the network refused it."""
        item = self._item(pk)
        reply = self._awaiting(item, ReviewRequest(data=request.data))
        try:
            reply = actions.approve_reply(reply, request.user)
        except actions.ActionRefused as exc:
            raise Conflict(str(exc)) from None
        if reply.state == ReplyState.FAILED:
            raise Conflict(f"The network refused the reply: {reply.error}")
        code = status.HTTP_201_CREATED if reply.state == ReplyState.SENT else \
            status.HTTP_202_ACCEPTED
        return Response(ReplyData(reply).data, status=code)

    @extend_schema(request=ReturnRequest, responses=ReplyData)
    @action(detail=True, methods=["post"], url_path="return")
    def return_reply(self, request, pk=None):
        """Return a reply awaiting a second member's approval to its writer, with a note: it
        is never sent. Its writer cannot return it (409)."""
        item = self._item(pk)
        body = ReturnRequest(data=request.data)
        reply = self._awaiting(item, body)
        try:
            reply = actions.return_reply(reply, request.user, body.validated_data["note"])
        except actions.ActionRefused as exc:
            if not body.validated_data["note"].strip():
                raise serializers.ValidationError({"note": str(exc)}) from None
            raise Conflict(str(exc)) from None
        return Response(ReplyData(reply).data)


def _etag(item: Item) -> str:
    return etag_of(item.pk, item.state, item.assignee_id, item.pinned, item.responded_at)


def _reply_key(request) -> str:
    """The reply's key on the network: from the request's Idempotency-Key, per API key (a
    retry resends under it), else a new one."""
    sent = request.headers.get("Idempotency-Key")
    if not sent:
        return uuid.uuid4().hex
    return "api" + hashlib.sha256(f"{request.auth.pk}:{sent}".encode()).hexdigest()[:61]


def _findings_message(findings, blocking) -> str:
    listed = "; ".join(f"“{f.match}”: {f.message}" for f in (blocking or findings)[:5])
    if blocking:
        return f"The sensitivity linter found what cannot go out: {listed}. Rewrite the reply."
    return (f"The sensitivity linter found: {listed}. Rewrite the reply, or send it again with "
            "\"confirm\": true to send it as it is.")
