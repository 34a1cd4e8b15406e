"""Wagtail's migrations, run for real in a new schema (as on a fresh install), leave none of
Wagtail's global groups behind. Committed data: migrations cannot run inside a test's
transaction, so the schema made here is dropped at the end."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from tenants.provisioning import WAGTAIL_GROUPS, template_migrate

SCHEMA = "fresh_template_check"


def test_wagtails_migrations_run_afresh_do_not_bring_its_groups_back(world, settings,
                                                                     django_db_blocker):
    from wagtail.models import GroupCollectionPermission, GroupPagePermission, Task

    settings.TENANT_BASE_SCHEMA = SCHEMA
    with django_db_blocker.unblock():
        try:
            template_migrate(verbosity=0)
            assert schema_exists(SCHEMA)
            assert not Group.objects.filter(name__in=WAGTAIL_GROUPS).exists()
            with schema_context(SCHEMA):
                assert not GroupPagePermission.objects.exists()
                assert not GroupCollectionPermission.objects.exists()
                assert not Task.objects.exists()  # Wagtail's "Moderators approval"
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
