"""A Google Business Profile location connected through the studio's real connection flow
(Connect account, Google's consent screen, the callback, picking the location) against the local
Google (agency/demo/fakes/google_business.py); its tokens kept encrypted and refreshed ahead of
their hour; a declined consent and a bad callback explained, with nothing saved; and a post of
the connected channel going out through the worker once."""

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

from agency.demo.fakes.google_business import SCOPE, FakeGoogleBusiness
from campaigns.models import Channel
from campaigns.publishing import connected, transitions, worker
from campaigns.publishing.models import Delivery, State
from campaigns.publishing.transitions import Outcome
from tenants.models import Role
from tests.connections.conftest import consent_link, local, query
from tests.factories import CampaignFactory, PostFactory
from tests.publishing.conftest import approve

pytestmark = pytest.mark.django_db

ACCOUNT, HIGH_STREET, STATION = "106543210987654321", "4815162342", "4815162343"
APP = ("gbp-app.apps.googleusercontent.com", "gbp-secret")
KEYS = ("gbp_accounts", "gbp_oauth2", "gbp_account_management", "gbp_business_information",
        "gbp_api")


@pytest.fixture
def google(settings):
    with FakeGoogleBusiness(client_id=APP[0], client_secret=APP[1], locations={
            ACCOUNT: {HIGH_STREET: "Acme Coffee, High Street",
                      STATION: "Acme Coffee, Station Road"}}) as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(KEYS, fake.url)
        settings.OAUTH_CLIENTS = {"google_business": {"client_id": APP[0],
                                                      "client_secret": APP[1]}}
        yield fake


def _manager(brand):
    return brand.users[Role.ACCOUNT_MANAGER]


