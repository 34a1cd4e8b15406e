"""Clone the template schema into a new brand schema, reading only that schema's catalog rows.

django-tenants' ``clone_schema`` SQL function consults ``information_schema`` views, which cover
every schema in the database: each clone costs more as brands accumulate (measured: 0.7 s with a
few schemas, about 4 s with thirty). This clone asks ``pg_catalog`` about the template's own
namespace only, so its cost stays flat however many brands exist. It copies what the template
holds (tables with their columns, defaults, identity sequences and rows; primary-key, unique,
check and foreign-key constraints and indexes under their original names) and refuses a template
that holds anything else (views, functions, triggers, free sequences), rather than clone it
half-way.

Foreign keys from the template's tables to tables of other schemas (``public.auth_user``,
``auth_group``, ``auth_permission``, ``django_content_type``: 53 of them) are not copied. Each such
key puts two triggers on the public table it points at and takes a SHARE ROW EXCLUSIVE lock on it
until the provisioning commits: with them, two provisions waited for each other, a sign-in's
``UPDATE auth_user`` waited for a provision, and every brand added 50 triggers to ``auth_user``
(at 10,000 triggers a backend's first write to it took 22 ms instead of 1.5 ms, and each new key
on it twice as long: provisioning slowed with every brand). The template keeps them, so its
catalog still says which brand columns hold public ids (``public_references``), and
``public_foreign_keys_drop`` takes them out of a brand that a migration gave one.
"""

from __future__ import annotations

import re

from django.db import connection

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Every catalog read below enters through an index. ``pg_class`` has none on the namespace, so
# "relations WHERE relnamespace = template" scans the whole catalog (hundreds of rows per brand):
# at 185 brands one such read took 0.3-0.7 s, growing with every brand. The template's members come
# from ``pg_depend`` instead (each table, view, free sequence, function or type records a
# dependency on its schema; indexes, constraints and identity sequences hang off their table).
_UNSUPPORTED = """
WITH members AS (SELECT d.classid, d.objid FROM pg_depend d
                  WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = %(ns)s
                    AND d.objsubid = 0)
SELECT 'view or materialised view ' || c.relname
  FROM members m JOIN pg_class c ON c.oid = m.objid
 WHERE m.classid = 'pg_class'::regclass AND c.relkind IN ('v', 'm')
UNION ALL
SELECT 'trigger ' || t.tgname
  FROM members m JOIN pg_trigger t ON t.tgrelid = m.objid
 WHERE m.classid = 'pg_class'::regclass AND NOT t.tgisinternal
UNION ALL
SELECT 'sequence ' || c.relname
  FROM members m JOIN pg_class c ON c.oid = m.objid
 WHERE m.classid = 'pg_class'::regclass AND c.relkind = 'S'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype = 'i')
UNION ALL
SELECT 'type ' || t.typname
  FROM members m JOIN pg_type t ON t.oid = m.objid
 WHERE m.classid = 'pg_type'::regclass AND t.typtype NOT IN ('b', 'c')
UNION ALL
SELECT pg_describe_object(m.classid, m.objid, 0) FROM members m
 WHERE m.classid NOT IN ('pg_class'::regclass, 'pg_type'::regclass)
"""


def template_tables(cursor, ns: int) -> list[tuple[int, str]]:
    """(oid, name) of the tables of schema ``ns``, by name."""
    cursor.execute("""
        WITH members AS (SELECT d.classid, d.objid FROM pg_depend d
                          WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = %(ns)s
                            AND d.objsubid = 0)
        SELECT c.oid, c.relname FROM members m JOIN pg_class c ON c.oid = m.objid
         WHERE m.classid = 'pg_class'::regclass AND c.relnamespace = %(ns)s
           AND c.relkind IN ('r', 'p')
         ORDER BY c.relname""", {"ns": ns})
    return cursor.fetchall()


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
    oids = [oid for oid, _ in template_tables(cursor, ns)]
    return _plain_indexes(cursor, oids)


