"""The campaign editor in chromium, as the editor and as the sensitivity reviewer: campaign words
only (no page title, Promote tab, slug, SEO, live, in moderation, rejected), and the footer's
main button is the person's next action."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
from tenants.models import Role
from tests.agency.browser import TIMEOUT_MS, brand_url, sign_in
from tests.conftest import PASSWORD
from tests.factories import CampaignFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

# What Wagtail would say where the agency says title, draft, in review, changes requested,
# approved: none of it may be visible on a campaign's screens.
CMS_WORDS = re.compile(r"Page title|Promote|\bslug\b|\bSEO\b|\bLIVE\b|\bLive\b|IN MODERATION|"
                       r"in moderation|rejected|inreview", re.IGNORECASE)


@pytest.fixture
def campaigns(world, django_db_blocker):
    """A draft and a campaign in its sensitivity review, both written by the editor."""
    tag = uuid.uuid4().hex[:6]
    editor = world.acme.users[Role.EDITOR]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = Channel.objects.create(name=f"Words {tag}", network="sandbox", handle="@acme")
        index = CampaignIndexPage.objects.get()
        made = {}
        for name in ("draft", "in_review"):
            made[name] = CampaignFactory(title=f"Harvest {name} {tag}", author=editor, posts=[
                Post(copy="Our harvest blend is here", channels=[channel],
                     publish_at=dt.datetime(2027, 9, 1, 8, tzinfo=dt.UTC))])
        made["in_review"].get_workflow().start(made["in_review"], editor)
    connection.set_schema_to_public()
    yield {**made, "index": index}
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        for page in CampaignPage.objects.filter(title__endswith=tag):
            page.delete()
        channel.delete()
    connection.set_schema_to_public()


def _person(browser, port, user):
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS * 3)  # the first dashboard can be slow to load
    page = context.new_page()
    sign_in(page, port, user.get_username(), PASSWORD)
    return context, page


def _main_button(page):
    """The footer's main button (the first; "More actions" opens the rest)."""
    return page.locator("footer").locator("a:visible, button:visible").first


def _no_cms_words(page) -> None:
    text = page.locator("body").inner_text()
    found = sorted({match.group(0) for match in CMS_WORDS.finditer(text)})
    assert found == [], f"CMS words visible on {page.url}: {found}"


def test_the_editor_sees_campaign_words_and_submits_for_review_from_the_main_button(
        browser, world, live_server_url, campaigns):
    port = live_server_url
    context, page = _person(browser, port, world.acme.users[Role.EDITOR])
    try:
        page.goto(brand_url("acme", port, f"/admin/pages/add/campaigns/campaignpage/"
                                          f"{campaigns['index'].pk}/"))
        expect(page.get_by_text("The campaign’s name, as your team and the client see it."))\
            .to_be_visible()
        expect(_main_button(page)).to_have_text("Save draft")  # nothing to submit yet
        _no_cms_words(page)

        page.goto(brand_url("acme", port, f"/admin/pages/{campaigns['index'].pk}/"))
        row = page.get_by_role("row", name=re.compile(campaigns["in_review"].title))
        expect(row).to_contain_text("In review")
        _no_cms_words(page)

        page.goto(brand_url("acme", port, f"/admin/pages/{campaigns['in_review'].pk}/edit/"))
        expect(_main_button(page)).to_have_text("In review: locked")
        _no_cms_words(page)

        page.goto(brand_url("acme", port, f"/admin/pages/{campaigns['draft'].pk}/edit/"))
        expect(page.locator("header")).to_contain_text("Draft")
        _no_cms_words(page)
        expect(_main_button(page)).to_have_text("Submit for review")
        _main_button(page).click()
        # Wagtail goes back to the list of campaigns, where it is now in review
        expect(page.get_by_role("row", name=re.compile(campaigns["draft"].title)))\
            .to_contain_text("In review")
        page.goto(brand_url("acme", port, f"/admin/pages/{campaigns['draft'].pk}/edit/"))
        expect(_main_button(page)).to_have_text("In review: locked")
    finally:
        context.close()


def test_the_reviewer_sees_campaign_words_and_approves_from_the_main_button(
        browser, world, live_server_url, campaigns, django_db_blocker):
    port = live_server_url
    context, page = _person(browser, port, world.acme.users[Role.SENSITIVITY_REVIEWER])
    try:
        page.goto(brand_url("acme", port, "/admin/"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Acme Coffee")
        _no_cms_words(page)

        page.goto(brand_url("acme", port, f"/admin/pages/{campaigns['in_review'].pk}/edit/"))
        expect(page.locator("header")).to_contain_text("In review")
        _no_cms_words(page)
        expect(_main_button(page)).to_have_text("Approve")
        page.locator("footer").get_by_role("button", name="More actions").click()
        expect(page.locator("footer").get_by_role("button", name="Request changes"))\
            .to_be_visible()
        _main_button(page).click()  # to the review: findings, waivers, the checklist
        expect(page.get_by_role("heading", name="Sensitivity review")).to_be_visible()
        for box in page.locator(".review-check input[type=checkbox]").all():
            box.check()
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_text("approved.")).to_be_visible()
    finally:
        context.close()
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        state = CampaignPage.objects.get(pk=campaigns["in_review"].pk).current_workflow_task_state
        assert state is not None and state.task.name == "Client approval"
    connection.set_schema_to_public()
