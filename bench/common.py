"""What the benchmarks share: the database they work in, Django, a real server process, brands
with their staff and channels, and percentiles.

Each benchmark (``python bench/<name>.py``) puts the project root on ``sys.path`` and imports
from here; nothing here runs on import. The database helpers run before Django is set up: they
point ``DATABASE_URL`` at a database of the benchmark's own on the configured server
(``DATABASE_URL`` if set, else the embedded PostgreSQL), so the developer's data is never touched.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- The database (before Django is set up) -------------------------------------------------------


def server_settings() -> dict:
    """Connection settings for the configured server, without creating any database on it."""
    from agency.database import data_dir, database_settings, embedded_settings

    if os.environ.get("DATABASE_URL", "").strip():
        return database_settings(ROOT)
    # The embedded server's own "postgres" database always exists: nothing is created.
    return embedded_settings(data_dir(ROOT) / "pgdata", name="postgres")


def admin_connect(config: dict):
    import psycopg

    kwargs = {"dbname": config["NAME"], "user": config.get("USER") or None,
              "password": config.get("PASSWORD") or None, "host": config.get("HOST") or None,
              "port": str(config["PORT"]) if config.get("PORT") else None}
    options = config.get("OPTIONS") or {}
    kwargs.update({k: v for k, v in options.items() if isinstance(v, str | int)})
    return psycopg.connect(**{k: v for k, v in kwargs.items() if v is not None}, autocommit=True)


def bench_url(config: dict, name: str) -> str:
    """A DATABASE_URL for database ``name`` on the server ``config`` describes."""
    from agency.database import database_url

    url = os.environ.get("DATABASE_URL", "").strip()
    if url:  # keep credentials, host and query options (sslmode, ...); swap the database only
        return urlunsplit(urlsplit(url)._replace(path="/" + name))
    return database_url({**config, "NAME": name})


@contextmanager
def throwaway_database(prefix: str = "bench_provisioning"):
    """Create ``<prefix>_<pid>``, point DATABASE_URL at it, drop it on the way out."""
    from psycopg import sql

    config = server_settings()
    name = f"{prefix}_{os.getpid()}"
    with admin_connect(config) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = bench_url(config, name)
    try:
        yield name
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        with admin_connect(config) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))
        print(f"dropped database {name}")


def ensure_database(name: str) -> bool:
    """Create database ``name`` on the configured server (``DATABASE_URL`` if set, else the embedded
    PostgreSQL) unless it exists, and point ``DATABASE_URL`` at it. Returns whether it was made."""
    from psycopg import sql

    config = server_settings()
    with admin_connect(config) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = bench_url(config, name)
    return not exists


# --- Django, its schema ---------------------------------------------------------------------------


def django_setup() -> None:
    import django

    django.setup()


def migrate() -> float:
    """``manage.py migrate`` on a fresh database (public, then the brand template); the seconds
    it took, printed."""
    from django.conf import settings
    from django.core.management import call_command

    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    seconds = time.perf_counter() - start
    print(f"migrated public + {settings.TENANT_BASE_SCHEMA} in {seconds:.1f}s")
    return seconds


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


# --- Brands, their staff and channels -----------------------------------------------------------


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


def brand_with_member(*, name: str, slug: str, username: str, role: str,
                      password: str | None = None):
    """A new brand, provisioned as the portal does it, and one member of it with ``role``
    (an account named ``username``, without a usable password unless ``password``). Returns the
    client and the account."""
    from django.contrib.auth import get_user_model

    from tenants.services import SYSTEM, client_provision, membership_set

    client = client_provision(name=name, slug=slug)
    user = get_user_model().objects.create_user(username=username, email=username,
                                                password=password)
    membership_set(client=client, user=user, role=role, actor=SYSTEM)
    return client, user


def sandbox_channels(client, count: int = 3) -> list:
    """``count`` sandbox channels of the brand: "Bench channel <n>", handle "@bench<n>"."""
    from django_tenants.utils import schema_context

    from campaigns.models import Channel

    with schema_context(client.schema_name):
        return [Channel.objects.create(name=f"Bench channel {n}", network="sandbox",
                                       handle=f"@bench{n}") for n in range(count)]


# --- A real server process ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def web_server(kind: str, port: int, log_path: Path, *, settings: str = "agency.settings.dev",
               env: dict[str, str] | None = None):
    """A real server process on 127.0.0.1:``port`` (its env carries DATABASE_URL, and ``env``
    over the defaults), with ``settings``; stopped after."""
    extra = env or {}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings,
           "AGENCY_ADDR": f"127.0.0.1:{port}", "AGENCY_PORT": str(port),
           "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", **extra}
    if kind == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "agency.wsgi", "-w", "2",
                   "-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning"]
    else:
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
                   "--skip-checks"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    print(f"server: {' '.join(command[1:])} (pid {proc.pid}, {settings}"
          + "".join(f", {name}={value}" for name, value in extra.items()) + ")")
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode}:\n{log_tail(log_path)}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"nothing listened on {port}:\n{log_tail(log_path)}") from None
                time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        print(f"server stopped (pid {proc.pid}, exit {proc.returncode})")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


# --- Figures --------------------------------------------------------------------------------------


def shape(sql: str) -> str:
    """The statement with its literals blanked, so repeats of one query count together."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+\b", "N", sql)
    return re.sub(r"IN \((?:[?N], )*[?N]\)", "IN (...)", sql)


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def brand_http(client, user):
    """A test client on the brand's own host, signed in as ``user``."""
    from django.db import connection
    from django.test import Client as HttpClient

    from tenants.models import Domain

    connection.set_schema_to_public()
    host = Domain.objects.filter(tenant=client, is_primary=True).first().domain
    http = HttpClient(HTTP_HOST=host)
    http.force_login(user)
    return http


def timed_get(http, path: str) -> float:
    """Milliseconds of one GET of ``path``; a page that does not answer 200 stops the
    benchmark."""
    start = time.perf_counter()
    response = http.get(path)
    took = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    return took


def time_pages(http, pages: dict[str, str], requests: int, warmup: int = 3
               ) -> dict[str, list[float]]:
    """Milliseconds of ``requests`` GETs of each page (after ``warmup`` untimed ones); a page
    that does not answer 200 stops the benchmark."""
    times: dict[str, list[float]] = {name: [] for name in pages}
    for name, path in pages.items():
        for attempt in range(requests + warmup):
            took = timed_get(http, path)
            if attempt >= warmup:
                times[name].append(took)
    return times


def p95_growth(sizes: dict[str, int], measure_at, what: str) -> tuple[float, float]:
    """``measure_at(label, size)`` -> page times, at a "small" and a "big" size: prints each
    page's p50 and p95 and returns the slowest page's p95 at the big size and its growth
    (p95 big / p95 small)."""
    p95 = {}
    for label, size in sizes.items():
        times = measure_at(label, size)
        p95[label] = {name: percentile(values, 95) for name, values in times.items()}
        print(f"{what} at {size}: " + ", ".join(
            f"{name} p50 {percentile(values, 50):.1f} ms p95 {p95[label][name]:.1f} ms"
            for name, values in times.items()), flush=True)
    worst = max(p95["big"], key=p95["big"].get)
    return p95["big"][worst], p95["big"][worst] / p95["small"][worst]
