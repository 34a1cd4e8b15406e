"""On a real django-q2 cluster: an event is sent by a worker inside its brand's schema, a 500 is
retried by the schedule committed before the attempt, and the retry is delivered."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django_q.models import Schedule
from django_tenants.utils import schema_context

from tenants.models import Role
from tests.conftest import (
    Brand,
    brand_host,
    child_env,
    manage_processes,
    stderr_tail,
    wait_until,
)
from tests.factories import ClientFactory, MemberFactory
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.cluster


@pytest.fixture
def bakery(world, django_db_blocker):
    """A brand of its own (deleted after), for committed data the cluster can see."""
    from tenants.services import client_delete

    with django_db_blocker.unblock():
        client = ClientFactory(name="Hook Bakery", slug="hookbakery", time_zone="Europe/London")
        manager = MemberFactory(client=client, role=Role.ACCOUNT_MANAGER,
                                user__username="account_manager@hookbakery.test").user
        connection.set_schema_to_public()
    yield Brand(client=client, host=brand_host("hookbakery"),
                users={Role.ACCOUNT_MANAGER: manager})
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        Schedule.objects.filter(name__startswith="webhook:brand_hookbakery:").delete()
        client_delete(client=client, actor=None, confirm_slug="hookbakery")


@pytest.fixture
def cluster(bakery):
    # A short backoff: the retry waits for django-q2's scheduler, which looks every ~30 s.
    with manage_processes("qcluster", env=child_env(
            Q_WORKERS="2", WEBHOOKS_BACKOFF_BASE_SECONDS="1",
            WEBHOOKS_TIMEOUT_SECONDS="5")) as (proc,):
        yield proc


def test_a_worker_sends_the_event_and_its_scheduled_retry_delivers_it(
        bakery, cluster, django_db_blocker):
    from agency.webhooks.models import WebhookDelivery
    from agency.webhooks.services import endpoint_create, event_emit

    receiver = Receiver()
    receiver.answers = [(500, {})]
    schema = bakery.client.schema_name
    try:
        with django_db_blocker.unblock():
            with schema_context(schema):
                _, receiver.secret = endpoint_create(url=receiver.url,
                                                     events=["campaign.approved"],
                                                     user=bakery.users[Role.ACCOUNT_MANAGER])
                with transaction.atomic():
                    (delivery,) = event_emit(event="campaign.approved",
                                             payload={"id": 1, "title": "Bread"})

            def state():
                with schema_context(schema):
                    return WebhookDelivery.objects.get(pk=delivery.pk)

            assert wait_until(lambda: len(receiver.requests) >= 1, 30), stderr_tail(cluster)
            assert wait_until(lambda: state().state == "delivered", 120), (
                vars(state()), stderr_tail(cluster))
            sent = state()
            assert sent.attempts == 2
            with schema_context(schema):
                assert [a.status_code for a in sent.attempt_log.all()] == [500, 200]
            assert not Schedule.objects.filter(
                name__startswith=f"webhook:{schema}:{delivery.pk}:").exists()
            connection.set_schema_to_public()
        first, second = receiver.requests
        assert first[0]["webhook-id"] == second[0]["webhook-id"] == str(delivery.event_id)
        assert receiver.verified == [True, True]
        assert receiver.payloads[1]["brand"] == "hookbakery"
    finally:
        receiver.close()
