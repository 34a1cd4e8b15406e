"""An endpoint whose every delivery failed for WEBHOOKS_SWITCH_OFF_AFTER_DAYS is switched off,
its brand's account managers are told, the admin and the API say why, and switching it on
again clears it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.webhooks.models import WebhookDelivery, WebhookEndpoint
from agency.webhooks.services import event_emit
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.webhooks.conftest import make_endpoint, send_due

pytestmark = pytest.mark.django_db


def _finished(endpoint, *, days_ago: float, state: str, event="campaign.approved"):
    WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, event_id=uuid.uuid4(), payload={}, state=state,
        attempts=8, created_at=timezone.now() - dt.timedelta(days=days_ago))


def _fail_one_now(world, receiver) -> None:
    """One event that fails for good now: the receiver answers 500 until the attempts run
    out (each retry made due at once)."""
    receiver.answers = [(500, {})] * 20
    with schema_context(world.acme.client.schema_name):
        event_emit(event="campaign.approved", payload={"id": 1})
    for _ in range(8):
        with schema_context(world.acme.client.schema_name):
            WebhookDelivery.objects.filter(state="pending").update(next_attempt_at=timezone.now())
        send_due(world.acme.client.schema_name)


@pytest.fixture
def failing(world, receiver, settings):
    settings.WEBHOOKS_SWITCH_OFF_AFTER_DAYS = 5
    settings.WEBHOOKS_MAX_ATTEMPTS = 2
    endpoint, _ = make_endpoint(world.acme, receiver.url, description="Old CRM")
    return endpoint


def test_five_days_of_failures_switch_the_endpoint_off_and_tell_the_team(
        world, receiver, failing, http, django_capture_on_commit_callbacks):
    with schema_context(world.acme.client.schema_name):
        _finished(failing, days_ago=9, state="delivered")
        _finished(failing, days_ago=6, state="failed")
        _finished(failing, days_ago=3, state="failed")
        _finished(failing, days_ago=0.5, state="delivered", event="webhook.test")  # not counted
    with django_capture_on_commit_callbacks(execute=True):
        _fail_one_now(world, receiver)

    with schema_context(world.acme.client.schema_name):
        endpoint = WebhookEndpoint.objects.get(pk=failing.pk)
        assert not endpoint.active and endpoint.switched_off_at is not None
        assert "3 events" in endpoint.switched_off_reason
    [message] = mail.outbox
    assert message.subject == "Webhook endpoint switched off: Old CRM"
    assert world.acme.users[Role.ACCOUNT_MANAGER].email in message.to
    assert f"/admin/webhooks/{failing.pk}/" in message.body and "replay" in message.body

    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    assert b"data-switched-off" in manager.get("/admin/webhooks/").content
    assert b"data-switched-off" in manager.get(f"/admin/webhooks/{failing.pk}/").content
    api = ApiClient(world.acme.host, make_key(world.acme))
    read = api.send("GET", f"/api/v1/webhooks/{failing.pk}/")
    assert read.json()["active"] is False and read.json()["switched_off_at"]
    with schema_context(world.acme.client.schema_name):
        event_emit(event="campaign.approved", payload={"id": 2})
        assert not WebhookDelivery.objects.filter(state="pending").exists()  # nothing queued

    assert receiver.url not in message.body  # endpoint URLs carry tokens: never emailed

    on = api.send("PATCH", f"/api/v1/webhooks/{failing.pk}/", {"active": True},
                  **{"If-Match": read["ETag"]})
    assert on.status_code == 200, on.content
    assert on.json()["switched_off_at"] is None and on.json()["switched_off_reason"] == ""
    # Switched on again, its old failures are behind it: one new failure is just a failure.
    with django_capture_on_commit_callbacks(execute=True):
        _fail_one_now(world, receiver)
    with schema_context(world.acme.client.schema_name):
        assert WebhookEndpoint.objects.get(pk=failing.pk).active
    assert len(mail.outbox) == 1


def test_a_success_within_the_window_or_a_short_outage_keeps_it_on(world, receiver, failing):
    with schema_context(world.acme.client.schema_name):
        _finished(failing, days_ago=8, state="failed")
        _finished(failing, days_ago=2, state="delivered")  # it worked two days ago
    _fail_one_now(world, receiver)
    with schema_context(world.acme.client.schema_name):
        assert WebhookEndpoint.objects.get(pk=failing.pk).active

    other, _ = make_endpoint(world.acme, receiver.url, description="New CRM")
    with schema_context(world.acme.client.schema_name):
        WebhookEndpoint.objects.filter(pk=failing.pk).delete()
        _finished(other, days_ago=4, state="failed")  # failing, but not for five days yet
    _fail_one_now(world, receiver)
    with schema_context(world.acme.client.schema_name):
        assert WebhookEndpoint.objects.get(pk=other.pk).active
    assert mail.outbox == []
