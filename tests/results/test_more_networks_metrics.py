"""Results from TikTok, Pinterest and Google Business Profile: the adapters' reading of counts
and followers against the local fakes, which answer as the networks' references say (TikTok's
Display API video query and user info, Pinterest's pin analytics, Google's lack of per-post
insights), and a round of the real collection job over all three."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from agency.demo.fakes.pinterest import FakePinterest
from agency.demo.fakes.tiktok import FakeTikTok
from campaigns.publishing.adapters import Counts, NotSupported, Permanent, Transient
from campaigns.publishing.adapters.google_business import GoogleBusinessAdapter
from campaigns.publishing.adapters.pinterest import PinterestAdapter
from campaigns.publishing.adapters.tiktok import PUBLISH_KEY, TikTokAdapter
from tests.factories import ChannelFactory

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

OPEN_ID = "_000acmeOpenId"


@pytest.fixture
def fakes(settings):
    with FakeTikTok(client_key="tt-app", client_secret="tt-secret") as tiktok, \
            FakePinterest(client_id="pin-app", client_secret="pin-secret") as pinterest:
        settings.NETWORK_BASE_URLS = {"tiktok_api": tiktok.url, "tiktok_www": tiktok.url,
                                      "pinterest_api": pinterest.url,
                                      "pinterest_www": pinterest.url}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        yield tiktok, pinterest


def on_tiktok(fake: FakeTikTok, token: str | None = None) -> TikTokAdapter:
    channel = ChannelFactory.build(name="Acme on TikTok", network="tiktok", handle="@acmecoffee",
                                   secret=token or fake.issue_token())
    channel.account_id = OPEN_ID
    return TikTokAdapter(channel, timeout=2)


def on_pinterest(fake: FakePinterest) -> PinterestAdapter:
    channel = ChannelFactory.build(name="Acme on Pinterest", network="pinterest",
                                   handle="pinterest.com/acmecoffee", secret=fake.issue_token())
    channel.account_id = fake.account_id
    return PinterestAdapter(channel, timeout=2)


# -- TikTok ---------------------------------------------------------------------------------


def test_tiktok_reads_20_videos_in_one_query_and_leaves_out_a_deleted_one(fakes):
    tiktok, _ = fakes
    videos = [tiktok.add_video(f"Latte art {n}") for n in range(20)]
    tiktok.set_stats(videos[3], like_count=410, comment_count=22, share_count=9,
                     view_count=15800)
    tiktok.delete(videos[19])
    adapter = on_tiktok(tiktok)
    found = adapter.metrics(videos)
    assert tiktok.query_calls == [videos]  # one call for twenty
    assert len(found) == 19 and videos[19] not in found
    assert found[videos[3]] == Counts(likes=410, replies=22, reposts=9, views=15800)
    assert found[videos[0]] == Counts(likes=0, replies=0, reposts=0, views=0)
    assert found[videos[3]].interactions == 441  # views are not interactions
    with pytest.raises(ValueError, match="at most 20"):
        adapter.metrics([*videos, videos[0]])


def test_a_private_tiktok_post_is_never_asked_about(fakes):
    tiktok, _ = fakes
    adapter = on_tiktok(tiktok)
    private = PUBLISH_KEY + "v_pub_file~v2-1.123"
    assert "private post" in adapter.counts_unavailable(private)
    assert adapter.counts_unavailable("7300000000000000001") == ""
    assert adapter.metrics([private]) == {} and tiktok.query_calls == []


def test_tiktok_followers_need_the_stats_permission(fakes):
    tiktok, _ = fakes
    tiktok.follower_count = 5120
    assert on_tiktok(tiktok).followers() == 5120
    older = tiktok.issue_token(scope="user.info.basic,video.publish,video.upload")
    with pytest.raises(Permanent, match="reconnect the channel") as refused:
        on_tiktok(tiktok, older).followers()
    assert "user.info.stats" in refused.value.message
    with pytest.raises(Permanent, match="video.list"):
        on_tiktok(tiktok, older).metrics([tiktok.add_video("Old token")])


def test_a_tiktok_rate_limit_waits_a_minute(fakes):
    tiktok, _ = fakes
    video = tiktok.add_video("Busy")
    tiktok.queries_per_minute = 1
    adapter = on_tiktok(tiktok)
    adapter.metrics([video])
    with pytest.raises(Transient) as limited:
        adapter.metrics([video])
    assert limited.value.retry_after == 60 and "limiting" in limited.value.message


# -- Pinterest ------------------------------------------------------------------------------


def test_pinterest_reads_100_pins_analytics_in_one_call(fakes):
    _, pinterest = fakes
    pins = [pinterest.add_pin(f"Recipe {n}")["id"] for n in range(100)]
    pinterest.set_stats(pins[5], IMPRESSION=3200, SAVE=41, PIN_CLICK=88, OUTBOUND_CLICK=30)
    pinterest.delete(pins[99])
    adapter = on_pinterest(pinterest)
    found = adapter.metrics(pins)
    assert pinterest.analytics_calls == [pins] and len(found) == 99
    # saves and clicks are interactions; PIN_CLICK already counts the outbound clicks
    assert found[pins[5]] == Counts(impressions=3200, saves=41, clicks=88)
    assert found[pins[5]].interactions == 129
    assert pins[99] not in found
    with pytest.raises(ValueError, match="at most 100"):
        adapter.metrics([*pins, pins[0]])


def test_without_the_multi_pin_read_each_pin_is_read_alone(fakes):
    _, pinterest = fakes
    pinterest.bulk_analytics = False
    pins = [pinterest.add_pin(f"Recipe {n}")["id"] for n in range(3)]
    pinterest.set_stats(pins[1], IMPRESSION=70, SAVE=2)
    pinterest.delete(pins[2])
    found = on_pinterest(pinterest).metrics(pins)
    assert found == {pins[0]: Counts(impressions=0, saves=0, clicks=0),
                     pins[1]: Counts(impressions=70, saves=2, clicks=0)}
    assert pinterest.analytics_calls == [[pin] for pin in pins]  # the refused bulk not counted


def test_a_pinterest_rate_limit_waits_until_its_window_resets(fakes):
    _, pinterest = fakes
    pin = pinterest.add_pin("Limited")["id"]
    pinterest.fail_next(1, status=429, retry_after=42)
    with pytest.raises(Transient) as limited:
        on_pinterest(pinterest).metrics([pin])
    assert limited.value.retry_after == pytest.approx(42, abs=1)


def test_pinterest_followers_are_the_accounts_follower_count(fakes):
    _, pinterest = fakes
    pinterest.followers = 2048
    assert on_pinterest(pinterest).followers() == 2048


# -- Google Business Profile ----------------------------------------------------------------


def test_google_business_gives_no_per_post_counts_and_no_followers():
    channel = ChannelFactory.build(name="Acme on Google", network="google_business",
                                   handle="Acme Coffee", secret="token")
    adapter = GoogleBusinessAdapter(channel, timeout=2)
    with pytest.raises(NotSupported, match="per location only"):
        adapter.metrics(["accounts/1/locations/2/localPosts/3"])
    with pytest.raises(NotSupported, match="no followers"):
        adapter.followers()


# -- a round of the real collection job -------------------------------------------------------


def _went_out(world, channel, remote_id: str, *, minutes_ago: int = 30):
    """A delivery of ``channel`` published as ``remote_id`` (the publishing worker's part is
    tested with each network; here it only has to have gone out)."""
    from campaigns.publishing.models import Delivery, State
    from tests.factories import DeliveryFactory

    delivery = DeliveryFactory(brand=world.acme, channel=channel, copy=f"Post {remote_id}")
    when = timezone.now() - dt.timedelta(minutes=minutes_ago)
    Delivery.objects.filter(pk=delivery.pk).update(state=State.PUBLISHED, remote_id=remote_id,
                                                   published_at=when)
    return delivery


def _channel(world, network: str, name: str, handle: str, account: str, secret: str):
    channel = ChannelFactory(brand=world.acme, name=name, network=network, handle=handle,
                             secret=secret)
    with tenant_context(world.acme.client):
        channel.account_id = account
        channel.save()
    return channel


@pytest.fixture
def acme_channels(world, fakes):
    """Acme's TikTok and Pinterest channels, connected to the fakes."""
    tiktok, pinterest = fakes
    return (_channel(world, "tiktok", "Acme on TikTok", "@acmecoffee", OPEN_ID,
                     tiktok.issue_token()),
            _channel(world, "pinterest", "Acme on Pinterest", "pinterest.com/acmecoffee",
                     pinterest.account_id, pinterest.issue_token()))


