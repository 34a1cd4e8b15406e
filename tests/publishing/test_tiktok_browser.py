"""TikTok's consent page, as the local TikTok serves it to the demo and the connection tests,
clicked through in Debian's chromium: Authorize brings the person back with a code and the
state, Cancel with ``access_denied`` and the state."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from agency.demo.fakes import Hostile
from agency.demo.fakes.tiktok import FakeTikTok
from campaigns.providers.tiktok import provider

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def tiktok(settings):
    with FakeTikTok(client_key="tt-app", client_secret="tt-secret") as fake:
        settings.NETWORK_BASE_URLS = {"tiktok_api": fake.url, "tiktok_www": fake.url}
        settings.OAUTH_CLIENTS = {"tiktok": {"client_id": "tt-app", "client_secret": "tt-secret"}}
        yield fake


@pytest.mark.parametrize("button, answer", [("Authorize", "code"), ("Cancel", "error")])
def test_a_person_clicks_through_tiktoks_consent_page(tiktok, page, button, answer):
    from playwright.sync_api import expect

    callback = Hostile(status=200, body=b"{}")  # stands for the brand's callback address
    try:
        page.goto(provider.authorization_url(redirect_uri=callback.url + "/callback/",
                                             state="st4te", code_verifier=""))
        expect(page.get_by_role("heading")).to_contain_text("Allow this app")
        expect(page.get_by_text("@acmecoffee")).to_be_visible()
        expect(page.get_by_text("video.publish")).to_be_visible()
        page.get_by_role("button", name=button).click()
        page.wait_for_url(callback.url + "/callback/**")
        [(method, path)] = [r for r in callback.requests if r[1].startswith("/callback/")]
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        assert method == "GET" and query["state"] == "st4te"
        assert answer in query
        if answer == "error":
            assert query["error"] == "access_denied" and "code" not in query
    finally:
        callback.close()
