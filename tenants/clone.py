"""Clone the template schema into a new brand schema, reading only that schema's catalog rows.

django-tenants' ``clone_schema`` SQL function consults ``information_schema`` views, which cover
every schema in the database: each clone costs more as brands accumulate (measured: 0.7 s with a
few schemas, about 4 s with thirty). This clone asks ``pg_catalog`` about the template's own
namespace only, so its cost stays flat however many brands exist. It copies what the template
holds (tables with their columns, defaults, identity sequences and rows; primary-key, unique,
check and foreign-key constraints and indexes under their original names) and refuses a template
that holds anything else (views, functions, triggers, free sequences), rather than clone it
half-way.
"""

from __future__ import annotations

import re

from django.db import connection

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_UNSUPPORTED = """
SELECT 'view or materialised view ' || c.relname FROM pg_class c
 WHERE c.relnamespace = %(ns)s AND c.relkind IN ('v', 'm')
UNION ALL
SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = %(ns)s
UNION ALL
SELECT 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal
UNION ALL
SELECT 'sequence ' || c.relname FROM pg_class c
 WHERE c.relnamespace = %(ns)s AND c.relkind = 'S'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')
UNION ALL
SELECT 'type ' || t.typname FROM pg_type t
 WHERE t.typnamespace = %(ns)s AND t.typtype NOT IN ('b', 'c')
"""


def _quote(name: str) -> str:
    """An identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def schema_oid(cursor, schema: str) -> int | None:
    cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
    row = cursor.fetchone()
    return row[0] if row else None


def unsupported_objects(cursor, ns: int) -> list[str]:
    """What a copy of schema ``ns`` by tables, rows, constraints and indexes would miss."""
    cursor.execute(_UNSUPPORTED, {"ns": ns})
    return [r[0] for r in cursor.fetchall()]


def plain_indexes(cursor, ns: int) -> list[str]:
    """``CREATE INDEX`` statements of schema ``ns`` (those behind constraints come with them)."""
    cursor.execute("""
        SELECT pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         WHERE c.relnamespace = %s
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                           AND k.contype IN ('p', 'u', 'x'))
         ORDER BY 1""", [ns])
    return [r[0] for r in cursor.fetchall()]


def _literal(text: str) -> str:
    """A string literal, quoted."""
    return "'" + text.replace("'", "''") + "'"


def schema_clone(source: str, target: str) -> None:
    """Create schema ``target`` as a copy (structure and rows) of schema ``source``."""
    for name in (source, target):
        if not _NAME.match(name):
            raise ValueError(f"Schema name {name!r}: use lower-case letters, digits and _.")
    src, dst = _quote(source), _quote(target)
    with connection.cursor() as cursor:
        ns = schema_oid(cursor, source)
        if ns is None:
            raise ValueError(f"There is no schema {source!r} to clone.")
        unsupported = unsupported_objects(cursor, ns)
        if unsupported:
            raise RuntimeError("The template schema holds objects this clone does not copy: "
                               + ", ".join(unsupported))
        # Definitions are printed relative to the search path: with only the template on it,
        # its own tables come out unqualified (so they land in the target) and public's qualified.
        cursor.execute(f"SET search_path TO {src}")
        try:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind IN ('r', 'p') "
                "ORDER BY relname", [ns])
            tables = [r[0] for r in cursor.fetchall()]
            cursor.execute("""
                SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.contype
                  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                 WHERE c.relnamespace = %s AND k.contype <> 'n'  -- NOT NULL comes with LIKE
                 ORDER BY (k.contype = 'f'), c.relname, k.conname""", [ns])
            constraints = cursor.fetchall()
            indexes = plain_indexes(cursor, ns)
            cursor.execute("""
                SELECT c.relname, a.attname, s.relname
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  JOIN pg_depend d ON d.refobjid = c.oid AND d.refobjsubid = a.attnum
                                   AND d.deptype = 'i'
                  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                 WHERE c.relnamespace = %s AND a.attidentity <> ''""", [ns])
            identities = cursor.fetchall()
            cursor.execute("""
                SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                 WHERE c.relnamespace = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0
                   AND NOT a.attisdropped AND a.attgenerated = ''
                 GROUP BY c.relname""", [ns])
            columns = dict(cursor.fetchall())  # generated columns are computed, not copied
        finally:
            connection.set_schema_to_public()  # django-tenants sets the path again before use

        like = ("INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE "
                "INCLUDING COMMENTS INCLUDING COMPRESSION")
        script = [f"CREATE SCHEMA {dst}"]
        script += [f"CREATE TABLE {dst}.{_quote(t)} (LIKE {src}.{_quote(t)} {like})"
                   for t in tables]
        # Every name below is quoted as an identifier or a literal; none comes from a user.
        script += [f"INSERT INTO {dst}.{_quote(t)} ({columns[t]}) OVERRIDING SYSTEM VALUE "  # noqa: S608
                   f"SELECT {columns[t]} FROM {src}.{_quote(t)}" for t in tables]
        for table, column, seq in identities:
            # LIKE names the new identity sequence after the table; the template's may carry an
            # older name (a renamed table keeps its sequence's name). Keep the template's.
            serial = (f"pg_get_serial_sequence({_literal(f'{dst}.{_quote(table)}')}, "
                      f"{_literal(column)})")
            script.append(f"SELECT setval({serial}, last_value, is_called) "  # noqa: S608
                          f"FROM {src}.{_quote(seq)}")
            script.append(
                f"DO $$ DECLARE s text := {serial}; BEGIN "
                f"IF s <> format('%I.%I', {_literal(target)}, {_literal(seq)}) THEN "
                f"EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', s, {_literal(seq)}); "
                "END IF; END $$")
        script.append(f"SET search_path TO {dst}")
        script += [f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}"
                   for table, name, definition, _kind in constraints]
        # pg_get_indexdef always names the table's schema (since PostgreSQL 10.3's search-path
        # hardening); point each index at the target's table instead.
        on_source = re.compile(rf" ON (ONLY )?{re.escape(source)}\.")
        script += [on_source.sub(lambda m: f" ON {m.group(1) or ''}{dst}.", definition, count=1)
                   for definition in indexes]
        cursor.execute(";\n".join(script))
    connection.set_schema_to_public()