def _plain_indexes(cursor, oids: list[int]) -> list[str]:
    cursor.execute("""
        SELECT pg_get_indexdef(i.indexrelid)
          FROM unnest(%s::oid[]) AS r(oid) JOIN pg_index i ON i.indrelid = r.oid
         WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                           AND k.contype IN ('p', 'u', 'x'))
         ORDER BY 1""", [oids])
    return [r[0] for r in cursor.fetchall()]


def public_references(cursor, ns: int) -> list[tuple[str, str, str, str]]:
    """(table, column, referenced schema, referenced table) of each single-column foreign key
    from a table of schema ``ns`` to a table of another schema, by table and column."""
    cursor.execute("""
        SELECT c.relname, a.attname, fn.nspname, fc.relname
          FROM unnest(%s::oid[]) AS r(oid) JOIN pg_class c ON c.oid = r.oid
          JOIN pg_constraint k ON k.conrelid = r.oid AND k.contype = 'f'
          JOIN pg_class fc ON fc.oid = k.confrelid AND fc.relnamespace <> %s
          JOIN pg_namespace fn ON fn.oid = fc.relnamespace
          JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.conkey[1]
         WHERE array_length(k.conkey, 1) = 1
         ORDER BY 1, 2""", [[oid for oid, _ in template_tables(cursor, ns)], ns])
    return cursor.fetchall()


# One statement, every step through an index: the schema by name, its tables through pg_depend
# (the same set as ``template_tables``: tables and partitioned tables, partitions included), their
# foreign keys by conrelid, the referenced tables by oid. It replaces a schema lookup, the
# template_tables read and a join over the array of its oids (three round trips, 8-23 ms per brand
# at thousands of schemas).
_PUBLIC_FOREIGN_KEYS = """
SELECT c.relname, k.conname
  FROM pg_namespace n
  JOIN pg_depend d ON d.refclassid = 'pg_namespace'::regclass AND d.refobjid = n.oid
                  AND d.classid = 'pg_class'::regclass AND d.objsubid = 0
  JOIN pg_class c ON c.oid = d.objid AND c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
  JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'
  JOIN pg_class fc ON fc.oid = k.confrelid AND fc.relnamespace <> n.oid
 WHERE n.nspname = %(schema)s
 ORDER BY 1, 2"""


def public_foreign_keys_drop(schema: str) -> int:
    """Drop the foreign keys from ``schema``'s tables to other schemas' tables (a migration
    adds them to every brand it runs in; brands do without, see above). Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(_PUBLIC_FOREIGN_KEYS, {"schema": schema})
        found = cursor.fetchall()
        for table, name in found:
            cursor.execute(f"ALTER TABLE {_quote(schema)}.{_quote(table)} "
                           f"DROP CONSTRAINT {_quote(name)}")
    return len(found)


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
            found = template_tables(cursor, ns)
            oids = [oid for oid, _ in found]
            tables = [name for _, name in found]
            cursor.execute("""
                SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.contype
                  FROM unnest(%s::oid[]) AS r(oid) JOIN pg_class c ON c.oid = r.oid
                  JOIN pg_constraint k ON k.conrelid = r.oid
                 WHERE k.contype <> 'n'  -- NOT NULL comes with LIKE
                   AND NOT (k.contype = 'f' AND k.confrelid <> ALL(%s::oid[]))  -- to public
                 ORDER BY (k.contype = 'f'), c.relname, k.conname""", [oids, oids])
            constraints = cursor.fetchall()
            indexes = _plain_indexes(cursor, oids)
            cursor.execute("""
                SELECT c.relname, a.attname, s.relname
                  FROM unnest(%s::oid[]) AS r(oid) JOIN pg_class c ON c.oid = r.oid
                  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
                  JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass
                                   AND d.refobjid = r.oid AND d.refobjsubid = a.attnum
                                   AND d.classid = 'pg_class'::regclass AND d.deptype = 'i'
                  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                 WHERE a.attidentity <> ''""", [oids])
            identities = cursor.fetchall()
            cursor.execute("""
                SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                  FROM unnest(%s::oid[]) AS r(oid) JOIN pg_class c ON c.oid = r.oid
                  JOIN pg_attribute a ON a.attrelid = r.oid
                 WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                 GROUP BY c.relname""", [oids])
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
