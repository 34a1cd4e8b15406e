"""Rolling migrations out to every client schema: only the ones behind, in parallel, resumable.

``manage.py migrate`` migrates public and the template first; then this module

1. finds which client schemas lag behind the template with ONE query over all their
   ``django_migrations`` tables (no migration executor per schema: that is what makes a no-op
   deploy over hundreds of brands take minutes);
2. migrates only those, in worker processes (forked, so they share the loaded migration graph
   and the rendered model state, computed once per starting point instead of once per schema);
3. runs each client's migrations in one transaction under a per-schema advisory lock: PostgreSQL
   DDL is transactional, so a failure leaves that client exactly as it was, and two rollouts
   running at once never migrate the same client twice;
4. returns the failures (schema, error). Running again resumes: only clients still behind are
   picked.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.special import RunPython
from psycopg import sql

from tenants.clone import public_foreign_keys_drop
from tenants.models import Client

Key = tuple[str, str]  # (app label, migration name)


@dataclass
class RolloutResult:
    total: int = 0  # client schemas considered
    todo: int = 0  # of those, behind the template
    migrated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (schema, error)

    @property
    def ok(self) -> bool:
        return not self.failed


def default_parallel() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def client_schemas() -> list[str]:
    """Every client's schema name (the public tenant excluded), in a stable order."""
    from django_tenants.utils import get_public_schema_name

    return list(Client.objects.exclude(schema_name=get_public_schema_name())
                .order_by("schema_name").values_list("schema_name", flat=True))


def _existing(schemas: list[str]) -> tuple[set[str], set[str]]:
    """(schemas that exist, schemas that have a django_migrations table): one catalog query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid"
            " AND c.relname = 'django_migrations' AND c.relkind IN ('r', 'p'))"
            " FROM pg_namespace n WHERE n.nspname = ANY(%s)", [schemas])
        rows = cursor.fetchall()
    return {name for name, _ in rows}, {name for name, has in rows if has}


def applied_in(schema: str) -> set[Key]:
    query = sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(schema))
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection))
        return {(app, name) for app, name in cursor.fetchall()}


def unapplied_in(schema: str) -> list[Key]:
    """The migrations this code has that ``schema`` has not recorded, found without Django's
    migration executor: it asks the catalog for every table on the search path (a scan of all
    of ``pg_class``, which every brand grows by hundreds of rows) several times per migrate.
    Here: one indexed lookup and one read of the schema's ``django_migrations``. A squashed
    migration counts as applied when every migration it replaces is."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(format('%%I.django_migrations', %s::text))", [schema])
        has_table = cursor.fetchone()[0] is not None
    applied = applied_in(schema) if has_table else set()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    missing = []
    for key in sorted(loader.graph.nodes):
        if key in applied:
            continue
        replaced = loader.replacements.get(key)
        if replaced is not None and all(tuple(r) in applied for r in replaced.replaces):
            continue
        missing.append(key)
    return missing


def pending_by_schema(template: str, schemas: list[str], *,
                      chunk: int = 1000) -> tuple[dict[str, frozenset[Key]], list[str]]:
    """Which of ``schemas`` miss migrations the template has: {schema: missing keys}.

    One query per ``chunk`` schemas (a UNION ALL of anti-joins against the template's rows),
    returning only missing rows, so a database with nothing to do answers with zero rows. The
    second value lists the schemas that do not exist at all."""
    connection.set_schema_to_public()
    exists, with_table = _existing(schemas + [template])
    if template not in with_table:
        raise RuntimeError(f"The template schema {template!r} has no migrations table: run "
                           "`manage.py migrate` (it migrates the template first).")
    reference = applied_in(template)
    pending: dict[str, set[Key]] = {}
    missing_schemas = [s for s in schemas if s not in exists]
    for schema in schemas:
        if schema in exists and schema not in with_table:
            pending[schema] = set(reference)  # never migrated: everything is pending
    tabled = [s for s in schemas if s in with_table]
    branch = sql.SQL("SELECT {}, t.app, t.name FROM {}.django_migrations t WHERE NOT EXISTS "
                     "(SELECT 1 FROM {}.django_migrations m "
                     "WHERE m.app = t.app AND m.name = t.name)")
    for start in range(0, len(tabled), chunk):
        part = tabled[start:start + chunk]
        query = sql.SQL(" UNION ALL ").join(
            branch.format(sql.Literal(s), sql.Identifier(template), sql.Identifier(s))
            for s in part)
        with connection.cursor() as cursor:
            cursor.execute(query.as_string(cursor.connection))
            for schema, app, name in cursor.fetchall():
                pending.setdefault(schema, set()).add((app, name))
    return {s: frozenset(keys) for s, keys in pending.items()}, missing_schemas


