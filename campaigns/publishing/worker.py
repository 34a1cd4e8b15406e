"""What a django-q2 worker does with a claimed delivery: publish it, or check an unknown outcome.

django-q2 may run a task twice (it delivers at least once) and a worker may die at any point,
so every step is guarded by the delivery's claim: a task whose claim is no longer current does
nothing. The start of the network call is committed (``sending_at``) before the call is made;
a delivery whose worker vanished after that point is checked with the network, never resent
blindly. Outcomes are recorded with a few retries so a database restart mid-way loses nothing
(and if it still cannot be recorded, the lease runs out and the network is asked). Every change
of a delivery's state is made by ``transitions``; what each step came to is an ``Outcome``.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from django.core.files.storage import default_storage
from django.db import DatabaseError, connection
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.models import Channel
from campaigns.publishing import adapters, config, connected, transitions
from campaigns.publishing.models import CrisisHold, Delivery, State
from campaigns.publishing.outbox import hold_matches
from campaigns.publishing.transitions import Outcome
from tenants.models import Client
from tenants.tasks import _schema_served

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


def _start_on_public() -> None:
    """A task starts on the public schema with the path set afresh. The connection persists
    from task to task (``CONN_MAX_AGE``): whatever an earlier task left on it (a brand's schema,
    a ``SET search_path`` made behind django-tenants' back) must not decide where this one
    reads and writes. Costs one ``SET`` per task; each brand's posts then set their own."""
    connection.set_schema_to_public()


def _start(delivery: Delivery, claim: str, holds) -> Outcome | Delivery:
    """Mark the start of the network call, if this claim still holds the delivery and nobody
    started it yet. The last gate before the network: a post withdrawn meanwhile is cancelled,
    and one that an active crisis hold matches is held, whatever path brought it here. Returns
    the delivery, or what happened instead."""
    crisis = next((h for h in holds if hold_matches(h, delivery)), None)
    if crisis is not None:
        return transitions.hold_claimed(delivery, claim, crisis)
    if transitions.start(delivery, claim, worker_id()):
        return delivery
    return transitions.cancel_withdrawn(delivery, claim)


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
                                     alt=item.get("alt", ""), name=name,
                                     file=item["file"]))
    for item in delivery.content.get("videos", []):
        data, name = _read(item, "Video", data=media_data)
        videos.append(adapters.Video(data=data, mime_type=adapters.guess_mime(name),
                                     description=item.get("description", ""), name=name,
                                     file=item["file"]))
    created = delivery.created_at
    return adapters.Outgoing(
        idempotency_key=delivery.idempotency_key, text=delivery.content.get("text", ""),
        link=delivery.content.get("link", ""),
        first_comment=delivery.content.get("first_comment", ""), images=images, videos=videos,
        tags=list(delivery.tags), campaign_title=delivery.campaign_title,
        options=dict(delivery.content.get("options") or {}),
        created_at_us=int(created.timestamp() * 1_000_000), delivery_id=delivery.pk)


def _adapter(delivery: Delivery, cache: dict | None = None) -> adapters.Adapter:
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


def deliver(delivery_id: int, claim: str) -> Outcome:
    return deliver_batch([(delivery_id, claim)])[0]


def deliver_batch(items: list) -> list[Outcome]:
    """Publish a batch of claimed deliveries (of any brands), each at its time.

    The dispatcher hands deliveries over up to ``PREFETCH_SECONDS`` early, so the queue's own
    latency is spent before the post's time; here each waits for its time, then goes out."""
    _start_on_public()
    claims = {int(pk): str(claim) for pk, claim in items}
    rows = _db_retry(lambda: list(Delivery.objects.filter(
        pk__in=list(claims), state=State.CLAIMED, sending_at__isnull=True)))
    rows = in_brand_runs(sorted((d for d in rows if str(d.claim) == claims[d.pk]),
                                key=lambda d: d.next_attempt_at), timezone.now())
    holds = _db_retry(lambda: list(CrisisHold.objects.filter(released_at__isnull=True)))
    brands = _db_retry(lambda: {c.schema_name: c for c in Client.objects.filter(
        schema_name__in={d.schema_name for d in rows})})
    outcomes = dict.fromkeys(claims, Outcome.STALE)
    channels: dict = {}
    served: set[str] = set()
    sent = _Published(outcomes)
    try:
        for delivery in rows:
            wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
            if wait > 0:
                sent.record()  # nothing is held back while the worker waits
                time.sleep(wait)
            _enter(delivery.schema_name, brands)
            served.add(delivery.schema_name)
            claim = claims[delivery.pk]
            result = _deliver_one(delivery, claim, holds, channels)
            if isinstance(result, adapters.Published):
                sent.add(delivery.pk, claim, result)
            else:
                outcomes[delivery.pk] = result
    finally:
        connection.set_schema_to_public()
        sent.record()
        # the connection persists: renewed after TENANT_CONNECTION_MAX_SCHEMAS brands, as the
        # other tasks' (PostgreSQL caches every relation it touched, hundreds per brand)
        for schema_name in served:
            _schema_served(schema_name)
    return [outcomes[int(pk)] for pk, _ in items]


