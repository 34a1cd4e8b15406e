"""A Pinterest account connected through the studio's real connection flow (Connect account,
Pinterest's consent screen, the callback, picking the account) against the local Pinterest
(agency/demo/fakes/pinterest.py): tokens kept encrypted, the account's boards kept for the
editor, refreshed ahead of expiry with the boards read again; a declined consent or a bad
callback explained, nothing saved."""

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

from agency.demo.fakes.pinterest import FakePinterest
from campaigns.models import Channel
from campaigns.publishing import connected, transitions, worker
from campaigns.publishing.models import Delivery, State
from campaigns.publishing.transitions import Outcome
from tenants.models import Role
from tests.connections.conftest import consent_link, local, query
from tests.factories import CampaignFactory, ImageFactory, PostFactory, approve
from tests.forms import form_fields

pytestmark = pytest.mark.django_db

APP = ("pin-app", "pin-secret")
RECIPES, CAFES = "1099511627776", "1099511627777"


@pytest.fixture
def pinterest(settings):
    with FakePinterest(client_id=APP[0], client_secret=APP[1]) as fake:
        settings.NETWORK_BASE_URLS = {"pinterest_api": fake.url, "pinterest_www": fake.url}
        settings.OAUTH_CLIENTS = {"pinterest": {"client_id": APP[0], "client_secret": APP[1]}}
        yield fake


def _manager(brand):
    return brand.users[Role.ACCOUNT_MANAGER]


def start(client) -> str:
    """Press "Connect Pinterest"; the consent screen's address."""
    return consent_link(client.post("/admin/channels/connect/", {"network": "pinterest"}))


