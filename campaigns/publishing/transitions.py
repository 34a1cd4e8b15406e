"""Every change of a delivery's state, in one place: named, guarded, atomic.

A delivery moves through ``State`` (scheduled, claimed, published, failed, unconfirmed, cancelled)
only through the functions here; nothing else in the project writes its state (a test scans the
source for other writers). Each function checks that the change is allowed from where the
delivery is, makes it in one transaction, records what happened as a ``DeliveryEvent`` (one
``EventKind``), and once committed sends ``delivery_changed`` (with ``alerts``' published and
failed signals where they apply), as Wagtail's ``TaskState.approve`` saves, logs and signals.

Three families of callers, three kinds of guard:

- the dispatcher's fast paths (``claim_due``, ``claim_checks``, ``sweep``): one SQL statement
  each over many rows, ``FOR UPDATE SKIP LOCKED``, the state in the ``WHERE`` clause. A claim
  records no event (the history shows what the claim came to);
- the worker's steps, under a claim (``start``, ``hold_claimed``, ``succeed``, ``fail``,
  ``fail_transient``, ``mark_unconfirmed``, ``still_unknown``, ``not_found``,
  ``cancel_withdrawn``): the change is made only if the claim still holds the delivery in the
  expected state; otherwise nothing happens and the result is ``Outcome.STALE``;
- what staff, operators and the approval workflow do (``create``, ``cancel``, ``retry``,
  ``replay``, ``confirm``, ``mark_not_sent``, ``reschedule``, ``cancel_or_withdraw``,
  ``cancel_page``, ``hold``, ``release``, ``not_resent``): under a row lock; a change the state
  does not allow is refused with a ``ValidationError`` saying why.
"""

from __future__ import annotations

import enum
import random
from datetime import datetime, timedelta
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.dispatch import Signal
from django.utils import timezone

from campaigns.models import PublishingSettings
from campaigns.publishing import alerts, config
from campaigns.publishing.models import (
    NOT_SENT,
    CrisisHold,
    Delivery,
    DeliveryEvent,
    EventKind,
    State,
)
from tenants.models import current_client

# Sent once a transition is committed, with ``delivery_id``, ``kind`` (the EventKind recorded),
# ``actor`` (a user, or None for the engine) and the delivery's ``network``, ``channel_id`` and
# ``client_id`` (``About``). The dispatcher's claims send nothing.
delivery_changed = Signal()


class Outcome(enum.StrEnum):
    """What a worker's step with a claimed delivery came to."""

    PUBLISHED = "published"
    RETRY = "retry"  # a transient failure: scheduled again, after a backoff
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"  # may be on the network: it will be asked
    UNKNOWN = "unknown"  # asked, still cannot tell: asked again later
    RESEND = "resend"  # not on the network: scheduled again, same idempotency key
    CANCELLED = "cancelled"  # withdrawn meanwhile: not sent
    HELD = "held"  # a crisis hold took it at the last step
    WAITING = "waiting"  # the channel needs reconnecting: scheduled again, waiting for it
    STALE = "stale"  # the claim no longer holds it: nothing done


