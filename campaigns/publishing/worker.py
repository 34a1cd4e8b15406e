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

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.publishing import adapters
from campaigns.publishing.models import Delivery, DeliveryEvent, State

logger = logging.getLogger(__name__)


def worker_id() -> str:
    """host:pid of this worker (read when used: workers are forked after import)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def config(name: str):
    return settings.PUBLISHING[name]


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


def _event(delivery_id: int, kind: str, detail: str = "") -> None:
    DeliveryEvent.objects.create(delivery_id=delivery_id, kind=kind, detail=detail[:2000])


def _start(delivery_id: int, claim: str) -> Delivery | None:
    """Mark the start of the network call, if this claim still holds the delivery."""
    with transaction.atomic():
        delivery = (Delivery.objects.select_for_update()
                    .filter(pk=delivery_id, claim=claim, state=State.CLAIMED,
                            lease_until__gt=timezone.now()).first())
        if delivery is None:
            return None
        delivery.sending_at = timezone.now()
        delivery.sent_by = worker_id()
        # Long enough for the call and for recording it; if it runs out, the network is asked.
        delivery.lease_until = delivery.sending_at + timedelta(
            seconds=config("SEND_TIMEOUT_SECONDS") + config("LEASE_SECONDS"))
        delivery.save(update_fields=["sending_at", "sent_by", "lease_until", "updated_at"])
        return delivery


def _update(delivery_id: int, claim: str, states, **fields) -> Delivery | None:
    with transaction.atomic():
        delivery = (Delivery.objects.select_for_update()
                    .filter(pk=delivery_id, claim=claim, state__in=states).first())
        if delivery is None:
            return None
        for name, value in fields.items():
            setattr(delivery, name, value)
        delivery.save()
        return delivery


def outgoing(delivery: Delivery) -> adapters.Outgoing:
    """The frozen content with its images read from the brand's storage (inside its schema)."""
    images = []
    for item in delivery.content.get("images", []):
        try:
            with default_storage.open(item["file"], "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise adapters.Permanent(f"Image {item['file']} could not be read: {exc}. Replace "
                                     "the image in the campaign and approve it again.") from exc
        name = item["file"].rsplit("/", 1)[-1]
        images.append(adapters.Image(data=data, mime_type=adapters.guess_mime(name),
                                     alt=item.get("alt", ""), name=name))
    created = delivery.created_at
    return adapters.Outgoing(
        idempotency_key=delivery.idempotency_key, text=delivery.content.get("text", ""),
        link=delivery.content.get("link", ""),
        first_comment=delivery.content.get("first_comment", ""), images=images,
        tags=list(delivery.tags), campaign_title=delivery.campaign_title,
        created_at_us=int(created.timestamp() * 1_000_000), delivery_id=delivery.pk)


def _adapter(delivery: Delivery) -> adapters.Adapter:
    from campaigns.models import Channel

    channel = Channel.objects.filter(pk=delivery.channel_id).first()
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
    delivery = _db_retry(_start, delivery_id, claim)
    if delivery is None:
        return "stale"
    with schema_context(delivery.schema_name):
        try:
            adapter = _adapter(delivery)
            result = adapter.publish(outgoing(delivery))
        except adapters.Transient as exc:
            return _db_retry(_transient, delivery, claim, exc)
        except adapters.Permanent as exc:
            return _db_retry(_failed, delivery, claim, exc.message)
        except adapters.Unknown as exc:
            return _db_retry(_unconfirmed, delivery, claim, exc.message)
        except Exception as exc:  # noqa: BLE001 - the post may be out: never guess
            logger.exception("delivery %s: unexpected error while publishing", delivery_id)
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
            adapter = _adapter(delivery)
            found = adapter.find(outgoing(delivery),
                                 since=delivery.sending_at or delivery.created_at)
        except (adapters.AdapterError, Exception) as exc:  # noqa: BLE001
            message = getattr(exc, "message", str(exc))
            return _db_retry(_still_unknown, delivery, claim, message)
        if found is not None:
            return _db_retry(_published, delivery, claim, found, checked=True)
        if adapter.resend_is_safe:
            return _db_retry(_resend, delivery, claim)
        return _db_retry(_still_unknown, delivery, claim, "The network cannot be asked; "
                         "check the channel and mark the post as published or send it again.")


def _published(delivery, claim, result: adapters.Published, checked: bool = False) -> str:
    done = _update(delivery.pk, claim, [State.CLAIMED, State.UNCONFIRMED],
                   state=State.PUBLISHED, remote_id=result.remote_id[:255],
                   remote_url=result.url[:500], published_at=timezone.now(), lease_until=None,
                   error="")
    if done is None:
        return "stale"
    _event(delivery.pk, "published", ("Found on the network after an unknown outcome: "
                                      if checked else "") + (result.url or result.remote_id))
    return "published"


def _transient(delivery, claim, exc: adapters.AdapterError) -> str:
    if delivery.attempts >= config("MAX_ATTEMPTS"):
        return _failed(delivery, claim, f"Gave up after {delivery.attempts} tries: {exc.message}")
    wait = backoff(delivery.attempts, exc.retry_after)
    done = _update(delivery.pk, claim, [State.CLAIMED], state=State.SCHEDULED,
                   next_attempt_at=timezone.now() + timedelta(seconds=wait), sending_at=None,
                   lease_until=None, error=exc.message)
    if done is None:
        return "stale"
    _event(delivery.pk, "retry_scheduled", f"{exc.message} Trying again in {wait:.0f} s.")
    return "retry"


def _failed(delivery, claim, message: str) -> str:
    done = _update(delivery.pk, claim, [State.CLAIMED, State.UNCONFIRMED], state=State.FAILED,
                   lease_until=None, error=message)
    if done is None:
        return "stale"
    _event(delivery.pk, "failed", message)
    from campaigns.publishing import alerts

    alerts.delivery_failed(done)
    return "failed"


def _unconfirmed(delivery, claim, message: str) -> str:
    done = _update(delivery.pk, claim, [State.CLAIMED], state=State.UNCONFIRMED,
                   lease_until=None, error=message,
                   next_attempt_at=timezone.now() + timedelta(
                       seconds=config("CHECK_AFTER_SECONDS")))
    if done is None:
        return "stale"
    _event(delivery.pk, "unconfirmed", f"{message} The network will be asked before anything "
                                       "is sent again.")
    return "unconfirmed"


def _still_unknown(delivery, claim, message: str) -> str:
    wait = backoff(delivery.checks) + config("CHECK_AFTER_SECONDS")
    done = _update(delivery.pk, claim, [State.UNCONFIRMED], lease_until=None, error=message,
                   next_attempt_at=timezone.now() + timedelta(seconds=wait))
    if done is None:
        return "stale"
    _event(delivery.pk, "check_failed", message)
    if delivery.checks == config("ALERT_AFTER_CHECKS"):
        from campaigns.publishing import alerts

        alerts.delivery_failed(done)
    return "unknown"


def _resend(delivery, claim) -> str:
    done = _update(delivery.pk, claim, [State.UNCONFIRMED], state=State.SCHEDULED,
                   next_attempt_at=timezone.now(), sending_at=None, lease_until=None, error="")
    if done is None:
        return "stale"
    _event(delivery.pk, "not_found", "The network does not have the post; sending it again "
                                     "with the same idempotency key.")
    return "resend"
