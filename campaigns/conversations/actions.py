"""What is done with an item: the classifier's automatic actions on ingest, staff's actions
(assign, state, notes, mute or block the author, undo), and replies as the brand.

- **hide**: hidden on the network where its adapter can (``Adapter.can_hide``): Bluesky (the
  thread's threadgate ``hiddenReplies``, under the brand's own post), Facebook and Instagram
  comments, Threads top-level replies; Mastodon cannot hide replies on others' posts, so the item
  is flagged for staff, who may mute or block the author from the inbox (Mastodon's API).
- **escalate**: never hidden; pinned at the top, and the brand's on-call people are emailed at
  once with the brand's guidance; a quiet escalation (``Item.urgent`` false: the trained model
  alone, not sure) is pinned for a look without an email.
- every automatic action is a ``ModerationAction`` with its reason, undone in one click
  (``undo``: a hidden reply is shown again on the network).

Replies go out exactly once: the ``Reply`` row and its key are committed before the network call;
a resend (an unknown outcome, a second click) uses the same key, which the network drops
(Mastodon: ``Idempotency-Key``; Bluesky: a record key derived from the row). A reply on one of
the brand's second-approval topics waits until another member approves it (``approve_reply``),
then goes out the same way; returned with a note (``return_reply``), it never goes.

Acknowledging what people share: from an item with a photo or video, staff ask the author's
permission with a saved reply (``ask_to_share``, sent as any reply), record the answer
(``answer_share``, or it is recognised from the author's reply carrying the saved reply's
``#keyword``), and with permission start a draft campaign crediting the author
(``start_credited_draft``), which goes through the brand's approval workflow as any draft.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import escape

from approvals.linting import brand_ruleset
from approvals.sensitivity import lint
from campaigns.conversations.models import (
    ConversationSettings,
    Item,
    ItemState,
    ModerationAction,
    Note,
    Reply,
    ReplyState,
    ShareRequest,
    ShareStatus,
    What,
)
from campaigns.conversations.moderation import classify_many
from campaigns.conversations.signals import item_created, item_escalated, target_missed
from campaigns.models import CampaignPage
from campaigns.publishing import adapters
from campaigns.publishing.adapters import AdapterError, Permanent, Transient, Unknown
from campaigns.services import campaign_draft_create
from tenants.emails import send_client_email
from tenants.scoping import brand_members_q

log = logging.getLogger(__name__)

MASTODON_KEY_LIFETIME = timedelta(minutes=55)  # Mastodon keeps an Idempotency-Key an hour


class ActionRefused(Exception):
    """Staff asked for something that cannot be done; the message says why."""


def _adapter(item: Item):
    return adapters.for_channel(item.channel, timeout=settings.CONVERSATIONS["TIMEOUT_SECONDS"])


def _message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"


# -- on ingest --------------------------------------------------------------------------------

def classify_items(items: list[Item], brand: ConversationSettings) -> None:
    """The classifier's verdicts on a page of new items (before they are stored), with the
    brand's words and trusted authors; the model asked once for all of them."""
    verdicts = classify_many([item.text or "" for item in items],
                             brand_words=brand.brand_words or None,
                             trusted=[brand.trusts(item.author_handle) for item in items])
    for item, verdict in zip(items, verdicts, strict=True):
        item.action, item.categories, item.reason = verdict.action, list(verdict.categories), \
            verdict.reason
        item.urgent = verdict.urgent or verdict.action != "escalate"


def on_ingest(client, item: Item, brand: ConversationSettings | None = None) -> None:
    """Do what a new item's action says (after the item is committed), and announce it
    (``item_created``; an escalation then ``item_escalated``)."""
    if item.action == "hide":
        _hide_automatically(item, item.reason)
    item_created.send(sender=Item, item=item)
    if item.action == "escalate":
        _escalate(client, item, item.reason, brand or ConversationSettings.load())
    if item.in_reply_to and "#" in item.text:
        _recognise_share_answer(item)


