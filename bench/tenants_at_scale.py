"""Benchmark: migrations across many brands. Provision N brands, roll an additive migration out to
all of them with ``manage.py migrate``, then time a no-op ``migrate``.

    python bench/tenants_at_scale.py [--brands 1000] [--parallel N] [--provision-parallel M]
                                     [--spares 1|0] [--provision-only] [--keep DATABASE]
                                     [--compare-paths ROUNDS]

Works in a throwaway database (``tenants_scale_<pid>``) on the configured server (``DATABASE_URL``
if set, else the embedded PostgreSQL), dropped at the end. Settings: ``bench.scale_settings`` (the
test settings plus the bench-only tenant app ``bench.scale_app``: 0001 a small table, 0002 a new
column with its index). The brands are provisioned (cloned) while the template stands at 0001, so
the timed ``migrate`` applies 0002 to the template and then to every brand. A brand is counted
inconsistent when its migration records differ from the template's, or it lacks the new column or
its index. It also prints each ``client_provision``'s p50 over the first and the last hundred
brands (with ``--spares 1``, the default, each finds a spare schema made just before it, untimed,
as a worker makes one between two provisions; with ``--spares 0`` each clones the template),
where one provision's time goes (step -> ms, cloning and taking a spare, at ~10 and at N
brands), the catalog's size (``pg_class`` rows, database bytes), each empty brand's relations by
kind and bytes, and the memory of one database session that has served every brand (with and
without ``TENANT_CONNECTION_MAX_SCHEMAS``). Targets: the rollout within 600 s, the no-op within
10 s, the last hundred's p50 within 0.5 s, 0 inconsistent. ``provision_s`` is the wall time of
the provisioning phase (with ``--spares 1`` it includes making the spares). Last line:

    tenants_at_scale n=<N> provision_s=<a> migrate_s=<b> noop_s=<c> inconsistent=<n> \
provision_p50_first_s=<d> provision_p50_last_s=<e>

``--compare-paths ROUNDS`` instead times the rollout's two ways of applying a plan in a brand
(``tenants.rollout.rollout(precompute=False)``: Django's executor per brand; ``precompute=True``:
the model states computed once per plan) on the same brands: the template goes to 0002, then each
round reverts 0002 in every brand and rolls it out with one path, reverts again and rolls out with
the other (the order alternating between rounds). Last line:

    tenants_at_scale_paths n=<N> rounds=<R> executor_brands_per_s=<a> \
precomputed_brands_per_s=<b> speedup=<b/a> inconsistent=<n>
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = "scale_app_scalenote"


# Whether each provision finds a spare schema ready (made, untimed, just before it: what a
# worker does between two provisions); set before the provisioning processes fork.
SPARES = {"ready": True}


def _spare_make() -> None:
    from django.conf import settings

    from tenants.spares import spare_make

    spare_make(settings.TENANT_BASE_SCHEMA)


def _provision_one(i: int) -> tuple[int, str | None, float]:
    """Provision brand ``i``: (i, error or None, seconds ``client_provision`` took)."""
    from django.db import connection
    from django.test import override_settings

    from tenants.services import client_provision

    try:
        if SPARES["ready"]:
            _spare_make()
        start = time.perf_counter()
        with override_settings(TENANT_SPARE_SCHEMAS=1 if SPARES["ready"] else 0):
            client_provision(name=f"Scale brand {i}", slug=f"scale-{i:05d}")
        return i, None, time.perf_counter() - start
    except Exception as error:  # noqa: BLE001 - reported, the bench goes on
        return i, f"{type(error).__name__}: {error}", float("nan")
    finally:
        connection.set_schema_to_public()


def _fresh_connections() -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.connection = None


def provision(numbers: range, workers: int, seconds: dict[int, float]) -> list[tuple[int, str]]:
    """Provision brands scale-<number> in ``workers`` forked processes; returns failures and
    fills ``seconds`` (brand number -> seconds its ``client_provision`` took)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections

    from tenants.progress import ProgressBar

    bar = ProgressBar(len(numbers), label="Provisioning")
    failures = []
    if workers <= 1:
        results = map(_provision_one, numbers)
        for i, error, took in results:
            seconds[i] = took
            if error:
                failures.append((i, error))
            bar.advance(note=f"scale-{i:05d}")
        return failures
    connections.close_all()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_fresh_connections) as pool:
        for i, error, took in pool.map(_provision_one, numbers, chunksize=8):
            seconds[i] = took
            if error:
                failures.append((i, error))
            bar.advance(note=f"scale-{i:05d}")
    return failures


