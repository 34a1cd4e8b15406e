"""Move one brand between installations: ``client_export`` writes one .tar.gz, ``client_import``
reads it back, under the same or a new short name.

The archive holds:

- ``manifest.json``: format version, the brand's name, slug, time zone, brand settings, created_at,
  the schema's applied migrations, the public rows its schema refers to (users, groups,
  permissions, content types, by natural key) and the brand's cross-schema foreign keys;
- ``schema.sql``: the brand's schema (tables, rows, identity sequences, constraints, indexes),
  unqualified, so it restores under any schema name;
- ``public.json``: the brand's public rows: memberships (email, names, role), domains, and its
  outbox deliveries (kept as a record; see below);
- ``media/...``: the brand's media folder; ``logo/...``: its logo.

Why not ``pg_dump``: it runs on its own connection, so it sees only committed rows and its restore
(psql) could not share the import's transaction; the embedded PostgreSQL of a default install
has no ``pg_dump`` on the path; and its output names the schema everywhere, so restoring under a
new short name would mean rewriting SQL text. The dump here is written on Django's connection with
``COPY ... TO STDOUT`` and the catalog queries of ``tenants.clone`` (which already refuses schemas
holding views, functions, triggers or free sequences), and the restore runs inside the import's
transaction: a failed import leaves no schema, no rows and (removed explicitly) no files.

Ids of public rows differ between installations: a brand's tables refer to users, groups,
permissions and content types in the public schema. The manifest carries the natural key of every
such row referred to, and the import rewrites those columns to this installation's ids before it
adds the foreign keys. Users are matched by email and created without a password if missing.

Outbox deliveries are not imported: the ones not yet sent would post a second time if the source
installation still runs, and sent ones belong to that installation's history. They are in
``public.json`` for the record; re-approve a campaign on the new installation to schedule it.
Channel and webhook secrets are encrypted with the installation's key: unless both share
``FIELD_ENCRYPTION_KEYS``, re-enter them after an import. Media are read from and
written to MEDIA_ROOT/<schema>/ (the file-system storage), not through an object-storage backend.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from tenants.clone import (
    _quote,
    plain_indexes,
    public_foreign_keys_drop,
    public_references,
    schema_oid,
    unsupported_objects,
)
from tenants.links import brand_host
from tenants.models import Client, Domain, Membership, Role, RoleGroup
from tenants.provisioning import role_groups_create, template_schema, wagtail_groups_remove
from tenants.services import (
    audit,
    membership_set,
    schema_name_for,
    staff_user_get_or_create,
)

FORMAT_VERSION = 1
SECTION = "-- section: "
# Public tables a brand's schema refers to, and how a row of each is named across installations.
PUBLIC_TABLES = ("auth_user", "auth_group", "auth_permission", "django_content_type")


class TransferError(ValidationError):
    """An archive this installation cannot import (or a brand it cannot export)."""


# --- export -------------------------------------------------------------------------------------


def _schema_sql(schema: str, out) -> tuple[list[dict], dict[str, set[int]]]:
    """Write ``schema``'s tables, rows, sequences, constraints and indexes to ``out`` (bytes).

    Returns the cross-schema foreign keys ``[{table, column, to}]`` and, per public table, the
    ids the brand's rows refer to."""
    with connection.cursor() as cursor:
        ns = schema_oid(cursor, schema)
        unsupported = unsupported_objects(cursor, ns)
        if unsupported:
            raise TransferError("The brand's schema holds objects the export does not copy: "
                                + ", ".join(unsupported))
        # With only the brand's schema on the path, its own names print unqualified and every
        # other schema's (public.auth_user) qualified.
        cursor.execute(f"SET search_path TO {_quote(schema)}")
        try:
            cursor.execute("SELECT oid, relname FROM pg_class WHERE relnamespace = %s "
                           "AND relkind = 'r' ORDER BY relname", [ns])
            tables = cursor.fetchall()
            cursor.execute("""
                SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
                       s.relname
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  JOIN pg_type t ON t.oid = a.atttypid
                  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  LEFT JOIN pg_collation co ON co.oid = a.attcollation
                  LEFT JOIN pg_depend dep ON dep.refobjid = c.oid AND dep.refobjsubid = a.attnum
                                         AND dep.deptype = 'i' AND a.attidentity <> ''
                  LEFT JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
                 WHERE c.relnamespace = %s AND c.relkind = 'r' AND a.attnum > 0
                   AND NOT a.attisdropped
                 ORDER BY c.relname, a.attnum""", [ns])
            columns: dict[str, list] = {}
            for row in cursor.fetchall():
                columns.setdefault(row[0], []).append(row[1:])
            cursor.execute("""
                SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.contype,
                       fc.relnamespace <> c.relnamespace, fc.relname, a.attname,
                       array_length(k.conkey, 1)
                  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                  LEFT JOIN pg_class fc ON fc.oid = k.confrelid
                  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
                 WHERE c.relnamespace = %s AND k.contype <> 'n'
                 ORDER BY (k.contype = 'f'), c.relname, k.conname""", [ns])
            constraints = cursor.fetchall()
            indexes = plain_indexes(cursor, ns)

            foreign = []
            for table, _name, _definition, kind, cross, to, column, width in constraints:
                if kind == "f" and cross:
                    if to not in PUBLIC_TABLES or width != 1:
                        raise TransferError(f"{table}.{column} refers to {to}, a public table "
                                            "the export does not know how to carry over.")
                    foreign.append({"table": table, "column": column, "to": to})
            # A brand's columns that hold public ids carry no foreign key (tenants.clone): the
            # template's keys name them.
            names, seen = {name for _oid, name in tables}, {(f["table"], f["column"])
                                                            for f in foreign}
            template_ns = schema_oid(cursor, template_schema())
            for table, column, _schema, to in (public_references(cursor, template_ns)
                                               if template_ns else []):
                if table in names and (table, column) not in seen:
                    if to not in PUBLIC_TABLES:
                        raise TransferError(f"{table}.{column} refers to {to}, a public table "
                                            "the export does not know how to carry over.")
                    foreign.append({"table": table, "column": column, "to": to})

            out.write(b"-- One brand's schema, written by tenants.transfer. Restore it with\n"
                      b"-- search_path set to the (new) schema; names are unqualified.\n")
            out.write(f"{SECTION}tables\n".encode())
            for _oid, table in tables:
                out.write((_table_ddl(table, columns[table]) + ";\n").encode())
            out.write(f"{SECTION}data\n".encode())
            for _oid, table in tables:
                names = ", ".join(_quote(c[0]) for c in columns[table] if not c[5])
                out.write(f"COPY {_quote(table)} ({names}) FROM stdin;\n".encode())
                with cursor.copy(f"COPY {_quote(table)} ({names}) TO STDOUT") as copy:
                    for chunk in copy:
                        out.write(bytes(chunk))
                out.write(b"\\.\n")
            out.write(f"{SECTION}sequences\n".encode())
            for table, cols in columns.items():
                for name, *_rest, identity, _generated, _collation, seq in cols:
                    if identity and seq:
                        cursor.execute(f"SELECT last_value, is_called FROM {_quote(seq)}")  # noqa: S608
                        value, called = cursor.fetchone()
                        out.write(
                            (f"SELECT setval(pg_get_serial_sequence("
                             f"'{_quote(table)}', '{name}'), {int(value)}, "
                             f"{'true' if called else 'false'});\n").encode())
            out.write(f"{SECTION}constraints\n".encode())
            for table, name, definition, *_rest in constraints:
                out.write((f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} "
                           f"{definition};\n").encode())
            out.write(f"{SECTION}indexes\n".encode())
            on_schema = re.compile(rf" ON (ONLY )?{re.escape(schema)}\.")
            for definition in indexes:
                out.write((on_schema.sub(lambda m: f" ON {m.group(1) or ''}", definition,
                                         count=1) + ";\n").encode())

            referred: dict[str, set[int]] = {to: set() for to in PUBLIC_TABLES}
            for fk in foreign:
                cursor.execute(f"SELECT DISTINCT {_quote(fk['column'])} FROM "  # noqa: S608
                               f"{_quote(fk['table'])} WHERE {_quote(fk['column'])} IS NOT NULL")
                referred[fk["to"]].update(r[0] for r in cursor.fetchall())
        finally:
            connection.set_schema_to_public()
    return foreign, referred


