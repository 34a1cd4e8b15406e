"""A campaign's status has one definition (campaigns/status.py) and one name for each state: a
campaign is built in every state, and the Python function, the database's annotation, the API
(list, filter, detail, progress, calendar), the portal card, the calendar (admin page and
iCalendar feed) and the webhook payload must all say the same."""

import datetime as dt
import re
from dataclasses import dataclass

import icalendar
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.models import CampaignPage
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, submit

pytestmark = pytest.mark.django_db

# name -> the status the campaign is in (the API's value and the label every screen shows)
EXPECTED = {
    "draft": ("draft", "Draft"),
    "in review": ("in_review", "In review"),
    "sent back": ("changes_requested", "Changes requested"),
    "approved": ("approved", "Approved"),
    "edited after approval": ("draft", "Draft"),
}


@dataclass
class StatusCampaigns:
    when: dt.datetime  # every campaign's one post
    ids: dict  # name in EXPECTED -> the campaign's id


@pytest.fixture
def campaigns(world, http) -> StatusCampaigns:
    """One campaign per entry of EXPECTED, each with one post ten days ago (so an approved one
    is "Approved" on the calendar, not "Scheduled"). The sent back one is rejected by the
    sensitivity reviewer through the review page."""
    editor = world.acme.users[Role.EDITOR]
    when = (timezone.now() - dt.timedelta(days=10)).replace(hour=9, minute=0, second=0,
                                                             microsecond=0)
    with schema_context(world.acme.client.schema_name):
        channel = ChannelFactory(name="Status box", handle="@st")
        pages = {name: CampaignFactory(title=f"Status {name}", author=editor, posts=[
            PostFactory(copy=f"Status post of {name}", publish_at=when, channels=[channel])])
            for name in EXPECTED}
        for name in ("in review", "sent back"):
            submit(pages[name], editor)
        review = pages["sent back"].current_workflow_task_state
        for name in ("approved", "edited after approval"):
            pages[name].get_latest_revision().publish(user=editor, skip_permission_checks=True)
        edited = CampaignPage.objects.get(pk=pages["edited after approval"].pk)
        edited.goal = "A new goal, not yet reviewed"
        edited.save_revision(user=editor)
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    sent_back = reviewer.post(f"/admin/sensitivity/review/{review.pk}/",
                              {"action": "reject", "comment": "Say it more kindly."})
    assert sent_back.status_code == 302
    return StatusCampaigns(when=when, ids={name: page.pk for name, page in pages.items()})


def _portal_counts(html: str) -> dict[str, tuple[str, int]]:
    """The acme card's counts: {key: (label, count)}."""
    card = html.split('data-client="acme"')[1].split("</li>")[0]
    return {key: (label, int(count)) for label, key, count in re.findall(
        r'<dt>([^<]+)</dt><dd data-count="(\w+)">(\d+)</dd>', card)}


def _calendar_entry(html: str, campaign_id: int) -> str:
    return html.split(f'data-campaign="{campaign_id}"')[1].split("</div>")[0]


def test_a_campaign_sent_back_for_changes_says_so_on_the_portal_and_the_calendar(
        world, http, campaigns):
    sent_back = campaigns.ids["sent back"]
    client = ApiClient(world.acme.host, make_key(world.acme))
    assert client.send("GET", f"/api/v1/campaigns/{sent_back}/").json()["status"] == \
        "changes_requested"

    def api_count(status):
        return len(client.send("GET", f"/api/v1/campaigns/?status={status}&page_size=100")
                   .json()["results"])

    counts = _portal_counts(http(user=world.acme.users[Role.EDITOR]).get("/").content.decode())
    assert counts["changes_requested"] == ("Changes requested", api_count("changes_requested"))
    assert counts["in_review"] == ("In review", api_count("in_review"))  # not counted twice

    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    week = campaigns.when.date()
    html = editor.get(f"/admin/calendar/?view=week&week={week}").content.decode()
    entry = _calendar_entry(html, sent_back)
    assert 'data-state="changes_requested"' in entry and "Changes requested" in entry
    # The editor is asked for changes, so the calendar offers to move the post, and may.
    assert "Move" in entry
    moved = editor.post(f"/admin/calendar/move/{sent_back}/0/",
                        {"day": str(week + dt.timedelta(days=1))}, follow=True)
    assert "Moved post 1" in moved.content.decode()