def timed_migrate(parallel: int) -> tuple[float, str | None]:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    start = time.perf_counter()
    error = None
    try:
        call_command("migrate", parallel=parallel, interactive=False, verbosity=1,
                     stdout=sys.stdout, stderr=sys.stderr)
    except CommandError as exc:
        error = str(exc)
    return time.perf_counter() - start, error


def inconsistent_schemas(template: str) -> dict[str, str]:
    """{schema: why} for every brand whose migration records differ from the template's or
    that lacks the new column or its index. Two queries and one per 500 brands."""
    from django.db import connection

    from tenants.rollout import client_schemas

    connection.set_schema_to_public()
    schemas = client_schemas()
    bad: dict[str, str] = {}
    digest = ("SELECT %s, md5(string_agg(app || '.' || name, ',' ORDER BY app, name)) "
              'FROM "{}".django_migrations')
    digests: dict[str, str] = {}
    with connection.cursor() as cursor:
        names = [template, *schemas]
        # In chunks: one statement over every brand would hold a lock per table at once, more
        # than max_locks_per_transaction allows at a few thousand brands.
        for at in range(0, len(names), 500):
            chunk = names[at:at + 500]
            cursor.execute(" UNION ALL ".join(digest.format(s) for s in chunk), chunk)
            digests.update(cursor.fetchall())
        for schema in schemas:
            if digests.get(schema) != digests[template]:
                bad[schema] = "migration records differ from the template's"
        cursor.execute("SELECT table_schema FROM information_schema.columns "
                       "WHERE table_name = %s AND column_name = 'score'", [TABLE])
        with_column = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT schemaname FROM pg_indexes WHERE tablename = %s "
                       "AND indexdef LIKE %s", [TABLE, "%(score)%"])
        with_index = {row[0] for row in cursor.fetchall()}
    for schema in schemas:
        if schema not in with_column:
            bad.setdefault(schema, "no score column")
        elif schema not in with_index:
            bad.setdefault(schema, "no index on score")
    return bad


def peak_memory_mb() -> tuple[float, float]:
    """(this process, largest child) peak resident set size, in MB (Linux reports KB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def catalog_size() -> tuple[int, int]:
    """(rows of pg_class, bytes of the database)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM pg_class), "
                       "pg_database_size(current_database())")
        return cursor.fetchone()


def brand_relations(schema: str) -> dict[str, int]:
    """One brand's relations by kind (table, index, sequence, TOAST table and its index)."""
    from django.db import connection

    kinds = {"r": "tables", "i": "indexes", "S": "sequences", "t": "toast", "p": "partitioned"}
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relkind::text, count(*) FROM pg_class c WHERE c.relnamespace = %s::regnamespace
             GROUP BY 1
            UNION ALL
            SELECT 'toast', count(*) FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
             WHERE c.relnamespace = %s::regnamespace""", [schema, schema])
        rows = dict(cursor.fetchall())
    counts = {kinds.get(kind, kind): count for kind, count in rows.items() if kind != "toast"}
    counts["toast tables"] = rows.get("toast", 0)
    return counts


def _touch_brand(client) -> None:
    """What a worker's job typically reads in a brand: its site, pages, collections, campaigns."""
    from wagtail.models import Collection, Page, Site

    from campaigns.models import CampaignPage

    Site.objects.filter(is_default_site=True).first()
    Page.objects.filter(depth__lte=2).count()
    Collection.objects.count()
    CampaignPage.objects.count()


