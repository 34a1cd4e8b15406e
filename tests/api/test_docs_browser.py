"""The API reference page in a real browser: Swagger UI from our own static files, under our
Content-Security-Policy, lists the operations of the served document."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.agency.browser import brand_url

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


def test_the_reference_page_lists_every_area_of_the_api(page, live_server_url):
    blocked = []
    page.on("console", lambda m: blocked.append(m.text)
            if "Content Security Policy" in m.text and "script" in m.text else None)
    page.goto(brand_url("acme", live_server_url, "/api/v1/docs/"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("API")
    for tag in ("campaigns", "deliveries", "webhooks", "review-links", "media"):
        expect(page.locator(f"#operations-tag-{tag}")).to_be_visible()
    assert blocked == []
