"""Spare brand schemas: a new brand takes a copy of the template made ahead of time, only one
that matches the template as it is now, never one another provision is taking; a worker is asked
to make the next. Runs on committed data (spares are schemas made in their own transactions)."""

from __future__ import annotations

import uuid

import psycopg
from django.db import connection
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from tenants.models import Client
from tenants.provisioning import template_schema
from tenants.services import client_delete, client_provision
from tenants.spares import PREFIX, fingerprint, spares, spares_fill


def _spares() -> list[str]:
    with connection.cursor() as cursor:
        return [name for name, _ in spares(cursor)]


def _cleanup(*slugs: str) -> None:
    connection.set_schema_to_public()
    for client in Client.objects.filter(slug__in=slugs):
        client_delete(client=client, actor=None, confirm_slug=client.slug)
    spares_fill(count=0)
    connection.set_schema_to_public()


def _fill_jobs() -> int:
    return sum(q.task.get("func") == "tenants.spares.spares_fill" for q in OrmQ.objects.all())


def test_a_new_brand_takes_a_spare_and_a_worker_is_asked_for_the_next(world, django_db_blocker):
    from wagtail.models import Site, Workflow

    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock():
        try:
            assert spares_fill(count=1)["made"] == 1
            [spare] = _spares()
            assert spare.startswith(PREFIX)
            jobs = _fill_jobs()
            client = client_provision(name="Spare taker", slug=f"spare-{tag}")
            assert _spares() == []  # renamed: the brand's schema is the spare
            assert _fill_jobs() == jobs + 1
            with connection.cursor() as cursor:
                cursor.execute("SELECT obj_description(%s::regnamespace, 'pg_namespace')",
                               [client.schema_name])
                assert cursor.fetchone()[0] is None
            with schema_context(client.schema_name):
                assert Site.objects.get().hostname == client.host
                assert Workflow.objects.get().name == "Campaign approval"
            # No spare left: the next one is cloned, just the same.
            other = client_provision(name="Cloned", slug=f"spare-{tag}-b")
            with schema_context(other.schema_name):
                assert Site.objects.get().hostname == other.host
        finally:
            _cleanup(f"spare-{tag}", f"spare-{tag}-b")


def test_a_spare_of_an_older_template_is_not_taken_and_is_replaced(world, django_db_blocker):
    tag = uuid.uuid4().hex[:6]
    template = template_schema()
    change = f'UPDATE "{template}".wagtailcore_site SET site_name = %s'  # noqa: S608
    with django_db_blocker.unblock():
        try:
            spares_fill(count=1)
            [old] = _spares()
            with connection.cursor() as cursor:
                cursor.execute(change, ["Template, changed"])
            client = client_provision(name="After a change", slug=f"stale-{tag}")
            assert _spares() == [old]  # left alone: cloned instead
            with connection.cursor() as cursor:
                assert fingerprint(cursor, client.schema_name) != fingerprint(cursor, old)
            assert spares_fill(count=1) == {"dropped": 1, "made": 1}
            [new] = _spares()
            with connection.cursor() as cursor:
                assert fingerprint(cursor, new) == fingerprint(cursor, template)
        finally:
            with connection.cursor() as cursor:
                cursor.execute(change, ["Template"])
            _cleanup(f"stale-{tag}")


def test_a_spare_another_provision_is_taking_is_left_to_it(world, django_db_blocker):
    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock():
        settings = connection.settings_dict
        try:
            spares_fill(count=1)
            [spare] = _spares()
            with psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                                 password=settings["PASSWORD"] or None,
                                 host=settings["HOST"] or None,
                                 port=settings["PORT"] or None, autocommit=True) as other:
                other.execute("SELECT pg_advisory_lock(hashtext(%s))",
                              ["tenants.spares:" + spare])
                client = client_provision(name="Not that one", slug=f"busy-{tag}")
            assert _spares() == [spare]
            assert client.schema_name == f"brand_busy_{tag}"
        finally:
            _cleanup(f"busy-{tag}")