def session_memory(limit: int) -> tuple[float, float]:
    """Visit every brand through ``for_each_brand`` with ``TENANT_CONNECTION_MAX_SCHEMAS=limit``;
    (largest, final) memory of the database session in MB (pg_backend_memory_contexts), sampled
    every 25 brands."""
    from django.db import connection
    from django.test import override_settings

    from tenants.tasks import for_each_brand

    def memory_mb() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
            return cursor.fetchone()[0] / 2**20

    connection.close()
    peak = 0.0
    visited = 0

    def visit(client) -> None:
        nonlocal peak, visited
        _touch_brand(client)
        visited += 1
        if visited % 25 == 0:
            peak = max(peak, memory_mb())

    with override_settings(TENANT_CONNECTION_MAX_SCHEMAS=limit):
        for_each_brand("bench", visit)
    connection.set_schema_to_public()
    final = memory_mb()
    return max(peak, final), final


# --- Where one provision's time goes --------------------------------------------------------------

_PHASES = [  # (label, test on a clone statement), first match wins
    ("clone: create tables", lambda s: s.startswith(("CREATE SCHEMA", "CREATE TABLE"))),
    ("clone: copy rows", lambda s: s.startswith("INSERT INTO")),
    ("clone: sequences", lambda s: s.startswith(("SELECT setval", "DO $$"))),
    ("clone: foreign keys to public", lambda s: " FOREIGN KEY " in s and "REFERENCES public." in s),
    ("clone: foreign keys inside", lambda s: " FOREIGN KEY " in s),
    ("clone: primary/unique/check", lambda s: s.startswith("ALTER TABLE")),
    ("clone: indexes", lambda s: s.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))),
]


class _StepClock:
    """Exclusive time per step: a nested step's time is not counted in its caller's."""

    def __init__(self):
        self.spent: dict[str, float] = {}
        self.stack: list[list] = []

    def run(self, label: str, func, *args, **kwargs):
        frame = [label, 0.0]
        self.stack.append(frame)
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            self.stack.pop()
            self.spent[label] = self.spent.get(label, 0.0) + (elapsed - frame[1]) * 1000
            if self.stack:
                self.stack[-1][1] += elapsed

    def wrap(self, label: str, func):
        return lambda *args, **kwargs: self.run(label, func, *args, **kwargs)

    def inside(self, label: str) -> bool:
        return any(frame[0] == label for frame in self.stack)


def provision_profile(slug: str, spare: bool) -> tuple[float, dict[str, float]]:
    """Provision one brand with its steps timed; (seconds, {step: ms}). The clone's statements
    are timed by kind (a multi-statement script is sent one statement at a time here: a few ms
    of extra round trips), and so are its catalog reads, the role groups, the brand's setup (and
    each registered step in it), the audit row and the commit; "client_provision (rest)" is the
    rest: checks, the client and domain rows, Django's own work."""
    from contextlib import ExitStack
    from unittest import mock

    from django.db import connection
    from django.test import override_settings

    import tenants.models
    import tenants.services
    from tenants import provisioning

    clock = _StepClock()
    if spare:
        _spare_make()

    def statements(execute, sql, params, many, context):
        if params is None and ";\n" in sql:  # a script: time each statement by its kind
            for part in sql.split(";\n"):
                kind = next((label for label, test in _PHASES if test(part.lstrip())),
                            "clone: other")
                clock.run(kind, execute, part, None, many, context)
            return None
        if clock.inside("clone") and "pg_" in sql:
            return clock.run("clone: catalog reads", execute, sql, params, many, context)
        return execute(sql, params, many, context)

    with ExitStack() as stack:
        for name in ("role_groups_create", "brand_schema_setup", "audit"):
            stack.enter_context(mock.patch.object(
                tenants.services, name, clock.wrap(name, getattr(tenants.services, name))))
        stack.enter_context(mock.patch.object(
            tenants.models, "schema_clone", clock.wrap("clone", tenants.models.schema_clone)))
        stack.enter_context(mock.patch.object(
            tenants.models, "spare_claim", clock.wrap("spare: find, check, rename",
                                                      tenants.models.spare_claim)))
        stack.enter_context(override_settings(TENANT_SPARE_SCHEMAS=1 if spare else 0))
        steps = {key: provisioning.SetupStep(step.name,
                                             clock.wrap(f"brand step {step.name}", step.func),
                                             step.order)
                 for key, step in provisioning._BRAND_STEPS.items()}
        stack.enter_context(mock.patch.dict(provisioning._BRAND_STEPS, steps))
        stack.enter_context(connection.execute_wrapper(statements))
        stack.enter_context(mock.patch.object(connection, "_commit",
                                              clock.wrap("commit", connection._commit)))
        start = time.perf_counter()
        clock.run("client_provision (rest)", tenants.services.client_provision,
                  name=f"Profiled {slug}", slug=slug)
        total = time.perf_counter() - start
    connection.set_schema_to_public()
    return total, clock.spent


