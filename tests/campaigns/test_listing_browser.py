"""The list of campaigns and a campaign's review details in chromium: selecting campaigns
counts campaigns, the bulk actions have no "Publish", and "View details" tells the review in
campaign words."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import CampaignIndexPage, CampaignPage
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.campaigns.test_studio_language_browser import _person
from tests.factories import CampaignFactory, submit

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def two_campaigns(world, django_db_blocker):
    tag = uuid.uuid4().hex[:6]
    editor = world.acme.users[Role.EDITOR]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        made = [CampaignFactory(title=f"Listed {n} {tag}", author=editor) for n in range(2)]
        submit(made[1], editor)
    connection.set_schema_to_public()
    yield index, made
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        CampaignPage.objects.filter(title__endswith=tag).delete()
    connection.set_schema_to_public()


def test_the_account_manager_selects_campaigns_and_is_offered_no_publish(
        browser, world, live_server_url, two_campaigns):
    index, (draft, in_review) = two_campaigns
    context, tab = _person(browser, live_server_url, world.acme.users[Role.ACCOUNT_MANAGER])
    try:
        tab.goto(brand_url("acme", live_server_url, f"/admin/pages/{index.pk}/"))
        expect(tab.get_by_role("link", name="New campaign")).to_be_visible()
        tab.get_by_role("row", name=re.compile(re.escape(draft.title))).get_by_role(
            "checkbox").check()
        bar = tab.locator("[data-bulk-action-footer]")
        expect(bar).to_contain_text("1 campaign selected")
        buttons = [name.strip() for name in bar.locator(".bulk-action-btn").all_inner_texts()]
        assert sorted(buttons) == ["Delete", "Unpublish"]

        tab.goto(brand_url("acme", live_server_url, f"/admin/pages/{in_review.pk}/edit/"))
        tab.locator('[data-side-panel-toggle="status"]').first.click()
        tab.get_by_text("View details").click()
        dialog = tab.get_by_role("dialog", name="Campaign approval")
        expect(dialog).to_contain_text("Submitted for review by")
        expect(dialog).to_contain_text("Sensitivity review")
        expect(dialog).to_contain_text("Approved: its posts are scheduled")
        text = dialog.inner_text()
        assert not re.search(r"\b(page|moderation|workflow|live|published)\b", text, re.I), text
    finally:
        context.close()
