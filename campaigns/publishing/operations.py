"""Operations across brands (public schema): crisis holds, pauses, drain, replay, queue counts.

Each action is audited (``tenants.AuditEvent``); what it does to deliveries is done by
``transitions``, which writes the delivery events that say what happened to each post."""

from __future__ import annotations

import re
import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from campaigns.publishing import transitions
from campaigns.publishing.models import CrisisHold, Delivery, Pause, State
from tenants.services import audit


def _scope_slug(client) -> str:
    return client.slug if client is not None else "*"


def matching(*, tag: str = "", word: str = "", client=None):
    """Scheduled, not yet held deliveries that a hold on ``tag`` / ``word`` would take."""
    deliveries = Delivery.objects.filter(state=State.SCHEDULED, hold__isnull=True)
    if client is not None:
        deliveries = deliveries.filter(client=client)
    if tag:
        deliveries = deliveries.filter(tags__contains=[tag.strip().lower()])
    elif word:
        # A whole word (no letter, digit or _ right before or after), matched literally: the
        # same test as outbox.hold_matches, which guards the last step before sending.
        literal = re.sub(r"([^\w\s])", r"\\\1", word.strip())
        pattern = r"(?<![[:alnum:]_])" + literal + r"(?![[:alnum:]_])"
        deliveries = deliveries.filter(content__text__iregex=pattern)
    return deliveries


@transaction.atomic
def hold_create(*, reason: str, tag: str = "", word: str = "", everything: bool = False,
                client=None, user=None) -> tuple[CrisisHold, int]:
    """Hold every scheduled post matching ``tag`` or ``word`` (or everything) across all brands,
    or in ``client`` only. While the hold stands, newly approved matching posts are held too."""
    reason, tag, word = reason.strip(), tag.strip().lower(), word.strip()
    if not reason:
        raise ValidationError("Say why the posts are held, e.g. “Breaking news: flooding”.")
    if sum(bool(x) for x in (tag, word, everything)) != 1:
        raise ValidationError("Hold by one topic tag, or by one word, or hold everything.")
    if word and not re.search(r"\w", word):
        raise ValidationError("The word needs at least one letter or digit.")
    hold = CrisisHold.objects.create(reason=reason[:200], tag=tag[:100], word=word[:100],
                                     client=client, created_by=user)
    ids = list(matching(tag=tag, word=word, client=client).select_for_update()
               .values_list("id", flat=True))
    transitions.hold(ids, hold, user)
    audit(actor=user, client_slug=_scope_slug(client), action="publishing.hold",
          hold=hold.pk, reason=reason, tag=tag, word=word, held=len(ids))
    return hold, len(ids)


@transaction.atomic
def hold_release(hold: CrisisHold, *, user=None, delivery_ids=None) -> int:
    """Release some held posts (``delivery_ids``) or all of them, which also ends the hold.
    A released post whose time has passed goes out now."""
    held = Delivery.objects.select_for_update().filter(hold=hold)
    if delivery_ids is not None:
        held = held.filter(id__in=list(delivery_ids))
    ids = list(held.values_list("id", flat=True))
    transitions.release(ids, hold, user)
    if delivery_ids is None and hold.released_at is None:
        hold.released_at, hold.released_by = timezone.now(), user
        hold.save(update_fields=["released_at", "released_by"])
    audit(actor=user, client_slug=_scope_slug(hold.client), action="publishing.release",
          hold=hold.pk, released=len(ids), all=delivery_ids is None)
    return len(ids)


def pause(*, client=None, channel_id: int | None = None, reason: str = "", user=None) -> Pause:
    if channel_id is not None and client is None:
        raise ValidationError("A channel is paused within its brand: name the brand.")
    item, _ = Pause.objects.get_or_create(client=client, channel_id=channel_id,
                                          defaults={"reason": reason, "created_by": user})
    audit(actor=user, client_slug=_scope_slug(client), action="publishing.pause",
          channel=channel_id, reason=reason)
    return item


def resume(*, client=None, channel_id: int | None = None, user=None) -> int:
    deleted, _ = Pause.objects.filter(client=client, channel_id=channel_id).delete()
    audit(actor=user, client_slug=_scope_slug(client), action="publishing.resume",
          channel=channel_id)
    return deleted


def drain(*, timeout: float = 120.0, user=None) -> int:
    """Pause everything, then wait until no post is being sent. Returns how many still are
    (0 when drained). ``resume()`` with no brand undoes it."""
    pause(reason="Drained for maintenance", user=user)
    deadline = time.monotonic() + timeout
    while True:
        sending = Delivery.objects.filter(state=State.CLAIMED).count()
        if sending == 0 or time.monotonic() >= deadline:
            return sending
        time.sleep(0.5)


@transaction.atomic
def replay(*, client=None, state: str = State.FAILED, since=None, user=None) -> int:
    """Send failed posts again (or ask the network again about unconfirmed ones): the same
    transition as a staff member's "Retry", for many at once."""
    count = transitions.replay(client=client, state=state, since=since, user=user)
    audit(actor=user, client_slug=_scope_slug(client), action="publishing.replay",
          state=state, count=count)
    return count


def queue_summary(client=None) -> list[dict]:
    """Per brand: counts by state, held, and the next due time (one grouped query)."""
    deliveries = Delivery.objects.all()
    if client is not None:
        deliveries = deliveries.filter(client=client)
    rows = {}
    for row in (deliveries.values("client__slug", "state")
                .annotate(n=Count("id"), held=Count("id", filter=Q(hold__isnull=False)),
                          next_due=Min("next_attempt_at", filter=Q(state=State.SCHEDULED)))
                .order_by("client__slug")):
        entry = rows.setdefault(row["client__slug"], {"brand": row["client__slug"],
                                                      "held": 0, "next_due": None,
                                                      **dict.fromkeys(State.values, 0)})
        entry[row["state"]] = row["n"]
        if row["state"] == State.SCHEDULED:
            entry["held"] = row["held"]
            entry["next_due"] = row["next_due"]
    return list(rows.values())