# Where each transition may start from (the guards).
RETRYABLE = (State.FAILED, State.UNCONFIRMED)
GOING = (State.CLAIMED, State.UNCONFIRMED)  # on its way, or perhaps out


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (between half and all of the step), at least what the
    network asked for."""
    step = min(config("BACKOFF_MAX_SECONDS"), config("BACKOFF_BASE_SECONDS") * 2 ** (attempt - 1))
    delay = step * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret
    return max(delay, retry_after or 0.0)


# --- history and signals ---------------------------------------------------------------------


class About(NamedTuple):
    """What ``delivery_changed`` tells about the delivery, so that a receiver can pass over
    what is not its business (another network, another channel) without a query."""

    pk: int
    network: str
    channel_id: int
    client_id: int


ABOUT = ("pk", "network", "channel_id", "client_id")


def _about(ids: list[int]) -> list[About]:
    return [About(*row) for row in Delivery.objects.filter(id__in=ids).values_list(*ABOUT)]


def _announce(changes: list[tuple[About | Delivery, EventKind]], actor=None) -> None:
    """Send ``delivery_changed`` for each change once the transaction commits."""
    if not changes or not delivery_changed.has_listeners(Delivery):
        return
    told = [(About(d.pk, d.network, d.channel_id, d.client_id), kind) for d, kind in changes]

    def send():
        for about, kind in told:
            delivery_changed.send(sender=Delivery, delivery_id=about.pk, kind=kind,
                                  actor=actor, network=about.network,
                                  channel_id=about.channel_id, client_id=about.client_id)

    transaction.on_commit(send)


def _record(delivery: About | Delivery, kind: EventKind, detail: str = "", actor=None) -> None:
    actor = actor if getattr(actor, "pk", None) else None
    DeliveryEvent.objects.create(delivery_id=delivery.pk, kind=kind, detail=detail, actor=actor)
    _announce([(delivery, kind)], actor)


def _record_many(rows: list[About], kind: EventKind, detail: str, actor=None) -> None:
    actor = actor if getattr(actor, "pk", None) else None
    DeliveryEvent.objects.bulk_create([
        DeliveryEvent(delivery_id=row.pk, kind=kind, detail=detail, actor=actor)
        for row in rows])
    _announce([(row, kind) for row in rows], actor)


# --- the dispatcher's fast paths -------------------------------------------------------------

T = "public.publishing_delivery"
PAUSED = """EXISTS (SELECT 1 FROM public.publishing_pause p
             WHERE p.client_id IS NULL OR (p.client_id = d.client_id
                   AND (p.channel_id IS NULL OR p.channel_id = d.channel_id)))"""

# The channel's token stopped working: its posts wait for someone to reconnect it.
WAITS_FOR_RECONNECT = """EXISTS (SELECT 1 FROM public.publishing_reconnectwait r
             WHERE r.client_id = d.client_id AND r.channel_id = d.channel_id)"""

CLAIM_DUE = f"""
WITH due AS (
    SELECT d.id FROM {T} d
    WHERE d.state = 'scheduled' AND d.hold_id IS NULL
      AND d.next_attempt_at <= statement_timestamp() + make_interval(secs => %s)
      AND NOT {PAUSED}
      AND NOT {WAITS_FOR_RECONNECT}
    ORDER BY d.next_attempt_at
    LIMIT %s
    FOR UPDATE SKIP LOCKED)
UPDATE {T} d
   SET state = 'claimed', claim = gen_random_uuid(), sending_at = NULL,
       lease_until = statement_timestamp() + make_interval(secs => %s), attempts = d.attempts + 1,
       updated_at = statement_timestamp()
  FROM due WHERE d.id = due.id
RETURNING d.id, d.claim
"""  # noqa: S608 - table names only

CLAIM_CHECKS = f"""
WITH due AS (
    SELECT d.id FROM {T} d
    WHERE d.state = 'unconfirmed' AND d.next_attempt_at <= statement_timestamp()
      AND (d.lease_until IS NULL OR d.lease_until < statement_timestamp())
    ORDER BY d.next_attempt_at
    LIMIT %s
    FOR UPDATE SKIP LOCKED)
UPDATE {T} d
   SET claim = gen_random_uuid(), lease_until = statement_timestamp() + make_interval(secs => %s),
       checks = d.checks + 1, updated_at = statement_timestamp()
  FROM due WHERE d.id = due.id
RETURNING d.id, d.claim
"""  # noqa: S608

SWEEP = f"""
WITH gone AS (
    SELECT d.id FROM {T} d
    WHERE d.state = 'claimed' AND d.lease_until < statement_timestamp()
    FOR UPDATE SKIP LOCKED),
