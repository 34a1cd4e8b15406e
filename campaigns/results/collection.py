"""Reading the counts of a brand's published posts from their networks.

One round (``collect_round``), inside one brand's schema:

1. every delivery of the brand published within ``STOP_AFTER_DAYS`` that has no ``PostResult``
   yet gets one, due ``SCHEDULE_MINUTES[0]`` minutes after it went out;
2. the due results are read per channel, as many per network call as the network takes
   (``Adapter.metrics_batch``: Bluesky's getPosts 25; Mastodon has no batch read, one call
   each); each reading is kept as a ``MetricSnapshot`` and as the result's latest counts;
3. each result is due again at the next step of its schedule: ``SCHEDULE_MINUTES`` after it went
   out (by default 15 min, 1 h, 3 h, 6 h, 12 h, 24 h), then daily; never after
   ``STOP_AFTER_DAYS``. A round that runs late skips the steps it missed;
4. each channel read this round gets its follower count for the day, once.

A channel the network rate limits (429) or that does not answer waits (``ChannelCollection``:
the network's Retry-After, else ``DEFER_MINUTES``, doubling while it keeps failing), its posts
keep their place, and the other channels go on.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Channel
from campaigns.publishing import adapters
from campaigns.publishing.adapters import AdapterError, Counts, NotSupported, Transient
from campaigns.publishing.models import Delivery, State
from campaigns.results.models import (
    COUNT_FIELDS,
    ChannelCollection,
    FollowerCount,
    MetricSnapshot,
    PostResult,
)

log = logging.getLogger(__name__)


def _setting(name: str):
    return settings.RESULTS[name]


def next_collection(published_at: datetime, now: datetime) -> datetime | None:
    """The first step of the schedule after ``now``, or None once collection is over."""
    stop = published_at + timedelta(days=_setting("STOP_AFTER_DAYS"))
    steps = sorted(_setting("SCHEDULE_MINUTES"))
    for minutes in steps:
        moment = published_at + timedelta(minutes=minutes)
        if moment > now:
            return moment if moment <= stop else None
    last = published_at + timedelta(minutes=steps[-1] if steps else 0)
    days = int((now - last) / timedelta(days=1)) + 1  # then daily, from the last step
    moment = last + timedelta(days=days)
    return moment if moment <= stop else None


@dataclass
class RoundReport:
    """What one round did in one brand: counted by tests and the benchmark."""

    tracked: int = 0  # new deliveries taken into results
    read: int = 0  # posts whose counts were read
    gone: int = 0
    calls: int = 0  # metrics() calls made (each one network call where the network batches)
    followers: int = 0
    deferred: list[int] = field(default_factory=list)  # channels that wait
    failed: list[int] = field(default_factory=list)


def track_new(client, *, now: datetime) -> int:
    """Take the brand's recently published deliveries into results."""
    since = now - timedelta(days=_setting("STOP_AFTER_DAYS"))
    published = (Delivery.objects.filter(client=client, state=State.PUBLISHED,
                                         published_at__gte=since)
                 .exclude(remote_id="")
                 .values_list("id", flat=True))
    known = set(PostResult.objects.filter(published_at__gte=since)
                .values_list("delivery_id", flat=True))
    new_ids = [pk for pk in published if pk not in known]
    if not new_ids:
        return 0
    first = timedelta(minutes=min(_setting("SCHEDULE_MINUTES") or [0]))
    zone = zoneinfo.ZoneInfo(client.time_zone)
    rows = []
    for delivery in Delivery.objects.filter(pk__in=new_ids).only(
            "id", "page_id", "post_id", "post_number", "channel_id", "network", "channel_name",
            "campaign_title", "content", "remote_id", "remote_url", "published_at"):
        rows.append(PostResult(
            delivery_id=delivery.id, page_id=delivery.page_id, post_id=delivery.post_id,
            post_number=delivery.post_number, channel_id=delivery.channel_id,
            network=delivery.network, channel_name=delivery.channel_name,
            campaign_title=delivery.campaign_title, text=delivery.text[:2000],
            remote_id=delivery.remote_id, remote_url=delivery.remote_url,
            published_at=delivery.published_at,
            posted_weekday=delivery.published_at.astimezone(zone).isoweekday(),
            posted_hour=delivery.published_at.astimezone(zone).hour,
            next_collect_at=delivery.published_at + first))
    PostResult.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def _defer(channel_id: int, error: AdapterError | Exception, *, now: datetime) -> None:
    state, _ = ChannelCollection.objects.get_or_create(channel_id=channel_id)
    state.failures += 1
    seconds = getattr(error, "retry_after", None)
    if seconds is None:
        seconds = _setting("DEFER_MINUTES") * 60 * 2 ** min(state.failures - 1, 6)
    state.deferred_until = now + timedelta(seconds=seconds)
    state.error = (getattr(error, "message", None) or str(error))[:500]
    state.save()


