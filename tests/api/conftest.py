"""Fixtures for the API tests: brand API keys and a client that sends them."""

from __future__ import annotations

import json

import pytest
from django.test import Client as HttpClient
from django_tenants.utils import schema_context

from tenants.models import Role
from tests.test_isolation import globex_objects  # noqa: F401 - fixtures, shared here
from tests.webhooks.conftest import receiver  # noqa: F401


def make_key(brand, *, role=Role.ACCOUNT_MANAGER, scopes=("read", "write", "approve"),
             name="Test key") -> str:
    from agency.api.services import api_key_create

    with schema_context(brand.client.schema_name):
        _, raw = api_key_create(name=name, scopes=list(scopes), user=brand.users[role])
    return raw


class ApiClient(HttpClient):
    """Sends every request to one host with one API key, JSON in and out."""

    def __init__(self, host: str, key: str | None):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        super().__init__(HTTP_HOST=host, headers=headers, raise_request_exception=False)

    def send(self, method: str, path: str, data=None, **headers):
        if method.upper() in ("GET", "HEAD"):
            return getattr(self, method.lower())(path, headers=headers)
        body = json.dumps(data) if data is not None else None
        return getattr(self, method.lower())(path, body, content_type="application/json",
                                             headers=headers)


@pytest.fixture
def api(world):
    def make(brand=None, key: str | None = "default", **key_options) -> ApiClient:
        brand = brand or world.acme
        if key == "default":
            key = make_key(brand, **key_options)
        return ApiClient(brand.host, key)

    return make