def print_profiles(profiles: list[tuple[str, float, dict[str, float]]]) -> None:
    """A table: step -> ms, one column per profile (taken at a number of existing brands)."""
    labels: list[str] = []
    for _, _, spent in profiles:
        labels += [label for label in spent if label not in labels]
    header = " | ".join(f"{at:>20s}" for at, _, _ in profiles)
    print(f"one provision, step -> ms             | {header}")
    for label in sorted(labels, key=lambda lb: -max(s.get(lb, 0) for _, _, s in profiles)):
        print(f"  {label:36s} | " + " | ".join(f"{s.get(label, 0):20.1f}"
                                               for _, _, s in profiles))
    print(f"  {'total':36s} | " + " | ".join(f"{t * 1000:20.1f}" for _, t, _ in profiles),
          flush=True)


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def revert_0002(schemas: list[str]) -> None:
    """Every one of ``schemas`` back to scale_app 0001 (0002's columns and record gone), 100
    brands per statement."""
    from django.db import connection

    step = ("ALTER TABLE \"{0}\".scale_app_scalenote DROP COLUMN IF EXISTS score, "
            "DROP COLUMN IF EXISTS author_id; DELETE FROM \"{0}\".django_migrations "
            "WHERE app = 'scale_app' AND name = '0002_scalenote_score'")
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for at in range(0, len(schemas), 100):
            cursor.execute(";\n".join(step.format(s) for s in schemas[at:at + 100]))


def compare_paths(n: int, parallel: int, template: str, rounds: int) -> dict:
    """Roll 0002 out ``rounds`` times per path over the same brands; brands/s per path."""
    from django.core.management import call_command
    from django.db import connection

    from tenants.rollout import client_schemas, rollout

    call_command("migrate_schemas", schema_name=template, tenant=True, app_label="scale_app",
                 interactive=False, verbosity=0)  # the template at 0002: the brands behind
    connection.set_schema_to_public()
    schemas = client_schemas()
    rates: dict[bool, list[float]] = {False: [], True: []}
    bad_total = 0
    names = {False: "executor", True: "precomputed"}
    print(f"--- {rounds} rounds: scale_app 0002 rolled out to {len(schemas)} brands by each "
          f"path, {parallel} workers", flush=True)
    for number in range(rounds):
        order = (False, True) if number % 2 == 0 else (True, False)
        for precompute in order:
            revert_0002(schemas)
            marks: list[float] = []
            start = time.perf_counter()
            result = rollout(parallel=parallel, precompute=precompute,
                             progress=lambda *_, marks=marks: marks.append(time.perf_counter()))
            took = time.perf_counter() - start
            connection.set_schema_to_public()
            bad = inconsistent_schemas(template)
            bad_total += len(bad) + len(result.failed)
            rates[precompute].append(len(result.migrated) / took)
            # Per brand once the plan is made: between the first brand done and the last.
            steady = ((marks[-1] - marks[0]) / (len(marks) - 1) * 1000 * parallel
                      if len(marks) > 1 else float("nan"))
            print(f"round {number + 1} {names[precompute]:11s}: {len(result.migrated)} brands in "
                  f"{took:.1f}s = {rates[precompute][-1]:.1f} brands/s (plan and first brand "
                  f"{(marks[0] if marks else start) - start:.1f}s, then {steady:.0f} ms per brand "
                  f"per worker), {len(result.failed)} failed, {len(bad)} inconsistent",
                  flush=True)
            for schema, error in result.failed[:5]:
                print(f"  {schema}: {error}")
    executor, precomputed = p50(rates[False]), p50(rates[True])
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    return {"executor": executor, "precomputed": precomputed, "inconsistent": bad_total}


