"""Costs that stay flat as brands accumulate: a no-op ``migrate`` asks the same questions at any
number of brands, role grants are synced set-wise, and a worker's connection is renewed after
serving a given number of brand schemas. Runs on committed data (no test transaction)."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tenants.models import Client, Role, RoleGroup
from tenants.provisioning import role_permissions_sync
from tenants.roles import MODEL_PERMISSIONS
from tenants.tasks import for_each_brand, run_in_client


def _noop_migrate_queries() -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        call_command("migrate", verbosity=0, interactive=False, parallel=1)
    connection.set_schema_to_public()
    return [q["sql"] for q in queries]


def test_a_no_op_migrate_asks_the_same_questions_with_one_brand_more(world, django_db_blocker):
    from tenants.services import client_delete
    from tests.factories import ClientFactory

    with django_db_blocker.unblock():
        _noop_migrate_queries()  # whatever an earlier test left to do
        before = _noop_migrate_queries()
        client = ClientFactory(name="Flat no-op", slug=f"flat-{uuid.uuid4().hex[:6]}")
        connection.set_schema_to_public()
        try:
            after = _noop_migrate_queries()
        finally:
            client_delete(client=client, actor=None, confirm_slug=client.slug)
            connection.set_schema_to_public()
    assert len(after) == len(before), set(after) ^ set(before)
    # No catalog-wide listing of tables (Django's introspection), no per-brand statement.
    assert not [q for q in after if "pg_table_is_visible" in q]
    assert not [q for q in after if "information_schema" in q]
    # Two whole-database questions name each brand: which schemas exist, which are behind.
    assert sum(client.schema_name in q for q in after) == 2


def test_role_grants_are_restored_and_extra_ones_taken_away(world, django_db_blocker):
    with django_db_blocker.unblock():
        editors = RoleGroup.objects.get(client=world.acme.client, role=Role.EDITOR).group
        wanted = set(MODEL_PERMISSIONS[Role.EDITOR])
        app_label, codename = sorted(wanted)[0].split(".")
        dropped = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        extra = Permission.objects.get(content_type__app_label="tenants",
                                       codename="delete_client")
        editors.permissions.remove(dropped)
        editors.permissions.add(extra)
        assert role_permissions_sync() == 2
        names = {f"{ct}.{name}" for ct, name in editors.permissions.values_list(
            "content_type__app_label", "codename")}
        assert names == wanted
        assert role_permissions_sync() == 0  # nothing to change: nothing written


def _backend_pid(*args) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_worker_connection_is_renewed_after_serving_the_set_number_of_brands(
        world, django_db_blocker):
    with django_db_blocker.unblock():
        brands = Client.objects.active().count()
        assert brands >= 2
        with override_settings(TENANT_CONNECTION_MAX_SCHEMAS=0):
            pids = for_each_brand("test", _backend_pid)
        assert len(set(pids.values())) == 1  # never renewed
        with override_settings(TENANT_CONNECTION_MAX_SCHEMAS=1):
            pids = for_each_brand("test", _backend_pid)
            assert len(set(pids.values())) == brands  # a fresh backend for each brand
            first = run_in_client(world.acme.client.schema_name, "tests.tenants."
                                  "test_scale_catalog._backend_pid", [], {})
            second = run_in_client(world.acme.client.schema_name, "tests.tenants."
                                   "test_scale_catalog._backend_pid", [], {})
        assert first != second
        with override_settings(TENANT_CONNECTION_MAX_SCHEMAS=1000):
            pids = for_each_brand("test", _backend_pid)
        assert len(set(pids.values())) == 1
