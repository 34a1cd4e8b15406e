"""Connecting an X account in chromium: "Connect account" on the Channels screen, X's consent
screen (the local fake, PKCE), back to the brand, picking the account; the channel's screen
then shows the connection and the scopes X granted.

The shared test server (``live_server_url``) runs with the environment it started with, so this
test runs its own ``manage.py runserver`` pointed at the fake X by ``NETWORK_BASE_URLS`` and
``OAUTH_X_*``, as the demo's sandbox does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from agency.demo.fakes.x import FakeX
from campaigns.models import Channel
from tenants.models import Role
from tests.agency.browser import brand_url, sign_in
from tests.conftest import PASSWORD, ROOT, child_env, free_port, wait_for_port

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

USER = "1500000000000000077"


@pytest.fixture
def x_server(world, django_db_blocker):
    """The fake X, and a test server that knows it; Acme's X channels are removed afterwards
    (the server committed them)."""
    with FakeX(client_id="x-browser-app", client_secret="x-browser-secret", user_id=USER,
               username="acmecoffee", display_name="Acme Coffee") as fake:
        port = free_port()
        env = child_env(
            AGENCY_PORT=str(port),
            NETWORK_BASE_URLS=json.dumps({"x_api": fake.url, "x_www": fake.url}),
            OAUTH_X_CLIENT_ID="x-browser-app", OAUTH_X_CLIENT_SECRET="x-browser-secret")
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
             "--skip-checks", "--insecure"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc)
            yield fake, port
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        Channel.objects.filter(network="x").delete()
    connection.set_schema_to_public()


def test_a_manager_connects_an_x_account_through_xs_consent_screen(
        context, page, world, x_server, django_db_blocker):
    fake, port = x_server
    manager = world.acme.users[Role.ACCOUNT_MANAGER]
    sign_in(page, port, manager.get_username(), PASSWORD)
    page.goto(brand_url("acme", port, "/admin/snippets/campaigns/channel/"))
    page.get_by_role("link", name="Connect account").click()
    page.get_by_role("button", name="Connect X").click()
    expect(page.get_by_role("heading", name="An app wants to access your X account")) \
        .to_be_visible()
    expect(page.get_by_text("media.write")).to_be_visible()
    page.get_by_role("button", name="Authorize app").click()
    expect(page.get_by_role("heading", name="Pick the account to post to")).to_be_visible()
    page.get_by_label("Acme Coffee").check()
    page.get_by_role("button", name="Use this account").click()
    expect(page.get_by_text("is connected as @acmecoffee")).to_be_visible()
    panel = page.get_by_role("region", name="Connection")
    expect(panel).to_contain_text("Connected as @acmecoffee")
    expect(panel).to_contain_text("tweet.write")
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = Channel.objects.get(network="x", account_id=USER)
        assert channel.handle == "@acmecoffee"
        assert channel.get_secret() and channel.get_secret() not in channel.secret_encrypted
        assert channel.get_refresh_token()
    connection.set_schema_to_public()
