"""Connected accounts' token lifecycle: a token that stops working holds the channel's posts
(never failed or dropped) until the channel is reconnected, which sends each exactly once;
tokens are refreshed ahead of expiry where the network can, and staff warned once where not."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.demo.fakes import FakeMastodon, FakeTokenServer
from campaigns import connections
from campaigns.models import Channel
from campaigns.publishing import connected, transitions, worker
from campaigns.publishing.models import Delivery, EventKind, ReconnectWait, State
from campaigns.publishing.transitions import Outcome
from tenants.models import Role
from tests.connections.conftest import consent, consent_link, local, query
from tests.factories import ChannelFactory
from tests.publishing.conftest import approve, make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def mastodon():
    with FakeMastodon(username="acmecoffee") as fake:
        yield fake


def _due(kit, channel, copies):
    now = timezone.now()
    page = make_campaign(kit.schema, posts=[(copy, [channel], now + dt.timedelta(hours=1),
                                             kit.image) for copy in copies])
    deliveries = approve(kit.schema, page)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(next_attempt_at=now)
    return deliveries


def _send_due():
    return [worker.deliver(pk, claim) for pk, claim in transitions.claim_due()]


def test_a_refused_token_holds_the_channels_posts_until_reconnected_then_each_goes_once(
        world, kit, http, mastodon, django_capture_on_commit_callbacks):
    acme = world.acme
    manager = acme.users[Role.ACCOUNT_MANAGER]
    client = http(acme.host, manager)
    # Connected through the consent screen.
    start = client.post("/admin/channels/connect/", {"network": "mastodon",
                                                     "server": mastodon.url})
    picked = client.get(local(consent(consent_link(start))))
    client.post("/admin/channels/connect/pick/", {"pick": query(picked["Location"])["pick"],
                                                  "account": mastodon.account_id})
    with schema_context(kit.schema):
        channel = Channel.objects.get(network="mastodon")
    first, second = _due(kit, channel, ["Spring blend is here", "Second post of spring"])
    mastodon.revoke_all()  # the account's password changed: every token stops working
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = _send_due()
    assert Outcome.WAITING in outcomes
    for delivery in (first, second):
        delivery.refresh_from_db()
        assert delivery.state == State.SCHEDULED  # not failed, not dropped
    waited = [d for d in (first, second) if d.events.filter(
        kind=EventKind.WAITING_RECONNECT).exists()]
    assert waited and "reconnect the channel" in waited[0].error
    with schema_context(kit.schema):
        channel.refresh_from_db()
        assert channel.needs_reconnect and "no longer takes" in channel.reconnect_reason
    assert ReconnectWait.objects.filter(client=acme.client, channel_id=channel.pk).exists()
    assert mastodon.posts == []
    (email,) = [m for m in mail.outbox if "Reconnect" in m.subject]
    assert manager.email in email.to and "2 scheduled posts" in email.body

    # Held: the dispatcher does not take them, and further refusals send no second email.
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(next_attempt_at=timezone.now())
    assert transitions.claim_due() == []
    with schema_context(kit.schema), django_capture_on_commit_callbacks(execute=True):
        assert connected.channel_needs_reconnect(channel, "again") is False
    assert len([m for m in mail.outbox if "Reconnect" in m.subject]) == 1

    # The channel screen shows it, with the Reconnect button and the posts at risk.
    with schema_context(kit.schema):
        screen = client.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/")
    text = screen.content.decode()
    assert "Needs reconnect" in text and "2 scheduled posts" in text and "Reconnect" in text

    # The dashboard and the calendar show the posts at risk.
    with schema_context(kit.schema):
        dashboard = client.get("/admin/").content.decode()
        day = first.publish_at.astimezone(zoneinfo.ZoneInfo(acme.client.time_zone)).date()
        calendar = client.get(f"/admin/calendar/?view=week&week={day}").content.decode()
    assert "Channels that need reconnecting" in dashboard
    assert "2 scheduled posts at risk" in dashboard
    assert calendar.count("At risk: the channel needs reconnecting") == 2

    # Reconnecting (consent again) lets both go, each exactly once.
    start = client.post("/admin/channels/connect/", {"network": "mastodon",
                                                     "server": mastodon.url,
                                                     "channel": channel.pk})
    picked = client.get(local(consent(consent_link(start))))
    client.post("/admin/channels/connect/pick/", {"pick": query(picked["Location"])["pick"],
                                                  "account": mastodon.account_id})
    with schema_context(kit.schema):
        channel.refresh_from_db()
        assert not channel.needs_reconnect
    assert not ReconnectWait.objects.filter(client=acme.client, channel_id=channel.pk).exists()
    assert sorted(_send_due()) == [Outcome.PUBLISHED, Outcome.PUBLISHED]
    assert _send_due() == []
    assert sorted(p["text"] for p in mastodon.posts) == ["Second post of spring",
                                                          "Spring blend is here"]
    assert mastodon.duplicates() == {}
    for delivery in (first, second):
        delivery.refresh_from_db()
        assert delivery.state == State.PUBLISHED


def test_a_disconnected_channels_posts_wait_and_are_not_failed(world, kit, mastodon):
    with schema_context(kit.schema):
        channel = ChannelFactory(brand=world.acme, network="mastodon", endpoint=mastodon.url,
                                 secret=mastodon.token, account_id=mastodon.account_id)
    (delivery,) = _due(kit, channel, ["Waits for its channel"])
    with schema_context(kit.schema):
        connected.channel_disconnect(channel)
    assert _send_due() == []
    delivery.refresh_from_db()
    assert delivery.state == State.SCHEDULED and mastodon.posts == []
    with schema_context(kit.schema):
        channel.delete()  # removed instead of reconnected: its post no longer waits for it
    assert _send_due() == [Outcome.FAILED]
    delivery.refresh_from_db()
    assert "was removed" in delivery.error


class ExampleProvider(connections.Provider):
    """A network with expiring access tokens (and refresh tokens when ``refreshes``), its token
    endpoint the fake's."""

    network = "sandbox"
    label = "Example"

    def __init__(self, server: FakeTokenServer, *, refreshes: bool):
        self.server = server
        self.issues_refresh_tokens = refreshes

    def oauth_client(self):
        return {"client_id": self.server.client_id, "client_secret": self.server.client_secret}

    def token_url(self):
        return f"{self.server.url}/oauth/token"

    def refresh(self, channel):
        return self.fetch_refreshed(channel)


