"""Webhook endpoints and their delivery log through the API, as an integrator meets them."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from agency.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.webhooks.conftest import make_endpoint, send_due

pytestmark = pytest.mark.django_db


def _api(brand, **options) -> ApiClient:
    return ApiClient(brand.host, make_key(brand, **options))


def test_an_integrator_registers_reads_changes_and_removes_an_endpoint(world, receiver):
    client = _api(world.acme)
    created = client.send("POST", "/api/v1/webhooks/", {
        "url": receiver.url, "events": ["delivery.failed", "campaign.approved"],
        "description": "CRM sync"})
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["secret_hint"] == "…" + secret[-4:]
    assert body["events"] == ["campaign.approved", "delivery.failed"] and body["active"]
    assert body["created_by"] == world.acme.users[Role.ACCOUNT_MANAGER].pk
    url = created["Location"]
    assert url == f"/api/v1/webhooks/{body['id']}/"
    with schema_context(world.acme.client.schema_name):
        stored = WebhookEndpoint.objects.get(pk=body["id"])
        assert secret not in stored.secret_encrypted and stored.get_secret() == secret

    read = client.send("GET", url)
    assert read.status_code == 200 and "secret" not in read.json()  # shown once only
    assert secret not in read.content.decode()
    listed = client.send("GET", "/api/v1/webhooks/").json()
    assert [e["id"] for e in listed["results"]] == [body["id"]]

    assert client.send("PATCH", url, {"active": False}).status_code == 428
    changed = client.send("PATCH", url, {"active": False, "events": ["campaign.submitted"]},
                          **{"If-Match": read["ETag"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["events"] == ["campaign.submitted"] and not changed.json()["active"]
    stale = client.send("PATCH", url, {"description": "Again"}, **{"If-Match": read["ETag"]})
    assert stale.status_code == 412
    with schema_context(world.acme.client.schema_name):
        assert WebhookEndpoint.objects.get(pk=body["id"]).get_secret() == secret  # kept

    assert client.send("DELETE", url).status_code == 204
    assert client.send("GET", url).status_code == 404


def test_bad_input_is_refused_naming_the_field_and_the_fix(world, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    client = _api(world.acme)
    response = client.send("POST", "/api/v1/webhooks/", {
        "url": "https://10.0.0.7/hook", "events": ["campaign.approved"]})
    assert response.status_code == 400
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    (error,) = problem["errors"]
    assert error["field"] == "url" and "public internet addresses" in error["detail"]
    unknown = client.send("POST", "/api/v1/webhooks/", {"url": "https://10.0.0.7/hook",
                                                        "events": ["post.liked"]}).json()
    assert [e["field"] for e in unknown["errors"]] == ["events[0]"]
    empty = client.send("POST", "/api/v1/webhooks/", {"url": "http://x.example",
                                                      "events": []}).json()
    assert {e["field"] for e in empty["errors"]} == {"events"}


def test_writes_need_the_write_scope_and_a_role_that_manages_webhooks(world, receiver):
    reader = _api(world.acme, scopes=("read",))
    refused = reader.send("POST", "/api/v1/webhooks/", {"url": receiver.url,
                                                        "events": ["campaign.approved"]})
    assert refused.status_code == 403 and "“write” scope" in refused.json()["detail"]
    editor = _api(world.acme, role=Role.EDITOR)
    refused = editor.send("POST", "/api/v1/webhooks/", {"url": receiver.url,
                                                        "events": ["campaign.approved"]})
    assert refused.status_code == 403
    assert "account managers and agency admins" in refused.json()["detail"]
    assert editor.send("GET", "/api/v1/webhooks/").status_code == 403  # URLs are not for all
    assert ApiClient(world.acme.host, None).send("GET", "/api/v1/webhooks/").status_code == 401


def test_a_brands_key_never_reaches_another_brands_endpoints(world, receiver):
    theirs, _ = make_endpoint(world.globex, receiver.url)
    with schema_context(world.acme.client.schema_name):
        WebhookEndpoint.objects.filter(pk=theirs.pk).delete()  # ids are per brand
    acme_key = make_key(world.acme)
    on_acme = ApiClient(world.acme.host, acme_key)
    assert on_acme.send("GET", f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    assert on_acme.send("DELETE", f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    assert receiver.url not in on_acme.send("GET", "/api/v1/webhooks/").content.decode()
    on_globex = ApiClient(world.globex.host, acme_key)
    assert on_globex.send("GET", f"/api/v1/webhooks/{theirs.pk}/").status_code == 401
    assert on_globex.send("GET", "/api/v1/webhooks/").status_code == 401
    with schema_context(world.globex.client.schema_name):
        assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists()


def test_the_delivery_log_pages_with_cursors_and_a_delivery_is_replayed(world, receiver):
    from agency.webhooks.services import event_emit

    endpoint, secret = make_endpoint(world.acme, receiver.url)
    receiver.secret = secret
    schema = world.acme.client.schema_name
    with schema_context(schema):
        for number in range(3):
            event_emit(event="campaign.approved", payload={"id": number})
    receiver.answers = [(200, {}), (200, {}), (500, {})]
    send_due(schema)
    client = _api(world.acme)
    first = client.send("GET", f"/api/v1/webhooks/{endpoint.pk}/deliveries/?page_size=2").json()
    assert [d["payload"]["data"]["id"] for d in first["results"]] == [2, 1]
    rest = client.send("GET", first["next"].split("acme.agency.localhost", 1)[-1]).json()
    assert [d["payload"]["data"]["id"] for d in rest["results"]] == [0] and not rest["next"]
    newest = first["results"][0]
    assert newest["state"] == "pending" and newest["last_status_code"] == 500
    assert newest["history"][0]["status_code"] == 500 and newest["next_attempt_at"]
    failed = client.send("GET", "/api/v1/webhook-deliveries/?state=pending").json()
    assert [d["id"] for d in failed["results"]] == [newest["id"]]

    busy = client.send("POST", f"/api/v1/webhook-deliveries/{newest['id']}/replay/")
    assert busy.status_code == 409 and "still being sent" in busy.json()["detail"]
    done = first["results"][1]
    replayed = client.send("POST", f"/api/v1/webhook-deliveries/{done['id']}/replay/")
    assert replayed.status_code == 202, replayed.content
    again = replayed.json()
    assert again["event_id"] == done["event_id"] and again["payload"] == done["payload"]
    assert again["replay_of"] == done["id"] and again["state"] == "pending"
    assert send_due(schema) == ["delivered"]
    assert receiver.requests[-1][0]["webhook-id"] == done["event_id"]
    assert receiver.verified[-1] is True


def test_a_test_event_goes_to_one_endpoint(world, receiver):
    endpoint, secret = make_endpoint(world.acme, receiver.url, active=False)
    receiver.secret = secret
    client = _api(world.acme)
    sent = client.send("POST", f"/api/v1/webhooks/{endpoint.pk}/test/")
    assert sent.status_code == 202 and sent.json()["event"] == "webhook.test"
    assert send_due(world.acme.client.schema_name) == ["delivered"]
    assert receiver.payloads[0]["event"] == "webhook.test" and receiver.verified == [True]
    with schema_context(world.acme.client.schema_name):
        assert WebhookDelivery.objects.get().state == "delivered"


def test_the_openapi_document_describes_webhooks(world):
    document = _api(world.acme).send("GET", "/api/v1/schema/?format=json").json()
    paths = document["paths"]
    for path in ("/api/v1/webhooks/", "/api/v1/webhooks/{id}/",
                 "/api/v1/webhooks/{id}/deliveries/",
                 "/api/v1/webhook-deliveries/{id}/replay/"):
        assert path in paths, sorted(paths)
    created = paths["/api/v1/webhooks/"]["post"]["responses"]["201"]
    assert "EndpointCreated" in str(created)