# --- Applying: one plan per starting point, shared by every schema that starts there -----------


class _Plan:
    """The migrations to apply from one starting point, with the model states computed once.
    ``apply`` runs them in one client schema inside one transaction.

    With ``precompute`` (the default) the plan walks every operation's ``state_forwards`` here,
    once, as Django's ``Migration.apply`` does per schema, and keeps each operation's (from, to)
    states rendered: a schema then costs only the operations' SQL (``database_forwards``), one
    INSERT of its migration records and the key drop. Without it, each schema goes through
    ``MigrationExecutor.apply_migration`` (the state recomputed and re-rendered per operation and
    per schema: about 184 ms a schema, nearly all of its time)."""

    def __init__(self, reference: frozenset[Key], missing: frozenset[Key], *,
                 precompute: bool = True):
        from django.db.migrations.executor import MigrationExecutor

        self.executor = MigrationExecutor(connection)
        loader = self.executor.loader
        graph_nodes = loader.graph.nodes
        starting = {k for k in reference - missing if k in graph_nodes}
        # What the executor would see in a schema at this starting point.
        loader.applied_migrations = dict.fromkeys(starting)
        full_plan = self.executor.migration_plan(loader.graph.leaf_nodes(), clean_start=True)
        self.migrations = [m for m, _ in full_plan if (m.app_label, m.name) in missing]
        self.keys = frozenset((m.app_label, m.name) for m in self.migrations)
        self.state = self.executor._create_project_state(with_applied_migrations=True)
        self.state.apps  # noqa: B018 - render once (the executor path gives each schema a clone)
        self.precompute = precompute
        # What each schema records: a squashed migration records the ones it replaces (as
        # MigrationExecutor.record_migration does).
        self.records = [key for m in self.migrations
                        for key in (m.replaces or [(m.app_label, m.name)])]
        self.steps = self._steps() if precompute else []

    def _steps(self) -> list[tuple[object, list[tuple[object, bool, object, object]]]]:
        """Per migration, per operation: (operation, atomic, from_state, to_state), computed as
        ``Migration.apply`` computes them (collect_sql off, so ``reduces_to_sql`` plays no part).
        Each state is its own rendered copy: schemas only read them."""
        steps = []
        state = self.state
        for migration in self.migrations:
            operations = []
            for operation in migration.operations:
                if isinstance(operation, RunPython) and state.is_delayed:
                    # RunPython drops a delayed state's apps to re-render them all (its
                    # database_forwards calls clear_delayed_apps_cache): here, once, not per
                    # schema. Freshly rendered, the state is no longer delayed.
                    state.clear_delayed_apps_cache()
                    state.apps  # noqa: B018
                    state.is_delayed = False
                after = state.clone()  # a rendered state's clone carries its rendered apps
                operation.state_forwards(migration.app_label, after)
                after.apps  # noqa: B018 - rendered here, before the fork (RunPython reads apps)
                # Django forces a transaction around an atomic operation (RunPython(atomic=True))
                # inside a non-atomic migration.
                atomic = operation.atomic or (migration.atomic and operation.atomic is not False)
                operations.append((operation, atomic, state, after))
                state = after
            steps.append((migration, operations))
        return steps

    def apply(self, schema: str) -> bool:
        """Apply the plan in ``schema``. False when another run already did it."""
        connection.set_schema(schema)
        self.executor.recorder.ensure_schema()
        with transaction.atomic(durable=True):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                               ["tenants.rollout:" + schema])
            if not (self.keys - applied_in(schema)):
                return False  # migrated meanwhile by another rollout
            if self.precompute:
                self._apply_steps(schema)
            else:
                state = self.state.clone()
                for migration in self.migrations:
                    state = self.executor.apply_migration(state, migration)
            public_foreign_keys_drop(schema)  # brands keep no keys to public (tenants.clone)
        return True

    def _apply_steps(self, schema: str) -> None:
        """The precomputed operations' SQL in ``schema``, one schema editor per migration (its
        deferred SQL runs at the end of each, as with the executor), then every record at once."""
        for migration, operations in self.steps:
            with _filling_editor(connection.SchemaEditorClass)(
                    connection, atomic=migration.atomic) as editor:
                for operation, atomic, before, after in operations:
                    if not editor.atomic_migration and atomic:
                        with transaction.atomic(connection.alias):
                            operation.database_forwards(migration.app_label, editor, before,
                                                        after)
                    else:
                        operation.database_forwards(migration.app_label, editor, before, after)
        if not self.records:
            return
        query = sql.SQL("INSERT INTO {}.django_migrations (app, name, applied) VALUES {}").format(
            sql.Identifier(schema),
            sql.SQL(", ").join(sql.SQL("(%s, %s, now())") for _ in self.records))
        with connection.cursor() as cursor:
            cursor.execute(query.as_string(cursor.connection),
                           [part for key in self.records for part in key])