def _hide_automatically(item: Item, reason: str) -> None:
    adapter = _adapter(item)
    if adapter.can_hide(item):
        try:
            adapter.hide_reply(item.thread_root, item.remote_id, hide=True)
        except AdapterError as exc:
            log.warning("conversations: item %s could not be hidden: %s", item.pk, exc.message)
            _flag(item, reason, error=f"Not hidden on {item.network.title()}: {exc.message}")
            return
        Item.objects.filter(pk=item.pk).update(hidden=True, hidden_by_us=True)
        item.hidden = item.hidden_by_us = True
        ModerationAction.objects.create(item=item, what=What.HIDE, reason=reason,
                                        automatic=True)
        return
    _flag(item, reason)


def _flag(item: Item, reason: str, *, error: str = "") -> None:
    Item.objects.filter(pk=item.pk).update(flagged=True)
    item.flagged = True
    ModerationAction.objects.create(item=item, what=What.FLAG, reason=reason, automatic=True,
                                    error=error)


def _escalate(client, item: Item, reason: str, brand: ConversationSettings) -> None:
    Item.objects.filter(pk=item.pk).update(pinned=True)
    item.pinned = True
    ModerationAction.objects.create(item=item, what=What.PIN, reason=reason, automatic=True)
    item_escalated.send(sender=Item, item=item, reason=reason)
    if not item.urgent:  # a quiet escalation: pinned at the top for a look, nobody emailed
        return
    to = brand.on_call
    if not to:
        ModerationAction.objects.create(
            item=item, what=What.NOTIFY, automatic=True, reason=reason,
            error="No on-call people are set (Settings → Inbox): nobody was emailed.")
        return
    try:
        send_client_email(client=client, to=to, subject=f"Someone may be at risk: "
                                                        f"{item.author_handle} on "
                                                        f"{item.channel.name}",
                          template="conversations/email/escalation",
                          context={"item": item, "reason": reason, "guidance": brand.guidance})
        error = ""
    except Exception as exc:  # noqa: BLE001 - the item stays pinned; the failure is shown
        log.exception("conversations: the escalation email for item %s failed", item.pk)
        error = f"The email could not be sent: {type(exc).__name__}"
    ModerationAction.objects.create(item=item, what=What.NOTIFY, automatic=True,
                                    reason="Emailed " + ", ".join(to), error=error)


# -- staff ------------------------------------------------------------------------------------

def members():
    """The brand's members: whom an item may be assigned to."""
    return get_user_model().objects.filter(brand_members_q()).order_by("email")


def member(user_id) -> object | None:
    """The member with this id, or None (someone of another brand, or nobody)."""
    return members().filter(pk=user_id).first() if isinstance(user_id, int) else None


def set_state(item: Item, state: str) -> None:
    if state not in ItemState.values:
        raise ActionRefused("Choose one of the states: new, assigned, waiting, done.")
    item.state = state
    item.save(update_fields=["state"])


def add_note(item: Item, text: str, user) -> Note:
    """An internal note on the item (staff only; never sent anywhere)."""
    text = (text or "").strip()
    if not text:
        raise ActionRefused("Write the note first: it is empty.")
    return Note.objects.create(item=item, author=user, text=text[:5000])


def check_reply(text: str) -> tuple[list, list]:
    """The sensitivity linter on a reply, with the brand's words: (findings, the blocking ones).
    Errors stop the reply; warnings go only once confirmed."""
    findings = lint(text, field="copy", rules=brand_ruleset())
    return findings, [f for f in findings if f.severity == "error"]


