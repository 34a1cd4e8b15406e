"""The calendar tells what the outbox says: each post's state on each of its channels, in the
publishing queue's words, on the calendar, the dashboard and the API; approved posts move in the
outbox only where the brand lets staff move them."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from approvals.workflows import approve_revision
from campaigns.models import CampaignPage, Channel, Post, PublishingSettings
from campaigns.publishing import transitions
from campaigns.publishing.models import CrisisHold, Delivery, State
from campaigns.status import status_of
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(world):
    """Acme's campaign with two posts on a sandbox and a webhook channel, approved as the demo
    approves "Barista stories" (its revision was saved before the first publish)."""
    editor = world.acme.users[Role.EDITOR]
    zone = zoneinfo.ZoneInfo(world.acme.client.time_zone)
    # tomorrow 09:30 in the brand's zone: inside the dashboard's next 48 hours
    first = (timezone.now() + dt.timedelta(days=1)).astimezone(zone).replace(
        hour=9, minute=30, second=0, microsecond=0)
    with schema_context(world.acme.client.schema_name):
        sandbox = Channel.objects.create(name="Truth sandbox", network="sandbox", handle="@t")
        hook = Channel.objects.create(name="Truth hook", network="webhook", handle="truth",
                                      endpoint="http://127.0.0.1:9/hook")
        page = CampaignFactory(title="Truth stories", author=editor, posts=[
            Post(copy="Out on one, failed on the other", publish_at=first,
                 channels=[sandbox, hook]),
            Post(copy="Still waiting", publish_at=first + dt.timedelta(hours=2),
                 channels=[sandbox, hook])])
        approve_revision(page.latest_revision, user=editor)
    return {"page": page, "sandbox": sandbox, "hook": hook, "first": first, "zone": zone}


def _send_first_post(kit, *, hook_fails: bool = True) -> None:
    """The worker's steps for post 1, taken early: published on the sandbox, and on the webhook
    failed (or published)."""
    first = Delivery.objects.filter(page_id=kit["page"].pk, post_number=1)
    first.update(next_attempt_at=timezone.now())  # due now
    claims = dict(transitions.claim_due())
    for delivery in first:
        claim = claims[delivery.pk]
        assert transitions.start(delivery, claim, "test:1")
        if delivery.channel_id == kit["hook"].pk and hook_fails:
            transitions.fail(delivery, claim, "HTTP 410: the receiver is gone")
        else:
            transitions.succeed(delivery, claim, f"r{delivery.pk}", "")


def _week(kit) -> str:
    return f"/admin/calendar/?view=week&week={kit['first'].date()}"


def _calendar_states(html: str, campaign_id: int, post: int) -> dict[str, str]:
    """{channel name: state word} of post ``post`` (1-based) of a campaign, as the calendar
    shows it."""
    found = {}
    pattern = (rf'data-campaign="{campaign_id}" data-state="\w+" data-post="{post}"'
               r'.*?</ul>')
    for entry in re.findall(pattern, html, re.S):
        for name, word in re.findall(r'<span class="channel">([^<]+)</span>: '
                                     r'<span class="state">([^<]+)</span>', entry):
            found[htmllib.unescape(name)] = word
    return found


def _queue_states(html: str, title: str) -> dict[tuple[str, str], str]:
    """{(post, channel name): state word} of a campaign's rows in the publishing queue."""
    rows = {}
    for row in re.findall(r"<tr data-state=\"\w+\">(.*?)</tr>", html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row,
                                                                         re.S)]
        if cells[1] == title:
            rows[(cells[2].split(":")[0], htmllib.unescape(cells[3]))] = cells[4]
    return rows


def test_each_channel_shows_the_outbox_state_the_queue_shows(world, http, approved):
    _send_first_post(approved)
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    calendar = manager.get(_week(approved)).content.decode()
    queue = manager.get("/admin/publishing/").content.decode()
    pk = approved["page"].pk

    assert _calendar_states(calendar, pk, 1) == {"Truth sandbox": "Published",
                                                 "Truth hook": "Failed"}
    assert _calendar_states(calendar, pk, 2) == {"Truth sandbox": "Scheduled",
                                                 "Truth hook": "Scheduled"}
    in_queue = _queue_states(queue, "Truth stories")
    for post in (1, 2):
        for channel, word in _calendar_states(calendar, pk, post).items():
            assert in_queue[(f"Post {post}", channel)] == word
    # the post as a whole: failed (one channel did not get it), not "Approved"
    assert re.search(rf'data-campaign="{pk}" data-state="failed" data-post="1"', calendar)

    # the dashboard panel says the same, per channel
    dashboard = manager.get("/admin/").content.decode()
    panel = dashboard.split('id="next-posts-heading"')[1].split("</section>")[0]
    assert "Truth sandbox: Published" in panel and "Truth hook: Failed" in panel


