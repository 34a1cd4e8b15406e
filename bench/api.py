"""Benchmark: the campaigns API (list, 50 per page, and a draft create) over HTTP against gunicorn
with production settings, beside a bare DRF endpoint over the same table.

    python bench/api.py [--campaigns N] [--list N] [--creates N] [--clients C] [--warmup W]
                        [--profile] [--env NAME=VALUE ...] [--set NAME=JSON ...]

Works in a throwaway database (``bench_api_<pid>``) on the configured server (``DATABASE_URL`` if
set, else the embedded PostgreSQL), migrated from scratch and dropped at the end, so the
developer's data is never touched. It provisions one brand (``benchapi``) with an account manager,
three channels, ``--campaigns`` draft campaigns made through ``campaigns.services`` (3-5 posts each,
with channels and times; one in ten submitted for review, so the list's workflow look-up finds
rows) and an API key with the read and write scopes.

The server is ``gunicorn agency.wsgi -w 2`` (sync workers, as in the README's production section)
with ``bench.api_settings``: ``agency.settings.production`` (DEBUG off, Redis cache, HTTPS behind a
proxy, so the client sends ``X-Forwarded-Proto: https`` as the proxy would) plus one bench-only
route, ``/bench-bare/campaigns/`` (``bench/api_bare.py``): a plain ListCreateAPIView with a
ModelSerializer and a CursorPagination of 50, without authentication, permission or throttle.
``API_RATE`` is raised so the throttle counts (in Redis) but never refuses. ``--env`` passes an
environment variable to the server and this process (e.g. ``DB_CONN_MAX_AGE=60``); ``--set``
overrides a Django setting for the run (e.g. ``TENANT_LIMIT_SET_CALLS=true``), to try a change
before making it in ``agency/settings``.

``--clients`` concurrent clients (threads, each one ``http.client`` connection that it keeps while
the server lets it: gunicorn's sync workers close it after every response) send, after a warm-up:

    list    GET /api/v1/campaigns/ and /bench-bare/campaigns/, each client walking the cursor
            pages (``next``) to the end and starting again at the first page
    create  POST /api/v1/campaigns/ (a small valid draft: 2 posts with channels and times, an
            Idempotency-Key) and POST /bench-bare/campaigns/ (the same body; the title is kept)

Ours and bare alternate in blocks (and which goes first), so machine noise hits both alike. Every
timed response must be a 200 with a page of campaigns or a 201 with the new id, so errors are
never timed. Each series also reports the gunicorn workers' CPU time per request (psutil), which
other load on the machine disturbs far less than latency; the load average is printed before and
after. Afterwards, in this process, the queries per request of each endpoint are counted and the
in-process time is split into CPU and waiting on SQL; with ``--profile``, or when a target is
missed, a cProfile of in-process list requests shows where the time goes.

Targets: list p95 within 30 ms, and at most 1.5x the bare list's p95. The last line:

    api list_p95_ms=<x> create_p95_ms=<y> overhead_vs_bare=<our list p95 / bare list p95>
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    brand_with_member,
    django_setup,
    free_port,
    migrate,
    percentile,
    sandbox_channels,
    shape,
    throwaway_database,
    web_server,
)

SLUG = "benchapi"
USERNAME = "manager@benchapi.test"
SETTINGS = "bench.api_settings"
OURS, BARE = "ours", "bare"
PATHS = {OURS: "/api/v1/campaigns/", BARE: "/bench-bare/campaigns/"}
PAGE_SIZE = 50
TARGET_P95_MS, TARGET_RATIO = 30.0, 1.5
TAGS = ["autumn", "coffee", "community", "launch", "accessibility", "wellbeing", "local",
        "sustainability"]


# --- Environment (before Django is set up; the server inherits it) --------------------------------


def prepare_environment(extra: dict[str, str], overrides: dict) -> str:
    """What ``agency.settings.production`` requires, for this run only, and a raised API rate.
    Returns the cache key prefix of this run."""
    from cryptography.fernet import Fernet

    prefix = f"bench_api_{os.getpid()}"
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "API_RATE": "1000000/min",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "BENCH_CACHE_PREFIX": prefix,
    })
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ.update(extra)
    if overrides:
        os.environ["BENCH_SETTINGS"] = json.dumps(overrides)
    return prefix


def redis_ready() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def redis_forget(prefix: str) -> int:
    """Delete this run's cache keys (throttle counts, Wagtail's site paths) from Redis."""
    import redis

    if not os.environ.get("REDIS_URL"):
        return 0
    try:
        server = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2)
        keys = list(server.scan_iter(match=f"*:{prefix}:*", count=1000))
        return server.delete(*keys) if keys else 0
    except (redis.RedisError, OSError):
        return 0


# --- Data -----------------------------------------------------------------------------------------


def campaign_body(n: int, rng: random.Random, channel_ids: list[int], *, posts: int) -> dict:
    """An API request body for a draft campaign (what an integrator would POST)."""
    month = 1 + n % 12
    body = {
        "title": f"Campaign {n + 1}: {rng.choice(TAGS)} stories",
        "goal": "Grow the community around the new season's blend.",
        "audience": "Coffee lovers aged 25-45 in the brand's cities.",
        "key_message": "Good coffee, grown and roasted with care.",
        "story": "<p>Our growers tell the story of this season in their own words.</p>",
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "posts": [],
    }
    for number in range(posts):
        day = 1 + (n + number * 3) % 28
        body["posts"].append({
            "copy": f"Post {number + 1} of campaign {n + 1}: meet the people behind your cup.",
            "link": f"https://benchapi.example/c/{n + 1}/{number + 1}",
            "publish_at": f"2027-{month:02d}-{day:02d}T{8 + number:02d}:30:00+01:00",
            "channels": rng.sample(channel_ids, rng.randint(1, 2)),
        })
    return body


def build(n_campaigns: int) -> tuple[object, str, list[int]]:
    """Migrate, then the brand, its account manager, channels, campaigns and API key.

    Returns the client, the key's secret and the channel ids."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from agency.api.services import api_key_create
    from campaigns.api import CampaignDetail
    from campaigns.models import CampaignPage
    from campaigns.services import campaign_draft_create, campaign_submit
    from tenants.models import Role

    migrate()
    client, manager = brand_with_member(name="Bench API", slug=SLUG, username=USERNAME,
                                        role=Role.ACCOUNT_MANAGER)
    channel_ids = [channel.pk for channel in sandbox_channels(client)]
    rng = random.Random(2026)
    with tenant_context(client):
        start = time.perf_counter()
        submitted = 0
        for n in range(n_campaigns):
            serializer = CampaignDetail(data=campaign_body(n, rng, channel_ids,
                                                           posts=rng.randint(3, 5)))
            serializer.is_valid(raise_exception=True)
            page = campaign_draft_create(data=serializer.validated_data, user=manager)
            if n % 10 == 9:
                campaign_submit(campaign=CampaignPage.objects.get(pk=page.pk), user=manager)
                submitted += 1
        print(f"{n_campaigns} draft campaigns (3-5 posts each, {submitted} submitted for review) "
              f"through campaigns.services in {time.perf_counter() - start:.1f}s")
        _, raw = api_key_create(name="Bench API", scopes=["read", "write"], user=manager)
    connection.set_schema_to_public()
    return client, raw, channel_ids