def undo(action: ModerationAction, user) -> None:
    """Undo an action in one click: a hidden reply shown again on the network, a flag taken
    off, a muted or blocked author let back."""
    if not action.undoable:
        raise ActionRefused("This action cannot be undone (or already was).")
    item = action.item
    try:
        if action.what == What.HIDE:
            _adapter(item).hide_reply(item.thread_root, item.remote_id, hide=False)
        elif action.what in (What.MUTE, What.BLOCK):
            _adapter(item).moderate_author(item.author_id, action.what, undo=True)
    except AdapterError as exc:
        raise ActionRefused(f"The network did not take it back: {exc.message}") from exc
    with transaction.atomic():
        action.undone_at, action.undone_by = timezone.now(), user
        action.save(update_fields=["undone_at", "undone_by"])
        if action.what == What.HIDE:
            Item.objects.filter(pk=item.pk).update(hidden=False, hidden_by_us=False)
        if action.what == What.FLAG:
            Item.objects.filter(pk=item.pk).update(flagged=False)


def moderate_author(item: Item, what: str, user) -> ModerationAction:
    """Mute or block the item's author on the network (Mastodon)."""
    if item.network != "mastodon" or what not in (What.MUTE, What.BLOCK):
        raise ActionRefused("Muting and blocking authors is offered for Mastodon channels.")
    try:
        _adapter(item).moderate_author(item.author_id, what)
    except AdapterError as exc:
        raise ActionRefused(f"Mastodon refused: {exc.message}") from exc
    return ModerationAction.objects.create(item=item, what=what, by=user,
                                           reason=f"{item.author_handle}, by staff")


def assign(item: Item, user) -> None:
    item.assignee = user
    if user is not None and item.state == ItemState.NEW:
        item.state = ItemState.ASSIGNED
    item.save(update_fields=["assignee", "state"])


# -- replies ----------------------------------------------------------------------------------

def start_reply(item: Item, text: str, *, key: str, user) -> tuple[Reply, bool]:
    """The reply's row with its key, committed before anything is sent; a second submission
    of the same form (same key) finds it. Returns (reply, created)."""
    existing = Reply.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.item_id != item.pk:
            raise ActionRefused("This reply form was already used for another item.")
        return existing, False
    reply = Reply(item=item, text=text, idempotency_key=key, author=user,
                  approval_reason=approval_reason(item, text))
    if reply.approval_reason:  # on one of the brand's topics: a second member approves first
        reply.state = ReplyState.AWAITING_APPROVAL
    try:
        with transaction.atomic():
            reply.save(force_insert=True)
            return reply, True
    except IntegrityError:
        return Reply.objects.get(idempotency_key=key), False


def send_reply(reply: Reply) -> Reply:
    """Send (or send again, with the same key) a reply that is not known to be out. One that
    awaits a second approval, or was returned, is not sent."""
    if reply.state in (ReplyState.SENT, ReplyState.FAILED, ReplyState.AWAITING_APPROVAL,
                       ReplyState.RETURNED):
        return reply
    item = reply.item
    if item.network == "mastodon" and reply.attempts and \
            timezone.now() - reply.created_at > MASTODON_KEY_LIFETIME:
        # Mastodon keeps an Idempotency-Key an hour: a resend after that could post twice.
        reply.state = ReplyState.FAILED
        reply.error = ("Mastodon did not confirm this reply within an hour; look at the thread "
                       "on the network before writing it again.")
        reply.save(update_fields=["state", "error"])
        return reply
    Reply.objects.filter(pk=reply.pk).update(attempts=reply.attempts + 1)
    reply.attempts += 1
    try:
        published = _adapter(item).reply(
            reply.text, key=reply.idempotency_key, to=item,
            created_at_us=int(reply.created_at.timestamp() * 1_000_000), reply_id=reply.pk)
    except Unknown as exc:
        reply.state, reply.error = ReplyState.UNCONFIRMED, exc.message
    except Transient as exc:
        reply.state, reply.error = ReplyState.UNCONFIRMED, exc.message
    except Permanent as exc:
        reply.state, reply.error = ReplyState.FAILED, exc.message
    else:
        reply.state, reply.error = ReplyState.SENT, ""
        reply.remote_id, reply.remote_url = published.remote_id, published.url
        reply.sent_at = timezone.now()
        with transaction.atomic():
            reply.save(update_fields=["state", "error", "remote_id", "remote_url", "sent_at"])
            fields = {"responded_at": item.responded_at or reply.sent_at}
            if item.state in (ItemState.NEW, ItemState.ASSIGNED):
                fields["state"] = ItemState.WAITING
            Item.objects.filter(pk=item.pk).update(**fields)
        return reply
    reply.save(update_fields=["state", "error"])
    return reply


