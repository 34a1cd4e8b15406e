"""Benchmark: provisioning a client by cloning the template schema vs by running every migration.

    python bench/provisioning.py [--n N] [--warmup W]

Works in a throwaway database (``bench_provisioning_<pid>``) on the configured server
(``DATABASE_URL`` if set, else the embedded PostgreSQL), migrated from scratch and dropped at the
end, so the developer's data is never touched. Both methods go through the same
``tenants.services.client_provision``; the clone and migrate provisions are interleaved so that
machine noise hits both alike. The last line is machine-readable:

    provisioning p50_clone_s=<x> p50_migrate_s=<y> ratio=<y/x>
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import django_setup, migrate, percentile, throwaway_database  # noqa: E402

# --- The two ways of provisioning -----------------------------------------------------------------


@contextmanager
def by_migration():
    """Make ``client_provision`` create the schema by running every migration, not by a clone.

    ``TENANT_CREATION_FAKES_MIGRATIONS=False`` alone is not enough: ``Client.create_schema`` calls
    ``get_base_schema()`` whatever the setting, and django-tenants' ``get_tenant_base_schema``
    raises ImproperlyConfigured when TENANT_BASE_SCHEMA is set but faking is off. With no base
    schema ``Client.create_schema`` hands over to django-tenants' own, which runs
    ``CREATE SCHEMA`` + ``migrate_schemas`` for the new schema.

    ``client_provision`` saves the client inside ``transaction.atomic()``, so every migration runs
    in that one transaction, where Django's deferred foreign keys leave trigger events pending and
    PostgreSQL refuses the next ALTER TABLE ("cannot ALTER TABLE "wagtailcore_page" because it has
    pending trigger events"). ``SET CONSTRAINTS ALL IMMEDIATE`` before the schema is created (as
    ``client_delete`` does before its DROP) checks each foreign key at its statement instead; the
    checks are the same, only earlier.

    Migrations alone leave Wagtail's welcome page and global grants, and no CampaignIndexPage, which
    ``brand_schema_setup`` needs; ``template_prepare`` (what ``manage.py migrate`` does to the
    template) runs first in the new schema, so both methods end with the same content. Its cost
    belongs to the migration path.
    """
    from unittest import mock

    from django.db import connection
    from django.test import override_settings

    import tenants.services
    from tenants.models import Client
    from tenants.provisioning import template_prepare

    create_schema = Client.create_schema
    setup = tenants.services.brand_schema_setup

    def immediate_create_schema(client, *args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return create_schema(client, *args, **kwargs)

    def prepared_setup(client, groups):
        template_prepare()
        setup(client, groups)

    with (
        override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False),
        mock.patch.object(Client, "get_base_schema", return_value=False),
        mock.patch.object(Client, "create_schema", immediate_create_schema),
        mock.patch.object(tenants.services, "brand_schema_setup", prepared_setup),
    ):
        yield


@contextmanager
def by_django_tenants_clone():
    """django-tenants' own ``clone_schema`` SQL function in place of ``tenants.clone``: the
    library's clone as shipped, for comparison (its cost grows with the number of schemas)."""
    from unittest import mock

    from django_tenants.clone import CloneSchema

    def library_clone(source, target):
        CloneSchema().clone_schema(source, target, "DATA")

    with mock.patch("tenants.clone.schema_clone", library_clone):
        yield


def provision(method: str, i: int) -> tuple[float, object]:
    from contextlib import nullcontext

    from tenants.services import client_provision

    slug = f"bench-{method}-{i:02d}"
    name = f"Bench {method} {i}"
    if method in ("clone", "dt-clone"):
        with by_django_tenants_clone() if method == "dt-clone" else nullcontext():
            start = time.perf_counter()
            client = client_provision(name=name, slug=slug)
            return time.perf_counter() - start, client
    with by_migration():
        start = time.perf_counter()
        client = client_provision(name=name, slug=slug)
        return time.perf_counter() - start, client


# --- Checks ---------------------------------------------------------------------------------------


def tables(schema: str) -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                       [schema])
        return {row[0] for row in cursor.fetchall()}


def applied_migrations(schema: str) -> set[tuple[str, str]]:
    from django.db import connection
    from psycopg import sql

    query = sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(schema))
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection))
        return {(app, name) for app, name in cursor.fetchall()}


def check_same_as_template(client, template: str, method: str) -> None:
    from django.db import connection
    from django_tenants.utils import schema_context
    from wagtail.models import Site

    from campaigns.models import CampaignIndexPage

    connection.set_schema_to_public()
    expected, got = tables(template), tables(client.schema_name)
    if expected != got:
        raise SystemExit(f"{method}: {client.schema_name} differs from {template}: "
                         f"missing {sorted(expected - got)}, extra {sorted(got - expected)}")
    if applied_migrations(template) != applied_migrations(client.schema_name):
        raise SystemExit(f"{method}: {client.schema_name} records other migrations than {template}")
    with schema_context(client.schema_name):
        site = Site.objects.get()
        is_index = isinstance(site.root_page.specific, CampaignIndexPage)
        if not is_index or site.hostname != client.host:
            raise SystemExit(f"{method}: {client.schema_name} has no brand site on {client.host}")
    print(f"check {method:7s} {client.schema_name}: {len(got)} tables, same as {template}; "
          "same migration records; brand site set up")


# --- Figures --------------------------------------------------------------------------------------


def summary(method: str, values: list[float]) -> str:
    return (f"{method:8s} n={len(values)} p50={statistics.median(values):.3f}s "
            f"p95={percentile(values, 95):.3f}s min={min(values):.3f}s max={max(values):.3f}s")


# --- Main -----------------------------------------------------------------------------------------


def run(n: int, warmup: int) -> dict[str, list[float]]:
    from django.conf import settings
    from django.db import connection

    migrate()

    timings: dict[str, list[float]] = {"clone": [], "dt-clone": [], "migrate": []}
    checked: set[str] = set()
    for i in range(-warmup, n):
        for method in ("clone", "dt-clone", "migrate"):
            seconds, client = provision(method, i + warmup)
            label = "warm-up" if i < 0 else f"{i + 1:2d}/{n}"
            print(f"{label} {method:7s} {client.schema_name:24s} {seconds:.3f}s")
            if i >= 0:
                timings[method].append(seconds)
            if method not in checked:
                check_same_as_template(client, settings.TENANT_BASE_SCHEMA, method)
                checked.add(method)
            connection.set_schema_to_public()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10, help="clients per method (default 10)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed warm-up provisions per method before the N (default 1)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.warmup < 0:
        parser.error("--n must be at least 1 and --warmup at least 0")

    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agency.settings.dev")
    os.environ["LOG_LEVEL"] = "WARNING"

    with throwaway_database() as name:
        print(f"database {name} ({os.environ['DJANGO_SETTINGS_MODULE']})")
        django_setup()
        timings = run(args.n, args.warmup)

    clone, migrate = timings["clone"], timings["migrate"]
    print(summary("clone", clone) + "   (tenants.clone: pg_catalog, this schema only)")
    print(summary("dt-clone", timings["dt-clone"]) + "   (django-tenants' clone_schema)")
    print(summary("migrate", migrate))
    p50_clone, p50_migrate = statistics.median(clone), statistics.median(migrate)
    print(f"ratio p50_migrate/p50_clone = {p50_migrate / p50_clone:.1f}")
    print(f"provisioning p50_clone_s={p50_clone:.3f} p50_migrate_s={p50_migrate:.3f} "
          f"ratio={p50_migrate / p50_clone:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
