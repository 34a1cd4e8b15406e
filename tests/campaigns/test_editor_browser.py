"""Drafting a whole campaign through Wagtail's editor in a real browser: a post with an image and
its alt text for three channels, its errors, its previews, the calendar; then reopening it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import CampaignIndexPage, CampaignPage, Channel
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.factories import CampaignFactory, ChannelFactory, ImageFactory, PostFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@dataclass
class Studio:
    tag: str  # in the names of everything the test makes
    channels: list  # Mastodon, Bluesky and sandbox
    image: object
    index: object  # the campaigns index


@pytest.fixture
def studio(world, django_db_blocker):
    """Three channels and an image the test server can see (committed), removed afterwards."""
    from wagtail.images.models import Image

    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channels = [ChannelFactory(name=f"{name} {tag}", network=network, handle="@acme",
                                   endpoint="https://mastodon.example" if network == "mastodon"
                                   else "", secret="token")
                    for network, name in [("mastodon", "Masto"), ("bluesky", "Sky"),
                                          ("sandbox", "Box")]]
        image = ImageFactory(title=f"Barista {tag}", size=(640, 480),
                             filename=f"barista-{tag}.png")
        index = CampaignIndexPage.objects.get()
    connection.set_schema_to_public()
    yield Studio(tag=tag, channels=channels, image=image, index=index)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        for page in CampaignPage.objects.filter(title__endswith=tag):
            page.delete()
        Channel.objects.filter(name__endswith=tag).delete()
        Image.objects.filter(pk=image.pk).delete()
    connection.set_schema_to_public()


@pytest.fixture
def acme_db(world, django_db_blocker):
    """``with acme_db():`` reads Acme's schema (the test server's data is committed)."""
    from contextlib import contextmanager

    @contextmanager
    def inside():
        with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
            yield
        connection.set_schema_to_public()

    return inside


def _latest(acme_db, title):
    with acme_db():
        page = CampaignPage.objects.get(title=title)
        draft = page.get_latest_revision_as_object()
        posts = list(draft.posts.all())
        for post in posts:  # read what the assertions need while the schema is set
            post.channel_list = list(post.channels.all())
            post.media_list = [(b.value["image"].pk, b.value["alt_text"]) for b in post.media]
        return page, posts


def _add_image(page, post_prefix: str, image_title: str, alt_text: str) -> None:
    """Insert an image block in the post's media, pick the image in Wagtail's chooser, add alt."""
    media = page.locator(f'[id="{post_prefix}-media-root"]')
    media.get_by_role("button", name="Insert a block").first.click()
    page.get_by_role("option", name="Image").click()
    page.locator(f'[id="{post_prefix}-media-0-value-image-chooser"]').get_by_role(
        "button", name="Choose an image").click()
    modal = page.locator(".modal-dialog")
    modal.get_by_role("link", name=image_title).click()
    expect(modal).to_be_hidden()
    page.locator(f'[id="{post_prefix}-media-0-value-alt_text"]').fill(alt_text)


def test_a_staff_member_drafts_a_campaign_for_three_channels_in_the_browser(
        page, signed_in, world, live_server_url, studio, acme_db):
    signed_in(world.acme.users[Role.EDITOR])
    title = f"Autumn roast {studio.tag}"
    page.goto(brand_url("acme", live_server_url,
                        f"/admin/pages/add/campaigns/campaignpage/{studio.index.pk}/"))
    page.locator("#id_title").fill(title)
    page.locator("#id_goal").fill("Launch the autumn roast")
    page.locator("#id_audience").fill("Coffee lovers in the UK")
    page.get_by_role("button", name="Add post").click()
    page.locator("#id_posts-0-copy").fill("x" * 520 + " ☕")
    _add_image(page, "posts-0", studio.image.title, "A barista pours a flat white")
    for channel in studio.channels:
        page.get_by_label(str(channel.name)).first.check()
    page.locator("#id_posts-0-publish_at").fill("2026-10-14 09:30")

    # Saving with copy Mastodon cannot take: the error names the post, the channel and the fix
    page.get_by_role("button", name="Save draft").click()
    masto = studio.channels[0].name
    expect(page.get_by_text(f"Post 1 on {masto}: Mastodon allows 500 characters; this post "
                            "has 522. Shorten it by 22.")).to_be_visible()
    with acme_db():
        assert not CampaignPage.objects.filter(title=title).exists()

    # Fixed, it saves; what was typed was kept on the error page (image and alt text included)
    page.locator("#id_posts-0-copy").fill("Autumn roast is here ☕ Taste it in every shop.")
    expect(page.locator('[id="posts-0-media-0-value-alt_text"]')).to_have_value(
        "A barista pours a flat white")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text(f"Campaign “{title}” saved as a draft.")).to_be_visible()

    saved, [post] = _latest(acme_db, title)
    assert post.copy == "Autumn roast is here ☕ Taste it in every shop."
    assert {c.pk for c in post.channel_list} == {c.pk for c in studio.channels}
    assert post.media_list == [
        (studio.image.pk, "A barista pours a flat white")]
    assert post.publish_at == dt.datetime(2026, 10, 14, 8, 30, tzinfo=dt.UTC)  # BST

    # Previews: one card per channel, as each network shows it
    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{saved.pk}/view_draft/"))
    for channel in studio.channels:
        card = page.get_by_role("article", name=f"Post 1 on {channel.name}")
        expect(card).to_contain_text("Autumn roast is here ☕")
        expect(card.get_by_role("img", name="A barista pours a flat white")).to_be_visible()

    # The calendar shows it on its day, as a draft
    page.goto(brand_url("acme", live_server_url, "/admin/calendar/?month=2026-10"))
    entry = page.locator(f'[data-campaign="{saved.pk}"]')
    expect(entry).to_have_attribute("data-state", "draft")
    expect(page.locator('td[data-date="2026-10-14"]')).to_contain_text("Autumn roast is here")


def test_a_closed_post_opens_in_place_and_saves_with_the_others_untouched(
        page, signed_in, world, live_server_url, studio, acme_db):
    signed_in(world.acme.users[Role.EDITOR])
    title = f"Winter menu {studio.tag}"
    masto, sky, box = studio.channels
    with acme_db():
        campaign = CampaignFactory(title=title, author=world.acme.users[Role.EDITOR], posts=[
            PostFactory(copy=f"Winter post {n}" + (" is crazy good" if n == 3 else ""),
                        channels=[sky, box], publish_at=dt.datetime(2026, 12, n, 9, tzinfo=dt.UTC))
            for n in range(1, 4)])

    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{campaign.pk}/edit/"))
    closed = page.locator("[data-post-closed]")
    expect(closed).to_have_count(3)
    expect(closed.nth(1)).to_contain_text("Wed 2 Dec 2026, 09:00")  # GMT in December
    expect(closed.nth(1)).to_contain_text(f"{box.name}, {sky.name}")  # by name
    # the sensitivity linter's findings show beside each post, closed or open
    expect(closed.nth(2).locator("[data-post-lint]")).to_contain_text(
        "Check · Ableist language: “crazy” uses mental illness as a figure of speech.")
    expect(closed.nth(0).locator("[data-post-lint]")).to_be_empty()
    closed.nth(1).get_by_role("button", name="Edit post").click()
    copy = page.locator("#id_posts-1-copy")
    expect(copy).to_have_value("Winter post 2")
    expect(page.locator("#id_posts-1-publish_at")).to_have_value("2026-12-02 09:00")
    copy.fill("Winter post 2: killer deals on mulled spice")
    lint = page.locator("#inline_child_posts-1 [data-post-lint]")
    expect(lint).to_contain_text("“killer deals” uses violence or tragedy to sell.")
    copy.fill("Winter post 2, now with mulled spice")
    expect(lint).to_be_empty()
    page.get_by_label(masto.name).first.check()
    _add_image(page, "posts-1", studio.image.title, "Mulled spice in a glass cup")
    expect(page.locator("[data-post-closed]")).to_have_count(2)
    # a draft's main button submits it for review; saving is in the footer's menu
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text(f"Campaign “{title}” saved.")).to_be_visible()

    _, posts = _latest(acme_db, title)
    assert [p.copy for p in posts] == ["Winter post 1", "Winter post 2, now with mulled spice",
                                       "Winter post 3 is crazy good"]
    assert {c.name for c in posts[1].channel_list} == {masto.name, sky.name, box.name}
    assert {c.name for c in posts[0].channel_list} == {sky.name, box.name}
    assert posts[1].media_list == [(studio.image.pk, "Mulled spice in a glass cup")]
    assert [p.publish_at for p in posts] == [dt.datetime(2026, 12, d, 9, tzinfo=dt.UTC)
                                             for d in (1, 2, 3)]
