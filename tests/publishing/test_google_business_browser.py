"""Google's consent page, as the local Google serves it to the demo and the connection tests,
clicked through in Debian's chromium from the address the provider builds: Allow brings the
person back with a code and the state, Cancel with ``access_denied`` and the state."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from agency.demo.fakes import Hostile
from agency.demo.fakes.google_business import FakeGoogleBusiness
from campaigns.providers.google_business import provider

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

APP = "gbp-app.apps.googleusercontent.com"


@pytest.fixture
def google(settings):
    with FakeGoogleBusiness(client_id=APP, client_secret="gbp-secret",
                            locations={"111": {"2001": "Acme Coffee, High Street"}}) as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(("gbp_accounts", "gbp_oauth2"), fake.url)
        settings.OAUTH_CLIENTS = {"google_business": {"client_id": APP,
                                                      "client_secret": "gbp-secret"}}
        yield fake


@pytest.mark.parametrize("button, answer", [("Allow", "code"), ("Cancel", "error")])
def test_a_person_clicks_through_googles_consent_page(google, page, button, answer):
    from playwright.sync_api import expect

    callback = Hostile(status=200, body=b"{}")  # stands for the brand's callback address
    try:
        page.goto(provider.authorization_url(redirect_uri=callback.url + "/callback/",
                                             state="st4te", code_verifier="v" * 64))
        expect(page.get_by_role("heading")).to_contain_text("wants access to your Google")
        expect(page.get_by_text("Acme Coffee, High Street")).to_be_visible()
        page.get_by_role("button", name=button).click()
        page.wait_for_url(callback.url + "/callback/**")
        [(method, path)] = [r for r in callback.requests if r[1].startswith("/callback/")]
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        assert method == "GET" and query["state"] == "st4te"
        assert answer in query
        if answer == "error":
            assert query["error"] == "access_denied" and "code" not in query
        else:  # the code is good for the tokens, with the offline access asked for
            tokens = provider.exchange(code=query["code"],
                                       redirect_uri=callback.url + "/callback/",
                                       code_verifier="v" * 64)
            assert tokens.refresh_token
    finally:
        callback.close()
