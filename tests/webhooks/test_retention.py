"""The webhook log is kept for WEBHOOKS_LOG_DAYS: a daily task removes every brand's finished
deliveries older than that, with their attempts, and keeps pending ones whatever their age."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_tenants.utils import schema_context

from agency.webhooks.models import WebhookAttempt, WebhookDelivery
from agency.webhooks.tasks import webhook_logs_prune
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db


def _delivery(endpoint, *, days_old: int, state: str, replay_of=None) -> WebhookDelivery:
    made = WebhookDelivery.objects.create(
        endpoint=endpoint, event="campaign.approved", event_id=uuid.uuid4(), payload={},
        state=state, attempts=1, replay_of=replay_of,
        created_at=timezone.now() - dt.timedelta(days=days_old))
    WebhookAttempt.objects.create(delivery=made, number=1, status_code=200)
    return made


def test_the_daily_task_trims_every_brands_finished_deliveries(world, settings, receiver):
    settings.WEBHOOKS_LOG_DAYS = 30
    assert Schedule.objects.filter(func="agency.webhooks.tasks.webhook_logs_prune",
                                   schedule_type="D").exists()
    kept, gone = {}, {}
    for brand in (world.acme, world.globex):
        endpoint, _ = make_endpoint(brand, receiver.url)
        with schema_context(brand.client.schema_name):
            old = _delivery(endpoint, days_old=31, state="delivered")
            failed = _delivery(endpoint, days_old=45, state="failed")
            gone[brand.client.schema_name] = {old.pk, failed.pk}
            kept[brand.client.schema_name] = {
                _delivery(endpoint, days_old=29, state="delivered").pk,
                _delivery(endpoint, days_old=90, state="pending").pk,  # still being retried
                _delivery(endpoint, days_old=1, state="delivered", replay_of=old).pk,
            }

    removed = webhook_logs_prune()

    assert removed == {world.acme.client.schema_name: 2, world.globex.client.schema_name: 2}
    for brand in (world.acme, world.globex):
        with schema_context(brand.client.schema_name):
            schema = brand.client.schema_name
            left = set(WebhookDelivery.objects.values_list("pk", flat=True))
            assert left == kept[schema]
            assert not WebhookAttempt.objects.filter(delivery_id__in=gone[schema]).exists()
            assert WebhookAttempt.objects.filter(delivery_id__in=left).count() == 3
            replay = WebhookDelivery.objects.get(pk__in=left, created_at__gt=timezone.now()
                                                 - dt.timedelta(days=2))
            assert replay.replay_of_id is None  # its original went; the replay stays
    assert webhook_logs_prune() == {}


def test_a_rolled_secret_is_forgotten_once_its_overlap_is_over(world, receiver):
    from agency.webhooks.models import WebhookEndpoint
    from agency.webhooks.services import endpoint_roll_secret

    endpoint, _ = make_endpoint(world.acme, receiver.url)
    with schema_context(world.acme.client.schema_name):
        endpoint_roll_secret(endpoint=endpoint)
        webhook_logs_prune()
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).previous_secret_encrypted  # overlap
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_until=timezone.now() - dt.timedelta(minutes=1))
    webhook_logs_prune()
    with schema_context(world.acme.client.schema_name):
        stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
        assert stored.previous_secret_encrypted == "" and stored.previous_secret_until is None
