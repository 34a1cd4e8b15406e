"""Webhooks in the brand's admin (Settings → Webhooks): for account managers and agency admins,
not for editors; the secret is shown once; the log replays a delivery and sends a test event."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from agency.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants.models import Role
from tests.webhooks.conftest import make_endpoint, send_due

pytestmark = pytest.mark.django_db


def test_an_account_manager_adds_an_endpoint_and_sees_its_secret_once(world, http, receiver):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    home = manager.get("/admin/webhooks/")
    assert home.status_code == 200 and b"No endpoints yet" in home.content
    assert '"url": "/admin/webhooks/"' in manager.get("/admin/").content.decode()  # Settings menu
    form = manager.get("/admin/webhooks/add/")
    assert form.status_code == 200 and b"campaign.changes_requested" in form.content
    added = manager.post("/admin/webhooks/add/", {
        "url": receiver.url, "description": "CRM sync",
        "events": ["campaign.approved", "delivery.published"], "active": "on"})
    assert added.status_code == 200
    secret = re.search(rb"data-webhook-secret>(whsec_[\w+/=]+)<", added.content).group(1)
    listing = manager.get("/admin/webhooks/")
    assert secret not in listing.content and b"CRM sync" in listing.content
    with schema_context(world.acme.client.schema_name):
        endpoint = WebhookEndpoint.objects.get()
        assert endpoint.get_secret() == secret.decode()
        assert endpoint.events == ["campaign.approved", "delivery.published"]
    edit = manager.get(f"/admin/webhooks/{endpoint.pk}/")
    assert edit.status_code == 200 and secret not in edit.content
    assert b"Send test event" in edit.content


def test_a_bad_address_is_refused_in_the_form_with_what_to_do(world, http, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    page = manager.post("/admin/webhooks/add/", {"url": "http://hooks.example.com/in",
                                                 "events": ["campaign.approved"]})
    assert page.status_code == 200 and b"data-webhook-secret" not in page.content
    assert "Use an https:// address" in page.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_is_changed_and_removed(world, http, receiver):
    endpoint, _ = make_endpoint(world.acme, receiver.url)
    manager = http(world.acme.host, user=world.acme.users[Role.AGENCY_ADMIN])
    saved = manager.post(f"/admin/webhooks/{endpoint.pk}/", {
        "url": receiver.url, "description": "Renamed", "events": ["delivery.failed"]})
    assert saved.status_code == 302
    with schema_context(world.acme.client.schema_name):
        endpoint.refresh_from_db()
        assert endpoint.description == "Renamed" and endpoint.events == ["delivery.failed"]
        assert not endpoint.active  # the box was left unticked
    confirm = manager.get(f"/admin/webhooks/{endpoint.pk}/delete/")
    assert confirm.status_code == 200 and b"Remove" in confirm.content
    assert manager.post(f"/admin/webhooks/{endpoint.pk}/delete/").status_code == 302
    with schema_context(world.acme.client.schema_name):
        assert not WebhookEndpoint.objects.exists()


def test_the_log_sends_a_test_event_and_replays_a_delivery(world, http, receiver):
    endpoint, secret = make_endpoint(world.acme, receiver.url)
    receiver.secret = secret
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    manager.handler.enforce_csrf_checks = True  # the buttons are forms with the CSRF token
    log_url = f"/admin/webhooks/{endpoint.pk}/deliveries/"
    page = manager.get(log_url)
    assert page.status_code == 200 and b"Nothing sent yet" in page.content
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    assert manager.post(f"/admin/webhooks/{endpoint.pk}/test/").status_code == 403  # no token
    sent = manager.post(f"/admin/webhooks/{endpoint.pk}/test/",
                        {"csrfmiddlewaretoken": token.decode()})
    assert sent.status_code == 302 and sent["Location"].endswith(log_url)
    assert send_due(world.acme.client.schema_name) == ["delivered"]
    log = manager.get(log_url).content.decode()
    assert "webhook.test" in log and "HTTP 200" in log
    with schema_context(world.acme.client.schema_name):
        first = WebhookDelivery.objects.get()
    assert f'action="/admin/webhooks/deliveries/{first.pk}/replay/"' in log  # the Replay button
    detail = manager.get(f"/admin/webhooks/deliveries/{first.pk}/")
    assert detail.status_code == 200 and str(first.event_id).encode() in detail.content
    replayed = manager.post(f"/admin/webhooks/deliveries/{first.pk}/replay/",
                            {"csrfmiddlewaretoken": token.decode()})
    assert replayed.status_code == 302
    assert send_due(world.acme.client.schema_name) == ["delivered"]
    with schema_context(world.acme.client.schema_name):
        replay = WebhookDelivery.objects.exclude(pk=first.pk).get()
        assert replay.replay_of_id == first.pk and replay.event_id == first.event_id
    assert [h["webhook-id"] for h, _ in receiver.requests] == [str(first.event_id)] * 2
    assert receiver.verified == [True, True]


def test_editors_and_other_brands_staff_get_no_webhook_screens(world, http, receiver):
    endpoint, _ = make_endpoint(world.acme, receiver.url)
    with schema_context(world.acme.client.schema_name):
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="campaign.approved",
                                                  event_id="6c1f6a6e-3b0c-4f7e-9f57-4c1b8b1c2d3e",
                                                  payload={}, state="failed")
    for user in (world.acme.users[Role.EDITOR], world.acme.users[Role.SENSITIVITY_REVIEWER],
                 world.globex.users[Role.ACCOUNT_MANAGER]):
        visitor = http(world.acme.host, user=user, raise_request_exception=False)
        for url in ("/admin/webhooks/", "/admin/webhooks/add/", f"/admin/webhooks/{endpoint.pk}/",
                    f"/admin/webhooks/{endpoint.pk}/deliveries/",
                    f"/admin/webhooks/deliveries/{delivery.pk}/"):
            assert visitor.get(url).status_code in (302, 403), (user, url)
        assert visitor.post(f"/admin/webhooks/deliveries/{delivery.pk}/replay/").status_code \
            in (302, 403)
        assert visitor.post(f"/admin/webhooks/{endpoint.pk}/delete/").status_code in (302, 403)
        assert visitor.post(f"/admin/webhooks/{endpoint.pk}/roll-secret/").status_code \
            in (302, 403)
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    assert '"url": "/admin/webhooks/"' not in editor.get("/admin/").content.decode()
    with schema_context(world.acme.client.schema_name):
        assert WebhookDelivery.objects.count() == 1 and WebhookEndpoint.objects.exists()
