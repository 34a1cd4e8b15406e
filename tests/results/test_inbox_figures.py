"""The inbox's figures on the brand's Results page: response times (median, 90th percentile,
share within the brand's target) and moderation actions for the period, as the page shows them
and with what they count."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.utils import timezone

from campaigns.conversations.figures import in_words, inbox_figures
from campaigns.conversations.models import Item, ItemState, ModerationAction, What
from tenants.models import Role
from tests.results.conftest import in_brand

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


@dataclass
class Inbox:
    items: dict
    now: dt.datetime


def make_inbox(mastodon, bluesky, now) -> Inbox:
    """Sixteen items in the last 30 days and one before, with known response times: eleven
    answered on Mastodon (10, 20 .. 100 minutes, and one after 5 hours), one on Bluesky after
    5 minutes, one open and unanswered for 6 hours (past the 4-hour target), one open for an
    hour (not yet due), one closed without an answer, one hidden; and the moderation of the
    period (and of before it)."""
    made = {}

    def item(name, channel, *, posted, answered_after=None, **extra):
        created = now - posted
        made[name] = Item.objects.create(
            channel=channel, network=channel.network, remote_id=f"figures-{name}",
            author_handle=f"@{name}", text=f"About the harvest ({name})", created_at=created,
            responded_at=created + answered_after if answered_after is not None else None,
            **extra)
        return made[name]

    for n in range(1, 11):
        item(f"quick{n}", mastodon, posted=dt.timedelta(days=n), answered_after=10 * n * MIN)
    item("late", mastodon, posted=2 * dt.timedelta(days=1), answered_after=5 * HOUR)
    item("sky", bluesky, posted=3 * HOUR, answered_after=5 * MIN)
    item("waiting", mastodon, posted=6 * HOUR)
    item("fresh", mastodon, posted=HOUR)
    item("closed", mastodon, posted=10 * HOUR, state=ItemState.DONE)
    hidden = item("rude", mastodon, posted=10 * HOUR, hidden=True, action="hide")
    item("old", mastodon, posted=dt.timedelta(days=40), answered_after=MIN)
    act = ModerationAction.objects.create
    act(item=hidden, what=What.HIDE, automatic=True, reason="insult", at=now - 10 * HOUR)
    staff = act(item=made["fresh"], what=What.HIDE, reason="spam link", at=now - 50 * MIN)
    ModerationAction.objects.filter(pk=staff.pk).update(undone_at=now - 20 * MIN)
    act(item=made["waiting"], what=What.PIN, automatic=True, reason="at risk",
        at=now - 6 * HOUR)
    act(item=made["waiting"], what=What.NOTIFY, automatic=True, at=now - 6 * HOUR)
    act(item=made["sky"], what=What.FLAG, automatic=True, at=now - 3 * HOUR)
    act(item=made["old"], what=What.HIDE, automatic=True, at=now - dt.timedelta(days=40))
    return Inbox(items=made, now=now)


def test_response_times_and_moderation_of_the_period(networks):
    n = networks
    now = timezone.now()
    with in_brand(n.schema):
        make_inbox(n.on_mastodon, n.on_bluesky, now)
        found = inbox_figures(since=now - dt.timedelta(days=30), now=now)
        on_bluesky = inbox_figures(since=now - dt.timedelta(days=30), now=now,
                                   channel_id=n.on_bluesky.pk)
    assert (found.received, found.answered) == (16, 12)  # not "old": before the period
    # 5, 10, 20 .. 100 min and 5 h: the middle of twelve is between 50 and 60 minutes
    assert (found.median, found.p90) == (55 * MIN, 99 * MIN)
    # answered (12) and the one open past the 4 h target count; 11 answered within it
    assert (found.target_hours, found.within_target, found.counted_for_target) == (4, 11, 13)
    assert found.within_target_share == 84.6
    assert (found.hidden, found.hidden_automatically, found.escalated, found.flagged,
            found.undone) == (2, 1, 1, 1, 1)
    assert (on_bluesky.received, on_bluesky.median, on_bluesky.flagged,
            on_bluesky.hidden) == (1, 5 * MIN, 1, 0)


def test_response_times_in_words():
    assert [in_words(d) for d in (None, dt.timedelta(seconds=40), 25 * MIN, 3 * HOUR + 10 * MIN,
                                  5 * HOUR, dt.timedelta(days=2, hours=4))] == [
        "–", "40 s", "25 min", "3 h 10 min", "5 h", "2 d 4 h"]


def _figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', html).group(1).strip()


def test_the_results_page_shows_the_inbox_figures_and_what_they_count(world, http, networks):
    n = networks
    with in_brand(n.schema):
        make_inbox(n.on_mastodon, n.on_bluesky, timezone.now())
    page = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    html = page.get("/admin/results/?days=30").content.decode()
    assert "The inbox" in html
    assert [_figure(html, name) for name in ("inbox-received", "inbox-answered", "inbox-median",
                                             "inbox-p90", "inbox-within")] == [
        "16", "12", "55 min", "1 h 39 min", "84.6%"]
    assert _figure(html, "inbox-hidden") == "2 (1 automatically)"
    assert [_figure(html, f"inbox-{name}") for name in ("escalated", "flagged", "undone")] == [
        "1", "1", "1"]
    since = re.search(r'data-inbox="since">([^<]*)<', html).group(1)
    assert "Replies, mentions and quotes people posted since" in since
    assert "(Europe/London)" in since
    assert "first reply sent" in html and "11 of 13" in html
    one = page.get(f"/admin/results/?days=7&channel={n.on_bluesky.pk}").content.decode()
    assert _figure(one, "inbox-received") == "1" and "on this channel since" in one
