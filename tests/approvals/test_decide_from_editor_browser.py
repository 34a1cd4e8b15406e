"""A review decision taken from the campaign editor's footer is taken on the version under
review: nothing typed in the form is saved as a new revision first (which would start the
review over, or approve content nobody reviewed). In chromium, as the account manager recording
the client's approval given by phone."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect
from wagtail.models import Revision

from approvals.models import ApprovalRecord
from campaigns.models import CampaignPage, Channel, Post
from campaigns.publishing.models import Delivery
from campaigns.status import status_of
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.campaigns.test_studio_language_browser import _main_button, _person
from tests.factories import CampaignFactory, pass_sensitivity_review, submit

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def at_client_step(world, django_db_blocker):
    """A campaign past its sensitivity review, waiting for the client's approval."""
    tag = uuid.uuid4().hex[:6]
    editor = world.acme.users[Role.EDITOR]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = Channel.objects.create(name=f"Phone {tag}", network="sandbox", handle="@acme")
        page = CampaignFactory(title=f"Phone approval {tag}", author=editor, posts=[
            Post(copy="Our harvest blend is here", channels=[channel],
                 publish_at=dt.datetime(2027, 9, 1, 8, tzinfo=dt.UTC))])
        submit(page, editor)
        pass_sensitivity_review(page, world.acme.users[Role.SENSITIVITY_REVIEWER])
        page = CampaignPage.objects.get(pk=page.pk)
        state = page.current_workflow_task_state
        assert state.task.name == "Client approval"
        kit = {"page": page, "title": page.title, "reviewed": state.revision_id,
               "revisions": Revision.objects.for_instance(page).count()}
    connection.set_schema_to_public()
    yield kit
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        Delivery.objects.filter(client=world.acme.client, page_id=page.pk).delete()
        ApprovalRecord.objects.filter(revision__object_id=str(page.pk)).delete()
        CampaignPage.objects.filter(pk=page.pk).delete()
        channel.delete()
    connection.set_schema_to_public()


def test_recording_the_clients_approval_approves_the_version_under_review(
        browser, world, live_server_url, at_client_step, django_db_blocker):
    page = at_client_step["page"]
    context, tab = _person(browser, live_server_url, world.acme.users[Role.ACCOUNT_MANAGER])
    try:
        tab.goto(brand_url("acme", live_server_url, f"/admin/pages/{page.pk}/edit/"))
        expect(_main_button(tab)).to_have_text("Record the client's approval")
        # something typed in the form meanwhile, never reviewed by anyone
        tab.locator("#id_title").fill("Typed during the client's review")
        _main_button(tab).click()
        dialog = tab.get_by_role("dialog")
        dialog.get_by_label("How and when did the client decide?").fill(
            "Jo, by phone, at 3 pm today")
        dialog.get_by_role("button", name="Record the client's approval").click()
        tab.wait_for_url(re.compile(r"/admin/pages/\d+/$"))  # back to the list of campaigns
        expect(tab.get_by_text("is recorded, on the version under review")).to_be_visible()
        row = tab.get_by_role("row", name=re.compile(re.escape(at_client_step["title"])))
        expect(row).to_contain_text("Approved")
    finally:
        context.close()
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        campaign = CampaignPage.objects.get(pk=page.pk)
        assert status_of(campaign) == "approved"
        assert campaign.live_revision_id == at_client_step["reviewed"]
        assert campaign.title == at_client_step["title"]
        # no revision was saved from the form on the way
        assert Revision.objects.for_instance(campaign).count() == at_client_step["revisions"]
    connection.set_schema_to_public()
