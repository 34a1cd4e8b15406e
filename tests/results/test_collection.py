"""Collecting what published posts achieved: the counts each network shows, read on a decaying
schedule through the real adapters and client libraries against local fake networks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.results import tasks
from campaigns.results.collection import collect_round, next_collection
from campaigns.results.models import (
    ChannelCollection,
    FollowerCount,
    MetricSnapshot,
    PostResult,
)
from tests.results.conftest import in_brand, publish

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

MINUTE = dt.timedelta(minutes=1)


def _result(schema, delivery) -> PostResult:
    with in_brand(schema):
        return PostResult.objects.get(delivery_id=delivery.pk)


def test_the_schedule_is_often_at_first_then_daily_then_stops(settings):
    settings.RESULTS = {**settings.RESULTS, "SCHEDULE_MINUTES": [15, 60, 180, 360, 720, 1440],
                        "STOP_AFTER_DAYS": 30}
    out = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    steps, now = [], out
    while (moment := next_collection(out, now)) is not None:
        steps.append(moment - out)
        now = moment
    hours = [step / dt.timedelta(hours=1) for step in steps]
    assert hours[:6] == [0.25, 1, 3, 6, 12, 24]
    assert hours[6:9] == [48, 72, 96]  # then daily
    assert hours[-1] == 30 * 24  # and not after 30 days
    # a round that runs late skips the steps it missed instead of catching up on each
    assert next_collection(out, out + dt.timedelta(hours=5)) == out + dt.timedelta(hours=6)


def test_a_round_reads_each_networks_counts_and_followers(networks, settings):
    n = networks
    mastodon_posts = publish(n.schema, [n.on_mastodon, n.on_bluesky, n.sandbox], posts=3)
    by_network = {}
    for delivery in mastodon_posts:
        by_network.setdefault(delivery.network, []).append(delivery)
    for number, delivery in enumerate(by_network["mastodon"], 1):
        n.mastodon.set_counts(delivery.remote_id, favourites=10 * number, reblogs=number,
                              replies=2)
    for number, delivery in enumerate(by_network["bluesky"], 1):
        n.bluesky.set_counts(delivery.remote_id, likes=7 * number, reposts=3, replies=1,
                             quotes=number)
    n.mastodon.followers_count, n.bluesky.followers_count = 1200, 800
    n.mastodon.requests.clear()
    n.bluesky.requests.clear()

    # Not due before the first step: nothing is asked.
    with in_brand(n.schema):
        early = collect_round(world_client(n), now=timezone.now() + 5 * MINUTE)
    assert early.tracked == 9 and early.read == 0
    assert n.mastodon.count("GET", "/api/v1/statuses/") == 0
    assert n.bluesky.count("GET", "getPosts") == 0

    done = tasks.collect_results()  # the periodic job, in every brand
    assert done[n.schema]["read"] == 0  # still not due (15 minutes after going out)

    with in_brand(n.schema):
        report = collect_round(world_client(n), now=timezone.now() + 16 * MINUTE)
    assert report.read == 9 and report.failed == [] and report.deferred == []
    # Mastodon has no batch read: one GET a status. Bluesky reads the three in one getPosts.
    assert n.mastodon.count("GET", "/api/v1/statuses/") == 3
    assert n.bluesky.count("GET", "app.bsky.feed.getPosts") == 1

    second = by_network["mastodon"][1]
    result = _result(n.schema, second)
    assert (result.likes, result.reposts, result.replies, result.quotes) == (20, 2, 2, None)
    assert result.impressions is None and result.interactions == 24
    third_sky = _result(n.schema, by_network["bluesky"][2])
    assert (third_sky.likes, third_sky.reposts, third_sky.replies, third_sky.quotes) == (
        21, 3, 1, 3)
    sandbox = _result(n.schema, by_network["sandbox"][0])
    assert sandbox.impressions is not None and sandbox.collections == 1
    with in_brand(n.schema):
        assert MetricSnapshot.objects.filter(delivery_id__in=[d.pk for d in mastodon_posts]
                                             ).count() == 9
        followers = dict(FollowerCount.objects.values_list("channel_id", "followers"))
    assert followers[n.on_mastodon.pk] == 1200 and followers[n.on_bluesky.pk] == 800
    assert n.sandbox.pk in followers


def world_client(n):
    from tenants.models import Client

    return Client.objects.get(schema_name=n.schema)


def test_counts_grow_and_each_reading_is_kept(networks):
    n = networks
    (delivery,) = publish(n.schema, [n.on_mastodon])
    n.mastodon.set_counts(delivery.remote_id, favourites=3)
    client = world_client(n)
    with in_brand(n.schema):
        collect_round(client, now=timezone.now() + 16 * MINUTE)
    n.mastodon.set_counts(delivery.remote_id, favourites=9, reblogs=4, replies=1)
    with in_brand(n.schema):
        # Before the next step (an hour after going out) it is not read again.
        assert collect_round(client, now=timezone.now() + 30 * MINUTE).read == 0
        collect_round(client, now=timezone.now() + 61 * MINUTE)
        readings = list(MetricSnapshot.objects.filter(delivery_id=delivery.pk)
                        .values_list("likes", "reposts", "interactions"))
        result = PostResult.objects.get(delivery_id=delivery.pk)
    assert readings == [(3, 0, 3), (9, 4, 14)]
    assert result.likes == 9 and result.collections == 2
    assert result.next_collect_at - result.published_at == dt.timedelta(hours=3)


def test_a_rate_limited_channel_waits_and_the_others_go_on(networks):
    n = networks
    deliveries = publish(n.schema, [n.on_mastodon, n.on_bluesky], posts=2)
    on_bluesky = [d for d in deliveries if d.network == "bluesky"]
    for delivery in on_bluesky:
        n.bluesky.set_counts(delivery.remote_id, likes=5)
    n.mastodon.fail_next(1, 429, retry_after=600, path="/api/v1/statuses/")
    client = world_client(n)
    now = timezone.now() + 16 * MINUTE
    with in_brand(n.schema):
        report = collect_round(client, now=now)
        waiting = ChannelCollection.objects.get(channel_id=n.on_mastodon.pk)
        mastodon_results = list(PostResult.objects.filter(network="mastodon"))
        sky = list(PostResult.objects.filter(network="bluesky"))
    assert report.deferred == [n.on_mastodon.pk]
    assert [r.likes for r in sky] == [5, 5]
    assert [r.collected_at for r in mastodon_results] == [None, None]
    assert all("rate limiting" in r.error for r in mastodon_results)
    assert (waiting.deferred_until - now).total_seconds() == pytest.approx(600, abs=5)
    # While it waits, it is not asked; once the wait is over, its posts are read.
    calls = n.mastodon.count("GET", "/api/v1/statuses/")
    with in_brand(n.schema):
        assert collect_round(client, now=now + 5 * MINUTE).read == 0
        assert n.mastodon.count("GET", "/api/v1/statuses/") == calls
        later = collect_round(client, now=now + 11 * MINUTE)
    assert later.read == 2 and later.deferred == []


def test_a_network_that_stops_answering_does_not_stop_the_other_channels(networks):
    n = networks
    deliveries = publish(n.schema, [n.on_mastodon, n.on_bluesky])
    n.bluesky.set_counts(next(d for d in deliveries if d.network == "bluesky").remote_id,
                         likes=2)
    n.mastodon.stop()  # the server is gone
    with in_brand(n.schema):
        report = collect_round(world_client(n), now=timezone.now() + 16 * MINUTE)
        sky = PostResult.objects.get(network="bluesky")
        state = ChannelCollection.objects.get(channel_id=n.on_mastodon.pk)
    assert report.read == 1 and sky.likes == 2
    assert report.deferred == [n.on_mastodon.pk]
    assert state.deferred_until is not None and "Could not reach Mastodon" in state.error


def test_bluesky_posts_are_read_25_a_call(networks):
    n = networks
    deliveries = publish(n.schema, [n.on_bluesky], posts=30)
    n.bluesky.requests.clear()
    with in_brand(n.schema):
        report = collect_round(world_client(n), now=timezone.now() + 16 * MINUTE)
    assert report.read == 30
    assert n.bluesky.count("GET", "app.bsky.feed.getPosts") == 2
    assert len(deliveries) == 30


def test_a_post_deleted_on_the_network_is_marked_gone_and_not_read_again(networks):
    n = networks
    (delivery,) = publish(n.schema, [n.on_mastodon])
    with n.mastodon.lock:
        n.mastodon._statuses.clear()  # deleted by the account's owner on Mastodon
    client = world_client(n)
    with in_brand(n.schema):
        report = collect_round(client, now=timezone.now() + 16 * MINUTE)
        result = PostResult.objects.get(delivery_id=delivery.pk)
    assert report.gone == 1 and result.gone and result.next_collect_at is None
    assert "no longer has" in result.error


def test_posts_older_than_collection_lasts_are_not_taken(networks, settings):
    n = networks
    long_ago = timezone.now() - dt.timedelta(days=settings.RESULTS["STOP_AFTER_DAYS"] + 1)
    publish(n.schema, [n.sandbox], when=long_ago)
    with in_brand(n.schema):
        report = collect_round(world_client(n))
    assert report.tracked == 0
