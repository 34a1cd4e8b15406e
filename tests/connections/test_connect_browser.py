"""Connecting a Mastodon account in chromium, through the fake server's consent screen: the
button on the Channels screen, the server's address, consent, picking the account; and a
declined consent explained."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from agency.demo.fakes import FakeMastodon
from campaigns.models import Channel, OAuthApp
from tenants.models import Role
from tests.agency.browser import brand_url

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def mastodon(world, django_db_blocker):
    """The fake server; what the test server saved in Acme is removed afterwards."""
    with FakeMastodon(username="acmecoffee") as fake:
        url = fake.url
        yield fake
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        Channel.objects.filter(endpoint=url).delete()
        OAuthApp.objects.filter(server=url).delete()
    connection.set_schema_to_public()


def _to_consent(page, live_server_url, mastodon):
    page.goto(brand_url("acme", live_server_url, "/admin/snippets/campaigns/channel/"))
    page.get_by_role("link", name="Connect account").click()
    page.get_by_label("Your Mastodon server").fill(mastodon.url)
    page.get_by_role("button", name="Connect Mastodon").click()
    expect(page.get_by_role("heading", name="Authorization required")).to_be_visible()
    expect(page.get_by_text("write:statuses")).to_be_visible()


def test_a_manager_connects_a_mastodon_account_through_its_consent_screen(
        context, page, signed_in, world, live_server_url, mastodon, django_db_blocker):
    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    _to_consent(page, live_server_url, mastodon)
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", name="Pick the account to post to")).to_be_visible()
    page.get_by_label("Acmecoffee (@acmecoffee@127.0.0.1)").check()
    page.get_by_role("button", name="Use this account").click()
    expect(page.get_by_text("is connected as @acmecoffee@127.0.0.1")).to_be_visible()
    connection_panel = page.get_by_role("region", name="Connection")
    expect(connection_panel).to_contain_text("Connected as @acmecoffee@127.0.0.1")
    expect(connection_panel).to_contain_text("write:statuses")
    expect(connection_panel.get_by_role("link", name="Disconnect")).to_be_visible()
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = Channel.objects.get(endpoint=mastodon.url)
        assert channel.get_secret() in mastodon.issued
    connection.set_schema_to_public()


def test_a_declined_consent_is_explained_and_nothing_is_saved(
        context, page, signed_in, world, live_server_url, mastodon, django_db_blocker):
    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    _to_consent(page, live_server_url, mastodon)
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Mastodon access was not given")).to_be_visible()
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(endpoint=mastodon.url).exists()
    connection.set_schema_to_public()
