"""Previews in chromium, for every role that sees a campaign: the editor's preview panel shows
the posts inside its frame, and the sensitivity review's "Preview every post as each network
shows it" opens the network previews, for the reviewer too, who holds no page permission. Other
brands' people are refused both."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect
from wagtail.models import WorkflowState

from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
from tenants.models import Role
from tests.agency.browser import brand_url

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

STUDIO_ROLES = [Role.EDITOR, Role.SENSITIVITY_REVIEWER, Role.ACCOUNT_MANAGER, Role.AGENCY_ADMIN]


@pytest.fixture
def in_review(world, django_db_blocker):
    """A campaign Acme's editor wrote (one post on a Bluesky and a sandbox channel) and
    submitted: it waits for the sensitivity review. Committed for the test server, removed
    afterwards."""
    tag = uuid.uuid4().hex[:6]
    editor = world.acme.users[Role.EDITOR]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        sky = Channel.objects.create(name=f"Sky {tag}", network="bluesky", handle="@acme.bsky")
        box = Channel.objects.create(name=f"Box {tag}", network="sandbox", handle="@acme")
        page = CampaignIndexPage.objects.get().add_child(
            instance=CampaignPage(title=f"Harvest {tag}", live=False))
        page.posts = [Post(copy=f"Harvest blend {tag} is here", channels=[sky, box],
                           publish_at=dt.datetime(2027, 9, 1, 8, tzinfo=dt.UTC))]
        revision = page.save_revision(user=editor)
        page.get_workflow().start(page, editor)
        task_state = page.current_workflow_task_state
    connection.set_schema_to_public()
    yield {"page": page, "tag": tag, "revision": revision, "task_state": task_state,
           "channels": (sky, box)}
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        WorkflowState.objects.for_instance(page).delete()
        CampaignPage.objects.filter(pk=page.pk).delete()
        Channel.objects.filter(pk__in=[sky.pk, box.pk]).delete()
    connection.set_schema_to_public()


@pytest.mark.parametrize("role", STUDIO_ROLES, ids=lambda role: role.value)
def test_the_editors_preview_panel_shows_the_posts_in_its_frame(
        role, context, page, signed_in, world, live_server_url, in_review):
    refusals = []
    page.on("console", lambda message: refusals.append(message.text)
            if "frame" in message.text.lower() else None)
    signed_in(world.acme.users[role])
    tag = in_review["tag"]
    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{in_review['page'].pk}/edit/"))

    page.get_by_role("button", name="Toggle preview").click()
    preview = page.frame_locator("#w-preview-iframe")
    expect(preview.get_by_role("heading", level=1)).to_have_text(f"Harvest {tag}")
    for channel in in_review["channels"]:
        card = preview.get_by_role("article", name=f"Post 1 on {channel.name}")
        expect(card).to_contain_text(f"Harvest blend {tag} is here")

    # Each network on its own, from the panel's menu
    page.get_by_label("Preview mode").select_option(label="As on Bluesky")
    expect(preview.get_by_role("heading", level=1)).to_contain_text("as on Bluesky")
    expect(preview.get_by_role("article")).to_have_count(1)
    expect(preview.get_by_role("article", name=f"Post 1 on Sky {tag}")).to_be_visible()
    assert refusals == []


@pytest.mark.parametrize("role", STUDIO_ROLES, ids=lambda role: role.value)
def test_the_revision_preview_opens_for_everyone_who_sees_the_campaign(
        role, context, page, signed_in, world, live_server_url, in_review):
    signed_in(world.acme.users[role])
    tag = in_review["tag"]
    page.goto(brand_url("acme", live_server_url,
                        f"/admin/pages/{in_review['page'].pk}/revisions/"
                        f"{in_review['revision'].pk}/view/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Harvest {tag}")
    for channel in in_review["channels"]:
        expect(page.get_by_role("article", name=f"Post 1 on {channel.name}")).to_contain_text(
            f"Harvest blend {tag} is here")


def test_the_reviewer_opens_every_post_from_the_sensitivity_review(
        context, page, signed_in, world, live_server_url, in_review):
    signed_in(world.acme.users[Role.SENSITIVITY_REVIEWER])
    tag = in_review["tag"]
    page.goto(brand_url("acme", live_server_url,
                        f"/admin/sensitivity/review/{in_review['task_state'].pk}/"))
    with context.expect_page() as opened:
        page.get_by_role("link", name="Preview every post as each network shows it").click()
    preview = opened.value
    expect(preview.get_by_role("heading", level=1)).to_have_text(f"Harvest {tag}")
    expect(preview.get_by_role("article")).to_have_count(2)
    sky = preview.get_by_role("article", name=f"Post 1 on Sky {tag}")
    expect(sky).to_contain_text(f"Harvest blend {tag} is here")
    expect(sky).to_contain_text("Bluesky")
    expect(preview.get_by_text("permission")).to_have_count(0)


@pytest.mark.parametrize("role", STUDIO_ROLES, ids=lambda role: role.value)
def test_other_brands_people_see_no_preview(
        role, context, page, signed_in, world, live_server_url, in_review):
    signed_in(world.globex.users[role])
    tag = in_review["tag"]
    pk = in_review["page"].pk
    for path in (f"/admin/pages/{pk}/revisions/{in_review['revision'].pk}/view/",
                 f"/admin/pages/{pk}/edit/preview/?mode=&in_preview_panel=true"):
        page.goto(brand_url("acme", live_server_url, path))
        expect(page.get_by_text(f"Harvest blend {tag}")).to_have_count(0)
        assert urlsplit(page.url).path == "/admin/login/", page.url
