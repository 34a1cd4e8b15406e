"""The fake Mastodon's OAuth answers as Mastodon's reference has them (apps, authorize, token,
revoke), and the demo's registry of fakes."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys

import requests

from agency.demo import fakes
from agency.demo.fakes import FakeMastodon
from tests.conftest import ROOT
from tests.connections.conftest import consent, query

CALLBACK = "http://acme.agency.localhost/admin/channels/connect/callback/"


def _app(fake) -> dict:
    answer = requests.post(f"{fake.url}/api/v1/apps", timeout=5, data={
        "client_name": "Agency platform", "redirect_uris": CALLBACK,
        "scopes": "read:accounts write:statuses"})
    assert answer.status_code == 200
    return answer.json()


def _authorize_url(fake, app, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
        .rstrip(b"=").decode()
    return (f"{fake.url}/oauth/authorize?response_type=code&client_id={app['client_id']}"
            f"&redirect_uri={CALLBACK}&scope=write:statuses&state=s1"
            f"&code_challenge={challenge}&code_challenge_method=S256")


def test_the_token_endpoint_checks_the_pkce_verifier_and_takes_a_code_once():
    with FakeMastodon() as fake:
        app = _app(fake)
        assert app["redirect_uris"] == [CALLBACK] and app["client_secret"]
        code = query(consent(_authorize_url(fake, app, "v" * 50)))["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                "client_id": app["client_id"], "client_secret": app["client_secret"]}
        wrong = requests.post(f"{fake.url}/oauth/token", timeout=5,
                              data={**form, "code_verifier": "w" * 50})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        good = requests.post(f"{fake.url}/oauth/token", timeout=5,
                             data={**form, "code": code, "code_verifier": "v" * 50})
        assert good.status_code == 200
        assert good.json()["token_type"] == "Bearer" and good.json()["scope"] == "write:statuses"
        again = requests.post(f"{fake.url}/oauth/token", timeout=5,
                              data={**form, "code": code, "code_verifier": "v" * 50})
        assert again.json()["error"] == "invalid_grant"
        token = good.json()["access_token"]
        me = requests.get(f"{fake.url}/api/v1/accounts/verify_credentials", timeout=5,
                          headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        refused = requests.post(f"{fake.url}/oauth/revoke", timeout=5,
                                data={"client_id": app["client_id"], "client_secret": "no",
                                      "token": token})
        assert refused.status_code == 403
        revoked = requests.post(f"{fake.url}/oauth/revoke", timeout=5, data={
            "client_id": app["client_id"], "client_secret": app["client_secret"],
            "token": token})
        assert revoked.status_code == 200
        gone = requests.get(f"{fake.url}/api/v1/accounts/verify_credentials", timeout=5,
                            headers={"Authorization": f"Bearer {token}"})
        assert gone.status_code == 401


def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect():
    with FakeMastodon() as fake:
        app = _app(fake)
        url = _authorize_url(fake, app, "v" * 50).replace("acme.agency", "evil.example")
        answer = requests.get(url, timeout=5, allow_redirects=False)
        assert answer.status_code == 400 and "redirect uri included is not valid" in answer.text


def test_the_demo_runs_every_registered_fake_and_points_the_platform_at_them(monkeypatch):
    monkeypatch.setattr(fakes, "FAKES", {})
    fakes.register_fake("example", FakeMastodon, port=9199, base_urls=("example_api",),
                        oauth={"example": ("demo-id", "demo-secret")})
    env = fakes.demo_env()
    assert json.loads(env["NETWORK_BASE_URLS"]) == {"example_api": "http://127.0.0.1:9199"}
    assert env["OAUTH_EXAMPLE_CLIENT_ID"] == "demo-id"
    assert env["OAUTH_EXAMPLE_CLIENT_SECRET"] == "demo-secret"
    printed = subprocess.run([sys.executable, "-m", "agency.demo.fakes", "--env"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True)
    assert "NETWORK_BASE_URLS" in json.loads(printed.stdout)
