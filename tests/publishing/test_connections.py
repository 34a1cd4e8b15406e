"""Persistent database connections: a worker's connection serves brand after brand, task after
task, and a post always goes into its own brand's schema whatever the connection did before."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.publishing import transitions, worker
from campaigns.publishing.models import Delivery
from campaigns.publishing.transitions import Outcome
from tests.factories import ChannelFactory, DeliveryFactory

pytestmark = pytest.mark.django_db


def test_every_settings_module_keeps_connections_and_checks_them_before_reuse():
    # agency.settings.test (like dev and the embedded default) inherits base.py's
    database = settings.DATABASES["default"]
    assert database["CONN_MAX_AGE"] >= 60 and database["CONN_HEALTH_CHECKS"] is True


def _sandbox_posts(schema: str) -> list[str]:
    from campaigns.models import SandboxPost

    with schema_context(schema):
        return sorted(SandboxPost.objects.values_list("text", flat=True))


def _session_search_path() -> str:
    """What the database session really has, asked without django-tenants' wrapper."""
    with connection.connection.cursor() as raw:
        raw.execute("SHOW search_path")
        return raw.fetchone()[0]


@pytest.fixture
def posts(world):
    """Two due sandbox deliveries of Acme and one of Globex, due in that order: Acme, Globex,
    Acme."""
    now = timezone.now()
    made = []
    for n, brand in enumerate([world.acme, world.globex, world.acme]):
        channel = ChannelFactory(brand=brand, name=f"{brand.client.name} feed {n}",
                                 handle=f"@{brand.client.slug}{n}")
        delivery = DeliveryFactory(brand=brand, channel=channel,
                                   copy=f"Post {n} of {brand.client.slug}")
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=now - dt.timedelta(seconds=3 - n))
        made.append(delivery)
    connection.set_schema_to_public()
    return made


def test_a_batch_of_several_brands_puts_each_post_in_its_own_brands_schema(world, posts):
    claims = transitions.claim_due()
    assert sorted(pk for pk, _ in claims) == sorted(d.pk for d in posts)
    with CaptureQueriesContext(connection) as queries:
        assert worker.deliver_batch(claims) == [Outcome.PUBLISHED] * 3
    switches = [q["sql"] for q in queries.captured_queries
                if q["sql"].startswith("SET search_path") and "brand_" in q["sql"]]
    # all due: Acme's two posts go one after the other, in one switch to Acme
    assert len(switches) == 2, switches
    assert _sandbox_posts(world.acme.client.schema_name) == ["Post 0 of acme", "Post 2 of acme"]
    assert _sandbox_posts(world.globex.client.schema_name) == ["Post 1 of globex"]
    assert connection.schema_name == "public"  # the next task starts where tasks start


def test_a_reused_connection_never_publishes_into_the_schema_it_was_left_in(world, posts):
    """Task after task on one connection: whatever schema the previous task (or a raw ``SET
    search_path`` that bypassed django-tenants) left the session in, the post goes to its
    brand."""
    acme, globex = world.acme.client.schema_name, world.globex.client.schema_name
    claims = dict(transitions.claim_due())
    first, other, second = posts

    assert worker.deliver_batch([(first.pk, claims[first.pk])]) == [Outcome.PUBLISHED]
    # between tasks, the same connection serves Globex; then something sets the session's
    # path behind django-tenants' back, and the wrapper is left believing it is on Globex
    connection.set_schema(globex)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.execute(f"SET search_path TO {globex}")
    assert _session_search_path() == globex
    assert worker.deliver_batch([(second.pk, claims[second.pk])]) == [Outcome.PUBLISHED]
    assert _sandbox_posts(acme) == ["Post 0 of acme", "Post 2 of acme"]
    assert _sandbox_posts(globex) == []

    # and the other way round: a task left on Acme's path, Globex's post goes to Globex
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {acme}")
    assert worker.deliver_batch([(other.pk, claims[other.pk])]) == [Outcome.PUBLISHED]
    assert _sandbox_posts(globex) == ["Post 1 of globex"]
    assert _sandbox_posts(acme) == ["Post 0 of acme", "Post 2 of acme"]
    assert connection.schema_name == "public"
