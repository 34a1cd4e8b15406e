"""Results from Meta (Facebook Pages, Instagram, Threads) and LinkedIn: the adapters' reading of
counts and followers against the local fakes, which answer as the networks' references say
(Graph's multi-id reads and insights, LinkedIn's share statistics): what each answer becomes,
how many posts one call reads, and what a refusal or a rate limit becomes."""

from __future__ import annotations

import datetime as dt

import pytest

from agency.demo.fakes.meta import FakeMeta
from campaigns.publishing.adapters import Counts, NeedsReconnect, Transient
from campaigns.publishing.adapters.facebook import FacebookAdapter
from campaigns.publishing.adapters.instagram import InstagramAdapter
from campaigns.publishing.adapters.threads import ThreadsAdapter
from tests.factories import ChannelFactory

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

PAGE, IG_USER, THREADS_USER = "20001", "17841400000000001", "30001"


@pytest.fixture
def meta(settings):
    with FakeMeta(app_id="meta-app", app_secret="meta-secret") as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(
            ("facebook_graph", "facebook_www", "threads_graph", "threads_www"), fake.url)
        yield fake


def _channel(network: str, token: str, account_id: str, **extra):
    return ChannelFactory.build(name=f"Acme on {network}", network=network, handle="@acme",
                                account_id=account_id, secret=token, **extra)


def facebook(meta):
    return FacebookAdapter(_channel("facebook", meta.page_token(PAGE), PAGE), timeout=2)


def instagram(meta):
    return InstagramAdapter(_channel("instagram", meta.page_token(PAGE), IG_USER,
                                     settings={"page_id": PAGE}), timeout=2)


def threads(meta):
    return ThreadsAdapter(_channel("threads", meta.threads_token(), THREADS_USER), timeout=2)


# -- Facebook Pages ---------------------------------------------------------------------------


def test_facebook_reads_50_posts_in_one_call_with_reactions_comments_shares_views_clicks(meta):
    posts = [meta.add("post", PAGE, f"Autumn {n}") for n in range(50)]
    meta.set_stats(posts[7]["id"], reactions=41, comments=6, shares=3, post_media_view=1800,
                   post_clicks=52)
    adapter = facebook(meta)
    found = adapter.metrics([post["id"] for post in posts])
    assert len(found) == 50 and meta.metric_calls["ids"] == 1
    assert found[posts[7]["id"]] == Counts(likes=41, replies=6, reposts=3, views=1800, clicks=52)
    # a post nobody shared has no "shares" in Graph's answer: that is a real zero
    assert found[posts[0]["id"]] == Counts(likes=0, replies=0, reposts=0, views=0, clicks=0)
    assert adapter.metrics_batch == 50
    with pytest.raises(ValueError, match="at most 50"):
        adapter.metrics([post["id"] for post in posts] + [posts[0]["id"]])


def test_facebook_leaves_out_a_deleted_post_and_reads_the_others(meta):
    kept, deleted = meta.add("post", PAGE, "Kept"), meta.add("post", PAGE, "Deleted later")
    meta.set_stats(kept["id"], reactions=5)
    meta.delete(deleted["id"])
    found = facebook(meta).metrics([kept["id"], deleted["id"]])
    assert found == {kept["id"]: Counts(likes=5, replies=0, reposts=0, views=0, clicks=0)}
    assert meta.metric_calls["ids"] == 2  # Graph refused the read naming the gone id (803)


def test_facebook_followers_are_the_pages_followers_count(meta):
    meta.followers[PAGE] = 1520
    assert facebook(meta).followers() == 1520


def test_facebook_rate_limit_waits_as_long_as_the_business_usage_header_says(meta):
    post = meta.add("post", PAGE, "Limited")
    meta.graph_error_next(4, "(#4) Application request limit reached", regain_minutes=7)
    with pytest.raises(Transient) as limited:
        facebook(meta).metrics([post["id"]])
    assert limited.value.retry_after == 7 * 60
    assert "request limit" in limited.value.message


def test_near_the_apps_hourly_allowance_what_was_read_is_kept_and_the_channel_waits(meta):
    post = meta.add("post", PAGE, "Busy hour")
    meta.set_stats(post["id"], reactions=2)
    meta.app_usage = 97
    with pytest.raises(Transient) as stopped:
        facebook(meta).metrics([post["id"]])
    assert stopped.value.partial == {post["id"]: Counts(likes=2, replies=0, reposts=0, views=0,
                                                        clicks=0)}
    assert stopped.value.retry_after == 600 and "97%" in stopped.value.message