# -- second approval ------------------------------------------------------------------------

def approval_reason(item: Item, text: str, brand: ConversationSettings | None = None) -> str:
    """Why a reply to ``item`` needs a second member's approval, in plain words (empty: it does
    not): one of the brand's words in the reply or in what it answers, or one of the brand's
    categories or actions in the classifier's verdict on the item."""
    brand = brand or ConversationSettings.load()
    reasons = []
    for word in brand.approval_words:
        pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)
        where = [name for name, said in (("the reply", text), ("the item", item.text))
                 if pattern.search(said or "")]
        if where:
            reasons.append(f"“{word}” in {' and '.join(where)}")
    found = {item.action, *item.categories} & set(brand.approval_categories)
    reasons += [f"the item is classified {topic}" for topic in sorted(found)]
    return "; ".join(reasons)


def _review(reply: Reply, user) -> Reply:
    """The awaiting reply, locked (two reviewers: one acts, the other is told)."""
    locked = Reply.objects.select_for_update().select_related("item__channel").get(pk=reply.pk)
    if locked.state != ReplyState.AWAITING_APPROVAL:
        raise ActionRefused("This reply is not awaiting approval: it was already "
                            f"{'returned' if locked.state == ReplyState.RETURNED else 'approved'}.")
    if user is None or locked.author_id == user.pk:
        raise ActionRefused("Another member must approve or return this reply: you wrote it.")
    return locked


def approve_reply(reply: Reply, user) -> Reply:
    """A second member approves a waiting reply: it is sent (once, with its key)."""
    with transaction.atomic():
        reply = _review(reply, user)
        reply.state = ReplyState.SENDING
        reply.reviewed_by, reply.reviewed_at = user, timezone.now()
        reply.save(update_fields=["state", "reviewed_by", "reviewed_at"])
    return send_reply(reply)


def return_reply(reply: Reply, user, note: str) -> Reply:
    """A second member returns a waiting reply to its writer with a note: it is never sent."""
    note = (note or "").strip()
    if not note:
        raise ActionRefused("Say why it is returned: the note is empty.")
    with transaction.atomic():
        reply = _review(reply, user)
        reply.state = ReplyState.RETURNED
        reply.reviewed_by, reply.reviewed_at, reply.review_note = user, timezone.now(), \
            note[:2000]
        reply.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_note"])
    return reply


# -- acknowledging what people share ----------------------------------------------------------

KEYWORD = re.compile(r"(?<![\w#])#\w+")


def can_ask_to_share(item: Item) -> bool:
    return bool(item.has_media or item.media_links)