def test_held_and_cancelled_channels_use_the_queues_words(world, http, approved):
    hold = CrisisHold.objects.create(reason="Storm", client=world.acme.client)
    second = Delivery.objects.filter(page_id=approved["page"].pk, post_number=2)
    sandbox = second.get(channel_id=approved["sandbox"].pk)
    transitions.hold([sandbox.pk], hold)
    with schema_context(world.acme.client.schema_name):
        transitions.cancel(second.get(channel_id=approved["hook"].pk).pk)
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    calendar = manager.get(_week(approved)).content.decode()
    queue = manager.get("/admin/publishing/").content.decode()
    states = _calendar_states(calendar, approved["page"].pk, 2)
    assert states == {"Truth sandbox": "Held", "Truth hook": "Cancelled"}
    in_queue = _queue_states(queue, "Truth stories")
    assert {channel: in_queue[("Post 2", channel)] for channel in states} == states


def test_the_api_gives_each_channels_state(world, approved):
    _send_first_post(approved)
    api = ApiClient(world.acme.host, make_key(world.acme, scopes=("read",)))
    start = (approved["first"] - dt.timedelta(hours=1)).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    response = api.send("GET", f"/api/v1/calendar/?start={start:%Y-%m-%dT%H:%M:%SZ}"
                               f"&end={end:%Y-%m-%dT%H:%M:%SZ}")
    assert response.status_code == 200, response.content
    entries = {e["post_number"]: e for e in response.json()
               if e["campaign_id"] == approved["page"].pk}
    first = entries[1]
    # what was there before is unchanged
    assert sorted(first["channels"]) == sorted([approved["sandbox"].pk, approved["hook"].pk])
    assert [s["channel"] for s in first["channel_states"]] == first["channels"]
    assert first["state"] == "failed"
    by_channel = {s["channel"]: s for s in first["channel_states"]}
    deliveries = {d.channel_id: d for d in Delivery.objects.filter(page_id=approved["page"].pk,
                                                                   post_number=1)}
    assert by_channel[approved["sandbox"].pk] == {
        "channel": approved["sandbox"].pk, "channel_name": "Truth sandbox",
        "state": "published", "state_label": "Published",
        "delivery": deliveries[approved["sandbox"].pk].pk}
    assert by_channel[approved["hook"].pk]["state"] == "failed"
    assert {s["state"] for s in entries[2]["channel_states"]} == {"scheduled"}

    # documented: the per-channel states and their words
    schema = api.send("GET", "/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert "channel_states" in schema["CalendarEntryData"]["properties"]
    assert set(schema["CalendarChannelStateEnum"]["enum"]) == {
        "draft", "in_review", "changes_requested", "approved", "scheduled", "held", "claimed",
        "published", "failed", "unconfirmed", "cancelled"}
    assert "CalendarChannelStateEnum" in str(schema["CalendarChannelStateData"])


def test_a_draft_post_keeps_its_campaigns_status_on_every_channel(world, http):
    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        channel = Channel.objects.create(name="Draft sandbox", network="sandbox", handle="@d")
        page = CampaignFactory(title="Draft truth", author=editor, posts=[
            Post(copy="Not yet", channels=[channel],
                 publish_at=dt.datetime(2026, 10, 14, 9, tzinfo=dt.UTC))])
    html = http(world.acme.host, user=editor).get(
        "/admin/calendar/?view=week&week=2026-10-14").content.decode()
    assert _calendar_states(html, page.pk, 1) == {"Draft sandbox": "Draft"}


def _allow_moving_approved_posts(world, allowed: bool) -> None:
    with schema_context(world.acme.client.schema_name):
        settings = PublishingSettings.load()
        settings.staff_may_move_approved_posts = allowed
        settings.save()


def test_an_approved_post_is_not_moved_where_the_brand_forbids_it(world, http, approved):
    _allow_moving_approved_posts(world, False)
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    calendar = manager.get(_week(approved)).content.decode()
    entry = calendar.split(f'data-campaign="{approved["page"].pk}"')[1].split("</div>")[0]
    assert "needs the client&#x27;s approval" in entry  # said before trying (data-move-refused)
    assert 'class="move"' not in entry
    target = approved["first"].date() + dt.timedelta(days=1)
    before = sorted(Delivery.objects.filter(page_id=approved["page"].pk)
                    .values_list("id", "publish_at"))
    response = manager.post(f"/admin/calendar/move/{approved['page'].pk}/0/",
                            {"day": str(target), "next": _week(approved)}, follow=True)
    assert "Moving an approved post needs the client" in response.content.decode()
    assert sorted(Delivery.objects.filter(page_id=approved["page"].pk)
                  .values_list("id", "publish_at")) == before


def test_an_approved_post_moves_in_the_outbox_where_the_brand_allows_it(world, http, approved):
    _allow_moving_approved_posts(world, True)
    _send_first_post(approved)  # post 1 is out on the sandbox, failed on the webhook
    target = approved["first"].date() + dt.timedelta(days=2)
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    refused = editor.post(f"/admin/calendar/move/{approved['page'].pk}/0/",
                          {"day": str(target)}, follow=True).content.decode()
    assert "Only account managers and agency admins move approved posts" in refused

    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    moved = manager.post(f"/admin/calendar/move/{approved['page'].pk}/0/",
                         {"day": str(target)}, follow=True).content.decode()
    assert "Moved post 1 of “Truth stories”" in moved
    assert "on Truth hook" in moved and "stays where it is on Truth sandbox (published)" in moved
    hook = Delivery.objects.get(page_id=approved["page"].pk, post_number=1,
                                channel_id=approved["hook"].pk)
    local = hook.publish_at.astimezone(approved["zone"])
    assert (hook.state, local.date(), local.time()) == (State.SCHEDULED, target,
                                                        dt.time(9, 30))
    # the campaign is still approved, and the calendar shows the post on both of its days
    with schema_context(world.acme.client.schema_name):
        assert status_of(CampaignPage.objects.get(pk=approved["page"].pk)) == "approved"
    html = manager.get(_week(approved)).content.decode()
    if target.isocalendar()[:2] != approved["first"].date().isocalendar()[:2]:
        html += manager.get(f"/admin/calendar/?view=week&week={target}").content.decode()
    cells = dict(re.findall(r'data-date="([\d-]+)">(.*?)</td>', html, re.S))
    assert "Truth sandbox</span>: <span class=\"state\">Published" in cells[
        str(approved["first"].date())]
    assert "Truth hook</span>: <span class=\"state\">Scheduled" in cells[str(target)]


def test_an_approved_post_gone_out_everywhere_has_nothing_to_move(world, http, approved):
    _allow_moving_approved_posts(world, True)
    _send_first_post(approved, hook_fails=False)
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.post(f"/admin/calendar/move/{approved['page'].pk}/0/",
                            {"day": str(approved["first"].date() + dt.timedelta(days=1))},
                            follow=True)
    assert "nothing left to move" in response.content.decode()


def test_a_months_calendar_reads_only_the_campaigns_with_posts_that_month(world, approved):
    """The calendar of a month reads the campaigns with a post due then (in the revision or,
    moved by staff, in the outbox), not every campaign's latest revision; and still shows a
    post moved into the month from outside it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.selectors import calendar_entries

    editor = world.acme.users[Role.EDITOR]
    month = (approved["first"] + dt.timedelta(days=200)).replace(day=1, hour=0, minute=0)
    end = (month + dt.timedelta(days=32)).replace(day=1)
    with schema_context(world.acme.client.schema_name):
        inside = CampaignFactory(title="Range inside", author=editor, posts=[
            Post(copy="Due this month", publish_at=month + dt.timedelta(days=3, hours=9),
                 channels=[approved["sandbox"]])])
        for n in range(3):
            CampaignFactory(title=f"Range outside {n}", author=editor, posts=[
                Post(copy="Due another month", publish_at=end + dt.timedelta(days=5 + n),
                     channels=[approved["sandbox"]])])
        # an approved post staff moved into this month (its revision says another time)
        Delivery.objects.filter(page_id=approved["page"].pk, post_number=2).update(
            publish_at=month + dt.timedelta(days=10, hours=8))
        with CaptureQueriesContext(connection) as captured:
            entries = calendar_entries(start=month, end=end)
        content_query = next(q["sql"] for q in captured.captured_queries
                             if '"wagtailcore_revision"."content"' in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({content_query}) AS read")  # noqa: S608 - Django's own logged statement
            read = cursor.fetchone()[0]
    shown = sorted((e.campaign_title, e.copy) for e in entries)
    assert shown == [("Range inside", "Due this month"), ("Truth stories", "Still waiting")]
    assert read == 2  # "Range inside" and "Truth stories": none of the campaigns outside
    assert inside.pk in {e.campaign_id for e in entries}