moved AS (
    UPDATE {T} d
       SET state = CASE WHEN d.sending_at IS NULL THEN 'scheduled' ELSE 'unconfirmed' END,
           next_attempt_at = CASE WHEN d.sending_at IS NULL THEN statement_timestamp()
                                  ELSE statement_timestamp() + make_interval(secs => %s) END,
           lease_until = NULL, updated_at = statement_timestamp(),
           -- a claim that ran out before sending began was no try: not counted (under load
           -- many run out in the queue, and "sent N times" must count sends)
           attempts = CASE WHEN d.sending_at IS NULL THEN GREATEST(d.attempts - 1, 0)
                           ELSE d.attempts END,
           error = CASE WHEN d.sending_at IS NULL THEN d.error
                        ELSE 'The worker stopped while sending; checking with the network.' END
      FROM gone WHERE d.id = gone.id
    RETURNING d.id, d.state, d.network, d.channel_id, d.client_id),
recorded AS (
    INSERT INTO public.publishing_deliveryevent (delivery_id, at, kind, detail)
    SELECT id, statement_timestamp(),
           CASE WHEN state = 'scheduled' THEN 'lease_expired' ELSE 'unconfirmed' END,
           CASE WHEN state = 'scheduled' THEN 'The claim ran out before sending began; taken again.'
                ELSE 'The worker stopped while sending; the network will be asked.' END
      FROM moved
    RETURNING delivery_id, kind)
SELECT r.delivery_id, r.kind, m.network, m.channel_id, m.client_id
  FROM recorded r JOIN moved m ON m.id = r.delivery_id
"""  # noqa: S608

START_SENDING = f"""
UPDATE {T}
   SET sending_at = statement_timestamp(), sent_by = %s, updated_at = statement_timestamp(),
       lease_until = statement_timestamp() + make_interval(secs => %s)
 WHERE id = %s AND claim = %s AND state = 'claimed' AND sending_at IS NULL
   AND lease_until > statement_timestamp() AND NOT withdrawn
RETURNING sending_at
"""  # noqa: S608


# claimed or unconfirmed → published, for several deliveries in one statement: each row changes
# only if its claim still holds it, and its event is recorded by the same statement.
SUCCEED_MANY = f"""
WITH done AS (
    SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::text[], %s::text[], %s::text[])
        AS t(id, claim, remote_id, remote_url, detail)),
moved AS (
    UPDATE {T} d
       SET state = 'published', remote_id = done.remote_id, remote_url = done.remote_url,
           published_at = statement_timestamp(), lease_until = NULL, error = '',
           updated_at = statement_timestamp()
      FROM done
     WHERE d.id = done.id AND d.claim = done.claim AND d.state IN ('claimed', 'unconfirmed')
    RETURNING d.id, d.network, d.channel_id, d.client_id, done.detail),
recorded AS (
    INSERT INTO public.publishing_deliveryevent (delivery_id, at, kind, detail)
    SELECT id, statement_timestamp(), 'published', detail FROM moved)
SELECT id, network, channel_id, client_id FROM moved
"""  # noqa: S608 - table names only


def _claim(sql: str, params: list) -> list[tuple[int, str]]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*params, config("LEASE_SECONDS")])
        return [(pk, str(claim)) for pk, claim in cursor.fetchall()]


def claim_due(batch: int | None = None, prefetch: float = 0.0) -> list[tuple[int, str]]:
    """scheduled → claimed: what is due now, or within ``prefetch`` seconds (the worker waits
    for its time), not held or paused, with a new claim and a lease. Returns (id, claim)s."""
    return _claim(CLAIM_DUE, [prefetch, batch or config("BATCH")])


def claim_checks(batch: int | None = None) -> list[tuple[int, str]]:
    """unconfirmed, due to be asked about → the same state under a new claim and lease."""
    return _claim(CLAIM_CHECKS, [batch or config("BATCH")])


def sweep() -> int:
    """claimed, lease run out → scheduled (the network call never began) or unconfirmed (it
    began: the network will be asked, never blindly sent again). Returns how many moved."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SWEEP, [config("CHECK_AFTER_SECONDS")])
        moved = cursor.fetchall()
        _announce([(About(pk, network, channel_id, client_id), EventKind(kind))
                   for pk, kind, network, channel_id, client_id in moved])
        return len(moved)


