"""What a django-q2 worker does with a claimed delivery: publish it, or check an unknown outcome.

django-q2 may run a task twice (it delivers at least once) and a worker may die at any point,
so every step is guarded by the delivery's claim: a task whose claim is no longer current does
nothing. The start of the network call is committed (``sending_at``) before the call is made;
a delivery whose worker vanished after that point is checked with the network, never resent
blindly. Outcomes are recorded with a few retries so a database restart mid-way loses nothing
(and if it still cannot be recorded, the lease runs out and the network is asked).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.publishing import adapters, config
from campaigns.publishing.models import Delivery, DeliveryEvent, State

logger = logging.getLogger(__name__)


def worker_id() -> str:
    """host:pid of this worker (read when used: workers are forked after import)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _db_retry(func, *args, attempts: int = 20, **kwargs):
    """Run a short database write, riding out a restart of the database (about 10 s)."""
    for attempt in range(attempts):
        try:
            return func(*args, **kwargs)
        except DatabaseError:
            if attempt == attempts - 1:
                raise
            connection.close()
            time.sleep(0.5)
    return None


START_SENDING = """
UPDATE public.publishing_delivery
   SET sending_at = statement_timestamp(), sent_by = %s, updated_at = statement_timestamp(),
       lease_until = statement_timestamp() + make_interval(secs => %s)
 WHERE id = %s AND claim = %s AND state = 'claimed' AND sending_at IS NULL
   AND lease_until > statement_timestamp() AND NOT withdrawn
RETURNING sending_at
"""


def _start(delivery: Delivery, claim: str, holds) -> str | Delivery:
    """Mark the start of the network call (one statement), if this claim still holds the
    delivery and nobody started it yet. The last gate before the network: a post withdrawn
    meanwhile is cancelled, and one that an active crisis hold matches is held, whatever path
    brought it here. Returns the delivery, or what happened instead."""
    from campaigns.publishing.outbox import hold_matches

    hold = next((h for h in holds if hold_matches(h, delivery)), None)
    if hold is not None:
        done = _update(delivery.pk, claim, [State.CLAIMED],
                       event=("held", f"Crisis hold: {hold.reason}"), state=State.SCHEDULED,
                       hold=hold, lease_until=None, claim=None)
        return "held" if done else "stale"
    with connection.cursor() as cursor:
        cursor.execute(START_SENDING, [worker_id(), config("SEND_TIMEOUT_SECONDS")
                                       + config("LEASE_SECONDS"), delivery.pk, claim])
        row = cursor.fetchone()
    if row is not None:
        delivery.sending_at = row[0]
        return delivery
    if Delivery.objects.filter(pk=delivery.pk, claim=claim, withdrawn=True,
                               state=State.CLAIMED).exists():
        done = _update(delivery.pk, claim, [State.CLAIMED],
                       event=("cancelled", "The campaign or post was withdrawn before sending."),
                       state=State.CANCELLED, lease_until=None, claim=None)
        return "cancelled" if done else "stale"
    return "stale"


def _update(delivery_id: int, current_claim: str, states, *, event: tuple[str, str],
            alert: bool = False, **fields) -> bool | None:
    """Record an outcome and its event in one transaction, if the claim still holds; the
    team's alert goes once it is committed."""
    with transaction.atomic():
        changed = (Delivery.objects.filter(pk=delivery_id, claim=current_claim, state__in=states)
                   .update(**fields, updated_at=timezone.now()))
        if not changed:
            return None
        DeliveryEvent.objects.create(delivery_id=delivery_id, kind=event[0],
                                     detail=event[1][:2000])
        if alert:
            from campaigns.publishing import alerts

            transaction.on_commit(
                lambda: alerts.delivery_failed(Delivery.objects.get(pk=delivery_id)))
        return True


def _read(item: dict, kind: str, *, data: bool = True) -> tuple[bytes, str]:
    if not data:
        return b"", item["file"].rsplit("/", 1)[-1]
    try:
        with default_storage.open(item["file"], "rb") as handle:
            return handle.read(), item["file"].rsplit("/", 1)[-1]
    except OSError as exc:
        raise adapters.Permanent(f"{kind} {item['file']} could not be read: {exc}. Replace the "
                                 f"{kind.lower()} in the campaign and approve it again.") from exc


