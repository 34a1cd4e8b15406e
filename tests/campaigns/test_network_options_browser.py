"""A network's options in the campaign editor, in a real browser: a Pinterest post's board (the
connected account's boards) and title appear once a Pinterest channel is chosen for the post,
stay filled while hidden, and are saved with the post."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import CampaignIndexPage, CampaignPage, Channel
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.campaigns.test_editor_browser import _add_image
from tests.factories import ChannelFactory, ImageFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

BOARDS = [{"id": "b1", "name": "Autumn menu"}, {"id": "b2", "name": "Our cafés"}]


@pytest.fixture
def made(world, django_db_blocker):
    from wagtail.images.models import Image

    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        pins = ChannelFactory(name=f"Pins {tag}", network="pinterest", handle="acmecoffee",
                              account_id="u1", settings={"boards": BOARDS}, secret="token")
        box = ChannelFactory(name=f"Box {tag}", network="sandbox", handle="@acme")
        image = ImageFactory(title=f"Cup {tag}", size=(600, 900), filename=f"cup-{tag}.jpg")
        index = CampaignIndexPage.objects.get()
    connection.set_schema_to_public()
    yield tag, pins, box, image, index
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        for page in CampaignPage.objects.filter(title__endswith=tag):
            page.delete()
        Channel.objects.filter(name__endswith=tag).delete()
        Image.objects.filter(pk=image.pk).delete()
    connection.set_schema_to_public()


def test_a_pinterest_posts_board_is_asked_once_a_pinterest_channel_is_chosen(
        page, signed_in, world, live_server_url, made, django_db_blocker):
    tag, pins, box, image, index = made
    signed_in(world.acme.users[Role.EDITOR])
    page.goto(brand_url("acme", live_server_url,
                        f"/admin/pages/add/campaigns/campaignpage/{index.pk}/"))
    title = f"Pinned {tag}"
    page.locator("#id_title").fill(title)
    page.get_by_role("button", name="Add post").click()
    page.locator("#id_posts-0-copy").fill("Autumn roast, pinned")
    _add_image(page, "posts-0", image.title, "A cup of autumn roast")
    group = page.locator('[data-network-options="pinterest"]').first
    expect(group).to_be_hidden()  # no Pinterest channel chosen yet
    page.get_by_role("checkbox", name=box.name).check()
    expect(group).to_be_hidden()
    page.get_by_role("checkbox", name=pins.name).check()
    expect(group).to_be_visible()

    # saved without a board: the reason, in the post
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text(f"Post 1 on {pins.name}: Pinterest needs “Board”: choose one.")) \
        .to_be_visible()

    group = page.locator('[data-network-options="pinterest"]').first
    group.get_by_label("Board").select_option(label="Our cafés")
    group.get_by_label("Pin title").fill("Autumn at our cafés")
    page.get_by_role("checkbox", name=pins.name).uncheck()
    expect(group).to_be_hidden()
    page.get_by_role("checkbox", name=pins.name).check()
    expect(group.get_by_label("Board")).to_have_value("b2")  # kept while hidden
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text(f"Campaign “{title}” saved as a draft.")).to_be_visible()
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        post = CampaignPage.objects.get(title=title).get_latest_revision_as_object() \
            .posts.all()[0]
        assert post.network_options == {"pinterest": {"board": "b2",
                                                      "title": "Autumn at our cafés"}}
    connection.set_schema_to_public()