def test_facebook_expired_token_asks_for_a_reconnect(meta):
    post = meta.add("post", PAGE, "Old token")
    adapter = facebook(meta)
    meta.expire(adapter.channel.get_secret())
    with pytest.raises(NeedsReconnect):
        adapter.metrics([post["id"]])


# -- Instagram --------------------------------------------------------------------------------


def test_instagram_reads_likes_comments_and_insights_of_many_media_in_one_call(meta):
    media = [meta.add("ig_media", IG_USER, f"Latte art {n}") for n in range(12)]
    meta.set_stats(media[2]["id"], likes=88, comments=9, views=3400, saved=14, shares=5)
    meta.followers[IG_USER] = 2310
    adapter = instagram(meta)
    found = adapter.metrics([item["id"] for item in media])
    assert len(found) == 12 and meta.metric_calls["ids"] == 1
    assert found[media[2]["id"]] == Counts(likes=88, replies=9, reposts=5, views=3400, saves=14)
    assert found[media[2]["id"]].impressions is None  # Instagram no longer gives them
    assert adapter.followers() == 2310


# -- Threads ----------------------------------------------------------------------------------


def test_threads_reads_each_threads_insights_and_leaves_out_a_deleted_one(meta):
    first, second, gone = (meta.add("thread", THREADS_USER, text) for text in ("A", "B", "C"))
    meta.set_stats(first["id"], views=900, likes=31, replies=4, reposts=2, quotes=1, shares=7)
    meta.delete(gone["id"])
    meta.followers[THREADS_USER] = 890
    adapter = threads(meta)
    found = adapter.metrics([first["id"], second["id"], gone["id"]])
    assert found == {first["id"]: Counts(likes=31, replies=4, reposts=2, quotes=1, views=900),
                     second["id"]: Counts(likes=0, replies=0, reposts=0, quotes=0, views=0)}
    assert meta.count("GET", "/insights") == 3  # no batch read on Threads: one call each
    assert adapter.followers() == 890


def test_a_threads_rate_limit_keeps_what_was_read_before_it(meta):
    first, second = meta.add("thread", THREADS_USER, "One"), meta.add("thread", THREADS_USER,
                                                                       "Two")
    meta.set_stats(first["id"], likes=3)
    meta.graph_error_next(4, "(#4) Application request limit reached", regain_minutes=2,
                          path=f"/{second['id']}/insights")
    with pytest.raises(Transient) as limited:
        threads(meta).metrics([first["id"], second["id"]])
    assert limited.value.partial == {first["id"]: Counts(likes=3, replies=0, reposts=0,
                                                         quotes=0, views=0)}
    assert limited.value.retry_after == 120


# -- LinkedIn ---------------------------------------------------------------------------------

ORG = "2414183"


@pytest.fixture
def linkedin(settings):
    from agency.demo.fakes.linkedin import FakeLinkedIn

    with FakeLinkedIn(client_id="li-app", client_secret="li-secret",
                      organizations={ORG: "Acme Coffee", "99": "Acme Careers"}) as fake:
        settings.NETWORK_BASE_URLS = {"linkedin_api": fake.url, "linkedin_www": fake.url}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        yield fake


def on_linkedin(fake, token: str | None = None):
    from campaigns.publishing.adapters.linkedin import LinkedInAdapter

    channel = ChannelFactory.build(name="Acme on LinkedIn", network="linkedin",
                                   handle="linkedin.com/company/acme-coffee",
                                   secret=token or fake.issue_token())
    channel.account_id = ORG
    return LinkedInAdapter(channel, timeout=2)


def test_linkedin_reads_20_posts_statistics_in_one_call_and_leaves_out_a_deleted_one(linkedin):
    posts = [linkedin.add_post(f"Autumn {n}") for n in range(20)]
    other_page = linkedin.add_post("Careers", organization="99")
    linkedin.set_stats(posts[4]["id"], impressionCount=5400, uniqueImpressionsCount=3100,
                       clickCount=120, likeCount=64, commentCount=11, shareCount=7)
    linkedin.delete_post(posts[19]["id"])
    adapter = on_linkedin(linkedin)
    found = adapter.metrics([post["id"] for post in posts])
    assert linkedin.stats_calls["shareStatistics"] == 1 and len(found) == 19
    assert found[posts[4]["id"]] == Counts(likes=64, replies=11, reposts=7, impressions=5400,
                                           clicks=120)
    assert posts[19]["id"] not in found  # gone from LinkedIn: no element
    # another organization's post is not this page's to read
    assert adapter.metrics([other_page["id"]]) == {}
    with pytest.raises(ValueError, match="20 posts at a time"):
        adapter.metrics([post["id"] for post in posts] + [other_page["id"]])