def outgoing(delivery: Delivery, *, media_data: bool = True) -> adapters.Outgoing:
    """The frozen content with its images and videos read from the brand's storage (inside its
    schema). Without ``media_data`` (to look for a post, which goes by text and descriptions)
    the files are named but not read."""
    images, videos = [], []
    for item in delivery.content.get("images", []):
        data, name = _read(item, "Image", data=media_data)
        images.append(adapters.Image(data=data, mime_type=adapters.guess_mime(name),
                                     alt=item.get("alt", ""), name=name))
    for item in delivery.content.get("videos", []):
        data, name = _read(item, "Video", data=media_data)
        videos.append(adapters.Video(data=data, mime_type=adapters.guess_mime(name),
                                     description=item.get("description", ""), name=name))
    created = delivery.created_at
    return adapters.Outgoing(
        idempotency_key=delivery.idempotency_key, text=delivery.content.get("text", ""),
        link=delivery.content.get("link", ""),
        first_comment=delivery.content.get("first_comment", ""), images=images, videos=videos,
        tags=list(delivery.tags), campaign_title=delivery.campaign_title,
        created_at_us=int(created.timestamp() * 1_000_000), delivery_id=delivery.pk)


def _adapter(delivery: Delivery, cache: dict | None = None) -> adapters.Adapter:
    from campaigns.models import Channel

    key = (delivery.schema_name, delivery.channel_id)
    if cache is not None and key in cache:
        channel = cache[key]
    else:
        channel = Channel.objects.filter(pk=delivery.channel_id).first()
        if cache is not None:
            cache[key] = channel
    if channel is None:
        raise adapters.Permanent(f"The channel “{delivery.channel_name}” was removed.")
    if not channel.active:
        raise adapters.Permanent(f"The channel “{channel.name}” is switched off. Switch it on "
                                 "and retry.")
    return adapters.for_channel(channel, timeout=config("SEND_TIMEOUT_SECONDS"))


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (between half and all of the step), at least what the
    network asked for."""
    step = min(config("BACKOFF_MAX_SECONDS"), config("BACKOFF_BASE_SECONDS") * 2 ** (attempt - 1))
    delay = step * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret
    return max(delay, retry_after or 0.0)


def deliver(delivery_id: int, claim: str) -> str:
    return deliver_batch([(delivery_id, claim)])[0]


def deliver_batch(items: list) -> list[str]:
    """Publish a batch of claimed deliveries (of any brands), each at its time.

    The dispatcher hands deliveries over up to ``PREFETCH_SECONDS`` early, so the queue's own
    latency is spent before the post's time; here each waits for its time, then goes out."""
    from campaigns.publishing.models import CrisisHold

    claims = {int(pk): str(claim) for pk, claim in items}
    rows = _db_retry(lambda: list(Delivery.objects.filter(
        pk__in=list(claims), state=State.CLAIMED, sending_at__isnull=True)))
    rows = sorted((d for d in rows if str(d.claim) == claims[d.pk]),
                  key=lambda d: d.next_attempt_at)
    holds = _db_retry(lambda: list(CrisisHold.objects.filter(released_at__isnull=True)))
    outcomes = dict.fromkeys(claims, "stale")
    channels: dict = {}
    for delivery in rows:
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        if wait > 0:
            time.sleep(wait)
        outcomes[delivery.pk] = _deliver_one(delivery, claims[delivery.pk], holds, channels)
    return [outcomes[int(pk)] for pk, _ in items]


def _deliver_one(delivery: Delivery, claim: str, holds, channels: dict) -> str:
    with schema_context(delivery.schema_name):
        try:  # everything that can fail before the network call, while nothing is sent
            adapter = _db_retry(_adapter, delivery, channels)
            post = outgoing(delivery)
        except adapters.Permanent as exc:
            return _db_retry(_failed, delivery, claim, exc.message)
        started = _db_retry(_start, delivery, claim, holds)
        if not isinstance(started, Delivery):
            return started
        try:
            result = adapter.publish(post)
        except adapters.Transient as exc:
            return _db_retry(_transient, delivery, claim, exc)
        except adapters.Permanent as exc:
            return _db_retry(_failed, delivery, claim, exc.message)
        except adapters.Unknown as exc:
            return _db_retry(_unconfirmed, delivery, claim, exc.message)
        except Exception as exc:  # noqa: BLE001 - the post may be out: never guess
            logger.exception("delivery %s: unexpected error while publishing", delivery.pk)
            return _db_retry(_unconfirmed, delivery, claim, f"Unexpected error: {exc}")
        return _db_retry(_published, delivery, claim, result)