# --- the worker's steps, under a claim -------------------------------------------------------


def _under_claim(delivery: Delivery, current_claim: str, states, kind: EventKind, detail: str,
                 /, *, alert: bool = False, **fields) -> bool:
    """Change the delivery (``fields``) and record its event in one transaction, if
    ``current_claim`` still holds it in one of ``states``; the team's alert goes once it is
    committed."""
    with transaction.atomic():
        changed = (Delivery.objects.filter(pk=delivery.pk, claim=current_claim, state__in=states)
                   .update(**fields, updated_at=timezone.now()))
        if not changed:
            return False
        _record(delivery, kind, detail[:2000])
        if alert:
            transaction.on_commit(
                lambda: alerts.delivery_failed(Delivery.objects.get(pk=delivery.pk)))
        return True


def start(delivery: Delivery, claim: str, sent_by: str) -> bool:
    """Mark the start of the network call (one statement, committed before the call), if this
    claim still holds the delivery, nobody started it yet, its lease runs and it was not
    withdrawn. Sets ``delivery.sending_at``; False when it may not be sent."""
    with connection.cursor() as cursor:
        cursor.execute(START_SENDING, [sent_by, config("SEND_TIMEOUT_SECONDS")
                                       + config("LEASE_SECONDS"), delivery.pk, claim])
        row = cursor.fetchone()
    if row is None:
        return False
    delivery.sending_at = row[0]
    return True


def hold_claimed(delivery: Delivery, claim: str, crisis: CrisisHold) -> Outcome:
    """claimed → scheduled and held: a crisis hold matched it at the last step."""
    done = _under_claim(delivery, claim, [State.CLAIMED], EventKind.HELD,
                        f"Crisis hold: {crisis.reason}", state=State.SCHEDULED, hold=crisis,
                        lease_until=None, claim=None)
    return Outcome.HELD if done else Outcome.STALE


def cancel_withdrawn(delivery: Delivery, claim: str) -> Outcome:
    """claimed (before sending) or unconfirmed (and not on the network) → cancelled, if the
    campaign or post was withdrawn meanwhile."""
    detail = ("Not on the network, and the campaign or post was withdrawn meanwhile: not sent "
              "again." if delivery.state == State.UNCONFIRMED
              else "The campaign or post was withdrawn before sending.")
    with transaction.atomic():
        changed = (Delivery.objects.filter(pk=delivery.pk, claim=claim, state=delivery.state,
                                           state__in=GOING, withdrawn=True)
                   .update(state=State.CANCELLED, lease_until=None, claim=None,
                           updated_at=timezone.now()))
        if not changed:
            return Outcome.STALE
        _record(delivery, EventKind.CANCELLED, detail)
    return Outcome.CANCELLED


def succeed(delivery: Delivery, claim: str, remote_id: str, url: str, *,
            checked: bool = False) -> Outcome:
    """claimed or unconfirmed → published; the webhooks hear of it once committed."""
    return succeed_many([(delivery.pk, claim, remote_id, url)], checked=checked)[delivery.pk]


def succeed_many(items: list[tuple[int, str, str, str]], *,
                 checked: bool = False) -> dict[int, Outcome]:
    """``succeed`` for several deliveries ``(id, claim, remote_id, url)`` at once: one statement
    changes those the claim still holds and records their events (a worker records the posts
    of a batch together, not one transaction each). Returns each id's ``Outcome``; the webhooks
    hear of them once committed."""
    if not items:
        return {}
    prefix = "Found on the network after an unknown outcome: " if checked else ""
    ids, claims, remote_ids, urls, details = [], [], [], [], []
    for pk, claim, remote_id, url in items:
        ids.append(int(pk))
        claims.append(str(claim))
        remote_ids.append(remote_id[:255])
        urls.append(url[:500])
        details.append((prefix + (url or remote_id))[:2000])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SUCCEED_MANY, [ids, claims, remote_ids, urls, details])
        moved = [About(*row) for row in cursor.fetchall()]
        _announce([(about, EventKind.PUBLISHED) for about in moved])
        published = [about.pk for about in moved]
        if published:
            transaction.on_commit(lambda: alerts.deliveries_published(published))  # webhooks
    outcomes = dict.fromkeys(ids, Outcome.STALE)
    outcomes.update(dict.fromkeys(published, Outcome.PUBLISHED))
    return outcomes


