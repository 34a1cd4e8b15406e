"""A YouTube channel connected through the real connection flow (Connect account, Google's
consent screen, the callback, picking the channel) against the local YouTube
(agency/demo/fakes/youtube.py); its tokens stored encrypted and renewed; a declined consent and
a forged callback explained; the demo's sandbox serving it; another brand unable to use it."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.demo.fakes.youtube import FakeYouTube
from campaigns.models import Channel
from campaigns.publishing import connected
from tenants.models import Role
from tests.connections.conftest import consent_link, local, query

pytestmark = pytest.mark.django_db

APP = ("yt-app", "yt-secret")
ACME, ROASTERY = "UCacmeCoffee0000000000a1", "UCacmeRoastery000000000b2"


@pytest.fixture
def youtube(settings):
    with FakeYouTube(client_id=APP[0], client_secret=APP[1],
                     channels={ACME: ("Acme Coffee", "@acmecoffee"),
                               ROASTERY: ("Acme Roastery", "@acmeroastery")}) as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(
            ("youtube_accounts", "youtube_oauth2", "youtube_api"), fake.url)
        settings.OAUTH_CLIENTS = {"youtube": {"client_id": APP[0], "client_secret": APP[1]}}
        yield fake


def _manager(brand):
    return brand.users[Role.ACCOUNT_MANAGER]


def google_consent(url: str, *, allow: bool = True, channel: str = ACME) -> str:
    """Google's consent page: choose the channel, submit with Allow or Cancel; where Google
    sends the person back to."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    parts = urlsplit(url)
    answer = requests.post(f"{parts.scheme}://{parts.netloc}/o/oauth2/v2/auth/decide",
                           data={**fields, "channel": channel,
                                 "decision": "allow" if allow else "deny"},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def start(client) -> str:
    return consent_link(client.post("/admin/channels/connect/", {"network": "youtube"}))


def connect(client, account_id: str) -> tuple[Channel, str]:
    back = google_consent(start(client), channel=account_id)
    response = client.get(local(back))
    assert response.status_code == 302, response.content.decode()[:2000]
    pick = client.get(response["Location"])
    assert pick.status_code == 200
    picked = client.post("/admin/channels/connect/pick/", {
        "pick": query(response["Location"])["pick"], "account": account_id})
    assert picked.status_code == 302, picked.content.decode()[:3000]
    return Channel.objects.get(network="youtube", account_id=account_id), pick.content.decode()


def test_a_google_account_picks_one_of_its_channels_and_the_tokens_are_kept_encrypted(
        world, http, youtube):
    client = http(world.acme.host, _manager(world.acme))
    assert "Connect YouTube" in client.get("/admin/channels/connect/").content.decode()
    url = start(client)
    asked = query(url)
    assert url.startswith(f"{youtube.url}/o/oauth2/v2/auth?")
    assert asked["access_type"] == "offline" and asked["prompt"] == "consent"
    assert asked["code_challenge_method"] == "S256"
    assert "youtube.upload" in asked["scope"] and "youtube.readonly" in asked["scope"]
    with schema_context(world.acme.client.schema_name):
        channel, pick = connect(client, ROASTERY)
        # the channel chosen on Google's screen is the one the token speaks for
        assert "Acme Roastery" in pick and "Acme Coffee" not in pick
        assert channel.handle == "@acmeroastery"
        assert channel.settings["uploads_playlist"] == "UU" + ROASTERY[2:]
        token, refresh = channel.get_secret(), channel.get_refresh_token()
        assert token.startswith("ya29.") and refresh.startswith("1//")
        assert token not in channel.secret_encrypted and refresh not in channel.refresh_encrypted
        assert "https://www.googleapis.com/auth/youtube.upload" in channel.scopes.split()
        assert dt.timedelta(minutes=55) < channel.token_expires_at - timezone.now() \
            <= dt.timedelta(hours=1)


def test_the_hourly_job_renews_a_google_token_ahead_of_its_expiry(world, http, youtube):
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, ACME)
        first, refresh = channel.get_secret(), channel.get_refresh_token()
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(minutes=5))
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.get_secret() != first and channel.get_refresh_token() == refresh
    assert not channel.needs_reconnect
    assert channel.token_expires_at > timezone.now() + dt.timedelta(minutes=50)


def test_a_grant_revoked_at_google_puts_the_channel_in_needs_reconnect(world, http, youtube):
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, ACME)
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(minutes=5))
    youtube.revoke_everything()
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.needs_reconnect and "invalid_grant" in channel.reconnect_reason


def test_a_declined_consent_is_explained_and_saves_nothing(world, http, youtube):
    client = http(world.acme.host, _manager(world.acme))
    back = google_consent(start(client), allow=False)
    assert query(back)["error"] == "access_denied"
    text = client.get(local(back)).content.decode()
    assert "YouTube access was not given" in text and "declined" in text
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.exists()


def test_a_callback_with_a_forged_state_is_refused(world, http, youtube):
    client = http(world.acme.host, _manager(world.acme))
    back = google_consent(start(client))
    forged = re.sub(r"state=[^&]+", "state=forged", local(back))
    response = client.get(forged)
    assert response.status_code == 400
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.exists()


def test_disconnecting_revokes_the_grant_at_google(world, http, youtube):
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, ACME)
        refresh = channel.get_refresh_token()
        response = client.post(f"/admin/channels/{channel.pk}/disconnect/")
        assert response.status_code == 302
        channel.refresh_from_db()
        assert not channel.get_secret() and channel.needs_reconnect
    assert youtube.revoked == [refresh]


def test_another_brand_cannot_use_a_connected_youtube_channel(world, http, youtube):
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, ACME)
    other = http(world.globex.host, _manager(world.globex))
    assert other.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/").status_code \
        in (302, 404)
    assert other.post(f"/admin/channels/{channel.pk}/disconnect/").status_code == 404
    assert youtube.revoked == []


def test_the_demo_sandbox_runs_youtube_on_9106_with_an_app_that_connects(world, http,
                                                                          settings):
    from agency.demo.fakes import demo_env, load_all

    sandbox = load_all()
    assert sandbox["youtube"].port == 9106
    env = demo_env()
    urls = json.loads(env["NETWORK_BASE_URLS"])
    assert {urls[k] for k in ("youtube_accounts", "youtube_oauth2", "youtube_api")} == \
        {"http://127.0.0.1:9106"}
    with sandbox["youtube"].make() as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(
            ("youtube_accounts", "youtube_oauth2", "youtube_api"), fake.url)
        settings.OAUTH_CLIENTS = {"youtube": {
            "client_id": env["OAUTH_YOUTUBE_CLIENT_ID"],
            "client_secret": env["OAUTH_YOUTUBE_CLIENT_SECRET"]}}
        client = http(world.acme.host, _manager(world.acme))
        with schema_context(world.acme.client.schema_name):
            channel, pick = connect(client, "UCacmeCoffee0000000000a1")
        assert "Acme Coffee" in pick and channel.handle == "@acmecoffee"