# A small table's new column with a default: filled, not given a "fast default". -----------------

# Above this size a brand's table gets PostgreSQL's own ADD COLUMN ... DEFAULT (no rewrite).
FILL_MAX_BYTES = 8 * 2**20


class _FillingEditorMixin:
    """``add_field`` for a concrete column with a default, on a table of at most
    ``FILL_MAX_BYTES``: ADD COLUMN without the default (nullable), UPDATE the rows to it, then SET
    NOT NULL, instead of Django's ADD COLUMN ... DEFAULT ... NOT NULL and DROP DEFAULT. The
    column, its values and its constraints end the same; what differs is PostgreSQL's cost.
    An ADD COLUMN that carries a default makes PostgreSQL 15 check that no other type uses the
    table's row type (``find_composite_type_dependencies``), and that check reads the whole of
    ``pg_index``: every index of every brand (1.6 million at 5,000 brands, 43,000 pages), about
    230 ms of one core a brand. Filling instead costs ~4 ms on an empty table and grows with the
    rows, hence the size limit."""

    _filling = None

    def add_field(self, model, field):
        default = self.effective_default(field)
        if (default is None or field.many_to_many or field.has_db_default() or field.generated
                or field.primary_key or not field.concrete or self.skip_default(field)
                or not self._small(model._meta.db_table)):
            return super().add_field(model, field)
        self._filling = field
        try:
            super().add_field(model, field)  # ADD COLUMN ... NULL; its DROP DEFAULT is a no-op
        finally:
            self._filling = None
        table, column = self.quote_name(model._meta.db_table), self.quote_name(field.column)
        self.execute(f"UPDATE {table} SET {column} = %s", [default])  # noqa: S608 - quoted names
        if not field.null:
            self.execute(self.sql_alter_column % {
                "table": table, "changes": self.sql_alter_column_not_null % {"column": column}})

    def _iter_column_sql(self, column_db_type, params, model, field, field_db_params,
                         include_default):
        parts = super()._iter_column_sql(column_db_type, params, model, field, field_db_params,
                                         include_default and field is not self._filling)
        for part in parts:
            yield "NULL" if field is self._filling and part == "NOT NULL" else part

    def _small(self, table: str) -> bool:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_relation_size(to_regclass(%s))", [self.quote_name(table)])
            size = cursor.fetchone()[0]
        return size is not None and size <= FILL_MAX_BYTES