def fail(delivery: Delivery, claim: str, message: str) -> Outcome:
    """claimed or unconfirmed → failed, with the network's reason; the team is told."""
    done = _under_claim(delivery, claim, GOING, EventKind.FAILED, message, alert=True,
                        state=State.FAILED, lease_until=None, error=message)
    return Outcome.FAILED if done else Outcome.STALE


def fail_transient(delivery: Delivery, claim: str, message: str,
                   retry_after: float | None = None) -> Outcome:
    """claimed → scheduled again after a backoff (a timeout before sending, 429, 5xx), or
    failed once ``MAX_ATTEMPTS`` tries are spent."""
    if delivery.attempts >= config("MAX_ATTEMPTS"):
        return fail(delivery, claim, f"Gave up after {delivery.attempts} tries: {message}")
    wait = backoff(delivery.attempts, retry_after)
    done = _under_claim(delivery, claim, [State.CLAIMED], EventKind.RETRY_SCHEDULED,
                        f"{message} Trying again in {wait:.0f} s.", state=State.SCHEDULED,
                        next_attempt_at=timezone.now() + timedelta(seconds=wait),
                        sending_at=None, lease_until=None, error=message)
    return Outcome.RETRY if done else Outcome.STALE


def wait_for_reconnect(delivery: Delivery, claim: str, message: str) -> Outcome:
    """claimed → scheduled, waiting: the network no longer takes the channel's token and
    nothing was sent. It is neither failed nor dropped: the caller records the channel as
    needing reconnection (in the same transaction), and reconnecting it lets the post go
    (``resume_reconnected``). This try is not counted."""
    done = _under_claim(delivery, claim, [State.CLAIMED], EventKind.WAITING_RECONNECT,
                        f"{message} It waits until someone reconnects the channel.",
                        state=State.SCHEDULED, sending_at=None, lease_until=None, claim=None,
                        attempts=max(0, delivery.attempts - 1), error=message)
    return Outcome.WAITING if done else Outcome.STALE


def resume_reconnected(client_id: int, channel_id: int) -> int:
    """The channel was reconnected: its scheduled posts that waited for it go now (or at their
    time). Returns how many had waited."""
    last_event = (DeliveryEvent.objects.filter(delivery=OuterRef("pk"))
                  .order_by("-at", "-id").values("kind")[:1])
    with transaction.atomic():
        waiting = [About(*row) for row in Delivery.objects.select_for_update()
                   .filter(client_id=client_id, channel_id=channel_id, state=State.SCHEDULED)
                   .annotate(last_kind=Subquery(last_event))
                   .filter(last_kind=EventKind.WAITING_RECONNECT)
                   .values_list(*ABOUT)]
        ids = [about.pk for about in waiting]
        now = timezone.now()
        Delivery.objects.filter(id__in=ids, next_attempt_at__lt=now).update(
            next_attempt_at=now, updated_at=now)
        Delivery.objects.filter(id__in=ids).update(error="", updated_at=now)
        _record_many(waiting, EventKind.RESUMED, "The channel was reconnected.")
    return len(waiting)


def mark_unconfirmed(delivery: Delivery, claim: str, message: str) -> Outcome:
    """claimed → unconfirmed: the post may be out (a timeout after sending, an unexpected
    error); the network is asked after ``CHECK_AFTER_SECONDS``."""
    done = _under_claim(delivery, claim, [State.CLAIMED], EventKind.UNCONFIRMED,
                        f"{message} The network will be asked before anything is sent again.",
                        state=State.UNCONFIRMED, lease_until=None, error=message,
                        next_attempt_at=timezone.now() + timedelta(
                            seconds=config("CHECK_AFTER_SECONDS")))
    return Outcome.UNCONFIRMED if done else Outcome.STALE


