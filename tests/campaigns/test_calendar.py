"""The content calendar: every post across campaigns, by state, filterable, movable in draft."""

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django_tenants.utils import schema_context

from campaigns.models import CampaignPage
from tenants.models import Role
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, submit

pytestmark = pytest.mark.django_db
LONDON = dt.timezone(dt.timedelta(hours=1))  # BST in October 2026


def _campaign(title, author, posts):
    return CampaignFactory(title=title, author=author, posts=[
        PostFactory(copy=copy, publish_at=when, channels=channels)
        for copy, when, channels in posts])


@dataclass
class Month:
    """October 2026 in Acme's calendar: a draft and a campaign in review on two channels."""

    draft: object
    review: object
    masto: object
    sandbox: object


@pytest.fixture
def month(world) -> Month:
    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        masto = ChannelFactory(name="Cal Mastodon", handle="@m")
        sandbox = ChannelFactory(name="Cal Sandbox", handle="@s")
        draft = _campaign("Cal draft", editor, [
            ("Draft post one", dt.datetime(2026, 10, 5, 9, 0, tzinfo=LONDON), [masto]),
            ("Draft post two", dt.datetime(2026, 10, 20, 18, 30, tzinfo=LONDON), [sandbox]),
        ])
        review = _campaign("Cal review", editor, [
            ("Review post", dt.datetime(2026, 10, 7, 12, 0, tzinfo=LONDON), [masto]),
        ])
        submit(review, editor)
        _campaign("Cal november", editor, [
            ("Next month", dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC), [masto])])
    return Month(draft=draft, review=review, masto=masto, sandbox=sandbox)


def _entries(html):
    return re.findall(r'data-campaign="(\d+)" data-state="(\w+)"', html)


def test_month_view_shows_every_post_of_the_month_with_its_state(world, http, month):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor.get("/admin/calendar/?month=2026-10").content.decode()
    assert "October 2026" in html and "Europe/London" in html
    assert "Draft post one" in html and "Draft post two" in html and "Review post" in html
    assert "Next month" in html  # Sunday 1 November ends the grid's last week
    states = {state for _, state in _entries(html)}
    assert {"draft", "in_review"} <= states
    assert 'data-date="2026-10-20"' in html


def test_filters_by_channel_and_by_campaign(world, http, month):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor.get(f"/admin/calendar/?month=2026-10&channel={month.sandbox.pk}").content
    assert b"Draft post two" in html and b"Draft post one" not in html
    html = editor.get(f"/admin/calendar/?month=2026-10&campaign={month.review.pk}").content
    assert b"Review post" in html and b"Draft post one" not in html


def test_week_view_shows_that_week_only(world, http, month):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor.get("/admin/calendar/?view=week&week=2026-10-06").content.decode()
    assert "Week of 5 October 2026" in html
    assert "Draft post one" in html and "Review post" in html and "Draft post two" not in html


def test_a_draft_post_moves_to_another_day_keeping_its_time(world, http, month):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.post(f"/admin/calendar/move/{month.draft.pk}/0/",
                           {"day": "2026-10-09", "next": "/admin/calendar/?month=2026-10"})
    assert response.status_code == 302 and response["Location"] == "/admin/calendar/?month=2026-10"
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(pk=month.draft.pk).get_latest_revision_as_object()
        moved = page.posts.all()[0]
    assert moved.publish_at == dt.datetime(2026, 10, 9, 9, 0, tzinfo=LONDON)


def test_a_post_in_review_cannot_be_moved(world, http, month):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.post(f"/admin/calendar/move/{month.review.pk}/0/",
                           {"day": "2026-10-09"}, follow=True)
    assert "in review" in response.content.decode()
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(pk=month.review.pk).get_latest_revision_as_object()
        assert page.posts.all()[0].publish_at.date() == dt.date(2026, 10, 7)
    html = editor.get("/admin/calendar/?month=2026-10").content.decode()
    review_entry = html.split(f'data-campaign="{month.review.pk}"')[1].split("</div>")[0]
    assert "Move" not in review_entry