@pytest.fixture
def token_server():
    with FakeTokenServer(lifetime=7200) as server:
        yield server


def _expiring_channel(world, access, refresh, expires_in):
    channel = ChannelFactory(brand=world.acme, name="Example channel", secret=access,
                             account_id="acct-1")
    with schema_context(world.acme.client.schema_name):
        channel.set_refresh_token(refresh)
        channel.token_expires_at = timezone.now() + expires_in
        channel.connected_at = timezone.now()
        channel.save()
    return channel


def test_the_job_refreshes_a_token_ahead_of_its_expiry_and_keeps_the_new_ones_encrypted(
        world, token_server, monkeypatch):
    monkeypatch.setitem(connections.PROVIDERS, "sandbox",
                        ExampleProvider(token_server, refreshes=True))
    access, refresh = token_server.grant()
    soon = _expiring_channel(world, access, refresh, dt.timedelta(hours=2))
    later = _expiring_channel(world, *token_server.grant(), dt.timedelta(days=20))
    connected.tokens_check_all()
    assert token_server.refreshes == 1
    with schema_context(world.acme.client.schema_name):
        soon.refresh_from_db()
        later.refresh_from_db()
        assert soon.get_secret() in token_server.access_tokens and soon.get_secret() != access
        assert soon.get_refresh_token() in token_server.refresh_tokens
        assert soon.get_secret() not in soon.secret_encrypted
        assert soon.token_expires_at > timezone.now() + dt.timedelta(minutes=110)
        assert later.get_refresh_token() in token_server.refresh_tokens  # not due: untouched
        assert not soon.needs_reconnect


def test_a_refused_refresh_puts_the_channel_in_needs_reconnect_and_emails_once(
        world, token_server, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setitem(connections.PROVIDERS, "sandbox",
                        ExampleProvider(token_server, refreshes=True))
    channel = _expiring_channel(world, *token_server.grant(), dt.timedelta(hours=1))
    token_server.revoke_all()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        connected.tokens_check_all()
        connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
        assert channel.needs_reconnect and "invalid_grant" in channel.reconnect_reason
    (email,) = mail.outbox
    assert "Reconnect Example channel" in email.subject
    assert world.acme.users[Role.ACCOUNT_MANAGER].email in email.to


def test_a_refresh_that_cannot_reach_the_network_tries_again_later(
        world, token_server, monkeypatch):
    monkeypatch.setitem(connections.PROVIDERS, "sandbox",
                        ExampleProvider(token_server, refreshes=True))
    channel = _expiring_channel(world, *token_server.grant(), dt.timedelta(hours=1))
    token_server.fail_next(1, status=503)
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert not channel.needs_reconnect
    connected.tokens_check_all()
    assert token_server.refreshes == 1


def test_without_refresh_tokens_the_managers_are_warned_once_ahead_of_expiry(
        world, token_server, monkeypatch):
    monkeypatch.setitem(connections.PROVIDERS, "sandbox",
                        ExampleProvider(token_server, refreshes=False))
    channel = _expiring_channel(world, "long-lived", "", dt.timedelta(days=3))
    far = _expiring_channel(world, "far", "", dt.timedelta(days=40))
    mail.outbox.clear()
    connected.tokens_check_all()
    connected.tokens_check_all()
    (email,) = mail.outbox
    assert email.subject.startswith("Reconnect Example channel before")
    assert f"/admin/snippets/campaigns/channel/edit/{channel.pk}/" in email.body
    with schema_context(world.acme.client.schema_name):
        # Once expired, the channel needs reconnecting (its posts wait).
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() - dt.timedelta(minutes=1))
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
        far.refresh_from_db()
        assert channel.needs_reconnect and "expired" in channel.reconnect_reason
        assert not far.needs_reconnect