def _store(results: list[PostResult], found: dict[str, Counts], *, now: datetime) -> int:
    """Keep the readings: a snapshot each, the latest counts, the next time."""
    snapshots, changed = [], []
    for result in results:
        counts = found.get(result.remote_id)
        if counts is None:
            continue
        values = {name: getattr(counts, name) for name in COUNT_FIELDS}
        snapshots.append(MetricSnapshot(delivery_id=result.delivery_id, taken_at=now,
                                        interactions=counts.interactions, **values))
        for name, value in values.items():
            setattr(result, name, value)
        result.interactions = counts.interactions
        result.collected_at = now
        result.collections += 1
        result.error = ""
        result.next_collect_at = next_collection(result.published_at, now)
        changed.append(result)
    with transaction.atomic():
        MetricSnapshot.objects.bulk_create(snapshots, batch_size=1000)
        _update_latest(changed)
    return len(changed)


_LATEST = [*COUNT_FIELDS, "interactions", "collected_at", "collections", "next_collect_at"]


def _update_latest(results: list[PostResult]) -> None:
    """The latest counts of ``results`` in one UPDATE ... FROM (VALUES ...): Django's
    ``bulk_update`` builds a CASE per field and row, and took most of a round's time."""
    if not results:
        return
    table = PostResult._meta.db_table
    columns = ["id", *_LATEST]
    types = {"collected_at": "timestamptz", "next_collect_at": "timestamptz",
             "impressions": "bigint", "views": "bigint", "interactions": "bigint"}
    row = "(" + ", ".join(f"%s::{types.get(name, 'integer')}" for name in columns) + ")"
    assignments = ", ".join(f"{name} = v.{name}" for name in _LATEST)
    params = [getattr(result, name) if name != "id" else result.pk
              for result in results for name in columns]
    sql = (f"UPDATE {table} AS r SET {assignments}, error = '' "  # noqa: S608 - names are ours
           f"FROM (VALUES {', '.join([row] * len(results))}) AS v({', '.join(columns)}) "
           "WHERE r.id = v.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _read_channel(channel: Channel, results: list[PostResult], report: RoundReport, *,
                  now: datetime) -> None:
    adapter = adapters.for_channel(channel, timeout=_setting("TIMEOUT_SECONDS"))
    batch = max(1, adapter.metrics_batch)
    # Posts the network gives no counts of (a private TikTok post): never asked about.
    unreadable: dict[str, list[int]] = defaultdict(list)
    readable = []
    for result in results:
        why = adapter.counts_unavailable(result.remote_id)
        if why:
            unreadable[why].append(result.delivery_id)
        else:
            readable.append(result)
    for why, delivery_ids in unreadable.items():
        PostResult.objects.filter(delivery_id__in=delivery_ids).update(next_collect_at=None,
                                                                       error=why[:500])
    results = readable
    done: set[int] = set()
    try:
        for start in range(0, len(results), batch):
            chunk = results[start:start + batch]
            report.calls += 1
            try:
                found = adapter.metrics([result.remote_id for result in chunk])
            except Transient as exc:
                report.read += _store(chunk, getattr(exc, "partial", {}) or {}, now=now)
                raise
            report.read += _store(chunk, found, now=now)
            done.update(result.delivery_id for result in chunk)
            # Not in the answer: the network no longer has the post. Not read again.
            missing = [result for result in chunk if result.remote_id not in found]
            for result in missing:
                result.gone, result.next_collect_at = True, None
                result.error = "The network no longer has this post."
            PostResult.objects.bulk_update(missing, ["gone", "next_collect_at", "error"])
            report.gone += len(missing)
    except NotSupported as exc:
        # This network gives no counts: stop asking for these posts.
        PostResult.objects.filter(delivery_id__in=[r.delivery_id for r in results]).update(
            next_collect_at=None, error=exc.message[:500])
        return
    except Exception as exc:  # noqa: BLE001 - one channel's failure never stops the others
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        log.warning("results: channel %s could not be read: %s", channel.pk, message)
        (report.deferred if isinstance(exc, Transient) else report.failed).append(channel.pk)
        _defer(channel.pk, exc, now=now)
        PostResult.objects.filter(
            delivery_id__in=[r.delivery_id for r in results if r.delivery_id not in done]
        ).update(error=message[:500])
        return
    ChannelCollection.objects.update_or_create(
        channel_id=channel.pk, defaults={"deferred_until": None, "error": "", "failures": 0,
                                         "succeeded_at": now})
    _read_followers(channel, adapter, report, now=now)


