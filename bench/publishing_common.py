"""Shared set-up for the publishing benchmarks (``dispatch_lag.py``, ``chaos_publish.py``).

A database kept between runs (brands take a while to provision, so they are reused), brands
with one channel each, outbox rows made in bulk, the real processes (``manage.py qcluster``,
``manage.py dispatcher``) run as children, and the baseline task (one django-q2 schedule per
post) that ``dispatch_lag`` compares the engine with. Nothing here changes the engine: the
benchmarks only write rows and start the commands as an operator would.

The functions ``warm`` and ``baseline_publish`` run on django-q2 workers: the workers are started
with their working directory at the project root, so ``bench`` is importable there.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- The database (before Django is set up) -------------------------------------------------------


def ensure_database(name: str) -> bool:
    """Create database ``name`` on the configured server (``DATABASE_URL`` if set, else the embedded
    PostgreSQL) unless it exists, and point ``DATABASE_URL`` at it. Returns whether it was made."""
    from psycopg import sql

    from bench.provisioning import admin_connect, bench_url, server_settings

    config = server_settings()
    with admin_connect(config) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = bench_url(config, name)
    return not exists


def redacted(url: str) -> str:
    """A database or Redis URL without its password, for printing."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def engine_version() -> str:
    """The commit measured, and whether the engine or the settings differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.rstrip("\n")

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "campaigns/publishing", "agency/settings")
    return f"{head}" + (" + uncommitted changes in " + ", ".join(
        sorted({line[3:] for line in changed.splitlines()})) if changed else " (clean)")


def django_setup() -> None:
    import django

    django.setup()


# --- Schema, brands, channels ---------------------------------------------------------------------


def migrate_if_needed() -> bool:
    """``manage.py migrate`` (public, template, every brand) when the public schema lacks a
    migration or the template is missing; skipped otherwise (it visits every brand: slow at 200)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django_tenants.utils import schema_exists

    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan and schema_exists(settings.TENANT_BASE_SCHEMA):
        return False
    start = time.perf_counter()
    print(f"migrating ({len(plan)} migrations pending in public) ...", flush=True)
    call_command("migrate", verbosity=0)
    connection.set_schema_to_public()
    print(f"migrated public, {settings.TENANT_BASE_SCHEMA} and the brands in "
          f"{time.perf_counter() - start:.1f}s", flush=True)
    return True


def ensure_brands(prefix: str, count: int) -> list:
    """Brands ``<prefix>001`` .. ``<prefix><count>``: those missing are provisioned (cloned from
    the template, ~0.6 s each), the others reused."""
    from django.db import connection

    from tenants.models import Client
    from tenants.services import client_provision

    slugs = [f"{prefix}{n:03d}" for n in range(1, count + 1)]
    found = {client.slug: client for client in Client.objects.filter(slug__in=slugs)}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        print(f"provisioning {len(missing)} brands ({len(found)} reused; ~0.6 s each) ...",
              flush=True)
    start = last = time.perf_counter()
    for done, slug in enumerate(missing, start=1):
        found[slug] = client_provision(name=f"Bench {slug}", slug=slug)
        connection.set_schema_to_public()
        now = time.perf_counter()
        if now - last >= 10 or done == len(missing):
            last = now
            print(f"  provisioned {done}/{len(missing)} in {now - start:.0f}s", flush=True)
    if not missing:
        print(f"{len(slugs)} brands reused ({prefix}001..{slugs[-1]})", flush=True)
    return [found[slug] for slug in slugs]


def ensure_channel(client, *, network: str, name: str, handle: str, endpoint: str = "",
                   secret: str = ""):
    """The brand's bench channel (made or updated in place), active."""
    from django_tenants.utils import schema_context

    from campaigns.models import Channel

    with schema_context(client.schema_name):
        channel = Channel.objects.filter(name=name).first() or Channel(name=name)
        channel.network, channel.handle, channel.endpoint = network, handle, endpoint
        channel.active = True
        if secret:
            channel.set_secret(secret)
        channel.save()
        return channel


# --- The outbox -----------------------------------------------------------------------------------


def clean_outbox(schemas: list[str]) -> None:
    """Forget earlier runs: deliveries and their events, django-q2's queue, schedules and results,
    and the sandbox feeds of ``schemas``. The database is the benchmark's own."""
    from django.db import connection
    from psycopg import sql

    tables = [sql.Identifier("public", name) for name in (
        "publishing_deliveryevent", "publishing_delivery", "django_q_ormq", "django_q_schedule",
        "django_q_task")]
    tables += [sql.Identifier(schema, "campaigns_sandboxpost") for schema in schemas]
    with connection.cursor() as cursor:
        statement = sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(tables))
        cursor.execute(statement.as_string(cursor.connection))