def still_unknown(delivery: Delivery, claim: str, message: str) -> Outcome:
    """unconfirmed, and the network could not tell → asked again later; the team is told once,
    after ``ALERT_AFTER_CHECKS`` checks."""
    wait = backoff(delivery.checks) + config("CHECK_AFTER_SECONDS")
    done = _under_claim(delivery, claim, [State.UNCONFIRMED], EventKind.CHECK_FAILED,
                        message, alert=delivery.checks == config("ALERT_AFTER_CHECKS"),
                        lease_until=None, error=message,
                        next_attempt_at=timezone.now() + timedelta(seconds=wait))
    return Outcome.UNKNOWN if done else Outcome.STALE


def not_found(delivery: Delivery, claim: str) -> Outcome:
    """unconfirmed, and the network does not have the post → cancelled if withdrawn meanwhile,
    failed after ``MAX_ATTEMPTS`` sends, else scheduled now (same idempotency key)."""
    if delivery.withdrawn:
        return cancel_withdrawn(delivery, claim)
    if delivery.attempts >= config("MAX_ATTEMPTS"):
        return fail(delivery, claim, f"Sent {delivery.attempts} times without the network "
                    "confirming it. Look at the channel before retrying.")
    done = _under_claim(delivery, claim, [State.UNCONFIRMED], EventKind.NOT_FOUND,
                        "The network does not have the post; sending it again with the same "
                        "idempotency key.", state=State.SCHEDULED, next_attempt_at=timezone.now(),
                        sending_at=None, lease_until=None, error="")
    return Outcome.RESEND if done else Outcome.STALE


# --- what staff, operators and the approval workflow do ---------------------------------------


def brand_client():
    """The brand whose schema is active: the outbox is written inside a brand's schema."""
    client = current_client()
    if client is None:
        raise RuntimeError("The outbox is written inside a brand's schema.")
    return client


def _locked(delivery_id: int) -> Delivery:
    return Delivery.objects.select_for_update().get(client=brand_client(), pk=delivery_id)


def _refuse_unless(delivery: Delivery, states, only: str) -> None:
    if delivery.state not in states:
        raise ValidationError(f"This post is {delivery.get_state_display().lower()}; only "
                              f"{only}.")


def create(delivery: Delivery, *, revision_id: int, late: bool, user=None) -> Delivery:
    """A new delivery frozen from an approved revision: scheduled, or failed when approved
    after its time (it waits for staff instead of going out late), held if a hold matches."""
    if delivery.pk is not None:
        raise ValueError("create() makes a new delivery.")
    if late:
        delivery.state = State.FAILED
        delivery.error = "Approved after its time. Reschedule it, or send it now with “Retry”."
    delivery.save()
    _record(delivery, EventKind.CREATED, f"From approved revision {revision_id}.", user)
    if late:
        _record(delivery, EventKind.FAILED, delivery.error)
    if delivery.hold is not None:
        _record(delivery, EventKind.HELD, f"Crisis hold: {delivery.hold.describe()}.")
    return delivery


def not_resent(delivery: Delivery, revision_id: int, user=None) -> None:
    """No change: a new revision changed a post that had already gone out; the history says
    it is not sent again."""
    _record(delivery, EventKind.NOT_RESENT, f"Revision {revision_id} changed this post, but "
            "it had already gone out; it is not sent again.", user)


def _cancel(delivery: Delivery, reason: str, user=None) -> None:
    delivery.state = State.CANCELLED
    delivery.claim = None
    delivery.lease_until = None
    delivery.error = ""
    delivery.save(update_fields=["state", "claim", "lease_until", "error", "updated_at"])
    _record(delivery, EventKind.CANCELLED, reason, user)