def test_every_screen_and_the_api_give_each_campaign_the_same_status(world, http, campaigns):
    from wagtail.models import WorkflowState

    from agency.webhooks.signals import campaign_data
    from campaigns.services import calendar_feed_issue
    from campaigns.status import (
        OPEN_FOR_EDITS,
        CampaignStatus,
        has_status,
        status_of,
        with_status,
    )

    ids = campaigns.ids
    expected = {ids[name]: value for name, (value, _) in EXPECTED.items()}
    assert {s.value: s.label for s in CampaignStatus} == dict(EXPECTED.values())

    with schema_context(world.acme.client.schema_name):
        pages = CampaignPage.objects.filter(pk__in=expected)
        python = {page.pk: status_of(page) for page in pages}
        sql = dict(with_status(pages).values_list("id", "status"))
        filtered = [(pk, status) for status in CampaignStatus for pk in
                    with_status(pages).filter(has_status(status)).values_list("id", flat=True)]
        runs = WorkflowState.objects.active().filter(object_id__in=[str(pk) for pk in expected])
        webhook = {int(run.object_id): campaign_data(run, run.current_task_state.revision)
                   ["status"] for run in runs}
        everything = [status_of(page) for page in CampaignPage.objects.all()]
        _, token = calendar_feed_issue(label="Status feed", user=world.acme.users[Role.EDITOR])
    assert python == expected and sql == expected
    assert sorted(filtered) == sorted(expected.items())  # each campaign under one status
    assert webhook == {ids["in review"]: "in_review", ids["sent back"]: "changes_requested"}

    client = ApiClient(world.acme.host, make_key(world.acme))
    listed = client.send("GET", "/api/v1/campaigns/?search=Status&page_size=100").json()
    assert {row["id"]: row["status"] for row in listed["results"]} == expected
    for status in CampaignStatus:
        found = client.send("GET", f"/api/v1/campaigns/?search=Status&status={status}").json()
        assert {row["id"] for row in found["results"]} == {
            pk for pk, value in expected.items() if value == status}, status
    for pk, value in expected.items():
        assert client.send("GET", f"/api/v1/campaigns/{pk}/").json()["status"] == value
        assert client.send("GET", f"/api/v1/campaigns/{pk}/status/").json()["status"] == value
    when = campaigns.when
    span = f"start={(when - dt.timedelta(hours=1)):%Y-%m-%dT%H:%M:%SZ}" \
           f"&end={(when + dt.timedelta(hours=1)):%Y-%m-%dT%H:%M:%SZ}"
    on_calendar = client.send("GET", f"/api/v1/calendar/?{span}").json()
    assert {e["campaign_id"]: e["state"] for e in on_calendar
            if e["campaign_id"] in expected} == expected

    counts = _portal_counts(http(user=world.acme.users[Role.EDITOR]).get("/").content.decode())
    for status in (CampaignStatus.DRAFT, CampaignStatus.IN_REVIEW,
                   CampaignStatus.CHANGES_REQUESTED):
        assert counts[status.value] == (status.label, everything.count(status))

    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor.get(f"/admin/calendar/?view=week&week={when.date()}").content.decode()
    for pk, value in expected.items():
        entry = _calendar_entry(html, pk)
        label = CampaignStatus(value).label
        assert f'data-state="{value}"' in entry and f'<span class="state">{label}</span>' in entry
        assert ("Move" in entry) == (value in OPEN_FOR_EDITS), value
    legend = html.split('class="calendar-legend"')[1].split("</ul>")[0]
    for status in CampaignStatus:
        assert f'state-{status.value}">{status.label}<' in legend

    feed = http(world.acme.host).get(f"/calendar/{token}.ics")
    events = {str(event["uid"]): str(event["description"])
              for event in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")}
    for pk, value in expected.items():
        [description] = [text for uid, text in events.items()
                         if uid.startswith(f"campaign-{pk}-post-0@")]
        assert description.endswith(f"State: {CampaignStatus(value).label}")
