"""Benchmark: migrations across many brands. Provision N brands, roll an additive migration out to
all of them with ``manage.py migrate``, then time a no-op ``migrate``.

    python bench/tenants_at_scale.py [--brands 1000] [--parallel N] [--provision-parallel M]

Works in a throwaway database (``tenants_scale_<pid>``) on the configured server (``DATABASE_URL``
if set, else the embedded PostgreSQL), dropped at the end. Settings: ``bench.scale_settings`` (the
test settings plus the bench-only tenant app ``bench.scale_app``: 0001 a small table, 0002 a new
column with its index). The brands are provisioned (cloned) while the template stands at 0001, so
the timed ``migrate`` applies 0002 to the template and then to every brand. A brand is counted
inconsistent when its migration records differ from the template's, or it lacks the new column or
its index. Targets: the rollout within 600 s, the no-op within 60 s, 0 inconsistent. Last line:

    tenants_at_scale n=<N> provision_s=<a> migrate_s=<b> noop_s=<c> inconsistent=<n>
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = "scale_app_scalenote"


def _provision_one(i: int) -> tuple[int, str | None]:
    from django.db import connection

    from tenants.services import client_provision

    try:
        client_provision(name=f"Scale brand {i}", slug=f"scale-{i:05d}")
        return i, None
    except Exception as error:  # noqa: BLE001 - reported, the bench goes on
        return i, f"{type(error).__name__}: {error}"
    finally:
        connection.set_schema_to_public()


def _fresh_connections() -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.connection = None


def provision(n: int, workers: int) -> list[tuple[int, str]]:
    """Provision brands scale-00000 .. in ``workers`` forked processes; returns failures."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections

    from tenants.progress import ProgressBar

    bar = ProgressBar(n, label="Provisioning")
    failures = []
    if workers <= 1:
        results = map(_provision_one, range(n))
        for i, error in results:
            if error:
                failures.append((i, error))
            bar.advance(note=f"scale-{i:05d}")
        return failures
    connections.close_all()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_fresh_connections) as pool:
        for i, error in pool.map(_provision_one, range(n), chunksize=8):
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
    that lacks the new column or its index. Three queries, whatever the number of brands."""
    from django.db import connection

    from tenants.rollout import client_schemas

    connection.set_schema_to_public()
    schemas = client_schemas()
    bad: dict[str, str] = {}
    digest = ("SELECT %s, md5(string_agg(app || '.' || name, ',' ORDER BY app, name)) "
              'FROM "{}".django_migrations')
    with connection.cursor() as cursor:
        names = [template, *schemas]
        cursor.execute(" UNION ALL ".join(digest.format(s) for s in names), names)
        digests = dict(cursor.fetchall())
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


def run(n: int, parallel: int, provision_parallel: int) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    template = settings.TENANT_BASE_SCHEMA
    start = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    # The brands are born before 0002 exists: the template stands at scale_app 0001.
    call_command("migrate_schemas", schema_name=template, tenant=True, app_label="scale_app",
                 migration_name="0001_initial", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    print(f"migrated public + {template} (scale_app at 0001) in "
          f"{time.perf_counter() - start:.1f}s", flush=True)

    start = time.perf_counter()
    failures = provision(n, provision_parallel)
    provision_s = time.perf_counter() - start
    for i, error in failures[:10]:
        print(f"provisioning scale-{i:05d} failed: {error}")
    print(f"provisioned {n - len(failures)} of {n} brands in {provision_s:.1f}s "
          f"({provision_parallel} processes)", flush=True)

    print(f"--- rollout of scale_app 0002 (a column + its index), {parallel} workers", flush=True)
    migrate_s, migrate_error = timed_migrate(parallel)
    print(f"rollout: {migrate_s:.1f}s" + (f" ({migrate_error})" if migrate_error else ""),
          flush=True)

    print("--- no-op migrate", flush=True)
    noop_s, noop_error = timed_migrate(parallel)
    print(f"no-op: {noop_s:.1f}s" + (f" ({noop_error})" if noop_error else ""), flush=True)

    bad = inconsistent_schemas(template)
    for schema, why in sorted(bad.items())[:10]:
        print(f"inconsistent {schema}: {why}")
    own, children = peak_memory_mb()
    print(f"peak memory: {own:.0f} MB (bench process), {children:.0f} MB (largest worker)")
    return {"provision_s": provision_s, "migrate_s": migrate_s, "noop_s": noop_s,
            "inconsistent": len(bad) + len(failures)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brands", type=int, default=1000, help="brands (default 1000)")
    parser.add_argument("--parallel", type=int, default=None,
                        help="migration worker processes (default: min(4, CPUs))")
    parser.add_argument("--provision-parallel", type=int, default=2,
                        help="provisioning processes (default 2)")
    args = parser.parse_args(argv)
    if args.brands < 1:
        parser.error("--brands must be at least 1")

    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.scale_settings"
    os.environ["LOG_LEVEL"] = "WARNING"

    from bench.common import django_setup, throwaway_database
    from tenants.rollout import default_parallel

    parallel = args.parallel or default_parallel()
    with throwaway_database(prefix="tenants_scale") as name:
        print(f"database {name} (bench.scale_settings)", flush=True)
        django_setup()
        figures = run(args.brands, parallel, args.provision_parallel)

    print(f"tenants_at_scale n={args.brands} provision_s={figures['provision_s']:.1f} "
          f"migrate_s={figures['migrate_s']:.1f} noop_s={figures['noop_s']:.1f} "
          f"inconsistent={figures['inconsistent']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
