"""Spare brand schemas: copies of the template made ahead of time, so that a new brand's schema is
a rename, not a clone.

A clone creates ~480 relations; PostgreSQL (up to 16) syncs each new B-tree index's file to disk
as it builds it (about 320 fsyncs a brand), so a clone takes 0.5-0.7 s on a quiet 2-core machine
and several seconds on a busy one, whatever the number of brands. Made ahead of time, it is off the
path of the person waiting: ``Client.create_schema`` takes a spare that is the same as the
template (its rows and migration records, fingerprinted) and renames it (``ALTER SCHEMA ...
RENAME``: one catalog row), then a background job (django-q2) makes the next one. With no fresh
spare it clones, as before.

``TENANT_SPARE_SCHEMAS`` spares are kept (default 2; 0 turns them off). ``manage.py migrate``
drops spares that no longer match the template and makes new ones (``spares_fill``).
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import connection, transaction
from django_q.tasks import async_task

from tenants.clone import _literal, _quote, schema_clone, schema_oid, template_tables

PREFIX = "tenant_spare_"
log = logging.getLogger(__name__)


def spare_count_wanted() -> int:
    return int(getattr(settings, "TENANT_SPARE_SCHEMAS", 2))


def fingerprint(cursor, schema: str) -> str | None:
    """md5 of every row of every table of ``schema`` (migration records included): two schemas
    with the same fingerprint were cloned from the same template content."""
    ns = schema_oid(cursor, schema)
    if ns is None:
        return None
    tables = [name for _oid, name in template_tables(cursor, ns)]
    if not tables:
        return None
    parts = [f"SELECT {_literal(t)} AS t, coalesce(md5(string_agg(row_::text, ',' "  # noqa: S608
             f"ORDER BY row_::text)), '') AS h FROM {_quote(schema)}.{_quote(t)} row_"
             for t in tables]
    cursor.execute("SELECT md5(string_agg(t || ':' || h, ';' ORDER BY t)) FROM ("  # noqa: S608
                   + " UNION ALL ".join(parts) + ") s")
    return cursor.fetchone()[0]


def spares(cursor) -> list[tuple[str, str | None]]:
    """(name, fingerprint noted on it) of each spare schema, oldest name first."""
    cursor.execute("SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_namespace "
                   "WHERE starts_with(nspname, %s) ORDER BY nspname", [PREFIX])
    return cursor.fetchall()


def spare_claim(target: str, template: str) -> bool:
    """Inside the caller's transaction: rename a spare that matches ``template`` to ``target``.
    False when there is none (or spares are turned off): the caller clones instead. Two callers
    never take the same spare (each holds an advisory lock on the one it takes)."""
    if spare_count_wanted() <= 0:
        return False
    with connection.cursor() as cursor:
        found = spares(cursor)
        if not found:
            return False
        current = fingerprint(cursor, template)
        for name, noted in found:
            if noted != current:
                continue  # stale: spares_fill drops it
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))",
                           ["tenants.spares:" + name])
            if not cursor.fetchone()[0] or schema_oid(cursor, name) is None:
                continue  # another provision is taking it, or took it
            cursor.execute(f"ALTER SCHEMA {_quote(name)} RENAME TO {_quote(target)}")
            cursor.execute(f"COMMENT ON SCHEMA {_quote(target)} IS NULL")
            return True
    return False


def spare_make(template: str) -> str:
    """Clone ``template`` into a new spare, noted with the template's fingerprint."""
    name = PREFIX + uuid.uuid4().hex[:12]
    with transaction.atomic():
        schema_clone(template, name)
        with connection.cursor() as cursor:
            noted = fingerprint(cursor, name)
            cursor.execute(f"COMMENT ON SCHEMA {_quote(name)} IS {_literal(noted)}")
    return name


def spares_fill(count: int | None = None, template: str | None = None, *,
                make: bool = True) -> dict[str, int]:
    """Drop spares that no longer match the template, then (``make``) make spares until there
    are ``count`` (``TENANT_SPARE_SCHEMAS``). One filler at a time (a session advisory lock; a
    second returns at once). Returns {"dropped": n, "made": m}."""
    count = spare_count_wanted() if count is None else count
    template = template or settings.TENANT_BASE_SCHEMA
    done = {"dropped": 0, "made": 0}
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext('tenants.spares.fill'))")
        if not cursor.fetchone()[0]:
            return done
        try:
            current = fingerprint(cursor, template)
            found = spares(cursor)
            fresh = [name for name, noted in found if current and noted == current]
            stale = [name for name, noted in found if name not in fresh]
            fresh, surplus = fresh[:count], fresh[count:]
            for name in stale + surplus:
                with transaction.atomic():
                    cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))",
                                   ["tenants.spares:" + name])
                    if cursor.fetchone()[0]:  # else a provision is taking it
                        cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(name)} CASCADE")
                        done["dropped"] += 1
            while make and current and len(fresh) < count:
                fresh.append(spare_make(template))
                done["made"] += 1
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext('tenants.spares.fill'))")
            connection.set_schema_to_public()
    if any(done.values()):
        log.info("Spare brand schemas: %(dropped)s dropped, %(made)s made", done)
    return done


def spares_fill_later() -> None:
    """After the current transaction commits, have a worker make the spare just taken again."""
    def enqueue() -> None:
        async_task("tenants.spares.spares_fill", task_name="tenants.spares.fill",
                   group="tenants.spares")

    transaction.on_commit(enqueue)