# --- The server -----------------------------------------------------------------------------------


def gunicorn(port: int, log_path: Path, extra: dict[str, str]):
    """``gunicorn agency.wsgi -w 2`` with the bench settings, logging at production's level (the
    API's line per request is part of what it costs)."""
    return web_server("gunicorn", port, log_path, settings=SETTINGS,
                      env={"LOG_LEVEL": "INFO", **extra})


# --- The HTTP client ------------------------------------------------------------------------------


class Client:
    """One ``http.client`` connection to 127.0.0.1:``port`` speaking to ``host``, reopened only
    when the server closes it."""

    def __init__(self, port: int, host: str, key: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Host": host, "X-Forwarded-Proto": "https",
                        "Accept": "application/json", "Authorization": f"Bearer {key}"}
        self.connects = 0
        self.requests = 0

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, bytes, float]:
        data = json.dumps(body).encode() if body is not None else None
        sent = {**self.headers, **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        if self.conn.sock is None:
            self.connects += 1
        start = time.perf_counter()
        self.conn.request(method, path, body=data, headers=sent)
        response = self.conn.getresponse()
        payload = response.read()
        ms = (time.perf_counter() - start) * 1000
        self.requests += 1
        if response.will_close:
            self.conn.close()
        return response.status, payload, ms

    def close(self) -> None:
        self.conn.close()


def fail(what: str, status: int, payload: bytes) -> None:
    raise SystemExit(f"{what} answered {status}; not timing errors.\n{payload[:600]!r}")


class ListWalker:
    """Walks one endpoint's cursor pages to the end, then starts again at the first page."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.next = PATHS[endpoint]

    def step(self, client: Client) -> tuple[float, bool, int]:
        path = self.next
        first = path == PATHS[self.endpoint]
        status, payload, ms = client.request("GET", path)
        if status != 200:
            fail(f"GET {path} ({self.endpoint})", status, payload)
        page = json.loads(payload)
        results = page.get("results") or []
        if not results or len(results) > PAGE_SIZE or (first and len(results) != PAGE_SIZE):
            fail(f"GET {path} ({self.endpoint}) with {len(results)} results", status, payload)
        if not all("id" in row and "title" in row for row in results):
            fail(f"GET {path} ({self.endpoint}) without ids or titles", status, payload)
        following = page.get("next")
        self.next = (urlsplit(following)._replace(scheme="", netloc="").geturl() if following
                     else PATHS[self.endpoint])
        return ms, first, len(payload)


class Creator:
    def __init__(self, endpoint: str, channel_ids: list[int], label: str):
        self.endpoint, self.channel_ids, self.label = endpoint, channel_ids, label
        self.made = 0
        self.rng = random.Random(label)

    def step(self, client: Client) -> tuple[float, bool, int]:
        self.made += 1
        body = campaign_body(self.made, self.rng, self.channel_ids, posts=2)
        body["title"] = f"API bench {self.label} {self.made}"
        headers = {"Idempotency-Key": str(uuid.uuid4())} if self.endpoint == OURS else None
        status, payload, ms = client.request("POST", PATHS[self.endpoint], body, headers)
        if status != 201:
            fail(f"POST {PATHS[self.endpoint]} ({self.endpoint})", status, payload)
        made = json.loads(payload)
        if not made.get("id") or made.get("title") != body["title"]:
            fail(f"POST {PATHS[self.endpoint]} ({self.endpoint}) without the new campaign",
                 status, payload)
        return ms, False, len(payload)


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the gunicorn workers of ``pid`` used so far."""
    import psutil

    total = 0.0
    for worker in psutil.Process(pid).children():
        try:
            times = worker.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def run_concurrently(clients: list[Client], workers: list, per_client: int
                     ) -> tuple[float, list[tuple[float, bool, int]]]:
    """Each client sends ``per_client`` requests through its worker, all at once; returns the
    wall time and every (ms, first page, bytes)."""
    samples: list[list] = [[] for _ in clients]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(clients) + 1)

    def work(index: int) -> None:
        try:
            barrier.wait()
            for _ in range(per_client):
                samples[index].append(workers[index].step(clients[index]))
        except BaseException as error:  # noqa: BLE001 - reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return wall, [s for per in samples for s in per]


