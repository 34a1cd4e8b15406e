"""Reads for the results dashboards and the API: one indexed read of ``PostResult`` each, in the
brand's schema, with the follower counts the engagement rate needs.

Engagement rate: interactions (likes, reposts, replies, quotes, saves, clicks) per 100
followers the channel had when its follower count was last read, over the posts counted.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from campaigns.results.charts import WEEKDAYS
from campaigns.results.models import COUNT_FIELDS, FollowerCount, MetricSnapshot, PostResult

SHOWN = ("likes", "reposts", "replies", "quotes", "impressions")


def latest_followers(channel_ids) -> dict[int, int]:
    """Each channel's follower count as last read: one probe of the (channel, day) index per
    channel, however many days of counts the brand has kept."""
    ids = sorted(set(channel_ids))
    if not ids:
        return {}
    table = FollowerCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, (SELECT f.followers FROM {table} f WHERE f.channel_id = c.id "  # noqa: S608 - ours
            "ORDER BY f.day DESC LIMIT 1) FROM unnest(%s::integer[]) AS c(id)", [ids])
        return {channel_id: followers for channel_id, followers in cursor.fetchall()
                if followers is not None}


def rate(interactions: int, followers: int) -> float | None:
    """Interactions per 100 followers (None when no follower count is known)."""
    return round(100 * interactions / followers, 2) if followers else None


@dataclass
class Totals:
    posts: int = 0
    interactions: int = 0
    followers: int = 0  # summed per post: the followers each post could reach
    counts: dict = field(default_factory=dict)
    since: datetime | None = None
    as_of: datetime | None = None

    @property
    def engagement_rate(self) -> float | None:
        return rate(self.interactions, self.followers)


def totals_of(results, followers: dict[int, int]) -> Totals:
    """The totals of these results (``PostResult``s)."""
    totals = Totals(counts=dict.fromkeys(COUNT_FIELDS))
    for result in results:
        totals.posts += 1
        totals.interactions += result.interactions
        totals.followers += followers.get(result.channel_id, 0)
        for name in COUNT_FIELDS:
            value = getattr(result, name)
            if value is not None:
                totals.counts[name] = (totals.counts[name] or 0) + value
        if totals.since is None or result.published_at < totals.since:
            totals.since = result.published_at
        if result.collected_at and (totals.as_of is None or result.collected_at > totals.as_of):
            totals.as_of = result.collected_at
    return totals


@dataclass
class CampaignResults:
    posts: list[dict]  # [{number, text, results: [PostResult with .followers, .rate]}]
    channels: list[dict]  # [{channel_id, name, network, totals}]
    totals: Totals


def campaign_results(page_id: int) -> CampaignResults:
    """A campaign's posts side by side, each with its figures per channel, per-channel totals
    and the campaign's totals."""
    results = list(PostResult.objects.filter(page_id=page_id).order_by("post_number",
                                                                         "channel_name", "id"))
    followers = latest_followers({r.channel_id for r in results})
    posts: dict[int, dict] = {}
    by_channel: dict[int, list] = defaultdict(list)
    for result in results:
        result.followers = followers.get(result.channel_id)
        result.rate = rate(result.interactions, result.followers or 0)
        post = posts.setdefault(result.post_number, {"number": result.post_number,
                                                     "text": result.text, "results": []})
        post["results"].append(result)
        by_channel[result.channel_id].append(result)
    channels = [{"channel_id": channel_id, "name": rows[0].channel_name,
                 "network": rows[0].network, "totals": totals_of(rows, followers)}
                for channel_id, rows in sorted(by_channel.items(),
                                               key=lambda item: item[1][0].channel_name)]
    return CampaignResults(posts=list(posts.values()), channels=channels,
                           totals=totals_of(results, followers))


def campaign_digest(found: CampaignResults, zone) -> str:
    """What a campaign's dashboard is drawn from, as a digest: every stored field of each of
    its results, the follower count each was rated on, and the time zone."""
    fields = [f.attname for f in PostResult._meta.concrete_fields]
    rows = [(tuple(getattr(result, name) for name in fields), result.followers)
            for post in found.posts for result in post["results"]]
    return hashlib.sha256(repr((str(zone), rows)).encode()).hexdigest()[:32]


