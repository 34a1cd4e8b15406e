"""The inbox in the brand's admin: the list (pinned escalations first, filters, search, keyset
paging) and an item's page (its thread, assignment, state, notes, moderation and its undoing,
replies as the brand checked by the sensitivity linter, a second member's approval of replies
on the brand's topics, asking an author's permission to share their photo or video and the
credited draft once granted).

Everything read here is in the brand's own schema: an item id of another brand is a 404.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib import messages
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from campaigns.conversations import actions, ingest
from campaigns.conversations.models import (
    ConversationSettings,
    Item,
    ItemState,
    ModerationAction,
    Reply,
    ReplyState,
    ShareRequest,
    ShareStatus,
    What,
)
from campaigns.models import CampaignPage, Channel
from tenants.models import current_zone

PAGE_SIZE = 50
# What a row of the list shows, and all that is read for it.
_ROW_FIELDS = ("id", "pinned", "urgent", "created_at", "author_handle", "author_name", "text",
               "has_media", "hidden", "flagged", "campaign_title", "state", "responded_at",
               "channel", "assignee", "channel__id", "channel__name", "assignee__id",
               "assignee__first_name", "assignee__last_name", "assignee__email")
ACTIONS = [("hide", "Hide"), ("escalate", "Escalate"), ("reply", "Reply"), ("none", "None")]


def _clock(item: Item, target_hours: int, now: datetime) -> dict | None:
    """The response clock: due when, and whether it ran out (None once answered or done)."""
    if not target_hours or item.responded_at or item.state == ItemState.DONE:
        return None
    due = item.due_at(target_hours)
    seconds = int((due - now).total_seconds())
    hours, minutes = divmod(abs(seconds) // 60, 60)
    span = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return {"due": due, "overdue": seconds < 0,
            "text": f"overdue by {span}" if seconds < 0 else f"{span} left"}


def _row(item: Item, target_hours: int, now: datetime) -> dict:
    """What the list shows of an item, read from the columns ``_ROW_FIELDS`` loaded (the
    template touches no model, so no lazy read can slip in per row)."""
    assignee = item.assignee
    return {
        "pk": item.pk, "pinned": item.pinned, "urgent": item.urgent,
        "author_handle": item.author_handle,
        "author_name": item.author_name, "hidden": item.hidden, "flagged": item.flagged,
        "text": item.text, "has_media": item.has_media, "channel_name": item.channel.name,
        "campaign_title": item.campaign_title, "created_at": item.created_at,
        "state": item.get_state_display(), "awaiting_approval": item.awaiting_approval,
        "assignee": (assignee.get_full_name() or assignee.email) if assignee else "",
        "clock": _clock(item, target_hours, now),
    }


def _cursor(value: str):
    """The keyset cursor ``pinned.created_at.id`` of the last row shown, or None."""
    try:
        pinned, created, pk = value.split("~")
        return pinned == "1", datetime.fromisoformat(created), int(pk)
    except ValueError:
        return None


def inbox_view(request):
    brand = ConversationSettings.load()
    # Only the columns a row shows (not an item's media, thread or classifier fields, nor a
    # channel's encrypted tokens or an account's password hash, 50 times a page).
    items = Item.objects.select_related("channel", "assignee").only(
        *_ROW_FIELDS).annotate(awaiting_approval=Exists(Reply.objects.filter(
            item=OuterRef("pk"), state=ReplyState.AWAITING_APPROVAL)))
    filters = {}
    state = request.GET.get("state", "")
    if state in ItemState.values:
        items, filters["state"] = items.filter(state=state), state
    elif state != "all":  # by default, what still needs someone
        items = items.exclude(state=ItemState.DONE)
    channel = request.GET.get("channel", "")
    if channel.isdigit():
        items, filters["channel"] = items.filter(channel_id=int(channel)), channel
    campaign = request.GET.get("campaign", "")
    if campaign.isdigit():
        items, filters["campaign"] = items.filter(page_id=int(campaign)), campaign
    action = request.GET.get("action", "")
    if action in dict(ACTIONS):
        items, filters["action"] = items.filter(action=action), action
    assignee = request.GET.get("assignee", "")
    if assignee == "me":
        items = items.filter(assignee=request.user)
    elif assignee == "none":
        items = items.filter(assignee__isnull=True)
    elif assignee.isdigit():
        items = items.filter(assignee_id=int(assignee))
    if assignee:
        filters["assignee"] = assignee
    query = request.GET.get("q", "").strip()[:200]
    if query:
        items = items.filter(Q(text__icontains=query) | Q(author_handle__icontains=query)
                             | Q(author_name__icontains=query))
        filters["q"] = query
    after = _cursor(request.GET.get("after", ""))
    if after is not None:
        pinned, created, pk = after
        # After (pinned, created, id) in the list's order, as ranges the index reads directly.
        same = Q(pinned=pinned, created_at__lte=created) & ~Q(created_at=created, id__gte=pk)
        items = items.filter(same | Q(pinned=False) if pinned else same)
    rows = list(items.order_by("-pinned", "-created_at", "-id")[:PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    now = timezone.now()
    next_url = ""
    if more:
        last = rows[-1]
        next_url = "?" + urlencode({**filters, **({"state": state} if state == "all" else {}),
                                    "after": f"{int(last.pinned)}~{last.created_at.isoformat()}"
                                             f"~{last.pk}"})
    return render(request, "conversations/inbox.html", {
        "rows": [_row(item, brand.response_target_hours, now) for item in rows],
        "next_url": next_url, "filters": filters, "state": state, "query": query,
        "states": ItemState.choices, "actions": ACTIONS,
        "channels": Channel.objects.filter(network__in=ingest.NETWORKS).only(
            "id", "name").order_by("name"),
        # the brand's campaigns (not read from the items: the list stays one indexed read)
        "campaigns": CampaignPage.objects.only("id", "title").order_by("title")[:500],
        "members": actions.members().only("id", "email", "first_name", "last_name"),
        "target_hours": brand.response_target_hours,
        "zone": current_zone(),
    })


def _item(item_id: int) -> Item:
    item = Item.objects.select_related("channel", "assignee").filter(pk=item_id).first()
    if item is None:
        raise Http404("No such item in this brand's inbox.")
    return item


def item_view(request, item_id: int):
    return render(request, "conversations/item.html", _item_context(request, _item(item_id)))


def _back(item: Item):
    return redirect(reverse("conversations_item", args=[item.pk]))


@require_POST
def item_change_view(request, item_id: int):
    """Assign, change state, add a note, undo a moderation action, mute or block the author."""
    item = _item(item_id)
    what = request.POST.get("do", "")
    try:
        if what == "assign":
            value = request.POST.get("assignee", "")
            user = actions.member(int(value)) if value.isdigit() else None
            if value and user is None:
                raise actions.ActionRefused("Choose a member of this brand.")
            actions.assign(item, user)
            messages.success(request, f"Assigned to {user.get_full_name() or user.email}."
                             if user else "Nobody is assigned now.")
        elif what == "state":
            actions.set_state(item, request.POST.get("state", ""))
            messages.success(request, f"Marked {item.get_state_display().lower()}.")
        elif what == "note":
            actions.add_note(item, request.POST.get("text", ""), request.user)
            messages.success(request, "Note added.")
        elif what == "undo":
            value = request.POST.get("action", "")
            action = ModerationAction.objects.filter(
                item=item, pk=int(value) if value.isdigit() else 0).first()
            if action is None:
                raise Http404("No such action on this item.")
            actions.undo(action, request.user)
            messages.success(request, f"Undone: {action.get_what_display().lower()}.")
        elif what in (What.MUTE, What.BLOCK):
            actions.moderate_author(item, what, request.user)
            messages.success(request, f"{item.author_handle} is {what}d on the network.")
        else:
            raise actions.ActionRefused("Unknown action.")
    except actions.ActionRefused as exc:
        messages.error(request, str(exc))
    return _back(item)


@require_POST
def item_reply_view(request, item_id: int):
    """A reply as the brand: checked by the sensitivity linter (with the brand's words: errors
    stop it, warnings are shown once and may be confirmed), then sent in the thread exactly
    once."""
    item = _item(item_id)
    text = request.POST.get("text", "").strip()
    key = request.POST.get("key", "")
    if not text or not key or len(key) > 64:
        messages.error(request, "Write the reply first: it is empty.")
        return _back(item)
    existing = Reply.objects.filter(idempotency_key=key, item=item).first()
    if existing is None:
        findings, blocking = actions.check_reply(text)
        if blocking or (findings and request.POST.get("confirm") != "1"):
            return render(request, "conversations/item.html", {
                **_item_context(request, item), "findings": findings, "blocking": blocking,
                "draft": text, "reply_key": key})
    try:
        reply, created = actions.start_reply(item, text, key=key, user=request.user)
    except actions.ActionRefused as exc:
        messages.error(request, str(exc))
        return _back(item)
    _said(request, item, actions.send_reply(reply))
    return _back(item)


def _said(request, item: Item, reply: Reply) -> None:
    """What became of a reply, in the message shown after it."""
    if reply.state == ReplyState.SENT:
        messages.success(request, f"Reply sent on {item.channel.name}.")
    elif reply.state == ReplyState.FAILED:
        messages.error(request, f"The reply was refused: {reply.error}")
    elif reply.state == ReplyState.AWAITING_APPROVAL:
        messages.warning(request, "The reply waits for a second member's approval before it "
                                  f"goes: {reply.approval_reason}.")
    elif reply.state == ReplyState.RETURNED:
        messages.warning(request, "The reply was returned; it is not sent.")
    else:
        messages.warning(request, "The network did not confirm the reply yet; it is checked "
                                  "again (never sent twice).")


@require_POST
def reply_review_view(request, item_id: int, reply_id: int):
    """A second member approves a waiting reply (then it is sent, once) or returns it to its
    writer with a note."""
    item = _item(item_id)
    reply = Reply.objects.filter(item=item, pk=reply_id).first()
    if reply is None:
        raise Http404("No such reply on this item.")
    try:
        if request.POST.get("do") == "approve":
            _said(request, item, actions.approve_reply(reply, request.user))
        elif request.POST.get("do") == "return":
            actions.return_reply(reply, request.user, request.POST.get("note", ""))
            messages.success(request, "Returned to its writer with your note; it is not sent.")
        else:
            raise actions.ActionRefused("Unknown action.")
    except actions.ActionRefused as exc:
        messages.error(request, str(exc))
    return _back(item)


@require_POST
def share_view(request, item_id: int):
    """Ask the author's permission to share their photo or video (a saved reply), record their
    answer, withdraw the request, or, with permission, start the draft crediting them."""
    item = _item(item_id)
    what = request.POST.get("do", "")
    try:
        if what == "ask":
            key, saved = request.POST.get("key", ""), request.POST.get("saved", "")
            if not key or len(key) > 64:
                raise actions.ActionRefused("The form is out of date: open the item again.")
            share = actions.ask_to_share(item, int(saved) if saved.isdigit() else -1, key=key,
                                         user=request.user)
            _said(request, item, share.reply)
            return _back(item)
        share = ShareRequest.objects.filter(item=item, status__in=[
            ShareStatus.ASKED, ShareStatus.GRANTED]).first()
        if share is None:
            raise actions.ActionRefused("No open request for this item: ask first.")
        if what in ("granted", "declined"):
            actions.answer_share(share, what == "granted", request.user)
            messages.success(request, f"Recorded: {item.author_handle} "
                                      f"{'said yes' if what == 'granted' else 'said no'}.")
        elif what == "withdraw":
            actions.withdraw_share(share, request.user)
            messages.success(request, "The request is withdrawn." + (
                " The draft campaign already started stays: delete it if it must not go out."
                if share.page_id else ""))
        elif what == "draft":
            page = actions.start_credited_draft(share, request.user)
            messages.success(request, f"Draft campaign “{page.title}” started; it goes through "
                                      "the brand's review and the client's approval.")
            return redirect(reverse("wagtailadmin_pages:edit", args=[page.pk]))
        else:
            raise actions.ActionRefused("Unknown action.")
    except actions.ActionRefused as exc:
        messages.error(request, str(exc))
    return _back(item)


def _item_context(request, item: Item) -> dict:
    brand = ConversationSettings.load()
    thread = list(Item.objects.filter(thread_root=item.thread_root, channel=item.channel)
                  .exclude(pk=item.pk).order_by("created_at", "id")) if item.thread_root else []
    return {
        "item": item, "thread": thread, "notes": item.notes.select_related("author"),
        "moderation": item.actions.select_related("by", "undone_by"),
        "replies": item.replies.select_related("author", "reviewed_by"),
        "members": actions.members(),
        "states": ItemState.choices, "clock": _clock(item, brand.response_target_hours,
                                                     timezone.now()),
        "guidance": brand.guidance if item.action == "escalate" else "",
        "reply_key": uuid.uuid4().hex, "findings": None, "draft": _saved(request, brand),
        "saved": list(enumerate(brand.saved)), "zone": current_zone(),
        "can_mute": item.network == "mastodon" and item.author_id,
        "shares": item.share_requests.select_related("reply", "asked_by", "answered_by"),
        "open_share": item.share_requests.filter(status__in=[ShareStatus.ASKED,
                                                             ShareStatus.GRANTED]).first(),
        "can_share": actions.can_ask_to_share(item), "share_key": uuid.uuid4().hex,
    }


def _saved(request, brand: ConversationSettings) -> str:
    """The saved reply picked (``?saved=<n>``) as the reply's draft."""
    value = request.GET.get("saved", "")
    saved = brand.saved
    return saved[int(value)][1] if value.isdigit() and int(value) < len(saved) else ""