@functools.cache
def _filling_editor(editor_class: type) -> type:
    """The connection's schema editor class with ``_FillingEditorMixin`` in front."""
    return type("Filling" + editor_class.__name__, (_FillingEditorMixin, editor_class), {})


# Worker-side: filled in the parent before the fork, so children inherit the rendered states.
_PLANS: dict[frozenset[Key], _Plan] = {}


def _migrate_one(schema: str, missing: frozenset[Key]) -> tuple[str, str | None]:
    try:
        _PLANS[missing].apply(schema)
        return schema, None
    except Exception as error:  # noqa: BLE001 - reported per schema, the rollout goes on
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return schema, detail
    finally:
        try:
            connection.set_schema_to_public()
        except Exception:  # noqa: BLE001, S110 - a broken connection is replaced on next use
            pass


def _worker_init() -> None:
    # The parent closed its connections before forking; make sure nothing inherited is reused.
    for conn in connections.all(initialized_only=True):
        conn.connection = None


def rollout(*, template: str | None = None, schemas: Iterable[str] | None = None,
            parallel: int | None = None,
            progress: Callable[[int, int, str], None] | None = None,
            on_start: Callable[[int, int], None] | None = None,
            precompute: bool = True) -> RolloutResult:
    """Migrate every client schema (or ``schemas``) that is behind the template.

    ``on_start(todo, total)`` is called once the work is known; ``progress(done, todo, note)``
    after each schema. Returns what was done and what failed (never raises for one schema).
    ``precompute=False`` applies through Django's executor per schema (the former path, kept to
    compare against; see ``_Plan``)."""
    from django.conf import settings

    template = template or settings.TENANT_BASE_SCHEMA
    names = sorted(set(schemas)) if schemas is not None else client_schemas()
    result = RolloutResult(total=len(names))
    pending, absent = pending_by_schema(template, names)
    result.failed.extend((s, "schema does not exist") for s in absent)
    if pending:
        # Records of migrations this code no longer has (a removed app) are nothing to apply.
        nodes = MigrationLoader(None, ignore_no_migrations=True).graph.nodes
        pending = {s: frozenset(k for k in keys if k in nodes) for s, keys in pending.items()}
        pending = {s: keys for s, keys in pending.items() if keys}
    result.todo = len(pending)
    if on_start:
        on_start(result.todo, result.total)
    if not pending:
        return result

    reference = frozenset(applied_in(template))
    for missing in set(pending.values()):
        _PLANS[missing] = _Plan(reference, missing, precompute=precompute)
    parallel = max(1, parallel or default_parallel())
    order = sorted(pending)
    done = 0

    def record(schema: str, error: str | None) -> None:
        nonlocal done
        done += 1
        if error is None:
            result.migrated.append(schema)
        else:
            result.failed.append((schema, error))
        if progress:
            progress(done, result.todo, schema if error is None else f"{schema} FAILED")

    try:
        if parallel == 1 or len(order) == 1:
            for schema in order:
                record(*_migrate_one(schema, pending[schema]))
            return result
        connections.close_all()  # children open their own; nothing shared across the fork
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(parallel, len(order)), mp_context=context,
                                 initializer=_worker_init) as pool:
            futures = {pool.submit(_migrate_one, s, pending[s]): s for s in order}
            try:
                for future in as_completed(futures):
                    record(*future.result())
            except BrokenProcessPool as error:
                finished = set(result.migrated) | {s for s, _ in result.failed}
                for schema in order:
                    if schema not in finished:
                        record(schema, f"worker process died ({error}); not migrated")
    finally:
        _PLANS.clear()
        connection.set_schema_to_public()
    return result
