"""Scheduling in a real browser: the editor's "Next free slot" button, and importing a CSV of 50
posts, first with broken rows (listed, nothing saved), then fixed (a draft with all 50)."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import CampaignPage, Channel, Post
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.campaigns.test_import import as_csv, good_rows
from tests.factories import CampaignFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

LONDON = zoneinfo.ZoneInfo("Europe/London")


def weekday_slots(count: int, *, lead_hours: int = 0) -> list[dt.datetime]:
    """The next ``count`` times at 09:00 or 17:30 on a weekday, London time, after now and the
    client's approval lead time (the editor never offers a slot inside it)."""
    now = dt.datetime.now(LONDON) + dt.timedelta(hours=lead_hours)
    found, day = [], now.date()
    while len(found) < count:
        for hour, minute in ((9, 0), (17, 30)):
            moment = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)
            if day.weekday() < 5 and moment > now:
                found.append(moment)
        day += dt.timedelta(days=1)
    return found[:count]


@pytest.fixture
def committed(world, django_db_blocker):
    """Acme's data the test server sees (committed), removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    made = {"tag": tag}
    yield made
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        for page in CampaignPage.objects.filter(title__endswith=tag):
            page.delete()
        Channel.objects.filter(name__endswith=tag).delete()
    connection.set_schema_to_public()


def test_next_free_slot_fills_in_the_first_slot_no_post_takes(
        page, signed_in, world, live_server_url, committed, django_db_blocker):
    from approvals.models import ApprovalSettings

    tag = committed["tag"]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        lead_hours = ApprovalSettings.load().due_hours_before_first_post
        first, second, third = weekday_slots(3, lead_hours=lead_hours)
        channel = Channel.objects.create(name=f"Slots {tag}", network="sandbox", handle="@s",
                                         posting_slots="Mon-Fri 09:00, 17:30")
        Channel.objects.create(name=f"Bare {tag}", network="sandbox", handle="@b")
        campaign = CampaignFactory(
            title=f"Slots {tag}", author=world.acme.users[Role.EDITOR],
            posts=[Post(copy="Already in the first slot", channels=[channel], publish_at=first)])
    connection.set_schema_to_public()

    signed_in(world.acme.users[Role.EDITOR])
    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{campaign.pk}/edit/"))
    page.get_by_role("button", name="Add post").click()
    post = page.locator("#inline_child_posts-1")
    post.locator("#id_posts-1-copy").fill("A second post")
    # Without a channel, it says what to do
    post.get_by_role("button", name="Next free slot").click()
    expect(post.locator(".post-slot__status").filter(has_text="Choose the post's channels first")) \
        .to_be_visible()
    post.get_by_role("checkbox", name=f"Bare {tag}").check()
    post.get_by_role("button", name="Next free slot").click()
    expect(post.locator(".post-slot__status").filter(has_text="has no posting slots yet")) \
        .to_be_visible()
    post.get_by_role("checkbox", name=f"Bare {tag}").uncheck()
    post.get_by_role("checkbox", name=f"Slots {tag}").check()
    post.get_by_role("button", name="Next free slot").click()
    # The first slot is taken by post 1: the second one
    expect(page.locator("#id_posts-1-publish_at")).to_have_value(f"{second:%Y-%m-%d %H:%M}")
    expect(post.locator(".post-slot__status")).to_contain_text("the next free slot")

    # A third post: the unsaved second post's slot counts as taken too
    page.get_by_role("button", name="Add post").click()
    third_post = page.locator("#inline_child_posts-2")
    third_post.locator("#id_posts-2-copy").fill("A third post")
    third_post.get_by_role("checkbox", name=f"Slots {tag}").check()
    third_post.get_by_role("button", name="Next free slot").click()
    expect(page.locator("#id_posts-2-publish_at")).to_have_value(f"{third:%Y-%m-%d %H:%M}")

    # a draft's main button submits it for review; saving is in the footer's menu
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text(f"Campaign “Slots {tag}” saved.")).to_be_visible()
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        posts = list(CampaignPage.objects.get(pk=campaign.pk).get_latest_revision_as_object()
                     .posts.all())
        assert [p.publish_at for p in posts] == [first, second, third]
    connection.set_schema_to_public()


def test_a_csv_of_fifty_posts_lists_broken_rows_then_imports_as_a_draft(
        page, signed_in, world, live_server_url, committed, django_db_blocker):
    tag = committed["tag"]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        for name, network in (("Acme Masto", "mastodon"), ("Acme Sky", "bluesky"),
                              ("Acme Sandbox", "sandbox")):
            channel = Channel(name=f"{name} {tag}", network=network, handle="@acme",
                              endpoint="https://m.example" if network == "mastodon" else "")
            channel.set_secret("token")
            channel.save()
    connection.set_schema_to_public()
    rows = good_rows(50)
    for row in rows:
        row["channels"] = "; ".join(f"{name.strip()} {tag}" for name in row["channels"].split(";"))
        row["image"] = row["alt_text"] = ""
    broken = [dict(r) for r in rows]
    broken[4]["channels"] = "Acme Instagram"                   # row 6
    broken[20]["copy"] = "Visit our gypsy caravan café."     # row 22
    broken[33]["date"] = "next Tuesday"                        # row 35
    title = f"Imported {tag}"

    signed_in(world.acme.users[Role.EDITOR])
    page.goto(brand_url("acme", live_server_url, "/admin/"))
    page.get_by_role("link", name="Import posts").click()
    expect(page.get_by_role("heading", name="Import posts from CSV")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the template").click()
    assert download.value.suggested_filename == "posts-template.csv"

    page.get_by_label("Title of the new campaign").fill(title)
    page.get_by_label("CSV file").set_input_files(
        {"name": "autumn.csv", "mimeType": "text/csv", "buffer": as_csv(broken)})
    page.get_by_role("button", name="Check and import").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Nothing was imported: 3 of 50 rows need fixing")
    table = problems.locator("tbody tr")
    expect(table).to_have_count(3)
    expect(table.nth(0)).to_contain_text("6")
    expect(table.nth(0)).to_contain_text("“Acme Instagram” is not one of this brand's channels")
    expect(table.nth(1)).to_contain_text("Sensitivity check: “gypsy” is a slur")
    expect(table.nth(2)).to_contain_text("“next Tuesday” is not a date")
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title=title).exists()
    connection.set_schema_to_public()

    # The title is kept; the fixed file imports as a draft with every post
    expect(page.get_by_label("Title of the new campaign")).to_have_value(title)
    page.get_by_label("CSV file").set_input_files(
        {"name": "autumn.csv", "mimeType": "text/csv", "buffer": as_csv(rows)})
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_text(f"“{title}” is a new draft with 50 posts.")).to_be_visible()
    expect(page.locator("[data-post-closed]")).to_have_count(50)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(title=title).get_latest_revision_as_object()
        assert len(draft.posts.all()) == 50
    connection.set_schema_to_public()
