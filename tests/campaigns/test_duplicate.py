"""Duplicating a campaign gives a new draft with its posts, without approvals or schedule."""

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from campaigns.models import CampaignPage
from tenants.models import Role
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, submit

pytestmark = pytest.mark.django_db


def test_duplicate_makes_an_unscheduled_draft_with_the_same_posts(world, http):
    editor_user = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        channel = ChannelFactory(name="Dup sandbox", handle="@d")
        page = CampaignFactory(title="Original", goal="Sell", tags=["coffee"], author=editor_user,
                               posts=[PostFactory(copy="One", channels=[channel], publish_at=(
                                   dt.datetime(2026, 10, 1, tzinfo=dt.UTC))),
                                      PostFactory(copy="Two")])
        submit(page, editor_user)
    editor = http(world.acme.host, user=editor_user)
    assert b"Duplicate" in editor.get(f"/admin/campaigns/{page.pk}/duplicate/").content
    response = editor.post(f"/admin/campaigns/{page.pk}/duplicate/")
    assert response.status_code == 302
    with schema_context(world.acme.client.schema_name):
        copy = CampaignPage.objects.get(title="Original (copy)")
        draft = copy.get_latest_revision_as_object()
        posts = list(draft.posts.all())
        assert [p.copy for p in posts] == ["One", "Two"]
        assert all(p.publish_at is None for p in posts)
        assert list(posts[0].channels.all()) == [channel]
        assert draft.goal == "Sell" and list(draft.tags.names()) == ["coffee"]
        assert not copy.live and copy.workflow_in_progress is False
        assert response["Location"] == f"/admin/pages/{copy.pk}/edit/"


def test_a_reviewer_without_authoring_rights_cannot_duplicate(world, http):
    page = CampaignFactory(brand=world.acme, title="Guarded", revision=False)
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    response = reviewer.post(f"/admin/campaigns/{page.pk}/duplicate/")
    assert response.status_code in {302, 403} and response.get("Location") != "/admin/pages/"
    with schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title="Guarded (copy)").exists()
