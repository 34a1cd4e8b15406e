"""The publishing screens in chromium: the sandbox feed is in the menu of a brand that has a
sandbox channel, and the queue's filter by state is a row of buttons with the current one
marked."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import Channel
from tenants.models import Role
from tests.agency.browser import brand_url

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def sandbox(world, django_db_blocker):
    """A sandbox channel in Acme (committed for the test server, removed afterwards)."""
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = Channel.objects.create(name=f"Try-out {uuid.uuid4().hex[:6]}",
                                         network="sandbox", handle="@acme")
    connection.set_schema_to_public()
    yield channel
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel.delete()
    connection.set_schema_to_public()


def test_the_sandbox_feed_is_in_the_menu_where_there_is_a_sandbox_channel(
        context, page, signed_in, world, live_server_url, sandbox):
    signed_in(world.acme.users[Role.EDITOR])
    page.goto(brand_url("acme", live_server_url, "/admin/"))
    page.get_by_role("link", name="Sandbox feed").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(sandbox.name)
    expect(page.get_by_text("Nothing published here yet.")).to_be_visible()

    signed_in(world.globex.users[Role.EDITOR])  # Globex has no sandbox channel: no such item
    page.goto(brand_url("globex", live_server_url, "/admin/"))
    expect(page.get_by_role("link", name="Publishing")).to_be_visible()
    expect(page.get_by_role("link", name="Sandbox feed")).to_have_count(0)


def test_the_queues_filter_is_a_row_of_buttons_with_the_current_one_marked(
        context, page, signed_in, world, live_server_url):
    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    page.goto(brand_url("acme", live_server_url, "/admin/publishing/"))
    tabs = page.get_by_role("navigation", name="Filter by state").get_by_role("link")
    everything, scheduled = tabs.filter(has_text="All"), tabs.filter(has_text="Scheduled")
    expect(everything).to_have_attribute("aria-current", "page")
    expect(scheduled).not_to_have_attribute("aria-current", "page")

    def look(tab):
        return tab.evaluate("""a => {const s = getComputedStyle(a), box = a.getBoundingClientRect();
            return {background: s.backgroundColor, colour: s.color, underline:
                    s.textDecorationLine, bullet: getComputedStyle(a.parentElement).listStyleType,
                    top: Math.round(box.top)}}""")

    current, other = look(everything), look(scheduled)
    assert current["top"] == other["top"], (current, other)  # one row
    assert current["bullet"] == other["bullet"] == "none"
    assert current["underline"] == other["underline"] == "none"  # buttons, not text links
    assert current["background"] != other["background"], (current, other)  # current marked

    scheduled.click()
    expect(page).to_have_url(brand_url("acme", live_server_url,
                                       "/admin/publishing/?state=scheduled"))
    expect(tabs.filter(has_text="Scheduled")).to_have_attribute("aria-current", "page")
    assert look(tabs.filter(has_text="Scheduled"))["background"] == current["background"]