def _table_ddl(table: str, columns: list) -> str:
    parts = []
    for name, type_, not_null, default, identity, generated, collation, seq in columns:
        column = f"{_quote(name)} {type_}"
        if collation:
            column += f" COLLATE {_quote(collation)}"
        if generated:
            column += f" GENERATED ALWAYS AS ({default}) STORED"
        elif identity:
            kind = "ALWAYS" if identity == "a" else "BY DEFAULT"
            column += f" GENERATED {kind} AS IDENTITY"
            if seq:
                column += f" (SEQUENCE NAME {_quote(seq)})"
        elif default is not None:
            column += f" DEFAULT {default}"
        if not_null:
            column += " NOT NULL"
        parts.append(column)
    return f"CREATE TABLE {_quote(table)} ({', '.join(parts)})"


def _public_keys(referred: dict[str, set[int]]) -> dict[str, dict]:
    """Natural keys of the public rows a brand refers to, by table and old id."""
    user_model = get_user_model()
    keys: dict[str, dict] = {}
    keys["auth_user"] = {
        str(u.pk): {"email": u.email or u.get_username(), "first_name": u.first_name,
                    "last_name": u.last_name}
        for u in user_model.objects.filter(pk__in=referred["auth_user"])}
    keys["auth_group"] = {}
    for group in Group.objects.filter(pk__in=referred["auth_group"]):
        scope = RoleGroup.objects.filter(group=group, client__isnull=False).first()
        keys["auth_group"][str(group.pk)] = {"name": group.name,
                                             "role": scope.role if scope else None}
    keys["django_content_type"] = {
        str(ct.pk): [ct.app_label, ct.model]
        for ct in ContentType.objects.filter(pk__in=referred["django_content_type"])}
    keys["auth_permission"] = {
        str(p.pk): [p.content_type.app_label, p.content_type.model, p.codename]
        for p in Permission.objects.filter(pk__in=referred["auth_permission"])
        .select_related("content_type")}
    return keys


