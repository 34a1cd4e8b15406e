"""Wagtail's admin under our Content-Security-Policy, in a real browser: the campaign editor, its
preview panel (our preview, framed by the admin), the image chooser and the calendar all work,
and the browser reports no violation of the policy on any of them."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import CampaignPage
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.factories import CampaignFactory, ChannelFactory, ImageFactory, PostFactory
from tests.images import png_bytes

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

# Runs in every document and frame before its own scripts: each violation the browser reports
# is handed to the test (the listener sees script, style, image, frame and connect refusals).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolation({directive: event.effectiveDirective, blocked: event.blockedURI,
                       document: event.documentURI, source: event.sourceFile,
                       line: event.lineNumber, sample: event.sample});
});
"""


@dataclass
class PolicyCampaign:
    page: object
    tag: str  # in the names of its channel and images (and of the images the test uploads)


@pytest.fixture
def campaign(world, django_db_blocker):
    """A draft campaign with one post (an image with alt text, a Bluesky channel) and a second
    image to choose, committed for the test server and removed afterwards."""
    from wagtail.images.models import Image

    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = ChannelFactory(name=f"Sky {tag}", network="bluesky", handle="@acme.bsky")
        images = [ImageFactory(title=f"{name} {tag}", size=(320, 240),
                               filename=f"{name.lower()}-{tag}.png")
                  for name in ("Latte", "Beans")]
        page = CampaignFactory(title=f"Policy check {tag}", author=world.acme.users[Role.EDITOR],
                               posts=[PostFactory(
                                   copy=f"Oat latte season {tag} ☕", channels=[channel],
                                   publish_at=dt.datetime(2026, 10, 14, 8, tzinfo=dt.UTC),
                                   image=images[0], alt_text="A latte")])
    connection.set_schema_to_public()
    yield PolicyCampaign(page=page, tag=tag)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        CampaignPage.objects.filter(pk=page.pk).delete()
        channel.delete()
        Image.objects.filter(title__contains=tag).delete()  # uploaded in the test too
    connection.set_schema_to_public()


def test_the_editor_previews_choosers_and_calendar_work_under_the_policy(
        context, page, signed_in, world, live_server_url, campaign):
    violations, refusals = [], []
    context.expose_function("cspViolation", lambda violation: violations.append(violation))
    context.add_init_script(REPORT_VIOLATIONS)
    # Refusals to frame a page are told only to the console of the page that frames it.
    page.on("console", lambda message: refusals.append(message.text)
            if "Content Security Policy" in message.text else None)
    signed_in(world.acme.users[Role.EDITOR])
    tag = campaign.tag

    response = page.goto(brand_url("acme", live_server_url,
                                   f"/admin/pages/{campaign.page.pk}/edit/"))
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy and "unsafe-eval" not in policy
    expect(page.locator("[data-post-closed]")).to_have_count(1)

    # The preview panel shows our preview of the post in its frame, image and all
    page.get_by_role("button", name="Toggle preview").click()
    preview = page.frame_locator("#w-preview-iframe")
    card = preview.get_by_role("article", name=f"Post 1 on Sky {tag}")
    expect(card).to_contain_text(f"Oat latte season {tag}")
    picture = card.get_by_role("img", name="A latte")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")

    # The image chooser opens, lists the brand's images and hands the chosen one back
    page.get_by_role("button", name="Toggle preview").click()
    page.locator("[data-post-closed]").get_by_role("button", name="Edit post").click()
    media = page.locator('[id="posts-0-media-root"]')
    media.get_by_role("button", name="Insert a block").last.click()
    page.get_by_role("option", name="Image").click()
    page.locator('[id="posts-0-media-1-value-image-chooser"]').get_by_role(
        "button", name="Choose an image").click()
    modal = page.locator(".modal-dialog")
    expect(modal.get_by_role("link", name=f"Latte {tag}")).to_be_visible()
    modal.get_by_role("link", name=f"Beans {tag}").click()
    expect(modal).to_be_hidden()
    expect(page.locator('[id="posts-0-media-1-value-image-chooser"]')).to_contain_text(
        f"Beans {tag}")

    # The calendar shows the post on its day
    page.goto(brand_url("acme", live_server_url, "/admin/calendar/?month=2026-10"))
    expect(page.locator('td[data-date="2026-10-14"]')).to_contain_text(f"Oat latte season {tag}")

    # The dashboard and the multiple image upload page (its previews are blob: images)
    page.goto(brand_url("acme", live_server_url, "/admin/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(brand_url("acme", live_server_url, "/admin/images/multiple/add/"))
    page.locator("#fileupload").set_input_files(files=[{
        "name": f"crema-{tag}.png", "mimeType": "image/png", "buffer": png_bytes((200, 150))}])
    expect(page.locator("#upload-list")).to_contain_text(f"crema-{tag}")

    assert violations == [] and refusals == [], (violations, refusals)