def in_brand_runs(rows: list[Delivery], now) -> list[Delivery]:
    """The posts already due, brand by brand (each brand where its first post was, each
    brand's in time order), then those not yet due in time order: a brand's posts due together
    (one post to several channels, a backlog) share one schema switch."""
    due = [d for d in rows if d.next_attempt_at <= now]
    first: dict[str, int] = {}
    for delivery in due:
        first.setdefault(delivery.schema_name, len(first))
    return sorted(due, key=lambda d: first[d.schema_name]) + rows[len(due):]


def _enter(schema_name: str, brands: dict) -> None:
    """Switch the connection to the delivery's brand unless it is there already (asked of
    django-tenants, which sets the path again after any switch, rollback or reconnection).
    With the brand's ``Client`` where there is one: its links need no query for it."""
    if connection.schema_name == schema_name:
        return
    if schema_name in brands:
        connection.set_tenant(brands[schema_name])
    else:
        connection.set_schema(schema_name)


class _Published:
    """Posts the networks took, recorded together (``transitions.succeed_many``: one statement
    for several) at the latest ``RECORD_AFTER_SECONDS`` after the first of them went out, before
    the worker waits for a later post's time, and at the end of the batch. Until then a post is
    out but still recorded as sending; a worker that dies meanwhile leaves it to the lease, and
    the network is asked (``check``), never sent again blindly."""

    RECORD_AFTER_SECONDS = 1.0

    def __init__(self, outcomes: dict):
        self.outcomes, self.items, self.since = outcomes, [], 0.0

    def add(self, pk: int, claim: str, result: adapters.Published) -> None:
        if not self.items:
            self.since = time.monotonic()
        self.items.append((pk, claim, result.remote_id, result.url))
        if time.monotonic() - self.since >= self.RECORD_AFTER_SECONDS:
            self.record()

    def record(self) -> None:
        items, self.items = self.items, []
        if items:
            self.outcomes.update(_db_retry(transitions.succeed_many, items))


def _deliver_one(delivery: Delivery, claim: str, holds,
                 channels: dict) -> Outcome | adapters.Published:
    """Publish one delivery, inside its brand's schema (``_enter``); what the network
    answered, or what happened instead (recorded)."""
    try:  # everything that can fail before the network call, while nothing is sent
        adapter = _db_retry(_adapter, delivery, channels)
        post = outgoing(delivery, media_data=adapter.reads_media)
    except adapters.Permanent as exc:
        return _db_retry(transitions.fail, delivery, claim, exc.message)
    started = _db_retry(_start, delivery, claim, holds)
    if not isinstance(started, Delivery):
        return started
    try:
        result = adapter.publish(post)
    except adapters.Transient as exc:
        return _db_retry(transitions.fail_transient, delivery, claim, exc.message,
                         exc.retry_after)
    except adapters.NeedsReconnect as exc:  # nothing sent: it waits for a reconnection
        return _db_retry(connected.wait_for_reconnect, delivery, claim, adapter.channel,
                         exc.message)
    except adapters.Permanent as exc:
        return _db_retry(transitions.fail, delivery, claim, exc.message)
    except adapters.Unknown as exc:
        return _db_retry(transitions.mark_unconfirmed, delivery, claim, exc.message)
    except Exception as exc:  # noqa: BLE001 - the post may be out: never guess
        logger.exception("delivery %s: unexpected error while publishing", delivery.pk)
        return _db_retry(transitions.mark_unconfirmed, delivery, claim,
                         f"Unexpected error: {exc}")
    return result  # recorded with the batch's other posts (_Published)


def check(delivery_id: int, claim: str) -> Outcome:
    """Ask the network whether an unconfirmed delivery's post is there."""
    _start_on_public()
    delivery = _db_retry(lambda: Delivery.objects.filter(
        pk=delivery_id, claim=claim, state=State.UNCONFIRMED).first())
    if delivery is None:
        return Outcome.STALE
    with schema_context(delivery.schema_name):
        try:
            adapter = _db_retry(_adapter, delivery)
        except adapters.Permanent as exc:
            return _db_retry(transitions.fail, delivery, claim, f"{exc.message} Whether the "
                             "post went out is not known: look on the network.")
        try:
            found = adapter.find(outgoing(delivery, media_data=False),
                                 since=delivery.sending_at or delivery.created_at)
        except Exception as exc:  # noqa: BLE001 - cannot tell: ask again later
            return _db_retry(transitions.still_unknown, delivery, claim,
                             getattr(exc, "message", str(exc)))
        if found is not None:
            return _db_retry(transitions.succeed, delivery, claim, found.remote_id, found.url,
                             checked=True)
        if adapter.resend_is_safe:
            return _db_retry(transitions.not_found, delivery, claim)
        return _db_retry(transitions.still_unknown, delivery, claim, "The network cannot be "
                         "asked; check the channel and mark the post as published or not sent.")
