"""Client reports in chromium: an account manager goes from a campaign's results to its client
report, downloads the PDF (a real PDF with the figures), and shares a read-only link that opens
for someone who is not signed in."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tenants.models import Role
from tests.agency.browser import brand_url
from tests.results.test_dashboard_browser import (
    _collect,
    out_on_mastodon,  # noqa: F401 - a fixture
)

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def test_an_account_manager_opens_a_campaign_report_and_downloads_its_pdf(
        browser, context, page, signed_in, world, live_server_url, out_on_mastodon,  # noqa: F811
        django_db_blocker):
    mastodon, channel, deliveries = out_on_mastodon
    first, second = deliveries
    mastodon.set_counts(first.remote_id, favourites=4, reblogs=1)
    mastodon.set_counts(second.remote_id, favourites=12, reblogs=3, replies=2)
    mastodon.followers_count = 400
    _collect(world, django_db_blocker, 16)
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)

    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    page.goto(brand_url("acme", live_server_url, f"/admin/results/campaign/{first.page_id}/"))
    page.get_by_role("link", name=re.compile("Client report")).click()
    expect(page.get_by_role("heading", name="Campaign report: Harvest results", exact=True)
           ).to_be_visible()
    expect(page.locator('[data-figure="interactions"]')).to_have_text("22")
    expect(page.locator(".report-agency-name")).to_be_visible()
    expect(page.get_by_role("heading", name="Approvals on record")).to_be_visible()

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download PDF").click()
    download = waiting.value
    assert download.suggested_filename.endswith(f"campaign-{first.page_id}.pdf")
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF-")
    text = " ".join(" ".join(p.extract_text().split())
                    for p in PdfReader(io.BytesIO(content)).pages)
    assert "Campaign report: Harvest results" in text and "Interactions 22" in text
    assert "Harvest results: post 2 #Spring" in text

    # A read-only link for the client: opens without signing in, in a fresh browser.
    page.get_by_label("Share a read-only link for").select_option("7")
    page.get_by_role("button", name="Create link").click()
    shared = page.get_by_label("Shared link").input_value()
    assert "/report/" in shared
    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(shared)
        expect(other.get_by_role("heading", level=1)).to_have_text(
            "Campaign report: Harvest results")
        expect(other.locator('[data-figure="interactions"]')).to_have_text("22")
    finally:
        stranger.close()
    assert refused == []
