"""The schema clone copies the template exactly: structure under the same names, rows, sequences."""

import re

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants.clone import schema_clone
from tenants.provisioning import template_schema

pytestmark = pytest.mark.django_db

CATALOG = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               a.attidentity, pg_get_expr(d.adbin, d.adrelid)
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' AND a.attnum > 0
           AND NOT a.attisdropped""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable,
               k.condeferred
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = %s::regnamespace""",
    "indexes": """
        SELECT c.relname, regexp_replace(pg_get_indexdef(i.indexrelid), ' ON \\S+\\.', ' ON ')
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relnamespace = %s::regnamespace""",
    "sequences": """
        SELECT sequencename, last_value, increment_by FROM pg_sequences WHERE schemaname = %s""",
}


def _normal(text: str) -> str:
    """PostgreSQL may print a re-parsed partial-index predicate with its casts placed
    differently (ARRAY['a'::varchar]::text[] vs ARRAY[('a'::varchar)::text]): same meaning."""
    return re.sub(r"::[\w ]+(\[\])?|[()\s]", "", text)


def _catalog(schema: str) -> dict:
    result = {}
    with connection.cursor() as cursor:
        for name, query in CATALOG.items():
            cursor.execute(query, [schema])
            rows = [tuple(_normal(str(v).replace(f"{schema}.", "")) for v in row)
                    for row in cursor.fetchall()]
            result[name] = sorted(rows)
    return result


def _row_counts(schema: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace "
                       "AND relkind = 'r'", [schema])
        tables = [r[0] for r in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def _keys_to_public(schema: str) -> set[tuple[str, str]]:
    """(table, constraint) of each foreign key from ``schema`` to a table of another schema."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, k.conname FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class f ON f.oid = k.confrelid
             WHERE k.contype = 'f' AND c.relnamespace = %s::regnamespace
               AND f.relnamespace <> c.relnamespace""", [schema])
        return set(cursor.fetchall())


def _without(catalog: dict, keys: set[tuple[str, str]]) -> dict:
    return {**catalog, "constraints": [row for row in catalog["constraints"]
                                       if (row[0], row[1]) not in keys]}


def test_clone_matches_the_template_in_every_catalog_detail(world):
    """Every column, constraint, index and sequence, under the same names; only the foreign
    keys to public tables stay behind (tenants.clone says why)."""
    schema_clone(template_schema(), "clone_check")
    to_public = _keys_to_public(template_schema())
    assert len(to_public) > 40  # to auth_user, auth_group, auth_permission, django_content_type
    assert _keys_to_public("clone_check") == set()
    template = _without(_catalog(template_schema()), {
        (_normal(table), _normal(name)) for table, name in to_public})
    assert _catalog("clone_check") == template
    assert _row_counts("clone_check") == _row_counts(template_schema())
    assert sum(_row_counts("clone_check").values()) > 10  # pages, site, locale, collection...


def test_cloned_foreign_keys_point_inside_the_clone_and_ids_continue(world):
    from wagtail.models import Collection, Page

    schema_clone(template_schema(), "clone_fk")
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT DISTINCT r.relnamespace::regnamespace::text
              FROM pg_constraint k JOIN pg_class r ON r.oid = k.confrelid
             WHERE k.contype = 'f' AND k.connamespace = 'clone_fk'::regnamespace""")
        targets = {row[0] for row in cursor.fetchall()}
    assert targets == {"clone_fk"}
    with schema_context(template_schema()):
        template_max = Page.objects.order_by("-pk").values_list("pk", flat=True).first()
    with schema_context("clone_fk"):
        root = Collection.get_first_root_node()
        child = root.add_child(name="New")
        page = Page.get_first_root_node().add_child(instance=Page(title="Fresh", slug="fresh"))
    assert page.pk > template_max and child.pk > root.pk


def test_a_template_with_objects_the_clone_cannot_copy_is_refused(world):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA odd_template")
        cursor.execute("CREATE TABLE odd_template.t (id int)")
        cursor.execute("CREATE VIEW odd_template.v AS SELECT * FROM odd_template.t")
    with pytest.raises(RuntimeError, match="view or materialised view v"):
        schema_clone("odd_template", "odd_clone")


def test_keys_to_public_that_an_older_brand_has_are_dropped_by_the_command(world):
    from io import StringIO

    from django.core.management import call_command

    schema = world.acme.client.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{schema}".wagtailcore_revision ADD CONSTRAINT old_key '
                       "FOREIGN KEY (user_id) REFERENCES public.auth_user (id) "
                       "DEFERRABLE INITIALLY DEFERRED")
    assert _keys_to_public(schema) == {("wagtailcore_revision", "old_key")}
    out = StringIO()
    call_command("drop_public_keys", stdout=out)
    assert _keys_to_public(schema) == set()
    assert "Dropped 1 foreign keys to public tables in 1 brands." in out.getvalue()