def test_linkedin_reads_shares_and_ugc_posts_each_in_their_own_list(linkedin):
    share, ugc = linkedin.add_post("Share"), linkedin.add_post("With a video", ugc=True)
    linkedin.set_stats(ugc["id"], likeCount=12, commentCount=2)
    found = on_linkedin(linkedin).metrics([share["id"], ugc["id"]])
    assert ugc["id"].startswith("urn:li:ugcPost:")
    assert found[ugc["id"]] == Counts(likes=12, replies=2, reposts=0, impressions=0, clicks=0)
    assert set(found) == {share["id"], ugc["id"]}
    assert linkedin.stats_calls["shareStatistics"] == 2


def test_linkedin_followers_are_the_pages_network_size(linkedin):
    linkedin.followers[ORG] = 4321
    assert on_linkedin(linkedin).followers() == 4321
    assert linkedin.stats_calls["networkSizes"] == 1


def test_a_linkedin_rate_limit_is_transient_and_a_daily_one_waits_for_midnight(linkedin):
    post = linkedin.add_post("Limited")
    adapter = on_linkedin(linkedin)
    linkedin.fail_next(1, 429, path="/rest/organizationalEntityShareStatistics")
    with pytest.raises(Transient) as daily:
        adapter.metrics([post["id"]])
    assert 0 < daily.value.retry_after <= 86400 and "midnight UTC" in daily.value.message
    linkedin.fail_next(1, 429, message="Too many requests",
                       path="/rest/organizationalEntityShareStatistics")
    with pytest.raises(Transient) as shed:
        adapter.metrics([post["id"]])
    assert shed.value.retry_after is None  # the collection's own back-off then


def test_a_linkedin_expired_token_asks_for_a_reconnect(linkedin):
    post = linkedin.add_post("Old token")
    token = linkedin.issue_token()
    linkedin.expire(token)
    with pytest.raises(NeedsReconnect):
        on_linkedin(linkedin, token).metrics([post["id"]])


# -- in a collection round ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_round_reads_facebook_and_linkedin_and_a_throttled_meta_waits_alone(world, networks,
                                                                              meta, linkedin,
                                                                              settings):
    from django.utils import timezone

    from campaigns.results.collection import collect_round
    from campaigns.results.models import ChannelCollection, FollowerCount, PostResult
    from tenants.models import Client
    from tests.results.conftest import in_brand, publish

    settings.NETWORK_BASE_URLS = {
        **dict.fromkeys(("facebook_graph", "facebook_www", "threads_graph", "threads_www"),
                        meta.url),
        "linkedin_api": linkedin.url, "linkedin_www": linkedin.url}
    n = networks
    on_facebook = ChannelFactory(brand=world.acme, name="Acme Page",
                                 network="facebook", handle="Acme Coffee", account_id=PAGE,
                                 secret=meta.page_token(PAGE))
    on_linkedin = ChannelFactory(brand=world.acme, name="Acme on LinkedIn",
                                 network="linkedin", handle="linkedin.com/company/acme-coffee",
                                 account_id=ORG, secret=linkedin.issue_token())
    deliveries = publish(n.schema, [on_facebook, on_linkedin, n.on_mastodon], posts=3)
    on_li = [d for d in deliveries if d.network == "linkedin"]
    for number, delivery in enumerate(on_li, 1):
        linkedin.set_stats(delivery.remote_id, likeCount=number, impressionCount=100 * number)
    linkedin.followers[ORG] = 4321
    meta.graph_error_next(4, "(#4) Application request limit reached", regain_minutes=7)
    now = timezone.now() + dt.timedelta(minutes=16)
    with in_brand(n.schema):
        report = collect_round(Client.objects.get(schema_name=n.schema), now=now)
        waiting = ChannelCollection.objects.get(channel_id=on_facebook.pk)
        read = {r.delivery_id: r for r in PostResult.objects.all()}
        followers = dict(FollowerCount.objects.values_list("channel_id", "followers"))
    assert report.deferred == [on_facebook.pk] and report.failed == []
    assert (waiting.deferred_until - now).total_seconds() == pytest.approx(420, abs=5)
    assert [read[d.pk].likes for d in on_li] == [1, 2, 3]
    assert [read[d.pk].impressions for d in on_li] == [100, 200, 300]
    assert linkedin.stats_calls["shareStatistics"] == 1  # three posts, one call
    assert all(read[d.pk].collected_at is None for d in deliveries if d.network == "facebook")
    assert all(read[d.pk].collected_at is not None for d in deliveries
               if d.network == "mastodon")
    assert followers[on_linkedin.pk] == 4321 and on_facebook.pk not in followers
