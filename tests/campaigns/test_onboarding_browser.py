"""A new brand in a real browser: its studio opens on the set-up checklist, which ticks itself as
the team connects a channel and adds an approver, under a header in the brand's colour and logo."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from tests.agency.browser import axe_violations, brand_url, describe_violations
from tests.images import png_bytes

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

BRAND_RGB = "rgb(194, 65, 12)"  # #C2410C


@pytest.fixture
def fresh_brand(world, django_db_blocker):
    """A brand the agency admin has just created (committed, so the test server sees it), with a
    logo and colour; deleted afterwards."""
    from tenants.services import client_delete, client_provision

    slug = f"fresh-{uuid.uuid4().hex[:6]}"
    with django_db_blocker.unblock():
        client = client_provision(
            name="Fresh Fields", slug=slug, brand_colour="#C2410C", actor=world.agency_admin,
            logo=SimpleUploadedFile("logo.png", png_bytes(size=(120, 60)),
                                    content_type="image/png"))
    yield client
    with django_db_blocker.unblock():
        client_delete(client=client, actor=None, confirm_slug=client.slug)


def _step(checklist, label: str):
    return checklist.get_by_role("listitem").filter(has_text=label)


def test_new_brand_opens_on_its_checklist_which_ticks_itself(page, signed_in, world,
                                                             live_server_url, fresh_brand):
    port, slug = live_server_url, fresh_brand.slug
    signed_in(world.agency_admin)
    page.goto(brand_url(slug, port, "/admin/"))

    checklist = page.get_by_role("region", name="Set up Fresh Fields")
    expect(checklist).to_be_visible()
    expect(checklist).to_contain_text("0 of 4 done")
    for label in ["Connect a channel", "Add client approvers", "Set approval deadlines",
                  "Invite the team"]:
        expect(_step(checklist, label)).to_contain_text("To do")
    expect(checklist.get_by_role("link", name="Invite the team")).to_have_attribute(
        "href", re.compile(rf"/clients/{slug}/members/add/$"))

    # The header: the brand's logo, loaded through storage, on a band of its colour.
    logo = page.locator("#wagtail-sidebar img.brand-logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 120
    branding = page.locator(".sidebar-custom-branding")
    expect(branding).to_have_css("background-color", BRAND_RGB)
    expect(page.locator(".content-wrapper")).to_have_css("border-top-color", BRAND_RGB)

    # Connect a channel, from the checklist's own link.
    checklist.get_by_role("link", name="Connect a channel").click()
    page.get_by_role("textbox", name="Name").fill("Fresh sandbox")
    page.get_by_role("combobox", name="Network").select_option(label="Sandbox")
    page.get_by_role("textbox", name="Handle").fill("@fresh")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator(".messages")).to_contain_text("Fresh sandbox")
    page.goto(brand_url(slug, port, "/admin/"))
    expect(_step(checklist, "Connect a channel")).to_contain_text("Done")
    expect(checklist).to_contain_text("1 of 4 done")

    # Add a client approver.
    checklist.get_by_role("link", name="Add client approvers").click()
    page.get_by_role("textbox", name="Name").fill("Cleo Client")
    page.get_by_role("textbox", name="Email").fill("cleo@client.test")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator(".messages")).to_contain_text("Cleo Client")
    page.goto(brand_url(slug, port, "/admin/"))
    expect(checklist).to_contain_text("2 of 4 done")
    expect(_step(checklist, "Connect a channel")).to_contain_text("Done")
    expect(_step(checklist, "Add client approvers")).to_contain_text("Done")
    expect(_step(checklist, "Set approval deadlines")).to_contain_text("To do")
    expect(_step(checklist, "Invite the team")).to_contain_text("To do")

    violations = axe_violations(page, impacts=("serious", "critical"))
    assert not violations, describe_violations(violations)
