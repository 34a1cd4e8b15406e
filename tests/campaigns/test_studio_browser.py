"""The studio in a real browser: the calendar and the per-network previews an editor sees."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import CampaignPage
from tenants.models import Role
from tests.agency.browser import axe_violations, brand_url, describe_violations
from tests.factories import CampaignFactory, ChannelFactory, PostFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def committed_campaign(world, django_db_blocker):
    """A campaign the test server can see (committed), removed afterwards."""
    title = f"Browser launch {uuid.uuid4().hex[:6]}"
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = ChannelFactory(name=f"Sky {title[-6:]}", network="bluesky",
                                 handle="@acme.bsky")
        page = CampaignFactory(title=title, author=world.acme.users[Role.EDITOR], posts=[
            PostFactory(copy="Autumn is here 🍂 #AutumnRoast",
                        publish_at=dt.datetime(2026, 10, 14, 8, tzinfo=dt.UTC),
                        channels=[channel])])
    connection.set_schema_to_public()
    yield page
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        CampaignPage.objects.get(pk=page.pk).delete()
        channel.delete()
    connection.set_schema_to_public()


def test_editor_sees_the_post_on_the_calendar_and_as_bluesky_shows_it(
        page, signed_in, world, live_server_url, committed_campaign):
    signed_in(world.acme.users[Role.EDITOR])
    page.goto(brand_url("acme", live_server_url, "/admin/calendar/?month=2026-10"))
    expect(page.get_by_role("heading", name="October 2026")).to_be_visible()
    entry = page.locator(f'[data-campaign="{committed_campaign.pk}"]')
    expect(entry).to_contain_text(committed_campaign.title)
    expect(entry).to_have_attribute("data-state", "draft")
    expect(page.locator('td[data-date="2026-10-14"]')).to_contain_text("Autumn is here")

    page.goto(brand_url("acme", live_server_url,
                        f"/admin/pages/{committed_campaign.pk}/view_draft/"))
    card = page.get_by_role("article", name=f"Post 1 on Sky {committed_campaign.title[-6:]}")
    expect(card).to_contain_text("Autumn is here 🍂 #AutumnRoast")
    expect(card).to_contain_text("Bluesky")
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)
