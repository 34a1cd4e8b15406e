"""The client's review page on a phone-sized screen, in chromium: readable, accessible (axe-core
finds no WCAG 2.1 AA violations), and the decision goes through."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from approvals.models import ApproverContact, ReviewLink
from campaigns.models import CampaignPage
from tenants.models import Role
from tests.agency.browser import axe_violations, brand_url, describe_violations
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    PostFactory,
    pass_sensitivity_review,
    submit,
)

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@dataclass
class ReviewLinkFixture:
    page: object  # the campaign waiting for the client
    token: str  # the approver's review link


@pytest.fixture
def review_link(world, django_db_blocker):
    """A committed campaign waiting for the client; yields the approver's review address."""
    tag = uuid.uuid4().hex[:6]
    editor = world.acme.users[Role.EDITOR]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        approver = ApproverContact.objects.create(name="Jo Client", email=f"jo-{tag}@acme.example")
        channel = ChannelFactory(name=f"Sky {tag}", network="bluesky", handle="@acme")
        page = CampaignFactory(title=f"Spring menu {tag}", goal="Launch the spring menu",
                               author=editor, posts=[
            PostFactory(copy="Spring menu is here 🌱", channels=[channel],
                        publish_at=dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)),
            PostFactory(copy="Try the rhubarb latte", channels=[channel])])
        submit(page, editor)
        mail.outbox = []
        pass_sensitivity_review(page, world.acme.users[Role.SENSITIVITY_REVIEWER])
    connection.set_schema_to_public()
    message = next(m for m in mail.outbox if m.to == [approver.email])
    token = re.search(r"/review/([\w-]+)/", message.body).group(1)
    yield ReviewLinkFixture(page=page, token=token)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        ReviewLink.objects.filter(approver=approver).delete()
        CampaignPage.objects.get(pk=page.pk).delete()
        channel.delete()
        approver.delete()
    connection.set_schema_to_public()


def test_the_client_reviews_on_a_phone_and_requests_a_change(
        browser, world, live_server_url, review_link, django_db_blocker):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB",
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(brand_url("acme", live_server_url, f"/review/{review_link.token}/"))
        expect(page.get_by_role("heading", name=re.compile("Review “Spring menu"))).to_be_visible()
        expect(page.get_by_text("Launch the spring menu")).to_be_visible()
        expect(page.get_by_role("article").first).to_contain_text("Spring menu is here")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        violations = axe_violations(page)
        assert not violations, describe_violations(violations)

        page.get_by_role("radio", name="Request changes").check()
        page.get_by_label("Comment on post 2 (optional)").fill("Say it is oat milk.")
        page.get_by_role("button", name="Send my decision").click()
        expect(page.get_by_role("heading", name="Thank you, Jo Client")).to_be_visible()
        expect(page.get_by_text("Post 2: Say it is oat milk.")).to_be_visible()
        violations = axe_violations(page)
        assert not violations, describe_violations(violations)
    finally:
        context.close()
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        from wagtail.models import WorkflowState

        state = WorkflowState.objects.filter(object_id=str(review_link.page.pk)).latest("pk")
        assert state.status == "needs_changes"
    connection.set_schema_to_public()


def _link(world, review_link, django_db_blocker):
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        link = ReviewLink.objects.get(revision__object_id=str(review_link.page.pk))
    connection.set_schema_to_public()
    return link


def test_the_page_records_opened_only_once_a_person_reads_it(
        browser, world, live_server_url, review_link, django_db_blocker):
    """A mail scanner that renders the page (and runs its script) leaves it "fetched"; the
    first scroll or pointer movement sends the beacon, under the page's CSP, with CSRF."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB",
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(brand_url("acme", live_server_url, f"/review/{review_link.token}/"))
        expect(page.get_by_role("heading", name=re.compile("Review “Spring menu"))).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        link = _link(world, review_link, django_db_blocker)
        assert link.first_fetched_at is not None and link.first_opened_at is None

        with page.expect_response(lambda r: r.url.endswith("/opened/")) as beacon:
            page.mouse.move(120, 300)
            page.mouse.wheel(0, 400)
        assert beacon.value.status == 204
        assert _link(world, review_link, django_db_blocker).first_opened_at is not None
    finally:
        context.close()