def ask_to_share(item: Item, saved: int, *, key: str, user) -> ShareRequest:
    """Ask the author's permission to share their photo or video: the brand's saved reply
    number ``saved``, checked by the sensitivity linter and sent as any reply (exactly once;
    a second approval first if it is on one of the brand's topics). Its first ``#word`` is the
    keyword that says yes."""
    existing = ShareRequest.objects.filter(reply__idempotency_key=key).select_related(
        "reply").first()
    if existing is not None:  # the same form again: the same request, never a second reply
        if existing.item_id != item.pk:
            raise ActionRefused("This form was already used for another item.")
        send_reply(existing.reply)
        return existing
    if not can_ask_to_share(item):
        raise ActionRefused("There is nothing to share: only a reply or mention with a photo or "
                            "video can be asked for.")
    if ShareRequest.objects.filter(item=item, status__in=[ShareStatus.ASKED,
                                                          ShareStatus.GRANTED]).exists():
        raise ActionRefused("Permission was already asked for this item: record the answer, or "
                            "withdraw the request first.")
    replies = ConversationSettings.load().saved
    if not 0 <= saved < len(replies):
        raise ActionRefused("Choose one of the brand's saved replies (Settings → Inbox): the "
                            "request is sent as one.")
    text = replies[saved][1]
    findings, _ = check_reply(text)
    if findings:
        listed = "; ".join(f"“{f.match}”: {f.message}" for f in findings[:5])
        raise ActionRefused(f"The sensitivity linter found in this saved reply: {listed}. "
                            "Change it in Settings → Inbox, or write the request yourself.")
    found = KEYWORD.search(text)
    try:
        with transaction.atomic():
            reply, _ = start_reply(item, text, key=key, user=user)
            share = ShareRequest.objects.create(item=item, reply=reply, asked_by=user,
                                                keyword=found.group()[:40] if found else "")
    except IntegrityError:
        raise ActionRefused("Permission was already asked for this item.") from None
    share.reply = send_reply(reply)
    return share


def answer_share(share: ShareRequest, granted: bool, user, *, answer: Item | None = None) -> None:
    """The author's answer, recorded by staff (``user``) or recognised from their reply
    (``answer``)."""
    with transaction.atomic():
        share = ShareRequest.objects.select_for_update().select_related("reply").get(
            pk=share.pk)
        if share.status != ShareStatus.ASKED:
            raise ActionRefused(f"The author's answer is already recorded: "
                                f"{share.get_status_display().lower()}.")
        if share.reply.state != ReplyState.SENT:
            raise ActionRefused("The request has not reached the author: its reply is "
                                f"{share.reply.get_state_display().lower()}.")
        share.status = ShareStatus.GRANTED if granted else ShareStatus.DECLINED
        share.answered_by, share.answered_at, share.answer_item = user, timezone.now(), answer
        share.save(update_fields=["status", "answered_by", "answered_at", "answer_item"])


def withdraw_share(share: ShareRequest, user) -> None:
    """Staff withdraw the request (or the author took the permission back): no draft may be
    started from it any more."""
    with transaction.atomic():
        share = ShareRequest.objects.select_for_update().get(pk=share.pk)
        if not share.open:
            raise ActionRefused("This request is closed already.")
        share.status = ShareStatus.WITHDRAWN
        share.answered_by, share.answered_at = user, timezone.now()
        share.save(update_fields=["status", "answered_by", "answered_at"])


def _recognise_share_answer(item: Item) -> None:
    """The author answers the brand's request in the thread with the keyword: permission
    granted, recorded as recognised (no member)."""
    share = (ShareRequest.objects.filter(status=ShareStatus.ASKED,
                                         reply__remote_id=item.in_reply_to,
                                         item__author_id=item.author_id,
                                         item__channel_id=item.channel_id)
             .exclude(keyword="").first())
    if share is None or not re.search(r"(?<![\w#])" + re.escape(share.keyword) + r"(?!\w)",
                                      item.text, re.IGNORECASE):
        return
    try:
        answer_share(share, True, None, answer=item)
    except ActionRefused:
        pass  # answered meanwhile


def start_credited_draft(share: ShareRequest, user) -> CampaignPage:
    """With the author's permission, a draft campaign crediting them (their handle, the
    original link, the media referenced), through the brand's approval workflow like any draft.
    Once per permission: a second click finds the first draft."""
    with transaction.atomic():
        share = ShareRequest.objects.select_for_update().select_related(
            "item__channel").get(pk=share.pk)
        if share.status != ShareStatus.GRANTED:
            raise ActionRefused("Without the author's permission nothing of theirs is shared: "
                                "record their yes first.")
        if share.page_id and (page := CampaignPage.objects.filter(pk=share.page_id).first()):
            return page
        item = share.item
        try:
            page = campaign_draft_create(data=_credited(item), user=user)
        except PermissionDenied as exc:
            raise ActionRefused(str(exc)) from None
        except ValidationError as exc:
            raise ActionRefused("The draft could not be made: " + "; ".join(
                exc.messages)) from None
        share.page_id, share.draft_by, share.draft_at = page.pk, user, timezone.now()
        share.save(update_fields=["page_id", "draft_by", "draft_at"])
    return page


