"""A brand's API key reaches nothing of another brand: every API route, with the other brand's
real ids, both on its own host and on the other brand's host."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient, make_key
from tests.test_isolation import _assert_denied, targets

pytestmark = pytest.mark.django_db


def _api_targets(samples):
    found, _ = targets("agency.urls_tenant", samples)
    api = [t for t in found if t.name.startswith("api-")]
    assert len({t.name for t in api}) >= 15
    return api


def test_an_acme_key_gets_nothing_of_globex_on_its_own_host(world, globex_objects):
    client = ApiClient(world.acme.host, make_key(world.acme))
    secrets = globex_objects["secrets"]
    for target in _api_targets(globex_objects):
        for method in ("GET", "POST", "PATCH", "DELETE"):
            response = client.send(method, target.path, {})
            body = response.content
            for secret in secrets:
                assert secret not in body, f"{method} {target.path} shows {secret!r}"
            assert response.status_code < 500, f"{method} {target.path}: {body[:300]!r}"


def test_an_acme_key_is_refused_on_globex_host_everywhere(world, globex_objects):
    client = ApiClient(world.globex.host, make_key(world.acme))
    for target in _api_targets(globex_objects):
        if target.name in ("api-schema", "api-docs", "api-problem"):
            continue
        for method in ("GET", "POST"):
            response = client.send(method, target.path, {})
            _assert_denied(response, target, method, globex_objects["secrets"])
            assert response.status_code in (401, 404, 405), (method, target.path,
                                                             response.status_code)