# Public rows of a brand that apps built on tenants keep in the archive as a record (not
# imported): name -> reader(client) -> JSON-serialisable rows. Publishing adds "deliveries".
_RECORDS: dict[str, Callable[[Client], list[dict]]] = {}


def register_record(name: str, reader: Callable[[Client], list[dict]]) -> None:
    """Keep ``reader(client)``'s rows under ``name`` in every export's ``public.json``."""
    _RECORDS[name] = reader


def _migrations(schema: str) -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {_quote(schema)}.django_migrations "  # noqa: S608
                       "ORDER BY app, name")
        return [list(r) for r in cursor.fetchall()]


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def client_export(*, client: Client, path, actor=None) -> Path:
    """Write ``client``'s schema, public rows and media to the .tar.gz at ``path``."""
    path = Path(path)
    schema = client.schema_name
    connection.set_schema_to_public()
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "schema.sql"
        with dump.open("wb") as out:
            foreign, referred = _schema_sql(schema, out)
        public = {
            "memberships": [
                {"email": m.user.email or m.user.get_username(), "first_name": m.user.first_name,
                 "last_name": m.user.last_name, "role": m.role}
                for m in Membership.objects.filter(client=client).select_related("user")],
            "domains": [{"domain": d.domain, "is_primary": d.is_primary}
                        for d in Domain.objects.filter(tenant=client)],
        }
        public.update({name: reader(client) for name, reader in _RECORDS.items()})
        manifest = {
            "format_version": FORMAT_VERSION,
            "exported_at": timezone.now().isoformat(),
            "slug": client.slug,
            "name": client.name,
            "schema_name": schema,
            "time_zone": client.time_zone,
            "brand_colour": client.brand_colour,
            "logo": Path(client.logo.name).name if client.logo else "",
            "created_at": client.created_at.isoformat(),
            "migrations": _migrations(schema),
            "public_foreign_keys": foreign,
            "public_rows": _public_keys(referred),
            "schema_sql_sha256": hashlib.sha256(dump.read_bytes()).hexdigest(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        try:
            with tarfile.open(partial, "w:gz") as tar:
                _add_bytes(tar, "manifest.json", json.dumps(
                    manifest, indent=1, cls=DjangoJSONEncoder).encode())
                tar.add(dump, arcname="schema.sql")
                _add_bytes(tar, "public.json", json.dumps(
                    public, indent=1, cls=DjangoJSONEncoder).encode())
                media = Path(settings.MEDIA_ROOT) / schema
                if media.is_dir():
                    tar.add(media, arcname="media")
                if client.logo:
                    logo = Path(settings.MEDIA_ROOT) / get_public_schema_name() / client.logo.name
                    if logo.is_file():
                        tar.add(logo, arcname=f"logo/{logo.name}")
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    audit(actor=actor, client_slug=client.slug, action="client.exported", file=path.name,
          migrations=len(manifest["migrations"]))
    return path


# --- import -------------------------------------------------------------------------------------


def _read_member(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise TransferError(f"The archive has no {name}: it is not a brand export.") from None
    return tar.extractfile(member).read()


def _check_migrations(archived: list[list[str]]) -> bool:
    """Refuse an archive whose schema has migrations this installation does not know. Returns
    whether the restored schema needs migrating (the archive is older)."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(f"{app}.{name}" for app, name in archived if (app, name) not in known)
    if unknown:
        raise TransferError(
            "This archive comes from a newer version of the platform: its brand has migrations "
            "this installation does not have (" + ", ".join(unknown[:5])
            + (", …" if len(unknown) > 5 else "") + "). Upgrade this installation first.")
    return bool(set(map(tuple, _migrations(template_schema()))) - set(map(tuple, archived)))


def _statements(text: str):
    """(section, statement or (copy statement, data)) from a schema.sql written by the export."""
    section = None
    lines = iter(text.split("\n"))
    for line in lines:
        if line.startswith(SECTION):
            section = line[len(SECTION):].strip()
        elif not line or line.startswith("--"):
            continue
        elif line.startswith("COPY ") and line.endswith(" FROM stdin;"):
            rows = []
            for row in lines:
                if row == "\\.":
                    break
                rows.append(row + "\n")
            yield section, (line[:-len(" FROM stdin;")] + " FROM STDIN", "".join(rows))
        else:
            yield section, line


def _id_maps(manifest: dict, client: Client, groups: dict) -> dict[str, dict[int, int]]:
    """Old id -> this installation's id, for every public row the brand's schema refers to."""
    rows = manifest.get("public_rows", {})
    maps: dict[str, dict[int, int]] = {}
    maps["auth_user"] = {
        int(old): staff_user_get_or_create(email=u["email"], first_name=u["first_name"],
                                           last_name=u["last_name"]).pk
        for old, u in rows.get("auth_user", {}).items()}
    maps["auth_group"] = {}
    for old, group in rows.get("auth_group", {}).items():
        if group.get("role") in groups:
            maps["auth_group"][int(old)] = groups[group["role"]].pk
        else:
            maps["auth_group"][int(old)] = Group.objects.get_or_create(name=group["name"])[0].pk
    maps["django_content_type"] = {
        int(old): ContentType.objects.get_by_natural_key(app, model).pk
        for old, (app, model) in rows.get("django_content_type", {}).items()}
    maps["auth_permission"] = {}
    for old, (app, model, codename) in rows.get("auth_permission", {}).items():
        try:
            maps["auth_permission"][int(old)] = Permission.objects.get_by_natural_key(
                codename, app, model).pk
        except Permission.DoesNotExist:
            raise TransferError(f"This installation has no permission {app}.{codename}.") from None
    return maps


def _restore_schema(schema: str, sql: str, manifest: dict, maps: dict) -> None:
    """Create ``schema`` from the export's SQL, rewriting ids of public rows on the way."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {_quote(schema)}")
        cursor.execute(f"SET search_path TO {_quote(schema)}")
        try:
            remapped = False
            for section, statement in _statements(sql):
                if section in ("sequences", "constraints", "indexes") and not remapped:
                    _remap(cursor, manifest.get("public_foreign_keys", []), maps)
                    remapped = True
                if isinstance(statement, tuple):
                    copy_sql, data = statement
                    with cursor.copy(copy_sql) as copy:
                        copy.write(data.encode())
                else:
                    cursor.execute(statement)
        finally:
            connection.set_schema_to_public()
    public_foreign_keys_drop(schema)  # an archive written before brands did without them


def _remap(cursor, foreign: list[dict], maps: dict) -> None:
    cursor.execute("CREATE TEMPORARY TABLE transfer_id_map (kind text, old bigint, new bigint) "
                   "ON COMMIT DROP")
    for kind, mapping in maps.items():
        if mapping:
            with cursor.copy("COPY transfer_id_map (kind, old, new) FROM STDIN") as copy:
                for old, new in mapping.items():
                    copy.write_row((kind, old, new))
    for fk in foreign:
        table, column = _quote(fk["table"]), _quote(fk["column"])
        cursor.execute(
            f"UPDATE {table} t SET {column} = m.new FROM transfer_id_map m "  # noqa: S608
            f"WHERE m.kind = %s AND t.{column} = m.old AND m.old <> m.new", [fk["to"]])
    cursor.execute("DROP TABLE transfer_id_map")


def _safe_members(tar: tarfile.TarFile, prefix: str):
    for member in tar.getmembers():
        name = PurePosixPath(member.name)
        if name.parts[:1] != (prefix,) or len(name.parts) < 2:
            continue
        if ".." in name.parts or name.is_absolute() or not (member.isfile() or member.isdir()):
            raise TransferError(f"The archive holds an unsafe entry: {member.name}")
        yield member, PurePosixPath(*name.parts[1:])


def client_import(*, path, slug: str | None = None, actor) -> Client:
    """Create a brand from an archive written by ``client_export``, under ``slug`` (default:
    the archive's). All of it or nothing. ``actor`` restores the archive's memberships, so must
    be allowed to grant their roles (``services.check_grantable``); the command passes
    ``services.SYSTEM``."""
    path = Path(path)
    if not path.is_file():
        raise TransferError(f"There is no file {path}.")
    try:
        tar = tarfile.open(path, "r:gz")
    except (tarfile.TarError, OSError) as error:
        raise TransferError(f"{path.name} is not a .tar.gz archive ({error}).") from None
    with tar:
        try:
            manifest = json.loads(_read_member(tar, "manifest.json"))
        except ValueError:
            raise TransferError("The archive's manifest.json is not valid JSON.") from None
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise TransferError(f"The archive's format version {version!r} is newer than this "
                                f"installation reads ({FORMAT_VERSION}). Upgrade it first.")
        sql_bytes = _read_member(tar, "schema.sql")
        if hashlib.sha256(sql_bytes).hexdigest() != manifest.get("schema_sql_sha256"):
            raise TransferError("schema.sql does not match the manifest: the archive was changed "
                                "or damaged.")
        public = json.loads(_read_member(tar, "public.json"))
        needs_migrate = _check_migrations(manifest.get("migrations", []))

        slug = (slug or manifest["slug"]).strip().lower()
        client = Client(name=manifest["name"], slug=slug, time_zone=manifest["time_zone"],
                        brand_colour=manifest.get("brand_colour") or "#2F5D62",
                        schema_name=schema_name_for(slug),
                        created_at=parse_datetime(manifest["created_at"]) or timezone.now())
        if Client.objects.filter(slug=slug).exists():
            raise TransferError({"slug": f"A client “{slug}” exists already. Import under "
                                         "another short name (--slug)."})
        client.full_clean()
        host = brand_host(slug)
        if Domain.objects.filter(domain=host).exists():
            raise TransferError({"slug": f"The address {host} is already in use."})
        if schema_exists(client.schema_name):
            raise TransferError({"slug": f"A schema {client.schema_name} exists already."})
        media_root = Path(settings.MEDIA_ROOT) / client.schema_name
        if media_root.exists() and any(media_root.iterdir()):
            raise TransferError({"slug": f"Files are already in {media_root}. Remove them, or "
                                         "import under another short name."})

        written: list[Path] = []
        connection.set_schema_to_public()
        try:
            with transaction.atomic():
                client.auto_create_schema = False  # the schema comes from the archive
                client.save(verbosity=0)
                Domain.objects.create(domain=host, tenant=client, is_primary=True)
                groups = role_groups_create(client)
                maps = _id_maps(manifest, client, groups)
                _restore_schema(client.schema_name, sql_bytes.decode(), manifest, maps)
                with schema_context(client.schema_name):
                    from wagtail.models import Site

                    Site.objects.filter(is_default_site=True).update(hostname=host)
                if needs_migrate:
                    from django.core.management import call_command

                    call_command("migrate_schemas", schema_name=client.schema_name,
                                 interactive=False, verbosity=0)
                    connection.set_schema_to_public()
                wagtail_groups_remove()  # an older archive may grant Wagtail's global groups
                for member in public.get("memberships", []):
                    if member.get("role") not in Role.values:
                        continue
                    user = staff_user_get_or_create(email=member["email"],
                                                    first_name=member.get("first_name", ""),
                                                    last_name=member.get("last_name", ""))
                    membership_set(client=client, user=user, role=member["role"], actor=actor)

                written.append(media_root)
                for member, relative in _safe_members(tar, "media"):
                    target = media_root / relative
                    if member.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                    else:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with tar.extractfile(member) as source, target.open("wb") as out:
                            shutil.copyfileobj(source, out)
                for member, relative in _safe_members(tar, "logo"):
                    if member.isfile():
                        data = tar.extractfile(member).read()
                        client.logo.save(f"{slug}{Path(relative.name).suffix.lower()}",
                                         ContentFile(data), save=True)
                        written.append(Path(settings.MEDIA_ROOT) / get_public_schema_name()
                                       / client.logo.name)
                audit(actor=actor, client_slug=slug, action="client.imported",
                      file=path.name, source_slug=manifest["slug"],
                      exported_at=manifest.get("exported_at"),
                      migrated=needs_migrate,
                      deliveries_not_imported=len(public.get("deliveries", [])))
        except BaseException:
            connection.set_schema_to_public()
            for item in written:
                if item.is_dir():
                    shutil.rmtree(item, ignore_errors=True)
                else:
                    item.unlink(missing_ok=True)
            raise
    return client
