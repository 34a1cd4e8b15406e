"""Connecting a Facebook Page in chromium: "Connect account" on the Channels screen, Meta's
consent screen (the local fake), back to the brand, picking one of the person's two Pages.

The shared test server (``live_server_url``) runs with the environment it started with, so this
test runs its own ``manage.py runserver`` pointed at the fake Meta by ``NETWORK_BASE_URLS`` and
``OAUTH_FACEBOOK_*``, as the demo's sandbox does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from agency.demo.fakes.meta import FakeMeta
from campaigns.models import Channel
from tenants.models import Role
from tests.agency.browser import brand_url, sign_in
from tests.conftest import PASSWORD, ROOT, child_env, free_port, wait_for_port

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

PAGE = "20001"


@pytest.fixture
def meta_server(world, django_db_blocker):
    """The fake Meta, and a test server that knows it; Acme's Facebook channels are removed
    afterwards (the server committed them)."""
    with FakeMeta(app_id="meta-browser-app", app_secret="meta-browser-secret") as meta:
        port = free_port()
        env = child_env(
            AGENCY_PORT=str(port),
            NETWORK_BASE_URLS=json.dumps(dict.fromkeys(
                ("facebook_graph", "facebook_www", "threads_graph", "threads_www"), meta.url)),
            OAUTH_FACEBOOK_CLIENT_ID="meta-browser-app",
            OAUTH_FACEBOOK_CLIENT_SECRET="meta-browser-secret")
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
             "--skip-checks", "--insecure"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc)
            yield meta, port
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        Channel.objects.filter(network="facebook").delete()
    connection.set_schema_to_public()


def test_a_manager_connects_a_facebook_page_through_metas_consent_screen(
        context, page, world, meta_server, django_db_blocker):
    meta, port = meta_server
    manager = world.acme.users[Role.ACCOUNT_MANAGER]
    sign_in(page, port, manager.get_username(), PASSWORD)
    page.goto(brand_url("acme", port, "/admin/snippets/campaigns/channel/"))
    page.get_by_role("link", name="Connect account").click()
    page.get_by_role("button", name="Connect Facebook").click()
    expect(page.get_by_role("heading", name="Continue as Facebook user Ada Agency?")) \
        .to_be_visible()
    expect(page.locator("#scopes")).to_contain_text("pages_manage_posts")
    page.get_by_role("link", name="Allow").click()
    expect(page.get_by_role("heading", name="Pick the account to post to")).to_be_visible()
    expect(page.get_by_text("Acme Outlet")).to_be_visible()  # the person's other Page
    page.get_by_label("Acme Coffee").check()
    page.get_by_role("button", name="Use this account").click()
    expect(page.get_by_text("is connected as Acme Coffee")).to_be_visible()
    panel = page.get_by_role("region", name="Connection")
    expect(panel).to_contain_text("Connected as Acme Coffee")
    expect(panel).to_contain_text("pages_manage_posts")
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = Channel.objects.get(network="facebook", account_id=PAGE)
        assert channel.get_secret() == meta.page_token(PAGE)
        assert channel.get_secret() not in channel.secret_encrypted
    connection.set_schema_to_public()