@dataclass
class BrandResults:
    since: datetime
    channels: list[dict]
    top_posts: list
    heat: list[list[dict]]  # 7 weekdays x 24 hours: {posts, average}
    weeks: list[dict]  # per week: {start, interactions, posts}
    totals: Totals


def brand_results(*, days: int, zone, channel_id: int | None = None,
                  now: datetime | None = None) -> BrandResults:
    """The brand's results over the last ``days`` days: per channel, per week, the top posts,
    and the average interactions per post by the weekday and hour it went out (the brand's
    time zone) over all its history."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    results = PostResult.objects.filter(published_at__gte=since)
    if channel_id is not None:
        results = results.filter(channel_id=channel_id)
    sums = {name: Sum(name) for name in COUNT_FIELDS}
    per_channel = list(results.values("channel_id", "channel_name", "network").annotate(
        posts=Count("id"), interactions=Sum("interactions"), since=Min("published_at"),
        as_of=Max("collected_at"), **sums).order_by("channel_name"))
    followers = latest_followers(row["channel_id"] for row in per_channel)
    totals = Totals(counts=dict.fromkeys(COUNT_FIELDS))
    for row in per_channel:
        row["followers"] = followers.get(row["channel_id"])
        row["reach_followers"] = (row["followers"] or 0) * row["posts"]
        row["rate"] = rate(row["interactions"] or 0, row["reach_followers"])
        totals.posts += row["posts"]
        totals.interactions += row["interactions"] or 0
        totals.followers += row["reach_followers"]
        for name in COUNT_FIELDS:
            if row[name] is not None:
                totals.counts[name] = (totals.counts[name] or 0) + row[name]
        totals.since = min(filter(None, [totals.since, row["since"]]), default=None)
        totals.as_of = max(filter(None, [totals.as_of, row["as_of"]]), default=None)
    top = list(results.order_by("-interactions", "-published_at")[:10])
    for result in top:
        result.followers = followers.get(result.channel_id)
        result.rate = rate(result.interactions, result.followers or 0)
    history = PostResult.objects.all() if channel_id is None \
        else PostResult.objects.filter(channel_id=channel_id)
    # By the weekday and hour each post went out in the brand's zone of the time (kept on the
    # row: converting every row's time here cost 100 ms at 20,000 posts).
    cells = (history.values("posted_weekday", "posted_hour")
             .annotate(posts=Count("id"), interactions=Sum("interactions")).order_by())
    heat = [[{"posts": 0, "average": None} for _ in range(24)] for _ in range(7)]
    for cell in cells:
        heat[cell["posted_weekday"] - 1][cell["posted_hour"]] = {
            "posts": cell["posts"],
            "average": round((cell["interactions"] or 0) / cell["posts"], 1)}
    weeks = _weeks(results, zone)
    return BrandResults(since=since, channels=per_channel, top_posts=top, heat=heat,
                        weeks=weeks, totals=totals)


# The brand's Results page's figures, kept rendered this long at most (collection runs every 5
# minutes): the period's start moves with the clock, and the page says since when it counts.
CACHE_SECONDS = 300


def results_version() -> str:
    """What the brand's results are at now: the newest result, reading and follower count
    (their ids only grow; one primary-key index lookup each). A post taken in, a snapshot read
    or a follower count makes a new version, so a cached page never shows older counts than
    the tables hold."""
    tables = [model._meta.db_table for model in (PostResult, MetricSnapshot, FollowerCount)]
    with connection.cursor() as cursor:
        newest = [f"(SELECT max(id) FROM {table})" for table in tables]  # noqa: S608 - ours
        cursor.execute("SELECT " + ", ".join(newest))
        return ".".join(str(newest or 0) for newest in cursor.fetchone())


def _weeks(results, zone) -> list[dict]:
    rows = (results.annotate(week=TruncWeek("published_at", tzinfo=zone)).values("week")
            .annotate(posts=Count("id"), interactions=Sum("interactions")).order_by("week"))
    return [{"start": row["week"], "posts": row["posts"],
             "interactions": row["interactions"] or 0} for row in rows]


def heat_best(heat) -> list[tuple[str, int, float]]:
    """The three best weekday-and-hour slots (by average interactions, with a post or more)."""
    cells = [(WEEKDAYS[day], hour, cell["average"]) for day, row in enumerate(heat)
             for hour, cell in enumerate(row) if cell["average"] is not None]
    return sorted(cells, key=lambda c: -c[2])[:3]