def _credited(item: Item) -> dict:
    """The draft campaign's content, crediting the author."""
    who = item.author_handle
    name = f"{item.author_name} ({who})" if item.author_name else who
    media = "".join(
        f'<li><a href="{escape(m["url"])}">{escape(m.get("kind") or "media")} {number}</a>'
        f'{": " + escape(m["alt"]) if m.get("alt") else ""}</li>'
        for number, m in enumerate(item.media_links, start=1))
    original = (f'<a href="{escape(item.remote_url)}">{escape(item.remote_url)}</a>'
                if item.remote_url else "(no link)")
    kind = item.get_kind_display().lower()
    story = (f"<p>Shared with the permission of {escape(name)}: their {kind} on "
             f"{escape(item.channel.name)}, {original}.</p>"
             f"<p>“{escape(item.text[:1000])}”</p>"
             + (f"<p>Their photos and videos (add them to the post from the media library):</p>"
                f"<ul>{media}</ul>" if media else ""))
    copy = f"Thank you {who} for sharing this with us! 📷 {who}"
    channel = [item.channel_id] if item.channel.active else []
    return {"title": f"Shared by {who}"[:255], "goal": f"Share what {who} shared, credited.",
            "key_message": f"Credit {who}; original: {item.remote_url or '(no link)'}",
            "story": story,
            "posts": [{"copy": copy, "link": item.remote_url, "channels": channel}]}


def recheck_replies(client) -> int:
    """Replies whose outcome is unknown are sent again with their key (the network answers a
    repeat with the post it made): part of each poll."""
    done = 0
    for reply in Reply.objects.filter(state=ReplyState.UNCONFIRMED).select_related(
            "item__channel")[:100]:
        send_reply(reply)
        done += 1
    return done


# -- response targets -------------------------------------------------------------------------

def notify_missed_targets(client, *, now=None) -> int:
    """Open, unanswered items past the brand's response target: the assignee (else the
    on-call people) emailed once, in one email per person and poll."""
    now = now or timezone.now()
    brand = ConversationSettings.load()
    if not brand.response_target_hours:
        return 0
    missed = list(Item.objects.filter(
        responded_at__isnull=True, target_missed_at__isnull=True,
        created_at__lt=now - timedelta(hours=brand.response_target_hours))
        .exclude(state=ItemState.DONE).select_related("assignee", "channel")
        .order_by("created_at")[:200])
    if not missed:
        return 0
    by_person: dict[str, list[Item]] = {}
    for item in missed:
        people = [item.assignee.email] if item.assignee and item.assignee.email \
            else brand.on_call
        for address in people:
            by_person.setdefault(address, []).append(item)
    for address, items in by_person.items():
        try:
            send_client_email(client=client, to=[address],
                              subject=f"{len(items)} people waited more than "
                                      f"{brand.response_target_hours} h for an answer",
                              template="conversations/email/target_missed",
                              context={"items": items, "hours": brand.response_target_hours})
        except Exception:  # noqa: BLE001 - tried again at the next poll
            log.exception("conversations: the missed-target email to a member failed")
            by_person[address] = []
    told = {item.pk for items in by_person.values() for item in items}
    if not by_person:  # nobody to tell (no assignee, no on-call): marked, not retried forever
        told = {item.pk for item in missed}
    Item.objects.filter(pk__in=told).update(target_missed_at=now)
    for item in missed:
        if item.pk in told:
            item.target_missed_at = now
            target_missed.send(sender=Item, item=item, hours=brand.response_target_hours)
    return len(told)