def make_deliveries(rows: list[tuple]) -> list[int]:
    """Outbox rows, in bulk: ``rows`` of (client, channel, due, idempotency key, text). Returns
    their ids in the order given. The post, page and revision ids are made up: the worker does not
    read them."""
    from campaigns.publishing.models import Delivery

    objects = []
    for number, (client, channel, due, key, text) in enumerate(rows, start=1):
        content = {"text": text, "images": []}
        objects.append(Delivery(
            client=client, schema_name=client.schema_name, page_id=0, revision_id=0,
            post_id=number, post_number=1, channel_id=channel.pk, network=channel.network,
            channel_name=channel.name, campaign_title="Bench campaign", tags=[],
            content=content, content_hash=hashlib.sha256(text.encode()).hexdigest(),
            idempotency_key=key, publish_at=due, next_attempt_at=due))
    made = Delivery.objects.bulk_create(objects, batch_size=1000)
    return [delivery.pk for delivery in made]


# --- Tasks the workers run ------------------------------------------------------------------------


def warm(folder: str) -> int:
    """A no-op task that loads what a worker's first delivery would load (the adapters pull in
    Mastodon.py and atproto: about a second), then leaves its pid in ``folder``."""
    import campaigns.publishing.worker  # noqa: F401

    time.sleep(0.3)  # long enough that the other workers take the next pings
    (Path(folder) / str(os.getpid())).touch()
    return os.getpid()


def baseline_publish(delivery_id: int) -> str:
    """The obvious design the engine is compared with: a django-q2 schedule per post, whose task
    publishes the post through the same adapter inside the brand's schema and records it."""
    from django.conf import settings
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns.models import Channel
    from campaigns.publishing import adapters
    from campaigns.publishing.models import Delivery, State
    from campaigns.publishing.worker import outgoing

    delivery = Delivery.objects.get(pk=delivery_id)
    with schema_context(delivery.schema_name):
        channel = Channel.objects.get(pk=delivery.channel_id)
        adapter = adapters.for_channel(channel,
                                       timeout=settings.PUBLISHING["SEND_TIMEOUT_SECONDS"])
        result = adapter.publish(outgoing(delivery))
    Delivery.objects.filter(pk=delivery_id).update(
        state=State.PUBLISHED, published_at=timezone.now(), remote_id=result.remote_id,
        updated_at=timezone.now())
    return "published"


def wait_warm(folder: Path, workers: int, timeout: float = 90.0) -> set[int]:
    """Enqueue ``warm`` pings until every worker of the cluster has answered one."""
    from django_q.tasks import async_task

    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.iterdir():
        leftover.unlink()
    deadline = time.monotonic() + timeout
    sent = 0
    while time.monotonic() < deadline:
        seen = {int(p.name) for p in folder.iterdir()}
        if len(seen) >= workers:
            return seen
        if sent < 8 * workers:
            async_task("bench.publishing_common.warm", str(folder), save=False)
            sent += 1
        time.sleep(0.25)
    raise SystemExit(f"the cluster answered no warm-up ping from {workers} workers within "
                     f"{timeout:.0f}s")


# --- Child processes ------------------------------------------------------------------------------


class Child:
    """``manage.py <args>`` as a child process, its output in ``log``."""

    def __init__(self, name: str, args: list[str], env: dict, log: Path):
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> Child:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            out.write(f"\n=== {datetime.now():%H:%M:%S} start {' '.join(self.args)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen([sys.executable, "manage.py", *self.args], cwd=ROOT,
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def descendants(self) -> list:
        import psutil

        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (django-q2 and the dispatcher stop cleanly on it), SIGKILL if it lingers; any
        descendant left behind is killed too."""
        if self.proc is None:
            return None
        left = self.descendants()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for child in left:
            with suppress(Exception):
                if child.is_running():
                    child.kill()
        return self.proc.returncode

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def wait_for_log(child: Child, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise SystemExit(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        if text in child.log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise SystemExit(f"{child.name} did not say {text!r} within {timeout:.0f}s:\n{child.tail()}")


# --- Figures --------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    from bench.provisioning import percentile as interpolated

    return interpolated(values, p) if values else float("nan")


def spread(values: list[float]) -> str:
    """p50/p99/max of ``values`` (seconds)."""
    if not values:
        return "n=0"
    return (f"p50={percentile(values, 50):.3f}s p99={percentile(values, 99):.3f}s "
            f"max={max(values):.3f}s (n={len(values)})")