def google_consent(url: str, *, allow: bool = True) -> str:
    """Google's consent page: submit its form with Allow or Cancel; where Google sends the
    person back to."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    assert "wants access to your Google Account" in page.text
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    parts = urlsplit(url)
    answer = requests.post(f"{parts.scheme}://{parts.netloc}/o/oauth2/v2/auth/decide",
                           data={**fields, "decision": "allow" if allow else "deny"},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def start(client) -> str:
    return consent_link(client.post("/admin/channels/connect/", {"network": "google_business"}))


def connect(client, location: str) -> tuple[Channel, str]:
    back = google_consent(start(client))
    response = client.get(local(back))
    assert response.status_code == 302, response.content.decode()[:2000]
    pick = client.get(response["Location"])
    assert pick.status_code == 200
    picked = client.post("/admin/channels/connect/pick/", {
        "pick": query(response["Location"])["pick"], "account": location})
    assert picked.status_code == 302, picked.content.decode()[:3000]
    return Channel.objects.get(network="google_business", account_id=location), \
        pick.content.decode()


def test_a_manager_picks_a_location_and_its_tokens_are_kept_encrypted_and_refreshed(
        world, http, google):
    client = http(world.acme.host, _manager(world.acme))
    assert "Connect Google Business Profile" in client.get("/admin/channels/connect/") \
        .content.decode()
    url = start(client)
    params = query(url)
    assert url.startswith(f"{google.url}/o/oauth2/v2/auth?")
    assert (params["access_type"], params["prompt"], params["scope"]) == (
        "offline", "consent", SCOPE)
    assert params["code_challenge_method"] == "S256"
    with schema_context(world.acme.client.schema_name):
        channel, pick = connect(client, STATION)
        assert "Acme Coffee, High Street" in pick and "Acme Coffee, Station Road" in pick
        assert channel.name == "Acme Coffee, Station Road on Google Business Profile"
        assert channel.handle == "Station Road, Acmeton, AC1 2ME"
        assert channel.settings["account"] == f"accounts/{ACCOUNT}"
        assert channel.settings["location"] == f"locations/{STATION}"
        token, refresh = channel.get_secret(), channel.get_refresh_token()
        assert token and token not in channel.secret_encrypted
        assert refresh and refresh not in channel.refresh_encrypted
        assert SCOPE in channel.scopes.split()
        left = channel.token_expires_at - timezone.now()
        assert dt.timedelta(minutes=55) < left <= dt.timedelta(hours=1)
    # An hour's token is within the refresh window already: the job renews it.
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.get_secret() != token and channel.get_refresh_token() == refresh
    assert not channel.needs_reconnect


def test_a_declined_consent_is_explained_and_saves_nothing(world, http, google):
    client = http(world.acme.host, _manager(world.acme))
    back = google_consent(start(client), allow=False)
    assert query(back)["error"] == "access_denied"
    text = client.get(local(back)).content.decode()
    assert "Google Business Profile access was not given" in text and "declined" in text
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.exists()


def test_a_callback_with_a_forged_state_or_a_used_code_is_refused_and_saves_nothing(
        world, http, google):
    client = http(world.acme.host, _manager(world.acme))
    back = google_consent(start(client))
    forged = client.get(local(back).replace("state=", "state=x"))
    assert "does not match a connection started here" in forged.content.decode()
    # The real state once, then Google refuses the code again (a code is good once).
    first = client.get(local(back))
    assert first.status_code == 302
    again = google_consent(start(client))
    code = query(again)["code"]
    google._codes.pop(code)  # as if the code had been used or had expired at Google
    refused = client.get(local(again))
    assert refused.status_code == 502
    assert "Google Business Profile did not finish the connection" in refused.content.decode()
    assert "invalid_grant" in refused.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.exists()


def test_a_removed_access_puts_the_channel_in_needs_reconnect(world, http, google):
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, HIGH_STREET)
    google.revoke_all()
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.needs_reconnect


def test_a_connected_locations_event_goes_out_once_through_the_worker_with_its_options(
        world, http, google, kit):
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, HIGH_STREET)
    campaign = CampaignFactory(brand=kit.schema, title="Winter", posts=[PostFactory(
        copy="Mince pie tasting", channels=[channel], publish_at=kit.soon,
        link="https://acme.test/tasting", network_options={"google_business": {
            "post_type": "EVENT", "event_title": "Mince pie tasting",
            "event_start": "2026-12-18T18:30", "event_end": "2026-12-18T20:00",
            "cta_type": "SIGN_UP"}})])
    deliveries = approve(kit.schema, campaign)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now())
    claims = transitions.claim_due()
    assert [worker.deliver(pk, claim) for pk, claim in claims] == [Outcome.PUBLISHED]
    [post] = google.posts
    assert post["summary"].startswith("Mince pie tasting")
    assert post["topicType"] == "EVENT" and post["event"]["title"] == "Mince pie tasting"
    assert post["event"]["schedule"]["endTime"]["hours"] == 20
    assert post["callToAction"]["actionType"] == "SIGN_UP"
    assert post["callToAction"]["url"].startswith("https://acme.test/tasting")
    assert post["name"].startswith(f"accounts/{ACCOUNT}/locations/{HIGH_STREET}/localPosts/")
    [delivery] = Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
    assert delivery.state == State.PUBLISHED and delivery.remote_id == post["name"]


def test_the_demo_sandbox_runs_google_on_port_9109_with_an_app_that_connects(
        world, http, settings):
    from agency.demo.fakes import demo_env, load_all

    sandbox = load_all()
    assert sandbox["google_business"].port == 9109
    env = demo_env()
    urls = json.loads(env["NETWORK_BASE_URLS"])
    assert {urls[key] for key in KEYS} == {"http://127.0.0.1:9109"}
    with sandbox["google_business"].make() as google:
        settings.NETWORK_BASE_URLS = dict.fromkeys(KEYS, google.url)
        settings.OAUTH_CLIENTS = {"google_business": {
            "client_id": env["OAUTH_GOOGLE_BUSINESS_CLIENT_ID"],
            "client_secret": env["OAUTH_GOOGLE_BUSINESS_CLIENT_SECRET"]}}
        client = http(world.acme.host, _manager(world.acme))
        back = google_consent(start(client))
        callback = client.get(local(back))
        assert callback.status_code == 302, callback.content.decode()[:2000]
        assert "/admin/channels/connect/pick/" in callback["Location"]
