"""The dispatcher: finds due deliveries across all brands and hands them to django-q2 workers.

One partial index (``delivery_due``: scheduled, not held, by time) finds due work, so the cost
does not grow with the number of brands. Deliveries are claimed with ``FOR UPDATE SKIP LOCKED``
and a lease, the claim is committed, and only then is a task enqueued: two dispatchers never take
the same row, and a dispatcher that dies after claiming leaves rows whose lease runs out.

The loop sleeps until the next delivery is nearly due (at most ``IDLE_POLL_SECONDS``) and hands
it over ``PREFETCH_SECONDS`` early, so the queue's latency is spent before the post's time; the
worker waits for the time itself. A post goes out at its time, not at the next tick of
django-q2's scheduler. When many are due at once, they go in batches (one queue round trip and
one database connection for several posts). It also sweeps
expired leases: a delivery whose network call never began goes back to scheduled; one whose call
began (the worker may have died after the network accepted it) becomes unconfirmed and is
checked with the network, never sent again blindly. The claims and the sweep are state changes:
their SQL lives in ``transitions``, with every other change of a delivery's state.
"""

from __future__ import annotations

import logging
import signal
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django_q.tasks import async_task

from campaigns.publishing import config, transitions

logger = logging.getLogger(__name__)

T = "public.publishing_delivery"

WAITING = f"""
SELECT count(*) FROM {T} d WHERE d.state = 'claimed' AND d.sending_at IS NULL
   AND d.lease_until IS NOT NULL
"""  # noqa: S608

NEXT_DUE = f"""
SELECT min(d.next_attempt_at) FROM {T} d WHERE d.state = 'scheduled' AND d.hold_id IS NULL
"""  # noqa: S608


def seconds_to_next_due() -> float | None:
    with connection.cursor() as cursor:
        cursor.execute(NEXT_DUE)
        (when,) = cursor.fetchone()
    if when is None:
        return None
    from django.utils import timezone

    return (when - timezone.now()).total_seconds()


def hand_over(claims: list[tuple[int, str]], func: str) -> None:
    for pk, claim in claims:
        async_task(func, pk, claim, save=False, task_name=f"delivery-{pk}", broker=_queue())


def chunks(claims: list, workers: int, largest: int, *, full: bool = False) -> list[list]:
    """Split a tick's claims over the workers: one task each while there are few (they go out
    in parallel), batches of up to ``largest`` when many are due at once (each task costs the
    queue a round trip; a batch pays it once). ``full``: under a backlog, tasks of ``largest``
    (the workers are busy anyway; fewer, fuller tasks cost less per post)."""
    if not claims:
        return []
    size = largest if full else min(largest, -(-len(claims) // max(1, workers)))
    size = max(1, size)
    return [claims[i:i + size] for i in range(0, len(claims), size)]


_broker = None


def _queue():
    """One broker for the dispatcher's life (a new one per task costs ~5 ms of CPU)."""
    global _broker
    if _broker is None:
        from django_q.brokers import get_broker

        _broker = get_broker(config("CLUSTER"))
    return _broker


def _queue_reset() -> None:
    global _broker
    _broker = None


def waiting_for_workers() -> int:
    with connection.cursor() as cursor:
        cursor.execute(WAITING)
        return cursor.fetchone()[0]


def dispatch_once() -> int:
    """Claim what is due (or nearly) and enqueue it; returns how many were handed over.

    Only as many as the workers can start soon are claimed (``MAX_WAITING``): under a backlog
    the rest stay scheduled, instead of waiting in the queue past their lease and being claimed
    and queued again and again. While the workers still have claimed posts to start, it waits
    until a full task fits, and claims whole tasks; a claim cut short by that limit (more are
    due) goes out in full tasks, not one small task per worker each tick."""
    workers = settings.Q_CLUSTER.get("workers", 2)
    per_task = max(1, config("DELIVERIES_PER_TASK"))
    waiting = waiting_for_workers()
    room = (config("MAX_WAITING") or workers * per_task * 2) - waiting
    if room <= 0 or (waiting and room < per_task):
        return 0
    want = min(room if room < per_task else room // per_task * per_task, config("BATCH"))
    claims = transitions.claim_due(batch=want, prefetch=config("PREFETCH_SECONDS"))
    backlog = len(claims) >= want
    for chunk in chunks(claims, workers, per_task, full=backlog):
        async_task("campaigns.publishing.worker.deliver_batch", chunk, save=False,
                   task_name=f"deliveries-{chunk[0][0]}", broker=_queue())
    return len(claims)


def check_once() -> int:
    claims = transitions.claim_checks()
    hand_over(claims, "campaigns.publishing.worker.check")
    return len(claims)


class Dispatcher:
    """The long-running loop behind ``manage.py dispatcher``."""

    def __init__(self, *, idle_poll: float | None = None, stdout=None):
        self.idle_poll = idle_poll or config("IDLE_POLL_SECONDS")
        self.running = True
        self.stdout = stdout
        self.handed = 0

    def stop(self, *_):
        self.running = False

    def run(self, *, until=None) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        last_sweep = 0.0
        while self.running and (until is None or not until()):
            try:
                handed = dispatch_once()
                self.handed += handed
                now = time.monotonic()
                if now - last_sweep >= 1.0:
                    transitions.sweep()
                    self.handed += check_once()
                    last_sweep = now
                if handed >= config("BATCH"):
                    continue
                if not handed and waiting_for_workers():
                    wait = self.idle_poll / 4  # the workers are busy: look again soon
                else:
                    wait = seconds_to_next_due()
                    if wait is not None:
                        wait -= config("PREFETCH_SECONDS")
            except DatabaseError as exc:
                _queue_reset()
                # The database went away (a restart, a failover): drop the connection and try
                # again shortly. Nothing is lost: claims are committed or not at all.
                logger.warning("dispatcher: database unavailable (%s); retrying", exc)
                connection.close()
                time.sleep(0.5)
                continue
            close_old_connections()
            if wait is None or (wait <= 0 and not handed):
                # nothing due, or due but not claimable (paused, locked): do not spin
                sleep = self.idle_poll
            else:
                sleep = min(max(wait, 0.0), self.idle_poll)
            if sleep > 0:
                time.sleep(sleep)
