"""The adapters' reading of counts, through Mastodon.py and atproto against the local fakes:
what each network's answer becomes, and what a refusal or a rate limit becomes."""

from __future__ import annotations

import pytest

from campaigns.publishing.adapters import Counts, NotSupported, Transient
from campaigns.publishing.adapters.bluesky import BlueskyAdapter
from campaigns.publishing.adapters.mastodon import MastodonAdapter
from campaigns.publishing.adapters.webhook import WebhookAdapter
from tests.factories import ChannelFactory
from tests.results.conftest import PASSWORD, TOKEN

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def fakes():
    from agency.demo.fakes import FakeBluesky, FakeMastodon
    from campaigns.publishing.adapters.bluesky import forget_sessions

    forget_sessions()
    with FakeMastodon(token=TOKEN) as mastodon, FakeBluesky(handle="acme.test",
                                                            password=PASSWORD) as bluesky:
        yield mastodon, bluesky
    forget_sessions()


def _mastodon(url):
    return MastodonAdapter(ChannelFactory.build(network="mastodon", handle="@acme@127.0.0.1",
                                                endpoint=url, secret=TOKEN), timeout=2)


def _bluesky(url):
    return BlueskyAdapter(ChannelFactory.build(network="bluesky", handle="@acme.test",
                                               endpoint=url, secret=PASSWORD), timeout=2)


def test_mastodon_counts_favourites_boosts_and_replies_and_leaves_out_deleted(fakes):
    mastodon, _ = fakes
    kept, deleted = mastodon.add_status("Kept"), mastodon.add_status("Deleted later")
    mastodon.set_counts(kept["id"], favourites=7, reblogs=2, replies=1)
    with mastodon.lock:
        mastodon._statuses.remove(next(s for s in mastodon._statuses
                                       if s["id"] == deleted["id"]))
    mastodon.followers_count = 321
    adapter = _mastodon(mastodon.url)
    assert adapter.metrics([kept["id"], deleted["id"]]) == {
        kept["id"]: Counts(likes=7, reposts=2, replies=1, quotes=None)}
    assert adapter.followers() == 321


def test_a_mastodon_rate_limit_keeps_what_was_read_before_it(fakes):
    mastodon, _ = fakes
    first, second = mastodon.add_status("One"), mastodon.add_status("Two")
    mastodon.set_counts(first["id"], favourites=3)
    adapter = _mastodon(mastodon.url)
    adapter.metrics([])  # nothing asked, nothing sent
    mastodon.fail_next(1, 429, retry_after=120, path=f"/api/v1/statuses/{second['id']}")
    with pytest.raises(Transient) as caught:
        adapter.metrics([first["id"], second["id"]])
    assert caught.value.partial == {first["id"]: Counts(likes=3, reposts=0, replies=0)}
    assert caught.value.retry_after == pytest.approx(120, abs=2)


def test_bluesky_reads_up_to_25_posts_in_one_getposts(fakes):
    _, bluesky = fakes
    posts = [bluesky.add_post(f"Post {n}") for n in range(25)]
    bluesky.set_counts(posts[3]["uri"], likes=9, reposts=2, replies=1, quotes=4)
    bluesky.followers_count = 77
    adapter = _bluesky(bluesky.url)
    found = adapter.metrics([post["uri"] for post in posts])
    assert len(found) == 25 and bluesky.count("GET", "getPosts") == 1
    assert found[posts[3]["uri"]] == Counts(likes=9, reposts=2, replies=1, quotes=4)
    assert adapter.followers() == 77
    with pytest.raises(ValueError, match="at most 25"):
        adapter.metrics([post["uri"] for post in posts] + [posts[0]["uri"]])


def test_a_webhook_channel_gives_no_counts(fakes):
    adapter = WebhookAdapter(ChannelFactory.build(network="webhook", handle="hook",
                                                  endpoint="http://127.0.0.1:9/hook",
                                                  secret="whsec_" + "a" * 32), timeout=1)
    with pytest.raises(NotSupported):
        adapter.metrics(["1"])
