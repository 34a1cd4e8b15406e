"""Rolling an endpoint's signing secret: the new one is shown once, the old one keeps signing
beside it for WEBHOOKS_SECRET_OVERLAP_HOURS so the receiver switches without refusing a request,
and then only the new one signs. Through the API and in the admin."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.api.models import IdempotentRequest
from agency.webhooks.models import WebhookEndpoint
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.webhooks.conftest import independent_verify, make_endpoint, send_due

pytestmark = pytest.mark.django_db


def _signatures(receiver) -> int:
    headers, _ = receiver.requests[-1]
    return len({k.lower(): v for k, v in headers.items()}["webhook-signature"].split())


def _verifies(receiver, secret: str) -> bool:
    headers, body = receiver.requests[-1]
    return independent_verify(secret, headers, body)


def test_an_integrator_rolls_the_secret_and_both_sign_until_the_overlap_ends(world, receiver,
                                                                              settings):
    settings.WEBHOOKS_SECRET_OVERLAP_HOURS = 24
    endpoint, old = make_endpoint(world.acme, receiver.url)
    client = ApiClient(world.acme.host, make_key(world.acme))
    url = f"/api/v1/webhooks/{endpoint.pk}/"
    assert client.send("GET", url).json()["previous_secret_until"] is None

    rolled = client.send("POST", f"{url}roll-secret/")
    assert rolled.status_code == 200, rolled.content
    new = rolled.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert rolled.json()["secret_hint"] == "…" + new[-4:]
    until = dt.datetime.fromisoformat(rolled.json()["previous_secret_until"])
    assert abs(until - (timezone.now() + dt.timedelta(hours=24))) < dt.timedelta(minutes=1)
    assert "secret" not in client.send("GET", url).json()  # shown in that answer only

    client.send("POST", f"{url}test/")
    assert send_due(world.acme.client.schema_name) == ["delivered"]
    assert _signatures(receiver) == 2  # the receiver may check either secret meanwhile
    assert _verifies(receiver, old) and _verifies(receiver, new)

    with schema_context(world.acme.client.schema_name):
        stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
        assert stored.get_secret() == new and stored.signing_secrets(timezone.now()) == [new, old]
        stored.previous_secret_until = timezone.now() - dt.timedelta(seconds=1)  # overlap over
        stored.save()
    client.send("POST", f"{url}test/")
    assert send_due(world.acme.client.schema_name) == ["delivered"]
    assert _signatures(receiver) == 1
    assert _verifies(receiver, new) and not _verifies(receiver, old)


def test_rolling_needs_the_write_scope_and_a_role_that_manages_webhooks(world, receiver):
    endpoint, secret = make_endpoint(world.acme, receiver.url)
    path = f"/api/v1/webhooks/{endpoint.pk}/roll-secret/"
    reader = ApiClient(world.acme.host, make_key(world.acme, scopes=("read",)))
    editor = ApiClient(world.acme.host, make_key(world.acme, role=Role.EDITOR))
    assert reader.send("POST", path).status_code == 403
    assert editor.send("POST", path).status_code == 403
    other = ApiClient(world.globex.host, make_key(world.globex))
    assert other.send("POST", path).status_code == 404  # Acme's endpoint is not on Globex
    with schema_context(world.acme.client.schema_name):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).get_secret() == secret


def test_a_repeated_create_replays_the_secret_which_is_not_stored_readable(world, receiver):
    client = ApiClient(world.acme.host, make_key(world.acme))
    body = {"url": receiver.url, "events": ["campaign.approved"]}
    first = client.send("POST", "/api/v1/webhooks/", body, **{"Idempotency-Key": "hook-1"})
    again = client.send("POST", "/api/v1/webhooks/", body, **{"Idempotency-Key": "hook-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    secret = first.json()["secret"]
    assert again.json()["secret"] == secret
    with schema_context(world.acme.client.schema_name):
        [stored] = IdempotentRequest.objects.values_list("response_encrypted", flat=True)
        assert secret not in stored and secret.removeprefix("whsec_") not in stored


def test_an_account_manager_rolls_the_secret_in_the_admin(world, http, receiver):
    endpoint, old = make_endpoint(world.acme, receiver.url)
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    edit = manager.get(f"/admin/webhooks/{endpoint.pk}/").content.decode()
    assert "Roll signing secret" in edit and "data-previous-secret" not in edit
    page = manager.post(f"/admin/webhooks/{endpoint.pk}/roll-secret/")
    assert page.status_code == 200
    shown = re.search(r"<code data-webhook-secret>(whsec_[^<]+)</code>", page.content.decode())
    with schema_context(world.acme.client.schema_name):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).get_secret() == shown.group(1) != old
    assert "data-previous-secret" in page.content.decode()
    edit = manager.get(f"/admin/webhooks/{endpoint.pk}/").content.decode()
    assert "previous secret still signs" in edit
    assert shown.group(1) not in edit  # shown once
    for user in (world.acme.users[Role.EDITOR], world.globex.users[Role.ACCOUNT_MANAGER]):
        visitor = http(world.acme.host, user=user, raise_request_exception=False)
        refused = visitor.post(f"/admin/webhooks/{endpoint.pk}/roll-secret/")
        assert refused.status_code in (302, 403) and b"whsec_" not in refused.content
    with schema_context(world.acme.client.schema_name):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).get_secret() == shown.group(1)
    assert manager.get(f"/admin/webhooks/{endpoint.pk}/roll-secret/").status_code == 405