def run(n: int, parallel: int, provision_parallel: int, provision_only: bool = False,
        provisioned: bool = False, compare_rounds: int = 0) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    template = settings.TENANT_BASE_SCHEMA
    if provisioned and compare_rounds:
        return compare_paths(n, parallel, template, compare_rounds)
    if provisioned:  # --keep on a database an earlier --provision-only run filled
        nan = float("nan")
        return rollout_phase(n, parallel, template, {
            "provision_s": nan, "p50_first": nan, "p50_last": nan, "failures": 0})
    start = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    # The brands are born before 0002 exists: the template stands at scale_app 0001.
    call_command("migrate_schemas", schema_name=template, tenant=True, app_label="scale_app",
                 migration_name="0001_initial", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    print(f"migrated public + {template} (scale_app at 0001) in "
          f"{time.perf_counter() - start:.1f}s", flush=True)

    rows_before, bytes_before = catalog_size()
    start = time.perf_counter()
    seconds: dict[int, float] = {}
    profiles = []
    # One provision profiled with ~10 brands in place, and one after all N (not counted in the
    # p50s nor in provision_s).
    early = min(n, 10)
    failures = provision(range(early), provision_parallel, seconds)
    pause = time.perf_counter()
    for spare in (False, True):
        took, spent = provision_profile(f"scale-profile-early-{int(spare)}", spare)
        profiles.append((f"{early + spare} brands, {'spare' if spare else 'clone'}", took, spent))
    paused = time.perf_counter() - pause
    failures += provision(range(early, n), provision_parallel, seconds)
    provision_s = time.perf_counter() - start - paused
    for spare in (False, True):
        took, spent = provision_profile(f"scale-profile-late-{int(spare)}", spare)
        profiles.append((f"{n + 2 + spare} brands, {'spare' if spare else 'clone'}", took, spent))
    print_profiles(profiles)
    for i, error in failures[:10]:
        print(f"provisioning scale-{i:05d} failed: {error}")
    print(f"provisioned {n - len(failures)} of {n} brands in {provision_s:.1f}s "
          f"({provision_parallel} processes)", flush=True)
    ordered = [seconds[i] for i in sorted(seconds)]
    first, last = p50(ordered[:100]), p50(ordered[-100:])
    print(f"client_provision p50: first hundred {first:.2f}s, last hundred {last:.2f}s "
          f"(p95 of the last hundred {statistics.quantiles(ordered[-100:], n=20)[-1]:.2f}s)"
          if len(ordered) >= 2 else "", flush=True)
    rows, size = catalog_size()
    print(f"catalog: {rows} pg_class rows, database {size / 2**30:.2f} GB; per brand "
          f"{(rows - rows_before) / (n + 4):.0f} relations, "
          f"{(size - bytes_before) / (n + 4) / 2**20:.2f} MB empty", flush=True)
    print("one brand's relations: " + ", ".join(
        f"{count} {kind}" for kind, count in sorted(brand_relations("brand_scale_00000").items())),
        flush=True)

    if compare_rounds:
        return compare_paths(n, parallel, template, compare_rounds)
    if provision_only:
        print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
        nan = float("nan")
        return {"provision_s": provision_s, "migrate_s": nan, "noop_s": nan,
                "inconsistent": len(failures), "p50_first": first, "p50_last": last}
    return rollout_phase(n, parallel, template, {
        "provision_s": provision_s, "p50_first": first, "p50_last": last,
        "failures": len(failures)})


def rollout_phase(n: int, parallel: int, template: str, provisioning: dict) -> dict:
    """Roll scale_app 0002 out, time a no-op, measure a session's memory, check consistency."""
    from django.conf import settings

    print(f"--- rollout of scale_app 0002 (a column + its index), {parallel} workers", flush=True)
    migrate_s, migrate_error = timed_migrate(parallel)
    print(f"rollout: {migrate_s:.1f}s" + (f" ({migrate_error})" if migrate_error else ""),
          flush=True)

    print("--- no-op migrate", flush=True)
    noop_s, noop_error = timed_migrate(parallel)
    print(f"no-op: {noop_s:.1f}s" + (f" ({noop_error})" if noop_error else ""), flush=True)

    for limit in (0, settings.TENANT_CONNECTION_MAX_SCHEMAS):
        peak, final = session_memory(limit)
        print(f"one session serving {n} brands, TENANT_CONNECTION_MAX_SCHEMAS={limit}: "
              f"largest {peak:.0f} MB, at the end {final:.0f} MB", flush=True)

    bad = inconsistent_schemas(template)
    for schema, why in sorted(bad.items())[:10]:
        print(f"inconsistent {schema}: {why}")
    own, children = peak_memory_mb()
    print(f"peak memory: {own:.0f} MB (bench process), {children:.0f} MB (largest worker)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    return {"provision_s": provisioning["provision_s"], "migrate_s": migrate_s, "noop_s": noop_s,
            "inconsistent": len(bad) + provisioning["failures"],
            "p50_first": provisioning["p50_first"], "p50_last": provisioning["p50_last"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brands", type=int, default=1000, help="brands (default 1000)")
    parser.add_argument("--parallel", type=int, default=None,
                        help="migration worker processes (default: min(4, CPUs))")
    parser.add_argument("--provision-parallel", type=int, default=2,
                        help="provisioning processes (default 2)")
    parser.add_argument("--spares", type=int, choices=(0, 1), default=1,
                        help="1 (default): a spare schema is made, untimed, before each timed "
                             "provision, as a worker does between two; 0: every provision clones")
    parser.add_argument("--provision-only", action="store_true",
                        help="stop after provisioning (no rollout, no-op or memory figures)")
    parser.add_argument("--keep", metavar="DATABASE",
                        help="work in DATABASE and keep it: when it does not exist it is made and "
                             "provisioned (stop there with --provision-only); when it exists, "
                             "its brands are taken as provisioned and the run starts at the "
                             "rollout (provisioning once, rolling out later with other code)")
    parser.add_argument("--compare-paths", type=int, default=0, metavar="ROUNDS",
                        help="after provisioning, roll 0002 out ROUNDS times with each of the "
                             "rollout's two paths (executor per brand, states precomputed) and "
                             "print brands/s per path")
    args = parser.parse_args(argv)
    if args.brands < 1:
        parser.error("--brands must be at least 1")

    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.scale_settings"
    os.environ["LOG_LEVEL"] = "WARNING"

    from bench.common import django_setup, ensure_database, throwaway_database

    SPARES["ready"] = bool(args.spares)
    if args.keep:
        made = ensure_database(args.keep)
        database = contextlib.nullcontext(args.keep)
    else:
        made = True
        database = throwaway_database(prefix="tenants_scale")
    with database as name:
        print(f"database {name} (bench.scale_settings); load average {os.getloadavg()[0]:.1f} "
              f"({os.cpu_count()} CPUs); " + ("a spare ready for each provision" if args.spares
                                              else "no spares: every provision clones"),
              flush=True)
        django_setup()
        from tenants.rollout import default_parallel  # once Django is set up

        parallel = args.parallel or default_parallel()
        figures = run(args.brands, parallel, args.provision_parallel, args.provision_only,
                      provisioned=not made, compare_rounds=args.compare_paths)

    if args.compare_paths:
        print(f"tenants_at_scale_paths n={args.brands} rounds={args.compare_paths} "
              f"executor_brands_per_s={figures['executor']:.2f} "
              f"precomputed_brands_per_s={figures['precomputed']:.2f} "
              f"speedup={figures['precomputed'] / figures['executor']:.2f} "
              f"inconsistent={figures['inconsistent']}")
        return 0

    print(f"tenants_at_scale n={args.brands} provision_s={figures['provision_s']:.1f} "
          f"migrate_s={figures['migrate_s']:.1f} noop_s={figures['noop_s']:.1f} "
          f"inconsistent={figures['inconsistent']} "
          f"provision_p50_first_s={figures['p50_first']:.2f} "
          f"provision_p50_last_s={figures['p50_last']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