class Series:
    def __init__(self):
        self.samples: list[tuple[float, bool, int]] = []
        self.wall = 0.0
        self.cpu = 0.0

    def add(self, wall: float, samples: list, cpu: float) -> None:
        self.wall += wall
        self.samples += samples
        self.cpu += cpu

    @property
    def ms(self) -> list[float]:
        return [s[0] for s in self.samples]

    def p(self, q: float, *, first: bool | None = None) -> float:
        values = [s[0] for s in self.samples if first is None or s[1] == first]
        return percentile(values, q) if values else float("nan")

    def line(self, name: str) -> str:
        ms = self.ms
        return (f"{name:12s} {len(ms) / self.wall:6.1f} req/s  p50={percentile(ms, 50):6.1f} ms  "
                f"p95={percentile(ms, 95):6.1f} ms  max={max(ms):6.1f} ms  server CPU "
                f"{self.cpu / len(ms) * 1000:5.1f} ms/req  (n={len(ms)}, "
                f"{statistics.mean(s[2] for s in self.samples) / 1024:.1f} KiB)")


def measure(port: int, host: str, key: str, channel_ids: list[int], args, server_pid: int
            ) -> dict:
    clients = [Client(port, host, key) for _ in range(args.clients)]
    series = {(kind, endpoint): Series() for kind in ("list", "create")
              for endpoint in (OURS, BARE)}
    walkers = {e: [ListWalker(e) for _ in clients] for e in (OURS, BARE)}
    creators = {e: [Creator(e, channel_ids, f"{e}-{i}") for i in range(len(clients))]
                for e in (OURS, BARE)}

    for endpoint in (OURS, BARE):
        run_concurrently(clients, walkers[endpoint], max(1, args.warmup // len(clients)))
        run_concurrently(clients, creators[endpoint], max(1, args.warmup // 4 // len(clients)))
    print(f"warm-up: {args.warmup} list and {max(1, args.warmup // 4)} create requests per "
          "endpoint, all answered as expected")

    for kind, total, blocks, workers in (("list", args.list, 8, walkers),
                                         ("create", args.creates, 4, creators)):
        per_client = max(1, total // blocks // len(clients))
        for block in range(blocks):
            order = (OURS, BARE) if block % 2 == 0 else (BARE, OURS)
            for endpoint in order:
                cpu = server_cpu(server_pid)
                wall, samples = run_concurrently(clients, workers[endpoint], per_client)
                series[(kind, endpoint)].add(wall, samples, server_cpu(server_pid) - cpu)
            recent = {e: series[(kind, e)].ms[-per_client * len(clients):] for e in (OURS, BARE)}
            print(f"{kind} block {block + 1}/{blocks}: " + "  ".join(
                f"{e} p50 {percentile(recent[e], 50):5.1f} ms" for e in (OURS, BARE)))
    connects = sum(c.connects for c in clients)
    sent = sum(c.requests for c in clients)
    print(f"{len(clients)} clients sent {sent} requests over {connects} connections "
          f"({'the server closed each one' if connects >= sent else 'kept alive'})")
    for client in clients:
        client.close()
    return series


# --- In this process: queries, SQL time, profile --------------------------------------------------


class InProcess:
    def __init__(self, host: str, key: str):
        from django.test import Client as DjangoClient

        self.client = DjangoClient(HTTP_HOST=host, HTTP_X_FORWARDED_PROTO="https",
                                   HTTP_AUTHORIZATION=f"Bearer {key}",
                                   raise_request_exception=True)
        self.spent: list[float] = []  # ms per statement of the last ``captured`` call

    def get(self, path: str):
        from django.db import connection

        response = self.client.get(path)
        connection.set_schema_to_public()
        if response.status_code != 200:
            fail(f"in process GET {path}", response.status_code, response.content)
        return response

    def post(self, path: str, body: dict, headers: dict | None = None):
        from django.db import connection

        response = self.client.post(path, json.dumps(body), content_type="application/json",
                                    headers=headers or {})
        connection.set_schema_to_public()
        if response.status_code != 201:
            fail(f"in process POST {path}", response.status_code, response.content)
        return response

    def captured(self, call) -> tuple[list[dict], float, float, float]:
        """The queries ``call`` made, its time, this thread's CPU time and the time spent waiting
        on SQL (ms)."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.spent = []

        def timed(execute, sql, params, many, context):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                self.spent.append((time.perf_counter() - start) * 1000)

        connection.queries_log.clear()  # a bounded deque: keep the capture's arithmetic right
        with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timed):
            start, cpu = time.perf_counter(), time.thread_time()
            call()
            ms, cpu = (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000
        return queries.captured_queries, ms, cpu, sum(self.spent)


def cursor_path(process: InProcess, endpoint: str, pages: int) -> str:
    path = PATHS[endpoint]
    for _ in range(pages):
        following = process.get(path).json()["next"]
        path = urlsplit(following)._replace(scheme="", netloc="").geturl()
    return path


def in_process_report(host: str, key: str, channel_ids: list[int], rounds: int) -> dict:
    """Queries per request, and the in-process time of the list split into SQL and the rest."""
    process = InProcess(host, key)
    lists = {(e, label): path for e in (OURS, BARE)
             for label, path in (("first page", PATHS[e]), ("page 3", cursor_path(process, e, 2)))}
    figures = {}
    print("in process (Django's test client, same settings, no HTTP):")
    for (endpoint, label), path in lists.items():
        process.get(path)  # warm per-process caches
        queries = process.captured(lambda path=path: process.get(path))[0]
        times, cpus, sql, each = [], [], [], [[] for _ in queries]
        for _ in range(rounds):
            _, ms, cpu, waited = process.captured(lambda path=path: process.get(path))
            times.append(ms)
            cpus.append(cpu)
            sql.append(waited)
            for spent, one in zip(each, process.spent, strict=False):
                spent.append(one)
        figures[(endpoint, label)] = (len(queries), statistics.median(times),
                                      statistics.median(sql))
        print(f"  list {endpoint} {label:10s}: {len(queries):2d} queries  p50 "
              f"{statistics.median(times):5.1f} ms: CPU {statistics.median(cpus):4.1f} ms, "
              f"waiting on SQL {statistics.median(sql):4.1f} ms (n={rounds})")
        for query, spent in zip(queries, each, strict=True):  # in order, with their p50
            print(f"      {statistics.median(spent):5.2f} ms  {shape(query['sql'])[:110]}")
    rng = random.Random(7)
    for endpoint in (OURS, BARE):
        body = campaign_body(9000, rng, channel_ids, posts=2)
        body["title"] = f"In-process create {endpoint}"
        headers = {"Idempotency-Key": str(uuid.uuid4())} if endpoint == OURS else None
        queries, ms, cpu, waited = process.captured(lambda b=body, h=headers, e=endpoint:
                                                    process.post(PATHS[e], b, h))
        print(f"  create {endpoint}: {len(queries)} queries, {ms:.1f} ms: CPU {cpu:.1f} ms, "
              f"waiting on SQL {waited:.1f} ms")
        figures[(endpoint, "create")] = (len(queries), ms, None)
    return figures


def profile_list(host: str, key: str, rounds: int) -> None:
    """cProfile of ``rounds`` in-process first-page list requests: the heaviest functions."""
    process = InProcess(host, key)
    process.get(PATHS[OURS])
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        process.get(PATHS[OURS])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    total = stats.total_tt / rounds * 1000
    print(f"profile of {rounds} in-process list requests ({total:.1f} ms each under cProfile):")
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():
        where = filename.replace(str(ROOT) + "/", "")
        where = re.sub(r".*/site-packages/", "", where)
        rows.append((cumtime, tottime, calls, f"{where}:{line}({name})"))
    ours = [r for r in rows if r[3].startswith(("campaigns/", "agency/", "tenants/"))]
    print("  our code, by cumulative time per request:")
    for cumtime, _, calls, where in sorted(ours, reverse=True)[:12]:
        print(f"    {cumtime / rounds * 1000:6.2f} ms  {calls // rounds:5d} calls  {where}")
    print("  every function, by own time per request:")
    for _, tottime, calls, where in sorted(rows, key=lambda r: r[1], reverse=True)[:12]:
        print(f"    {tottime / rounds * 1000:6.2f} ms  {calls // rounds:5d} calls  {where}")


# --- Main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaigns", type=int, default=300, help="draft campaigns in the brand")
    parser.add_argument("--list", type=int, default=400, help="timed list requests per endpoint")
    parser.add_argument("--creates", type=int, default=200,
                        help="timed create requests per endpoint")
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=40,
                        help="untimed list requests per endpoint (a quarter as many creates)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile in-process list requests even when the targets are met")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the server (and this process), e.g. "
                             "DB_CONN_MAX_AGE=60")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                        help="override a Django setting, e.g. TENANT_LIMIT_SET_CALLS=true")
    args = parser.parse_args(argv)
    if min(args.campaigns, args.list, args.creates, args.clients) < 1 or args.warmup < 0:
        parser.error("--campaigns, --list, --creates and --clients must be at least 1")
    if args.campaigns <= 2 * PAGE_SIZE:
        parser.error(f"--campaigns must be more than {2 * PAGE_SIZE} (the in-process figures "
                     "read the third page)")
    extra = dict(item.split("=", 1) for item in args.env if "=" in item)
    try:
        overrides = {name: json.loads(value) for name, value in
                     (item.split("=", 1) for item in args.set if "=" in item)}
    except json.JSONDecodeError as error:
        parser.error(f"--set takes NAME=<a JSON value>: {error}")

    os.chdir(ROOT)
    prefix = prepare_environment(extra, overrides)
    if not redis_ready():
        print(f"Redis at {os.environ['REDIS_URL']} does not answer: the cache (and the API "
              "throttle's counts) fall back to per-process memory")
        os.environ.pop("REDIS_URL")
    began = time.perf_counter()
    try:
        with (tempfile.TemporaryDirectory(prefix="bench-api-") as scratch,
              throwaway_database("bench_api") as name):
            os.environ["MEDIA_ROOT"] = str(Path(scratch) / "media")
            print(f"database {name} ({SETTINGS}: agency.settings.production + the bare route; "
                  f"cache {'Redis' if os.environ.get('REDIS_URL') else 'local memory'}, "
                  f"API_RATE {os.environ['API_RATE']}"
                  + "".join(f", {k}={v}" for k, v in {**extra, **overrides}.items()) + ")")
            django_setup()
            client, key, channel_ids = build(args.campaigns)
            from django.db import connections

            connections.close_all()  # the server's workers open their own
            port = free_port()
            print(f"load average before: {os.getloadavg()[0]:.2f} (2 workers, "
                  f"{args.clients} clients, {os.cpu_count()} CPUs)")
            with gunicorn(port, Path(scratch) / "server.log", extra) as server:
                series = measure(port, client.host, key, channel_ids, args, server.pid)
            print(f"load average after: {os.getloadavg()[0]:.2f}")
            figures = in_process_report(client.host, key, channel_ids, rounds=30)

            print("over HTTP (gunicorn, 2 sync workers, "
                  f"{args.clients} concurrent clients):")
            for kind in ("list", "create"):
                for endpoint in (OURS, BARE):
                    print("  " + series[(kind, endpoint)].line(f"{kind} {endpoint}"))
            for endpoint in (OURS, BARE):
                s = series[("list", endpoint)]
                print(f"  list {endpoint}: p95 first pages {s.p(95, first=True):.1f} ms, "
                      f"cursor pages {s.p(95, first=False):.1f} ms")
            list_p95 = series[("list", OURS)].p(95)
            bare_p95 = series[("list", BARE)].p(95)
            create_p95 = series[("create", OURS)].p(95)
            ratio = list_p95 / bare_p95
            create_ratio = create_p95 / series[("create", BARE)].p(95)
            count = {k: v[0] for k, v in figures.items()}
            print(f"queries per list request: ours {count[(OURS, 'first page')]} (cursor page "
                  f"{count[(OURS, 'page 3')]}), bare {count[(BARE, 'first page')]} (cursor page "
                  f"{count[(BARE, 'page 3')]}); per create: ours {count[(OURS, 'create')]}, bare "
                  f"{count[(BARE, 'create')]}")
            met_p95, met_ratio = list_p95 <= TARGET_P95_MS, ratio <= TARGET_RATIO
            print(f"target list p95 <= {TARGET_P95_MS:.0f} ms: {list_p95:.1f} ms "
                  f"{'met' if met_p95 else 'MISSED'}; <= {TARGET_RATIO}x bare: {ratio:.2f}x "
                  f"{'met' if met_ratio else 'MISSED'} (create: {create_ratio:.2f}x the bare "
                  "create, informative)")
            if args.profile or not (met_p95 and met_ratio):
                profile_list(client.host, key, rounds=30)
    finally:
        removed = redis_forget(prefix)
        if removed:
            print(f"removed {removed} cache keys of this run from Redis")
    print(f"total {time.perf_counter() - began:.0f}s")
    print(f"api list_p95_ms={list_p95:.1f} create_p95_ms={create_p95:.1f} "
          f"overhead_vs_bare={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
