"""LinkedIn's consent page, as the local LinkedIn serves it to the demo and the connection tests,
clicked through in Debian's chromium: Allow brings the person back with a code and the state,
Cancel with LinkedIn's error and the state."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from agency.demo.fakes import Hostile
from agency.demo.fakes.linkedin import FakeLinkedIn
from campaigns.providers.linkedin import provider

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def linkedin(settings):
    with FakeLinkedIn(client_id="li-app", client_secret="li-secret",
                      organizations={"2414183": "Acme Coffee"}) as fake:
        settings.NETWORK_BASE_URLS = {"linkedin_api": fake.url, "linkedin_www": fake.url}
        yield fake


@pytest.mark.parametrize("button, answer", [("Allow", "code"), ("Cancel", "error")])
def test_a_person_clicks_through_linkedins_consent_page(linkedin, page, button, answer):
    from playwright.sync_api import expect

    callback = Hostile(status=200, body=b"{}")  # stands for the brand's callback address
    try:
        page.goto(provider.authorize_url() + "?" + urlencode({
            "response_type": "code", "client_id": "li-app",
            "redirect_uri": callback.url + "/callback/", "state": "st4te",
            "scope": " ".join(provider.scopes)}))
        expect(page.get_by_role("heading")).to_contain_text("Allow this app")
        expect(page.get_by_text("Acme Coffee")).to_be_visible()
        page.get_by_role("button", name=button).click()
        page.wait_for_url(callback.url + "/callback/**")
        [(method, path)] = [r for r in callback.requests if r[1].startswith("/callback/")]
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        assert method == "GET" and query["state"] == "st4te"
        assert answer in query
        if answer == "error":
            assert query["error"] == "user_cancelled_authorize" and "code" not in query
    finally:
        callback.close()