def _withdraw(delivery: Delivery, reason: str, user=None) -> None:
    """On its way or not confirmed: if the network turns out not to have it, it is not sent
    again."""
    delivery.withdrawn = True
    delivery.save(update_fields=["withdrawn", "updated_at"])
    _record(delivery, EventKind.WITHDRAWN, f"{reason} If the network does not have it, it is "
            "not sent again.", user)


def cancel_or_withdraw(delivery: Delivery, reason: str, user=None) -> None:
    """For a delivery the caller holds locked: one not sent is cancelled, one on its way (or
    perhaps out) is withdrawn; a published or cancelled one is left as it is."""
    if delivery.state in NOT_SENT:
        _cancel(delivery, reason, user)
    elif delivery.state in GOING:
        _withdraw(delivery, reason, user)


@transaction.atomic
def cancel_page(page_id: int, reason: str, user=None) -> int:
    """Cancel every delivery of a campaign that has not gone out (withdraw those on their
    way). Returns how many."""
    deliveries = list(Delivery.objects.select_for_update()
                      .filter(client=brand_client(), page_id=page_id,
                              state__in=[*NOT_SENT, *GOING]))
    for delivery in deliveries:
        cancel_or_withdraw(delivery, reason, user)
    return len(deliveries)


@transaction.atomic
def cancel(delivery_id: int, user=None) -> Delivery:
    """Staff: scheduled or failed → cancelled."""
    delivery = _locked(delivery_id)
    _refuse_unless(delivery, NOT_SENT, "a scheduled or failed post can be cancelled")
    _cancel(delivery, "Cancelled by staff.", user)
    return delivery


def _retry(ids: list[int], state: State, detail: str, user=None) -> None:
    """The one implementation of retrying, for ``retry`` and ``replay``: failed → scheduled
    now with its tries counted afresh; unconfirmed → asked about again now."""
    now = timezone.now()
    changes = {"next_attempt_at": now, "updated_at": now}
    if state == State.FAILED:
        changes.update(state=State.SCHEDULED, attempts=0)
    else:
        changes.update(lease_until=None)
    Delivery.objects.filter(id__in=ids, state=state).update(**changes)
    _record_many(_about(ids), EventKind.RETRY if state == State.FAILED else EventKind.CHECK, detail,
                 user)


@transaction.atomic
def retry(delivery_id: int, user=None) -> Delivery:
    """Staff: send a failed delivery again now, or ask the network again about an unconfirmed
    one."""
    delivery = _locked(delivery_id)
    _refuse_unless(delivery, RETRYABLE, "a failed or unconfirmed post can be retried")
    _retry([delivery.pk], State(delivery.state),
           "Sent again by staff." if delivery.state == State.FAILED
           else "Staff asked to check the network again.", user)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def replay(*, client=None, state: str = State.FAILED, since=None, user=None) -> int:
    """Operators: ``retry`` every failed (or unconfirmed) delivery, of one brand or all, due
    since ``since``. Returns how many."""
    if state not in RETRYABLE:
        raise ValidationError("Only failed or unconfirmed posts can be replayed.")
    deliveries = Delivery.objects.select_for_update().filter(state=state)
    if client is not None:
        deliveries = deliveries.filter(client=client)
    if since is not None:
        deliveries = deliveries.filter(publish_at__gte=since)
    ids = list(deliveries.values_list("id", flat=True))
    _retry(ids, State(state), "Replayed by an operator.", user)
    return len(ids)


@transaction.atomic
def confirm(delivery_id: int, url: str = "", user=None) -> Delivery:
    """Staff saw an unconfirmed post on the network: unconfirmed → published."""
    delivery = _locked(delivery_id)
    if delivery.state != State.UNCONFIRMED:
        raise ValidationError("Only a post whose outcome is unknown can be confirmed by hand.")
    if url and not url.startswith(("https://", "http://")):
        raise ValidationError("Give the post's address starting with https://, or leave it "
                              "empty.")
    delivery.state, delivery.remote_url = State.PUBLISHED, url[:500]
    delivery.published_at, delivery.lease_until, delivery.error = timezone.now(), None, ""
    delivery.save()
    _record(delivery, EventKind.PUBLISHED,
            "Confirmed by staff" + (f": {url}" if url else "."), user)
    transaction.on_commit(lambda: alerts.delivery_published(delivery.pk))  # webhooks
    return delivery


