"""The inbox's figures on the brand's Results page in chromium: an account manager opens Results
from the menu, picks a channel, and reads how fast people were answered and what moderation
did, with what each figure counts and since when."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tenants.models import Role
from tests.agency.browser import brand_url
from tests.results.test_inbox_figures import make_inbox

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def inbox(world, django_db_blocker):
    """Acme's inbox on two channels, committed for the test server; removed afterwards."""
    from campaigns.models import Channel

    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        mastodon = Channel.objects.create(name="Acme on Mastodon (inbox figures)",
                                          network="mastodon", handle="@acme@127.0.0.1",
                                          endpoint="http://127.0.0.1:9")
        bluesky = Channel.objects.create(name="Acme on Bluesky (inbox figures)",
                                         network="bluesky", handle="@acme.test",
                                         endpoint="http://127.0.0.1:9")
        made = make_inbox(mastodon, bluesky, timezone.now())
    connection.set_schema_to_public()
    yield mastodon, made
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        Channel.objects.filter(pk__in=[mastodon.pk, bluesky.pk]).delete()  # items cascade
    connection.set_schema_to_public()


def test_the_results_page_says_how_fast_people_were_answered_and_what_moderation_did(
        context, page, signed_in, world, live_server_url, inbox):
    mastodon, _ = inbox
    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    page.goto(brand_url("acme", live_server_url, "/admin/"))
    page.get_by_role("link", name="Results", exact=True).first.click()
    expect(page.get_by_role("heading", level=2, name="The inbox")).to_be_visible()
    page.get_by_label("Channel", exact=True).select_option(label=mastodon.name)
    page.get_by_role("button", name="Show").click()

    section = page.locator("section.results-inbox")
    expect(section.locator("[data-inbox=since]")).to_contain_text(re.compile(
        r"Replies, mentions and quotes people posted on this channel since \w{3} \d+ \w{3} "
        r"\d{4}, \d\d:\d\d \(Europe/London\)"))
    # On Mastodon: answered after 10, 20 .. 100 minutes and 5 hours; one open 6 hours
    figures = {"received": "15", "answered": "11", "median": "1 h",
               "p90": "1 h 40 min", "within": "83.3%"}
    for name, shown in figures.items():
        expect(section.locator(f'[data-figure="inbox-{name}"]')).to_have_text(shown)
    expect(section.get_by_text("Answered within 4 h", exact=True)).to_be_visible()
    expect(section).to_contain_text("counts 10 of 12")
    expect(section).to_contain_text("first reply sent")
    table = section.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile("Hidden on the network"))).to_contain_text(
        "2 (1 automatically)")
    expect(table.get_by_role("row", name=re.compile("Escalated"))).to_contain_text("1")
    expect(table.get_by_role("row", name=re.compile("Flagged"))).to_contain_text("0")
    expect(table.get_by_role("row", name=re.compile("Undone"))).to_contain_text("1")