def pinterest_consent(url: str, *, allow: bool = True) -> str:
    """Pinterest's consent page: submit its form with "Give access" or "Cancel"; where
    Pinterest sends the person back to."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    assert "Give access" in page.text
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    parts = urlsplit(url)
    answer = requests.post(f"{parts.scheme}://{parts.netloc}/oauth/decide",
                           data={**fields, "decision": "allow" if allow else "deny"},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def test_connecting_keeps_encrypted_tokens_and_the_boards_and_refreshes_ahead_of_expiry(
        world, http, pinterest):
    client = http(world.acme.host, _manager(world.acme))
    assert "Connect Pinterest" in client.get("/admin/channels/connect/").content.decode()
    url = start(client)
    assert url.startswith(f"{pinterest.url}/oauth/?")
    params = query(url)
    assert params["scope"] == "boards:read,pins:read,pins:write,user_accounts:read"
    assert "code_challenge" not in params and params["response_type"] == "code"

    back = pinterest_consent(url)
    with schema_context(world.acme.client.schema_name):
        response = client.get(local(back))
        assert response.status_code == 302, response.content.decode()[:2000]
        pick = client.get(response["Location"])
        assert "Acme Coffee" in pick.content.decode()
        picked = client.post("/admin/channels/connect/pick/", {
            "pick": query(response["Location"])["pick"], "account": pinterest.account_id})
        assert picked.status_code == 302, picked.content.decode()[:3000]
        channel = Channel.objects.get(network="pinterest")
        assert channel.handle == "pinterest.com/acmecoffee"
        assert channel.settings["boards"] == [{"id": RECIPES, "name": "Coffee recipes"},
                                              {"id": CAFES, "name": "Our cafés"}]
        token, refresh = channel.get_secret(), channel.get_refresh_token()
        assert token.startswith("pina_") and token not in channel.secret_encrypted
        assert refresh.startswith("pinr_") and refresh not in channel.refresh_encrypted
        assert set(channel.scopes.split()) == {"boards:read", "pins:read", "pins:write",
                                               "user_accounts:read"}
        assert channel.token_expires_at > timezone.now() + dt.timedelta(days=29)
        # The token endpoint was asked with HTTP Basic, the secret never in the form.
        assert all(r["basic"] and not r["body_secret"] for r in pinterest.token_requests)

        pinterest.boards["1099511627778"] = "Gift ideas"
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(hours=12))
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.get_secret() != token and channel.get_refresh_token() == refresh
    assert not channel.needs_reconnect
    assert channel.token_expires_at > timezone.now() + dt.timedelta(days=29)
    assert {"id": "1099511627778", "name": "Gift ideas"} in channel.settings["boards"]


def connect(client, fake) -> Channel:
    back = pinterest_consent(start(client))
    response = client.get(local(back))
    assert response.status_code == 302, response.content.decode()[:2000]
    picked = client.post("/admin/channels/connect/pick/", {
        "pick": query(response["Location"])["pick"], "account": fake.account_id})
    assert picked.status_code == 302, picked.content.decode()[:3000]
    return Channel.objects.get(network="pinterest")


def test_the_editor_offers_the_boards_and_the_approved_pin_goes_out_once_on_that_board(
        world, http, pinterest):
    acme = world.acme
    with schema_context(acme.client.schema_name):
        channel = connect(http(acme.host, _manager(acme)), pinterest)
        cup = ImageFactory(brand=acme, title="Cup", size=(64, 96))
    page = CampaignFactory(brand=acme, title="Autumn", author=acme.users[Role.EDITOR], posts=[
        PostFactory(copy="Pumpkin spice latte, the recipe", channels=[channel], image=cup,
                    alt_text="A cup of pumpkin spice latte on a wooden table",
                    link="https://acme.test/psl",
                    publish_at=timezone.now() + dt.timedelta(hours=1))])
    editor = http(acme.host, acme.users[Role.EDITOR])
    fields = form_fields(editor.get(f"/admin/pages/{page.pk}/edit/").content.decode(),
                         "page-edit-form")
    opened = editor.post("/admin/campaigns/post-editor/",
                         {"prefix": "posts-0", "summary": fields["posts-0-summary"][0]})
    opened_html = opened.content.decode()
    assert "Coffee recipes" in opened_html and "Our cafés" in opened_html  # the boards
    assert "Pin title" in opened_html
    del fields["posts-0-summary"]
    fields.update(form_fields(f'<form id="f">{opened_html}</form>', "f"))
    # the media StreamField as its widget posts it: the one image, kept
    fields.update({"posts-0-media-count": ["1"], "posts-0-media-0-type": ["image"],
                   "posts-0-media-0-deleted": [""], "posts-0-media-0-order": ["0"],
                   "posts-0-media-0-id": [""],
                   "posts-0-media-0-value-image": [str(cup.pk)],
                   "posts-0-media-0-value-alt_text": [
                       "A cup of pumpkin spice latte on a wooden table"]})
    fields["posts-0-network_options-pinterest-board"] = [""]
    refused = editor.post(f"/admin/pages/{page.pk}/edit/", fields)
    assert refused.status_code == 200
    assert "Pinterest needs “Board”: choose one." in refused.content.decode()
    fields["posts-0-network_options-pinterest-board"] = [CAFES]
    fields["posts-0-network_options-pinterest-title"] = ["Pumpkin spice latte"]
    saved = editor.post(f"/admin/pages/{page.pk}/edit/", fields)
    assert saved.status_code == 302, saved.content.decode()[:2000]

    (delivery,) = approve(page, brand=acme)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    outcomes = [worker.deliver(pk, claim) for pk, claim in transitions.claim_due()]
    delivery.refresh_from_db()
    assert outcomes == [Outcome.PUBLISHED], delivery.error
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert transitions.claim_due() == []  # nothing is sent twice

    [pin] = pinterest.pins
    assert (pin["board_id"], pin["title"], pin["description"], pin["link"], pin["alt_text"]) == (
        CAFES, "Pumpkin spice latte", "Pumpkin spice latte, the recipe",
        "https://acme.test/psl", "A cup of pumpkin spice latte on a wooden table")
    assert pin["media"]["data"].startswith(b"\x89PNG")
    assert delivery.state == State.PUBLISHED and delivery.remote_id == pin["id"]


def test_a_refused_refresh_puts_the_channel_in_needs_reconnect(world, http, pinterest):
    client = http(world.acme.host, _manager(world.acme))
    back = pinterest_consent(start(client))
    with schema_context(world.acme.client.schema_name):
        response = client.get(local(back))
        client.post("/admin/channels/connect/pick/", {
            "pick": query(response["Location"])["pick"], "account": pinterest.account_id})
        channel = Channel.objects.get(network="pinterest")
        channel.set_refresh_token("pinr_revoked")
        channel.token_expires_at = timezone.now() + dt.timedelta(hours=1)
        channel.save()
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.needs_reconnect
    assert "Invalid refresh token" in channel.reconnect_reason


def test_a_declined_consent_is_explained_and_saves_nothing(world, http, pinterest):
    client = http(world.acme.host, _manager(world.acme))
    back = pinterest_consent(start(client), allow=False)
    assert query(back)["error"] == "access_denied"
    text = client.get(local(back)).content.decode()
    assert "Pinterest access was not given" in text and "declined" in text
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.exists()


def test_a_bad_callback_is_refused_with_a_clear_reason_and_saves_nothing(world, http,
                                                                          pinterest):
    client = http(world.acme.host, _manager(world.acme))
    back = pinterest_consent(start(client))
    forged = client.get(local(back).replace("state=", "state=x"))
    assert forged.status_code == 400
    assert "does not match a connection started here" in forged.content.decode()
    # A code Pinterest does not know: its own message, nothing saved.
    state = query(back)["state"]
    wrong = client.get(f"/admin/channels/connect/callback/?code=not-a-code&state={state}")
    assert wrong.status_code == 502
    text = unescape(wrong.content.decode())
    assert "Pinterest did not finish the connection" in text
    assert "Invalid authorization code" in text and "Nothing was saved" in text
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.exists()


def test_the_demo_sandbox_runs_pinterest_on_its_port_with_an_app_that_connects(
        world, http, settings):
    from agency.demo.fakes import demo_env, load_all

    sandbox = load_all()
    assert sandbox["pinterest"].port == 9108
    env = demo_env()
    urls = json.loads(env["NETWORK_BASE_URLS"])
    assert urls["pinterest_api"] == urls["pinterest_www"] == "http://127.0.0.1:9108"
    with sandbox["pinterest"].make() as fake:
        settings.NETWORK_BASE_URLS = {"pinterest_api": fake.url, "pinterest_www": fake.url}
        settings.OAUTH_CLIENTS = {"pinterest": {
            "client_id": env["OAUTH_PINTEREST_CLIENT_ID"],
            "client_secret": env["OAUTH_PINTEREST_CLIENT_SECRET"]}}
        client = http(world.acme.host, _manager(world.acme))
        callback = client.get(local(pinterest_consent(start(client))))
        assert callback.status_code == 302, callback.content.decode()[:2000]
        assert "/admin/channels/connect/pick/" in callback["Location"]


def test_the_preview_shows_the_pins_title_and_what_the_pin_still_lacks(world):
    from django.test import RequestFactory

    from campaigns.models import CampaignPage
    from tests.factories import ChannelFactory

    channel = ChannelFactory(brand=world.acme, name="Acme on Pinterest", network="pinterest",
                             handle="pinterest.com/acmecoffee",
                             settings={"boards": [{"id": RECIPES, "name": "Coffee recipes"}]})
    cup = ImageFactory(brand=world.acme, title="Cup", size=(64, 96))
    page = CampaignFactory(brand=world.acme, title="Pins", author=world.acme.users[Role.EDITOR],
                           posts=[PostFactory(copy="Pumpkin spice latte, the recipe",
                                              channels=[channel], image=cup, alt_text="A cup",
                                              network_options={"pinterest": {
                                                  "board": RECIPES,
                                                  "title": "Pumpkin spice latte"}}),
                                  PostFactory(copy="Text alone", channels=[channel])])
    with schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        request = RequestFactory(HTTP_HOST=world.acme.host).get("/")
        request.user = world.acme.users[Role.EDITOR]
        response = draft.serve_preview(request, "pinterest")
        response.render()
    html = unescape(response.content.decode())

    assert html.count('class="card card--pinterest"') == 2
    assert '<p class="card__title"><strong>Pumpkin spice latte</strong></p>' in html
    second = html[html.rindex('class="card card--pinterest"'):]
    assert "Pinterest needs an image or a video in every post" in second
    assert "Pinterest needs “Board”: choose one." in second
    assert "card__title" not in second
