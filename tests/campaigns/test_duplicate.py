"""Duplicating a campaign gives a new draft with its posts, without approvals or schedule."""

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
from tenants.models import Role

pytestmark = pytest.mark.django_db


def test_duplicate_makes_an_unscheduled_draft_with_the_same_posts(world, http):
    from wagtail.models import Workflow

    editor_user = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        channel = Channel.objects.create(name="Dup sandbox", network="sandbox", handle="@d")
        page = index.add_child(instance=CampaignPage(title="Original", goal="Sell", live=False))
        page.posts = [Post(copy="One", publish_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
                           channels=[channel]), Post(copy="Two")]
        page.tags.add("coffee")
        page.save_revision(user=editor_user)
        Workflow.objects.get().start(page, editor_user)
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
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        page = index.add_child(instance=CampaignPage(title="Guarded", live=False))
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    response = reviewer.post(f"/admin/campaigns/{page.pk}/duplicate/")
    assert response.status_code in {302, 403} and response.get("Location") != "/admin/pages/"
    with schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title="Guarded (copy)").exists()