def check(delivery_id: int, claim: str) -> str:
    """Ask the network whether an unconfirmed delivery's post is there."""
    delivery = _db_retry(lambda: Delivery.objects.filter(
        pk=delivery_id, claim=claim, state=State.UNCONFIRMED).first())
    if delivery is None:
        return "stale"
    with schema_context(delivery.schema_name):
        try:
            adapter = _db_retry(_adapter, delivery)
        except adapters.Permanent as exc:
            return _db_retry(_failed, delivery, claim, f"{exc.message} Whether the post went "
                             "out is not known: look on the network.")
        try:
            found = adapter.find(outgoing(delivery, media_data=False),
                                 since=delivery.sending_at or delivery.created_at)
        except Exception as exc:  # noqa: BLE001 - cannot tell: ask again later
            return _db_retry(_still_unknown, delivery, claim, getattr(exc, "message", str(exc)))
        if found is not None:
            return _db_retry(_published, delivery, claim, found, checked=True)
        if adapter.resend_is_safe:
            return _db_retry(_resend, delivery, claim)
        return _db_retry(_still_unknown, delivery, claim, "The network cannot be asked; "
                         "check the channel and mark the post as published or not sent.")


def _published(delivery, claim, result: adapters.Published, checked: bool = False) -> str:
    detail = (("Found on the network after an unknown outcome: " if checked else "")
              + (result.url or result.remote_id))
    done = _update(delivery.pk, claim, [State.CLAIMED, State.UNCONFIRMED],
                   event=("published", detail), state=State.PUBLISHED,
                   remote_id=result.remote_id[:255], remote_url=result.url[:500],
                   published_at=timezone.now(), lease_until=None, error="")
    if done is None:
        return "stale"
    from campaigns.publishing import alerts

    transaction.on_commit(lambda: alerts.delivery_published(delivery.pk))  # webhooks
    return "published"


def _transient(delivery, claim, exc: adapters.AdapterError) -> str:
    if delivery.attempts >= config("MAX_ATTEMPTS"):
        return _failed(delivery, claim, f"Gave up after {delivery.attempts} tries: {exc.message}")
    wait = backoff(delivery.attempts, exc.retry_after)
    done = _update(delivery.pk, claim, [State.CLAIMED],
                   event=("retry_scheduled", f"{exc.message} Trying again in {wait:.0f} s."),
                   state=State.SCHEDULED,
                   next_attempt_at=timezone.now() + timedelta(seconds=wait), sending_at=None,
                   lease_until=None, error=exc.message)
    return "stale" if done is None else "retry"


def _failed(delivery, claim, message: str) -> str:
    done = _update(delivery.pk, claim, [State.CLAIMED, State.UNCONFIRMED],
                   event=("failed", message), alert=True, state=State.FAILED, lease_until=None,
                   error=message)
    return "stale" if done is None else "failed"


def _unconfirmed(delivery, claim, message: str) -> str:
    done = _update(delivery.pk, claim, [State.CLAIMED],
                   event=("unconfirmed", f"{message} The network will be asked before anything "
                                         "is sent again."),
                   state=State.UNCONFIRMED, lease_until=None, error=message,
                   next_attempt_at=timezone.now() + timedelta(
                       seconds=config("CHECK_AFTER_SECONDS")))
    return "stale" if done is None else "unconfirmed"


def _still_unknown(delivery, claim, message: str) -> str:
    wait = backoff(delivery.checks) + config("CHECK_AFTER_SECONDS")
    done = _update(delivery.pk, claim, [State.UNCONFIRMED], event=("check_failed", message),
                   alert=delivery.checks == config("ALERT_AFTER_CHECKS"), lease_until=None,
                   error=message, next_attempt_at=timezone.now() + timedelta(seconds=wait))
    return "stale" if done is None else "unknown"


def _resend(delivery, claim) -> str:
    if delivery.withdrawn:
        done = _update(delivery.pk, claim, [State.UNCONFIRMED],
                       event=("cancelled", "Not on the network, and the campaign or post was "
                                           "withdrawn meanwhile: not sent again."),
                       state=State.CANCELLED, lease_until=None, claim=None)
        return "stale" if done is None else "cancelled"
    if delivery.attempts >= config("MAX_ATTEMPTS"):
        return _failed(delivery, claim, f"Sent {delivery.attempts} times without the network "
                       "confirming it. Look at the channel before retrying.")
    done = _update(delivery.pk, claim, [State.UNCONFIRMED],
                   event=("not_found", "The network does not have the post; sending it again "
                                       "with the same idempotency key."),
                   state=State.SCHEDULED, next_attempt_at=timezone.now(), sending_at=None,
                   lease_until=None, error="")
    return "stale" if done is None else "resend"
