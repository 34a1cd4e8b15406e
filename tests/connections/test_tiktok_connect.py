"""A TikTok creator account connected through the studio's real connection flow (Connect
account, TikTok's consent screen, the callback, picking the account) against the local TikTok
(agency/demo/fakes/tiktok.py): the tokens kept encrypted, the creator's posting options kept on
the channel, the 24-hour token refreshed ahead of its expiry, the unaudited app's notice on the
channel screen; a declined consent and a forged callback explained with nothing saved."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.demo.fakes.tiktok import FakeTikTok
from campaigns.models import Channel
from campaigns.publishing import connected
from tenants.models import Role
from tests.connections.conftest import consent_link, local, query

pytestmark = pytest.mark.django_db

OPEN_ID = "_000acmeOpenId"


@pytest.fixture
def tiktok(settings):
    with FakeTikTok(client_key="tt-app", client_secret="tt-secret") as fake:
        settings.NETWORK_BASE_URLS = {"tiktok_api": fake.url, "tiktok_www": fake.url}
        settings.OAUTH_CLIENTS = {"tiktok": {"client_id": "tt-app", "client_secret": "tt-secret"}}
        settings.TIKTOK_APP_AUDITED = False
        yield fake


def _manager(brand):
    return brand.users[Role.ACCOUNT_MANAGER]


def answer(url: str, *, allow: bool = True) -> str:
    """TikTok's consent page: submit its form with Authorize or Cancel; where TikTok sends the
    person back to."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    assert "@acmecoffee" in page.text
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    parts = urlsplit(url)
    back = requests.post(f"{parts.scheme}://{parts.netloc}/v2/auth/authorize/decide",
                         data={**fields, "decision": "allow" if allow else "deny"},
                         allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    return back.headers["Location"]


def start(client) -> str:
    return consent_link(client.post("/admin/channels/connect/", {"network": "tiktok"}))


def test_a_creator_connects_its_options_are_kept_and_the_token_refreshes_ahead(world, http,
                                                                              tiktok):
    client = http(world.acme.host, _manager(world.acme))
    assert "Connect TikTok" in client.get("/admin/channels/connect/").content.decode()
    url = start(client)
    assert url.startswith(f"{tiktok.url}/v2/auth/authorize/?")
    asked = query(url)
    assert asked["client_key"] == "tt-app" and "client_id" not in asked
    assert asked["scope"] == "user.info.basic,user.info.stats,video.list,video.publish,video.upload"
    assert "code_challenge" not in asked  # TikTok's web login takes no PKCE

    back = answer(url)
    with schema_context(world.acme.client.schema_name):
        response = client.get(local(back))
        assert response.status_code == 302, response.content.decode()[:2000]
        pick = client.get(response["Location"]).content.decode()
        assert "Acme Coffee" in pick
        picked = client.post("/admin/channels/connect/pick/", {
            "pick": query(response["Location"])["pick"], "account": OPEN_ID})
        assert picked.status_code == 302, picked.content.decode()[:3000]
        channel = Channel.objects.get(network="tiktok", account_id=OPEN_ID)
        assert channel.handle == "@acmecoffee"
        first = channel.get_secret()
        assert first and first not in channel.secret_encrypted
        assert channel.get_refresh_token() not in channel.refresh_encrypted
        assert "video.publish" in channel.scopes.split()
        assert [level["id"] for level in channel.settings["privacy_levels"]][-1] == "SELF_ONLY"
        assert channel.settings["max_video_post_duration_sec"] == 600
        # TikTok's access token lasts a day
        assert dt.timedelta(hours=23) < channel.token_expires_at - timezone.now() \
            <= dt.timedelta(hours=24)

        screen = client.get(picked["Location"]).content.decode()
        assert "Connected as <strong>@acmecoffee</strong>" in screen
        assert "can only post privately" in screen and "until TikTok audits it" in screen

        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(minutes=30))
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.get_secret() != first and not channel.needs_reconnect
    assert channel.token_expires_at - timezone.now() > dt.timedelta(hours=23)


def test_an_audited_app_shows_no_private_only_notice(world, http, tiktok, settings):
    settings.TIKTOK_APP_AUDITED = True
    client = http(world.acme.host, _manager(world.acme))
    back = answer(start(client))
    with schema_context(world.acme.client.schema_name):
        response = client.get(local(back))
        picked = client.post("/admin/channels/connect/pick/", {
            "pick": query(response["Location"])["pick"], "account": OPEN_ID})
        screen = client.get(picked["Location"]).content.decode()
    assert "Connected as" in screen and "can only post privately" not in screen


def test_a_declined_consent_is_explained_and_saves_nothing(world, http, tiktok):
    client = http(world.acme.host, _manager(world.acme))
    back = answer(start(client), allow=False)
    assert query(back)["error"] == "access_denied"
    text = client.get(local(back)).content.decode()
    assert "TikTok access was not given" in text and "declined" in text
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(network="tiktok").exists()


def test_a_forged_callback_is_refused_and_saves_nothing(world, http, tiktok):
    client = http(world.acme.host, _manager(world.acme))
    back = answer(start(client))
    forged = local(back).replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 400
    assert "does not match a connection started here" in response.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(network="tiktok").exists()


def test_consent_without_permission_to_post_is_refused_saying_what_to_allow(world, http,
                                                                           tiktok):
    tiktok.grant_scopes = "user.info.basic"
    client = http(world.acme.host, _manager(world.acme))
    url = start(client)
    page = requests.get(url, timeout=10)
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    fields["scope"] = "user.info.basic"  # the person unticked posting on TikTok's screen
    back = requests.post(f"{tiktok.url}/v2/auth/authorize/decide",
                         data={**fields, "decision": "allow"}, allow_redirects=False,
                         timeout=10).headers["Location"]
    response = client.get(local(back))
    assert response.status_code == 502
    assert "did not grant permission to post" in response.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(network="tiktok").exists()
