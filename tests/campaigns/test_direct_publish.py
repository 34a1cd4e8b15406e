"""A campaign is published only by its approval, never by a "Publish" button or a forged POST:
approval is what builds the outbox, the posts the workers send."""

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from campaigns.governance import COPY_REFUSED, REFUSED
from campaigns.models import CampaignIndexPage, CampaignPage
from campaigns.publishing.models import Delivery
from tenants.models import Role
from tests.factories import CampaignFactory, PostFactory
from tests.forms import form_fields

pytestmark = pytest.mark.django_db

ROLES = [Role.ACCOUNT_MANAGER, Role.EDITOR, Role.SENSITIVITY_REVIEWER]


@pytest.fixture
def draft(world, acme_kit):
    return CampaignFactory(brand=world.acme, title="Not through review",
                           author=world.acme.users[Role.EDITOR], posts=[
        PostFactory(copy="Straight out?", channels=[acme_kit.masto],
                    publish_at=dt.datetime(2030, 5, 1, 8, tzinfo=dt.UTC))])


def _state(world, page):
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(pk=page.pk)
        return {"live": page.live, "has_unpublished_changes": page.has_unpublished_changes,
                "revisions": page.revisions.count(), "last_published_at": page.last_published_at,
                "deliveries": Delivery.objects.filter(client=world.acme.client,
                                                      page_id=page.pk).count()}


def test_account_managers_hold_publish_permission_so_the_hole_is_real(world, draft):
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(pk=draft.pk)
        assert page.permissions_for_user(world.acme.users[Role.ACCOUNT_MANAGER]).can_publish()


@pytest.mark.parametrize("role", ROLES)
def test_no_publish_in_a_campaigns_footer(world, http, draft, role):
    client = http(world.acme.host, user=world.acme.users[role])
    edit = client.get(f"/admin/pages/{draft.pk}/edit/").content.decode()
    assert 'name="action-publish"' not in edit
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
    create = client.get(f"/admin/pages/add/campaigns/campaignpage/{index.pk}/").content.decode()
    assert 'name="action-publish"' not in create


def test_a_forged_publish_of_a_campaign_is_refused_and_nothing_is_saved(world, http, draft):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    before = _state(world, draft)
    html = manager.get(f"/admin/pages/{draft.pk}/edit/").content.decode()
    fields = form_fields(html, "page-edit-form")
    fields["title"] = ["Renamed and published"]
    fields["action-publish"] = ["action-publish"]
    response = manager.post(f"/admin/pages/{draft.pk}/edit/", fields, follow=True)
    assert response.redirect_chain == [(f"/admin/pages/{draft.pk}/edit/", 302)]
    assert REFUSED in response.content.decode()
    assert _state(world, draft) == before
    assert before["live"] is False and before["deliveries"] == 0


def test_a_forged_publish_of_a_new_campaign_is_refused_and_nothing_is_created(world, http):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        count = CampaignPage.objects.count()
    add = f"/admin/pages/add/campaigns/campaignpage/{index.pk}/"
    fields = form_fields(manager.get(add).content.decode(), "page-edit-form")
    fields["title"] = ["Published at birth"]
    fields["action-publish"] = ["action-publish"]
    response = manager.post(add, fields, follow=True)
    assert response.redirect_chain == [(add, 302)]
    assert REFUSED in response.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert CampaignPage.objects.count() == count
        assert not CampaignPage.objects.filter(title="Published at birth").exists()
        assert not Delivery.objects.filter(client=world.acme.client).exists()


def test_a_published_copy_of_a_campaign_is_refused(world, http, draft):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        count = CampaignPage.objects.count()
    response = manager.post(f"/admin/pages/{draft.pk}/copy/", {
        "new_title": "Copy", "new_slug": "copy", "new_parent_page": index.pk,
        "publish_copies": "on"}, follow=True)
    assert COPY_REFUSED in response.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert CampaignPage.objects.count() == count


def test_bulk_publish_never_reaches_a_campaign(world, http, draft):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    before = _state(world, draft)
    response = manager.post(
        f"/admin/bulk/wagtailcore/page/publish/?id={draft.pk}&next=/admin/pages/",
        {"include_descendants": ""}, follow=True)
    assert REFUSED in response.content.decode()
    assert _state(world, draft) == before
