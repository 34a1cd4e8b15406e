"""Connecting a brand's Mastodon account by OAuth: consent, picking the account, the callback's
refusals, reconnect, disconnect, and that none of it crosses brands."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from campaigns.models import Channel, OAuthApp
from tenants.models import Role
from tests.connections.conftest import consent, consent_link, local, query
from tests.factories import ChannelFactory, MemberFactory

pytestmark = pytest.mark.django_db


def _manager(brand):
    return brand.users[Role.ACCOUNT_MANAGER]


def start(client, mastodon, **extra) -> str:
    """Press "Connect Mastodon" with the fake's address; returns the consent screen's URL."""
    return consent_link(client.post("/admin/channels/connect/",
                                    {"network": "mastodon", "server": mastodon.url, **extra}))


def connect(client, mastodon, **extra) -> Channel:
    """The whole flow: start, consent, callback, pick the one account."""
    back = consent(start(client, mastodon, **extra))
    response = client.get(local(back))
    assert response.status_code == 302, response.content.decode()[:2000]
    pick = client.get(response["Location"])
    assert pick.status_code == 200
    picked = client.post("/admin/channels/connect/pick/", {
        "pick": query(response["Location"])["pick"], "account": mastodon.account_id})
    assert picked.status_code == 302, picked.content.decode()[:2000]
    return Channel.objects.get(account_id=mastodon.account_id)


def test_channels_screen_offers_connect_account_to_channel_managers_only(world, http):
    acme = world.acme
    page = http(acme.host, _manager(acme)).get("/admin/snippets/campaigns/channel/")
    assert "Connect account" in page.content.decode()
    start_page = http(acme.host, _manager(acme)).get("/admin/channels/connect/")
    assert "Connect Mastodon" in start_page.content.decode()
    assert "Your Mastodon server" in start_page.content.decode()
    editor = http(acme.host, acme.users[Role.EDITOR])
    assert "Connect account" not in editor.get("/admin/snippets/campaigns/channel/") \
        .content.decode()
    # Wagtail's admin answers a refused permission by sending the person to the dashboard.
    assert editor.get("/admin/channels/connect/")["Location"] == "/admin/"
    refused = editor.post("/admin/channels/connect/", {"network": "mastodon", "server": "x"})
    assert refused["Location"] == "/admin/"


def test_connecting_mastodon_registers_an_app_on_the_server_and_asks_consent_with_pkce(
        world, http, mastodon):
    acme = world.acme
    client = http(acme.host, _manager(acme))
    url = start(client, mastodon)
    params = query(url)
    assert url.startswith(f"{mastodon.url}/oauth/authorize?")
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["redirect_uri"] == f"http://{acme.host}/admin/channels/connect/callback/"
    assert params["scope"] == "read:accounts read:statuses write:media write:statuses"
    assert len(params["state"]) >= 40
    (app,) = mastodon.apps.values()
    assert app["redirect_uris"] == [params["redirect_uri"]]
    with schema_context(acme.client.schema_name):
        stored = OAuthApp.objects.get(server=mastodon.url)
        assert stored.client_id == params["client_id"]
        assert app["secret"] not in stored.secret_encrypted  # encrypted at rest
        assert stored.get_secret() == app["secret"]
    start(client, mastodon)  # a second connection reuses the app
    assert len(mastodon.apps) == 1


def test_consent_then_pick_makes_a_connected_channel_with_its_token_encrypted(
        world, http, mastodon):
    acme = world.acme
    client = http(acme.host, _manager(acme))
    back = consent(start(client, mastodon))
    assert back.startswith(f"http://{acme.host}/admin/channels/connect/callback/?code=")
    response = client.get(local(back))
    pick = client.get(response["Location"]).content.decode()
    assert "Acmecoffee" in pick and "@acmecoffee@127.0.0.1" in pick
    with schema_context(acme.client.schema_name):
        assert not Channel.objects.exists()  # nothing saved before the pick
    client.post("/admin/channels/connect/pick/", {"pick": query(response["Location"])["pick"],
                                                  "account": mastodon.account_id})
    with schema_context(acme.client.schema_name):
        channel = Channel.objects.get()
        (token,) = mastodon.issued
        assert channel.get_secret() == token and token not in channel.secret_encrypted
        assert channel.network == "mastodon" and channel.endpoint == mastodon.url
        assert channel.account_id == mastodon.account_id
        assert channel.handle == "@acmecoffee@127.0.0.1"
        assert channel.scopes == "read:accounts read:statuses write:media write:statuses"
        assert channel.connected_at is not None and not channel.needs_reconnect
        screen = client.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/")
    text = screen.content.decode()
    assert "Connected as" in text and "write:statuses" in text and "Disconnect" in text


def test_a_callback_with_a_missing_unknown_or_used_state_is_refused_and_saves_nothing(
        world, http, mastodon):
    acme = world.acme
    client = http(acme.host, _manager(acme))
    back = consent(start(client, mastodon))
    forged = local(back).replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 400
    assert "does not match a connection started here" in response.content.decode()
    missing = client.get("/admin/channels/connect/callback/?code=" + query(back)["code"])
    assert missing.status_code == 400
    assert client.get(local(back)).status_code == 302  # the real one still works, once
    again = client.get(local(back))
    assert again.status_code == 400 and "already used" in again.content.decode()
    with schema_context(acme.client.schema_name):
        assert not Channel.objects.exists()


def test_denied_consent_is_explained_and_saves_nothing(world, http, mastodon):
    acme = world.acme
    client = http(acme.host, _manager(acme))
    back = consent(start(client, mastodon), approve=False)
    assert query(back)["error"] == "access_denied"
    page = client.get(local(back))
    text = page.content.decode()
    assert "Mastodon access was not given" in text and "declined" in text
    with schema_context(acme.client.schema_name):
        assert not Channel.objects.exists()
    assert not mastodon.issued


def test_a_server_that_is_not_mastodon_is_explained(world, http):
    from agency.demo.fakes import closed_port_url

    acme = world.acme
    client = http(acme.host, _manager(acme))
    response = client.post("/admin/channels/connect/", {"network": "mastodon",
                                                        "server": closed_port_url()})
    assert response.status_code == 400
    assert "Could not reach the Mastodon server" in response.content.decode()
    bad = client.post("/admin/channels/connect/", {"network": "mastodon", "server": "a b"})
    assert "Give your Mastodon server" in bad.content.decode()


def test_a_state_from_one_brand_is_refused_on_another_brands_host(world, http, mastodon):
    acme, globex = world.acme, world.globex
    user = _manager(acme)
    MemberFactory(client=globex.client, role=Role.ACCOUNT_MANAGER, user=user)
    client = http(acme.host, user)
    back = consent(start(client, mastodon))
    # The same person, signed in on both brands, lands on Globex's host with Acme's state.
    response = client.get(local(back), HTTP_HOST=globex.host)
    assert response.status_code == 400
    assert "started for another brand" in response.content.decode()
    for schema in (acme.client.schema_name, globex.client.schema_name):
        with schema_context(schema):
            assert not Channel.objects.exists()


def test_a_brands_channel_cannot_be_disconnected_or_reconnected_from_another_brand(
        world, http, mastodon):
    acme, globex = world.acme, world.globex
    channel = ChannelFactory(brand=acme, network="mastodon", endpoint=mastodon.url,
                             secret=mastodon.token, account_id=mastodon.account_id)
    other = http(globex.host, _manager(globex))
    assert other.get(f"/admin/channels/{channel.pk}/disconnect/").status_code == 404
    assert other.post(f"/admin/channels/{channel.pk}/disconnect/").status_code == 404
    assert other.get(f"/admin/channels/connect/?channel={channel.pk}").status_code == 404
    assert other.post("/admin/channels/connect/", {"network": "mastodon", "server": mastodon.url,
                                                   "channel": channel.pk}).status_code == 404
    assert not mastodon.revoked
    with schema_context(acme.client.schema_name):
        channel.refresh_from_db()
        assert channel.get_secret() == mastodon.token


def test_disconnect_revokes_the_token_at_mastodon_and_forgets_it(world, http, mastodon):
    acme = world.acme
    client = http(acme.host, _manager(acme))
    with schema_context(acme.client.schema_name):
        channel = connect(client, mastodon)
    (token,) = mastodon.issued
    confirm = client.get(f"/admin/channels/{channel.pk}/disconnect/")
    assert "revoked at the network" in confirm.content.decode()
    assert not mastodon.revoked  # a GET changes nothing
    client.post(f"/admin/channels/{channel.pk}/disconnect/")
    assert mastodon.revoked == [token] and not mastodon.issued
    with schema_context(acme.client.schema_name):
        channel.refresh_from_db()
        assert channel.get_secret() == "" and channel.needs_reconnect
        screen = client.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/")
    assert "Needs reconnect" in screen.content.decode()
    assert "Reconnect" in screen.content.decode()


def test_reconnecting_with_another_account_is_refused(world, http, mastodon):
    acme = world.acme
    client = http(acme.host, _manager(acme))
    with schema_context(acme.client.schema_name):
        channel = connect(client, mastodon)
        Channel.objects.filter(pk=channel.pk).update(account_id="someone-else",
                                                     handle="@other@127.0.0.1")
        back = consent(start(client, mastodon, channel=channel.pk))
        response = client.get(local(back))
        picked = client.post("/admin/channels/connect/pick/", {
            "pick": query(response["Location"])["pick"], "account": mastodon.account_id})
        assert picked.status_code == 400
        assert "posts as @other@127.0.0.1" in picked.content.decode()
        channel.refresh_from_db()
        assert channel.account_id == "someone-else"

