"""Pinterest's consent page, as the local Pinterest serves it to the demo and the connection
tests, clicked through in Debian's chromium: "Give access" brings the person back with a code
and the state, "Cancel" with ``access_denied`` and the state."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from agency.demo.fakes import Hostile
from agency.demo.fakes.pinterest import FakePinterest
from campaigns.providers.pinterest import provider

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def pinterest(settings):
    with FakePinterest(client_id="pin-app", client_secret="pin-secret") as fake:
        settings.NETWORK_BASE_URLS = {"pinterest_api": fake.url, "pinterest_www": fake.url}
        settings.OAUTH_CLIENTS = {"pinterest": {"client_id": "pin-app",
                                                "client_secret": "pin-secret"}}
        yield fake


@pytest.mark.parametrize("button, answer", [("Give access", "code"), ("Cancel", "error")])
def test_a_person_clicks_through_pinterests_consent_page(pinterest, page, button, answer):
    from playwright.sync_api import expect

    callback = Hostile(status=200, body=b"{}")  # stands for the brand's callback address
    try:
        page.goto(provider.authorization_url(redirect_uri=callback.url + "/callback/",
                                             state="st4te", code_verifier=""))
        expect(page.get_by_role("heading")).to_contain_text("Give this app access")
        expect(page.get_by_text("Acme Coffee")).to_be_visible()
        expect(page.get_by_text("boards:read,pins:read,pins:write,user_accounts:read")) \
            .to_be_visible()
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
