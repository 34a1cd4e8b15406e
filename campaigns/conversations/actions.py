"""What is done with an item: the classifier's automatic actions on ingest, staff's actions
(assign, state, notes, mute or block the author, undo), and replies as the brand.

- **hide**: hidden on the network where its adapter can (``Adapter.can_hide``): Bluesky (the
  thread's threadgate ``hiddenReplies``, under the brand's own post), Facebook and Instagram
  comments, Threads top-level replies; Mastodon cannot hide replies on others' posts, so the item
  is flagged for staff, who may mute or block the author from the inbox (Mastodon's API).
- **escalate**: never hidden; pinned at the top, and the brand's on-call people are emailed at
  once with the brand's guidance.
- every automatic action is a ``ModerationAction`` with its reason, undone in one click
  (``undo``: a hidden reply is shown again on the network).

Replies go out exactly once: the ``Reply`` row and its key are committed before the network call;
a resend (an unknown outcome, a second click) uses the same key, which the network drops
(Mastodon: ``Idempotency-Key``; Bluesky: a record key derived from the row).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

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
    What,
)
from campaigns.conversations.moderation import classify
from campaigns.conversations.signals import item_created, item_escalated, target_missed
from campaigns.publishing import adapters
from campaigns.publishing.adapters import AdapterError, Permanent, Transient, Unknown
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

def classify_item(item: Item, brand: ConversationSettings) -> None:
    """The classifier's verdict on a new item (before it is stored), with the brand's words and
    trusted authors."""
    verdict = classify(item.text or "", brand_words=brand.brand_words or None,
                       trusted=brand.trusts(item.author_handle))
    item.action, item.categories, item.reason = verdict.action, list(verdict.categories), \
        verdict.reason


def on_ingest(client, item: Item, brand: ConversationSettings | None = None) -> None:
    """Do what a new item's action says (after the item is committed), and announce it
    (``item_created``; an escalation then ``item_escalated``)."""
    if item.action == "hide":
        _hide_automatically(item, item.reason)
    item_created.send(sender=Item, item=item)
    if item.action == "escalate":
        _escalate(client, item, item.reason, brand or ConversationSettings.load())


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
    try:
        with transaction.atomic():
            return Reply.objects.create(item=item, text=text, idempotency_key=key,
                                        author=user), True
    except IntegrityError:
        return Reply.objects.get(idempotency_key=key), False


def send_reply(reply: Reply) -> Reply:
    """Send (or send again, with the same key) a reply that is not known to be out."""
    if reply.state in (ReplyState.SENT, ReplyState.FAILED):
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