def _read_followers(channel: Channel, adapter, report: RoundReport, *, now: datetime) -> None:
    day = timezone.localdate(now)
    if FollowerCount.objects.filter(channel_id=channel.pk, day=day).exists():
        return
    try:
        followers = adapter.followers()
    except NotSupported:
        return
    except Exception as exc:  # noqa: BLE001 - tomorrow's round tries again
        log.warning("results: followers of channel %s could not be read: %s", channel.pk,
                    getattr(exc, "message", exc))
        return
    report.calls += 1
    FollowerCount.objects.get_or_create(channel_id=channel.pk, day=day,
                                        defaults={"followers": followers, "taken_at": now})
    report.followers += 1


def collect_round(client, *, now: datetime | None = None) -> RoundReport:
    """One collection round in the current brand's schema (see the module's docstring)."""
    now = now or timezone.now()
    report = RoundReport()
    report.tracked = track_new(client, now=now)
    waiting = set(ChannelCollection.objects.filter(deferred_until__gt=now)
                  .values_list("channel_id", flat=True))
    due = (PostResult.objects.filter(next_collect_at__lte=now)
           .exclude(channel_id__in=waiting)
           .order_by("next_collect_at")[:_setting("POSTS_PER_ROUND")])
    by_channel: dict[int, list[PostResult]] = defaultdict(list)
    for result in due:
        by_channel[result.channel_id].append(result)
    channels = Channel.objects.in_bulk(list(by_channel))
    for channel_id, results in sorted(by_channel.items()):
        channel = channels.get(channel_id)
        if channel is None:  # the channel was deleted: its posts cannot be read any more
            PostResult.objects.filter(channel_id=channel_id).update(
                next_collect_at=None, error="The channel was removed.")
            continue
        _read_channel(channel, results, report, now=now)
        waiting.add(channel_id)  # its followers were read with its posts
    # Followers of every other channel, once a day, whether or not it posted lately.
    for channel in Channel.objects.filter(active=True).exclude(pk__in=waiting).exclude(
            pk__in=FollowerCount.objects.filter(day=timezone.localdate(now))
            .values("channel_id")):
        if channel.network in adapters.ADAPTERS:
            _read_followers(channel, adapters.for_channel(
                channel, timeout=_setting("TIMEOUT_SECONDS")), report, now=now)
    report.deferred.extend(sorted(waiting - set(by_channel)))
    return report