@pytest.mark.django_db
def test_the_collection_job_reads_tiktok_and_pinterest_in_batches_and_says_why_not_google(
        world, fakes, acme_channels):
    from campaigns.results import tasks
    from campaigns.results.models import ChannelCollection, FollowerCount, PostResult

    tiktok, pinterest = fakes
    acme = world.acme
    tt, pin = acme_channels
    gbp = _channel(world, "google_business", "Acme on Google", "Acme Coffee",
                   "accounts/1/locations/2", "google-token")
    videos = [tiktok.add_video(f"Video {n}") for n in range(3)]
    for number, video in enumerate(videos, 1):
        tiktok.set_stats(video, like_count=10 * number, view_count=1000 * number)
    pins = [pinterest.add_pin(f"Pin {n}")["id"] for n in range(2)]
    pinterest.set_stats(pins[0], IMPRESSION=500, SAVE=12, PIN_CLICK=7)
    tiktok.follower_count, pinterest.followers = 5120, 2048
    for video in videos:
        _went_out(world, tt, video)
    _went_out(world, tt, PUBLISH_KEY + "v_pub_file~v2-1.9")  # private: no public id
    for pin_id in pins:
        _went_out(world, pin, pin_id)
    _went_out(world, gbp, "accounts/1/locations/2/localPosts/77")

    done = tasks.collect_results()[acme.client.schema_name]

    with schema_context(acme.client.schema_name):
        by_remote = {r.remote_id: r for r in PostResult.objects.all()}
        followers = dict(FollowerCount.objects.values_list("channel_id", "followers"))
        waiting = list(ChannelCollection.objects.filter(deferred_until__isnull=False))
    assert done["failed"] == [] and done["deferred"] == [] and waiting == []
    assert len(tiktok.query_calls) == 1 and len(pinterest.analytics_calls) == 1
    assert [by_remote[v].likes for v in videos] == [10, 20, 30]
    assert [by_remote[v].views for v in videos] == [1000, 2000, 3000]
    assert (by_remote[pins[0]].impressions, by_remote[pins[0]].saves,
            by_remote[pins[0]].clicks, by_remote[pins[0]].interactions) == (500, 12, 7, 19)
    assert all(by_remote[v].next_collect_at is not None for v in [*videos, *pins])
    private = by_remote[PUBLISH_KEY + "v_pub_file~v2-1.9"]
    google = by_remote["accounts/1/locations/2/localPosts/77"]
    for stopped in (private, google):  # said why, and not asked about again
        assert stopped.collected_at is None and stopped.next_collect_at is None
    assert "private post" in private.error and "per location only" in google.error
    assert followers == {tt.pk: 5120, pin.pk: 2048}  # Google's location has none


@pytest.mark.django_db
def test_a_rate_limited_tiktok_waits_alone_and_pinterest_goes_on(world, fakes, acme_channels):
    from campaigns.results.collection import collect_round
    from campaigns.results.models import ChannelCollection, PostResult

    tiktok, pinterest = fakes
    acme = world.acme
    tt, pin = acme_channels
    video, pin_id = tiktok.add_video("Busy"), pinterest.add_pin("Calm")["id"]
    pinterest.set_stats(pin_id, SAVE=3)
    _went_out(world, tt, video)
    _went_out(world, pin, pin_id)
    tiktok.fail_next(1, status=429)
    now = timezone.now()
    with schema_context(acme.client.schema_name):
        report = collect_round(acme.client, now=now)
        waits = ChannelCollection.objects.get(channel_id=tt.pk)
        read = {r.remote_id: r for r in PostResult.objects.all()}
    assert report.deferred == [tt.pk] and report.failed == []
    assert (waits.deferred_until - now).total_seconds() == pytest.approx(60, abs=2)
    assert "limiting" in waits.error
    assert read[video].collected_at is None and read[pin_id].saves == 3
