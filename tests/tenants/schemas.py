"""Schema inspection for the rollout tests, and the bench-only app ``bench.scale_app`` (0001 a
table, 0002 a column with its index and a key to ``auth_user``) installed for a test module."""

from __future__ import annotations

from contextlib import contextmanager

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from psycopg import sql

from tenants.provisioning import template_schema

SCALE_APP = "bench.scale_app.apps.ScaleAppConfig"
TABLE = "scale_app_scalenote"


def sql_rows(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def in_schema(template: str, schema: str) -> str:
    """``template`` with {} replaced by ``schema``, quoted as an identifier."""
    with connection.cursor() as cursor:
        return sql.SQL(template).format(sql.Identifier(schema)).as_string(cursor.connection)


def applied(schema: str) -> set[str]:
    return {name for (name,) in sql_rows(
        in_schema("SELECT name FROM {}.django_migrations WHERE app = %s", schema),
        ["scale_app"])}


def has_column(schema: str, column: str, table: str = TABLE) -> bool:
    return bool(sql_rows("SELECT 1 FROM information_schema.columns WHERE table_schema = %s "
                         "AND table_name = %s AND column_name = %s", [schema, table, column]))


def has_score(schema: str) -> bool:
    return has_column(schema, "score")


def has_score_index(schema: str) -> bool:
    return bool(sql_rows("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND tablename = %s "
                         "AND indexdef LIKE %s", [schema, TABLE, "%(score)%"]))


def keys_to_public(schema: str) -> list[tuple[str, str]]:
    """(table, referenced table) of scale_app's foreign keys to public tables in ``schema``."""
    return sql_rows("""
        SELECT c.relname, f.relname FROM pg_constraint k
          JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class f ON f.oid = k.confrelid
         WHERE k.contype = 'f' AND c.relnamespace = %s::regnamespace AND c.relname = %s
           AND f.relnamespace = 'public'::regnamespace""", [schema, TABLE])


def schema_snapshot(schema: str) -> dict[str, list[tuple]]:
    """Everything a migration changes in ``schema``, with the schema's name written as ``S``:
    columns, indexes, constraints and migration records (without their times)."""
    def named(rows):
        return sorted(tuple(v.replace(f'"{schema}".', "S.").replace(f"{schema}.", "S.")
                            if isinstance(v, str) else v for v in row) for row in rows)

    return {
        "columns": named(sql_rows("""
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)
              FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
              LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
             WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p')
               AND a.attnum > 0 AND NOT a.attisdropped""", [schema])),
        "indexes": named(sql_rows(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
            [schema])),
        "constraints": named(sql_rows("""
            SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
              FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
             WHERE c.relnamespace = %s::regnamespace""", [schema])),
        "migrations": named(sql_rows(
            in_schema("SELECT app, name FROM {}.django_migrations", schema))),
    }


def template_to(target: str | None) -> None:
    """Migrate the template's scale_app to ``target`` (None: its latest)."""
    extra = {"app_label": "scale_app"}
    if target:
        extra["migration_name"] = target
    call_command("migrate_schemas", schema_name=template_schema(), tenant=True,
                 interactive=False, verbosity=0, **extra)


def scale_app_forget(schema: str) -> None:
    """``schema`` without scale_app: its table and its migration records gone."""
    sql_rows(in_schema("DROP TABLE IF EXISTS {}.scale_app_scalenote", schema))
    sql_rows(in_schema("DELETE FROM {}.django_migrations WHERE app = %s", schema), ["scale_app"])


def scale_app_back_to_0001(schema: str) -> None:
    """``schema``'s scale_app as 0001 left it (0002's columns and record gone)."""
    sql_rows(in_schema(f"ALTER TABLE {{}}.{TABLE} DROP COLUMN IF EXISTS score, "
                       "DROP COLUMN IF EXISTS author_id", schema))
    sql_rows(in_schema("DELETE FROM {}.django_migrations WHERE app = %s AND name = %s", schema),
             ["scale_app", "0002_scalenote_score"])


@contextmanager
def scale_app_installed():
    """Add scale_app to the running app registry (and TENANT_APPS) without re-running every
    app's ready(), which a full re-population (override_settings(INSTALLED_APPS=...)) does."""
    config = AppConfig.create(SCALE_APP)
    config.apps = apps
    apps.app_configs[config.label] = config
    try:
        config.import_models()
        apps.clear_cache()
        with override_settings(TENANT_APPS=[*settings.TENANT_APPS, "bench.scale_app"]):
            yield
    finally:
        del apps.app_configs[config.label]
        apps.clear_cache()


@contextmanager
def scale_clients(label: str, count: int, template_at: str | None, django_db_blocker):
    """``count`` fresh clients, then scale_app installed with the template at ``template_at``
    (None: every migration); yields their schema names, and removes them and scale_app after."""
    import uuid

    from tenants.models import Client
    from tenants.services import client_delete
    from tests.factories import ClientFactory

    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock():
        clients = [ClientFactory(name=f"{label} {tag} {i}", slug=f"{label.lower()}-{tag}-{i}")
                   for i in range(count)]
        connection.set_schema_to_public()
        try:
            with scale_app_installed():
                template_to(template_at)
                connection.set_schema_to_public()
                yield [c.schema_name for c in clients]
        finally:
            connection.set_schema_to_public()
            scale_app_forget(template_schema())
            for client in Client.objects.filter(pk__in=[c.pk for c in clients]):
                client_delete(client=client, actor=None, confirm_slug=client.slug)
            connection.set_schema_to_public()