@transaction.atomic
def mark_not_sent(delivery_id: int, user=None) -> Delivery:
    """Staff checked: an unconfirmed post is not on the network. unconfirmed → failed, and
    "Retry" sends it (with the same idempotency key)."""
    delivery = _locked(delivery_id)
    if delivery.state != State.UNCONFIRMED:
        raise ValidationError("Only a post whose outcome is unknown can be marked as not sent.")
    delivery.state, delivery.lease_until = State.FAILED, None
    delivery.error = "Not on the network (checked by staff). Retry to send it."
    delivery.sending_at = None
    delivery.save()
    _record(delivery, EventKind.NOT_SENT, "Marked as not sent by staff.", user)
    return delivery


# Why an approved post may not be moved where the brand does not let staff move them.
MOVE_NEEDS_CLIENT = ("Moving an approved post needs the client's approval: change its time in the "
                     "campaign and submit it again, or ask an agency admin to let staff move "
                     "approved posts (Settings → Publishing).")


def staff_may_move_approved_posts() -> bool:
    return PublishingSettings.load().staff_may_move_approved_posts


@transaction.atomic
def reschedule(delivery_id: int, when: datetime, user=None) -> Delivery:
    """Staff: scheduled or failed → scheduled at ``when``. An approved post's time is part of
    what the client approved: moving it needs their approval again unless the brand lets staff
    do it."""
    delivery = _locked(delivery_id)
    _refuse_unless(delivery, NOT_SENT, "a scheduled or failed post can be moved")
    if not staff_may_move_approved_posts():
        raise ValidationError(MOVE_NEEDS_CLIENT)
    if when <= timezone.now():
        raise ValidationError("Pick a time in the future.")
    before = delivery.publish_at
    delivery.publish_at = when
    delivery.next_attempt_at = when
    delivery.state = State.SCHEDULED
    delivery.attempts = 0
    delivery.error = ""
    delivery.save()
    _record(delivery, EventKind.RESCHEDULED,
            f"Moved from {before.isoformat()} to {when.isoformat()}.", user)
    return delivery


def refuse_ahead(delivery_id: int, message: str) -> bool:
    """scheduled (not claimed) → failed before its time: the network will not take it then (a
    daily quota the channel's earlier posts use up), so the team is told now, with ``message``,
    and can move it. Returns whether it was refused (False: it changed meanwhile)."""
    with transaction.atomic():
        changed = (Delivery.objects.filter(pk=delivery_id, state=State.SCHEDULED,
                                           claim__isnull=True)
                   .update(state=State.FAILED, error=message, updated_at=timezone.now()))
        if not changed:
            return False
        _record(*_about([delivery_id]), EventKind.FAILED, message[:2000])
        transaction.on_commit(
            lambda: alerts.delivery_failed(Delivery.objects.get(pk=delivery_id)))
    return True


def hold(ids: list[int], crisis: CrisisHold, user=None) -> None:
    """Operators: scheduled deliveries the caller holds locked are held by ``crisis``."""
    Delivery.objects.filter(id__in=ids).update(hold=crisis, updated_at=timezone.now())
    _record_many(_about(ids), EventKind.HELD, f"Crisis hold: {crisis.reason}", user)


def release(ids: list[int], crisis: CrisisHold, user=None) -> None:
    """Operators: held deliveries the caller holds locked are released; one whose time has
    passed goes out now."""
    Delivery.objects.filter(id__in=ids).update(hold=None, updated_at=timezone.now())
    _record_many(_about(ids), EventKind.RELEASED, f"Released from: {crisis.reason}", user)
