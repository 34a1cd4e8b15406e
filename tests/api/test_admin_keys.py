"""API keys in the brand's admin: created by account managers, shown once, revoked."""

import re

import pytest
from django_tenants.utils import schema_context

from tenants.models import Role
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_an_account_manager_creates_a_key_sees_it_once_and_revokes_it(world, http):
    from agency.api.models import ApiKey

    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    page = manager.post("/admin/api-keys/", {"name": "Dashboard", "scopes": ["read"]})
    assert page.status_code == 200
    raw = re.search(rb"data-api-key>(agk_[\w-]+)<", page.content).group(1).decode()
    assert ApiClient(world.acme.host, raw).send("GET", "/api/v1/campaigns/").status_code == 200
    listing = manager.get("/admin/api-keys/")
    assert raw.encode() not in listing.content and b"Dashboard" in listing.content
    with schema_context(world.acme.client.schema_name):
        key = ApiKey.objects.get(name="Dashboard")
        assert key.scopes == ["read"]
    manager.post(f"/admin/api-keys/{key.pk}/revoke/")
    assert ApiClient(world.acme.host, raw).send("GET", "/api/v1/campaigns/").status_code == 401


def test_a_key_needs_a_name_and_a_scope(world, http):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    page = manager.post("/admin/api-keys/", {"name": "", "scopes": []})
    assert b"data-api-key" not in page.content
    assert b"This field is required" in page.content


def test_editors_cannot_manage_keys(world, http):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR],
                  raise_request_exception=False)
    assert editor.get("/admin/api-keys/").status_code in (302, 403)
    assert editor.post("/admin/api-keys/", {"name": "X", "scopes": ["read"]}).status_code in (
        302, 403)


def test_a_key_stops_working_when_its_creator_leaves_the_brand(world, http):

    from tenants.services import SYSTEM, membership_remove
    from tests.api.conftest import make_key
    from tests.factories import MemberFactory

    user = MemberFactory(client=world.acme.client, role=Role.ACCOUNT_MANAGER,
                         user__username="leaver@acme.test", user__password="x" * 20).user
    world.acme.users["leaver"] = user
    try:
        raw = make_key(world.acme, role="leaver")
        client = ApiClient(world.acme.host, raw)
        assert client.send("GET", "/api/v1/channels/").status_code == 200
        membership_remove(client=world.acme.client, user=user, actor=SYSTEM)
        response = client.send("GET", "/api/v1/channels/")
        assert response.status_code == 401
        assert "no longer has access" in response.json()["detail"]
    finally:
        del world.acme.users["leaver"]