def test_the_move_form_refuses_an_outside_redirect(world, http, month):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.post(f"/admin/calendar/move/{month.draft.pk}/1/",
                           {"day": "2026-10-21", "next": "https://evil.example/"})
    assert response["Location"] == "/admin/calendar/"


def test_calendar_runs_a_bounded_number_of_queries(world, http, month,
                                                   django_assert_max_num_queries):
    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        _campaign("Cal many", editor, [
            (f"Post {n}", dt.datetime(2026, 10, 1 + n % 28, 10, 0, tzinfo=LONDON),
             [month.masto]) for n in range(50)])
    client = http(world.acme.host, user=editor)
    client.get("/admin/calendar/?month=2026-10")  # warm caches (site, content types)
    with django_assert_max_num_queries(40):
        html = client.get("/admin/calendar/?month=2026-10").content.decode()
    assert html.count("Cal many") >= 50


def test_a_calendar_feed_serves_ical_until_revoked(world, http, month):
    """The feed covers the last 60 days and the next 400, counted from today: the posts are
    placed from today too (October's fixture fell out of the window on 4 December)."""
    import icalendar

    from campaigns.models import CalendarFeed

    today = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with schema_context(world.acme.client.schema_name):
        _campaign("Cal feed", world.acme.users[Role.EDITOR], [
            ("Feed post soon", today + dt.timedelta(days=3), [month.masto]),
            ("Feed post long ago", today - dt.timedelta(days=90), [month.masto]),
        ])
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.post("/admin/calendar/feeds/", {"label": "Amy's Outlook"}, follow=True)
    url = re.search(r"http://acme\.agency\.localhost(/calendar/[\w-]+\.ics)",
                    response.content.decode()).group(1)
    with schema_context(world.acme.client.schema_name):
        feed = CalendarFeed.objects.get(label="Amy's Outlook")
        assert url.split("/")[-1].removesuffix(".ics") not in feed.token_hash  # only a hash

    calendar_app = http(world.acme.host)  # no session: the token is the credential
    served = calendar_app.get(url)
    assert served.status_code == 200 and served["Content-Type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(served.content).walk("VEVENT")
    summaries = {str(e["summary"]) for e in events}
    assert any("Feed post soon" in s for s in summaries)
    assert not any("Feed post long ago" in s for s in summaries)  # before the window
    assert served["Referrer-Policy"] == "no-referrer"

    assert http(world.globex.host).get(url).status_code == 404  # another brand's host
    editor.post(f"/admin/calendar/feeds/{feed.pk}/revoke/")
    assert calendar_app.get(url).status_code == 404


def _cookie_texts(response) -> list[str]:
    """Every cookie a response sets, as sent and, for Django's messages cookie, decoded (it is
    signed, not encrypted, and may be compressed)."""
    from django.contrib.messages.storage.cookie import CookieStorage

    texts = []
    for morsel in response.cookies.values():
        texts.append(morsel.OutputString())
        if morsel.key == "messages" and morsel.value:
            decoded = CookieStorage(response.wsgi_request)._decode(morsel.value) or []
            texts.extend(str(message) for message in decoded)
    return texts


def test_a_new_feed_address_is_shown_once_on_its_page_and_never_in_a_cookie(world, http):
    """Messages travel in a signed, unencrypted cookie sent to the portal and every brand's
    host: the secret address is rendered on the page that creates it instead."""
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    created = editor.post("/admin/calendar/feeds/", {"label": "Amy's phone"})
    assert created.status_code == 200  # rendered, not a redirect carrying a message
    token = re.search(r"/calendar/([\w-]+)\.ics", created.content.decode()).group(1)
    assert "no-store" in created["Cache-Control"] or "max-age=0" in created["Cache-Control"]
    later = [editor.get("/admin/calendar/"), editor.get("/admin/")]
    for response in [created, *later]:
        assert not [text for text in _cookie_texts(response) if token in text]
    for response in later:  # shown once
        assert token not in response.content.decode()
    assert http(world.acme.host).get(f"/calendar/{token}.ics").status_code == 200
