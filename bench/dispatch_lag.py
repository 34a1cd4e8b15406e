"""Benchmark: how late posts go out when thousands fall due in the same minute, engine vs baseline.

    python bench/dispatch_lag.py [--deliveries N] [--brands M] [--workers W] [--quick]
                                 [--broker orm|redis] [--env NAME=VALUE ...] [--no-baseline]
                                 [--burst]

Works in its own database (``agency_bench`` on the configured server: ``DATABASE_URL``'s server
if set, else the embedded PostgreSQL), migrated when needed and kept between runs so its brands
(``lag001``..) are provisioned once (~0.6 s each); earlier runs' outbox rows, queue, schedules and
sandbox posts are removed at the start. Each brand has one sandbox channel.

The engine run starts a real ``manage.py qcluster`` (``--workers`` workers) and a real
``manage.py dispatcher`` as child processes, waits until every worker has answered a warm-up
task, then bulk-inserts N deliveries across M brands due uniformly over one minute starting
``--lead`` seconds later, and waits until all are published (or ``--timeout`` after the last is
due). The lag of a delivery is the time of the sandbox publish call (``SandboxPost.published_at``,
stamped when the worker writes the post) minus its due time.

The baseline run follows on the same cluster with the dispatcher stopped: N fresh deliveries with
the same due times, each with its own django-q2 ``Schedule`` (ONCE, ``next_run`` = due time) whose
task (``bench.publishing_common.baseline_publish``) publishes it through the same sandbox adapter
inside the brand's schema. django-q2's scheduler runs inside the cluster's sentinel about every
30 seconds.

For the engine run, where the time goes: a trigger (the benchmark's, in its own database) stamps
each claim; with the ORM broker, triggers stamp when a task row is inserted and taken by the
pusher. So lag splits into dispatch (due -> claim), enqueue (claim -> task row), broker (task row
-> pusher), wait (pusher -> worker starts sending, ``sending_at``), publish (-> sandbox post) and
record (-> ``Delivery.published_at``). CPU seconds per process over the run are printed too.

``--burst`` adds a saturation run on the same cluster after the engine run: N deliveries all
due at the same moment; ``posts_per_s`` is how many were published per second from that moment
to the last sandbox post, with the CPU per post of each process. Then, with the cluster stopped,
the worker's own cost is measured in this process: ``--sample`` deliveries (one per brand in
turn) claimed and published by ``worker.deliver_batch`` in tasks of ``DELIVERIES_PER_TASK``,
counting the SQL statements Django sends (BEGIN and COMMIT not included), the transactions
PostgreSQL committed (``pg_stat_database``) and this process's CPU, per post.

The broker is the ORM broker unless ``--broker redis`` (or ``REDIS_URL`` set); Redis runs on a
database index of its own (``--redis-db``, default 14) so other users of the server are not
touched. ``--env NAME=VALUE`` passes a setting to every process (e.g. ``DB_CONN_MAX_AGE=60``,
``PUBLISHING_BATCH=50``); the settings in force are printed. The last line is machine-readable:

    dispatch_lag p99_s=<x> baseline_p99_s=<y> ratio=<y/x> lost=<n> duplicates=<n> \
        posts_per_s=<z> statements_per_post=<s> worker_cpu_ms_per_post=<c>

(the last three ``nan`` without ``--burst``).

``lost``: engine deliveries not published by the end of the wait; ``duplicates``: sandbox posts
beyond the first per idempotency key plus deliveries with more than one "published" event. A
delivery not published by the end of its run's wait counts in the percentiles with its lag at that
moment, so those figures are then lower bounds (the report says so).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    django_setup,
    ensure_brands,
    ensure_channel,
    ensure_database,
    migrate_if_needed,
    percentile,
)
from bench.publishing_common import (  # noqa: E402
    Child,
    clean_outbox,
    engine_version,
    make_deliveries,
    redacted,
    spread,
    wait_for_log,
    wait_warm,
)

DATABASE = "agency_bench"
PREFIX = "lag"
CHANNEL = "Bench sandbox"
LOGS = ROOT / "var" / "bench" / "lag"
MACHINE = "machine busy, all processes"

TRACE_SQL = """
CREATE TABLE IF NOT EXISTS public.bench_trace (
    kind text NOT NULL, ref bigint NOT NULL, at timestamptz NOT NULL, payload text);
TRUNCATE public.bench_trace;
CREATE OR REPLACE FUNCTION public.bench_trace_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.bench_trace VALUES ('claim', NEW.id, clock_timestamp(), NULL);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION public.bench_trace_ormq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.bench_trace VALUES ('enqueued', NEW.id, clock_timestamp(), NEW.payload);
    ELSE
        INSERT INTO public.bench_trace VALUES ('dequeued', NEW.id, clock_timestamp(), NULL);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bench_trace_claim ON public.publishing_delivery;
CREATE TRIGGER bench_trace_claim AFTER UPDATE OF state ON public.publishing_delivery
    FOR EACH ROW WHEN (NEW.state = 'claimed' AND OLD.state IS DISTINCT FROM 'claimed')
    EXECUTE FUNCTION public.bench_trace_claim();
DROP TRIGGER IF EXISTS bench_trace_ormq ON public.django_q_ormq;
CREATE TRIGGER bench_trace_ormq AFTER INSERT OR UPDATE OF lock ON public.django_q_ormq
    FOR EACH ROW EXECUTE FUNCTION public.bench_trace_ormq();
"""

UNTRACE_SQL = """
DROP TRIGGER IF EXISTS bench_trace_claim ON public.publishing_delivery;
DROP TRIGGER IF EXISTS bench_trace_ormq ON public.django_q_ormq;
"""


# --- Environment ----------------------------------------------------------------------------------


def redis_url(db: int) -> str:
    base = os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379"
    return urlunsplit(urlsplit(base)._replace(path=f"/{db}"))


def configure(args) -> dict:
    """Settings for this process and its children (they share the environment)."""
    env = {"DJANGO_SETTINGS_MODULE": "agency.settings.dev", "DJANGO_DEBUG": "0",
           "LOG_LEVEL": "WARNING", "LOG_FORMAT": "plain", "PYTHONUNBUFFERED": "1",
           "Q_WORKERS": str(args.workers)}
    if args.broker == "redis":
        env["REDIS_URL"] = redis_url(args.redis_db)
    else:
        os.environ.pop("REDIS_URL", None)
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value
    os.environ.update(env)
    return env


def describe_settings(args, env: dict) -> None:
    from django.conf import settings

    q, p = settings.Q_CLUSTER, settings.PUBLISHING
    broker = f"Redis {redacted(q['redis'])}" if "redis" in q else "ORM (PostgreSQL table)"
    db = settings.DATABASES["default"]
    print(f"database {db['NAME']} on {db.get('HOST') or 'local socket'}:{db.get('PORT') or ''} "
          f"(CONN_MAX_AGE={db.get('CONN_MAX_AGE', 0)})")
    print(f"broker {broker}; Q_CLUSTER workers={q['workers']} poll={q.get('poll')} "
          f"bulk={q.get('bulk')} queue_limit={q.get('queue_limit')} "
          f"recycle={q.get('recycle', 500)} (django-q2 default 500)")
    print(f"PUBLISHING BATCH={p['BATCH']} IDLE_POLL_SECONDS={p['IDLE_POLL_SECONDS']} "
          f"LEASE_SECONDS={p['LEASE_SECONDS']} PREFETCH_SECONDS={p.get('PREFETCH_SECONDS', '-')} "
          f"DELIVERIES_PER_TASK={p.get('DELIVERIES_PER_TASK', '-')}; "
          f"extra env: {' '.join(args.env) or 'none'}")


# --- Processes and CPU ----------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds per role: the cluster's processes (workers counted with those already reaped),
    the dispatcher, PostgreSQL (the bench database's backends apart where they can be told),
    Redis, this process. Other work on the machine shows under "other" and "exited"."""

    def __init__(self, cluster: Child, dispatcher: Child | None, database: str):
        import psutil

        self.psutil = psutil
        self.database = database
        self.cluster, self.dispatcher = cluster, dispatcher
        self.fixed: dict[int, str] = {}
        sentinel = psutil.Process(cluster.pid).children()
        if sentinel:
            kids = sorted(sentinel[0].children(), key=lambda p: (p.create_time(), p.pid))
            # django-q2 spawns the workers, then the monitor, then the pusher
            if len(kids) >= 2:
                self.fixed = {kids[-2].pid: "monitor", kids[-1].pid: "pusher"}

    @staticmethod
    def _own(proc) -> float:
        t = proc.cpu_times()
        return t.user + t.system

    @staticmethod
    def _reaped(proc) -> float:
        t = proc.cpu_times()
        return t.children_user + t.children_system

    def snapshot(self) -> Counter:
        ps, out = self.psutil, Counter()
        with_errors = (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess)
        try:
            root = ps.Process(self.cluster.pid)
            out["qcluster main"] += self._own(root)
            for sentinel in root.children():
                out["sentinel (+scheduler)"] += self._own(sentinel)
                out["workers"] += self._reaped(sentinel)  # recycled or killed workers
                for kid in sentinel.children():
                    out[self.fixed.get(kid.pid, "workers")] += self._own(kid)
        except with_errors:
            pass
        if self.dispatcher is not None and self.dispatcher.alive():
            try:
                out["dispatcher"] += self._own(ps.Process(self.dispatcher.pid))
            except with_errors:
                pass
        for proc in ps.process_iter(["name", "cmdline"]):
            try:
                title = " ".join(proc.info["cmdline"] or [])
                if proc.info["name"] in ("postgres", "postmaster"):
                    # backends are titled "postgres: [cluster:] user database client state"
                    if f" {self.database} " in title:
                        out["postgres: live backends of the bench db"] += self._own(proc)
                    else:
                        out["postgres: other processes"] += self._own(proc)
                    # backends that exited (a new connection per query when CONN_MAX_AGE=0)
                    # are counted by their postmaster, whatever their database
                    out["postgres: exited backends (any db)"] += self._reaped(proc)
                elif proc.info["name"] == "redis-server":
                    out["redis-server"] += self._own(proc)
            except with_errors:
                continue
        out["bench (this process)"] += self._own(ps.Process())
        machine = ps.cpu_times()
        out[MACHINE] += sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return out


# --- Runs -----------------------------------------------------------------------------------------


def db_sessions() -> int:
    """Connections ever made to this database (PostgreSQL 14+ counts them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        (count,) = cursor.fetchone()
    connection.close()
    return count


def purge_queue(args, env: dict) -> None:
    """Empty django-q2's queue (the ORM table, or the Redis list of the bench's own index)."""
    from django_q.models import OrmQ

    OrmQ.objects.all().delete()
    if args.broker == "redis":
        import redis

        redis.from_url(env["REDIS_URL"]).delete("django_q:agency:q")


def due_times(start, count: int, window: float) -> list:
    return [start + timedelta(seconds=window * i / count) for i in range(count)]


def make_run(tag: str, clients, channels, dues) -> list[int]:
    rows = []
    for i, due in enumerate(dues):
        client = clients[i % len(clients)]
        rows.append((client, channels[client.pk], due, f"{tag}-{i:05d}",
                     f"Bench post {i} of run {tag}: the autumn blend is here."))
    return make_deliveries(rows)


def wait_published(tag: str, count: int, deadline: float, t0) -> float:
    """Poll until ``count`` deliveries of ``tag`` are published or ``deadline`` (monotonic)."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.publishing.models import Delivery, State

    last_print = 0.0
    while True:
        done = Delivery.objects.filter(idempotency_key__startswith=tag + "-",
                                       state=State.PUBLISHED).count()
        connection.close()  # as the platform's processes do: no connection kept between polls
        now = time.monotonic()
        if done >= count or now >= deadline or now - last_print >= 5:
            last_print = now
            since = (timezone.now() - t0).total_seconds()
            print(f"  t{since:+6.1f}s  published {done}/{count}", flush=True)
        if done >= count or now >= deadline:
            return now
        time.sleep(0.5)


def sandbox_times(schemas: list[str], tag: str) -> dict[str, list]:
    """{idempotency key: [published_at, ...]} of the sandbox posts of run ``tag``."""
    from django.db import connection
    from psycopg import sql

    parts = [sql.SQL("SELECT idempotency_key, published_at FROM {} WHERE idempotency_key "
                     "LIKE %s").format(sql.Identifier(schema, "campaigns_sandboxpost"))
             for schema in schemas]
    out: dict[str, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(" UNION ALL ").join(parts).as_string(cursor.connection),
                       [tag + "-%"] * len(schemas))
        for key, at in cursor.fetchall():
            out.setdefault(key, []).append(at)
    return out


def published_event_repeats(ids: list[int]) -> int:
    from django.db.models import Count

    from campaigns.publishing.models import DeliveryEvent

    counts = (DeliveryEvent.objects.filter(delivery_id__in=ids, kind="published")
              .values("delivery_id").annotate(n=Count("id")).filter(n__gt=1))
    return sum(row["n"] - 1 for row in counts)


def traces() -> tuple[dict, dict]:
    """Claim times per delivery (first claim), and per delivery the times its task row was
    inserted and taken by the pusher (ORM broker only)."""
    from django.db import connection
    from django_q.signing import SignedPackage

    claims, broker = {}, {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, ref, at, payload FROM public.bench_trace ORDER BY at")
        rows = cursor.fetchall()
    ormq: dict[int, dict] = {}
    for kind, ref, at, payload in rows:
        if kind == "claim":
            claims.setdefault(ref, at)
        elif kind == "enqueued":
            task = SignedPackage.loads(payload)
            func, args = str(task.get("func", "")), task.get("args") or ()
            if func.endswith(".deliver"):  # deliver(pk, claim)
                ormq[ref] = {"deliveries": [args[0]], "enqueued": at}
            elif func.endswith(".deliver_batch"):  # deliver_batch([(pk, claim), ...])
                ormq[ref] = {"deliveries": [pk for pk, _ in args[0]], "enqueued": at}
        elif kind == "dequeued" and ref in ormq:
            ormq[ref].setdefault("dequeued", at)
    for item in ormq.values():
        for pk in item["deliveries"]:
            broker.setdefault(pk, item)
    return claims, broker


def analyse(label: str, tag: str, ids: list[int], schemas: list[str], *, window: float,
            staged: bool) -> dict:
    from django.utils import timezone

    from campaigns.publishing.models import Delivery

    rows = {d["id"]: d for d in Delivery.objects.filter(pk__in=ids).values(
        "id", "idempotency_key", "publish_at", "sending_at", "published_at", "state",
        "attempts")}
    posts = sandbox_times(schemas, tag)
    lags = [(min(posts[d["idempotency_key"]]) - d["publish_at"]).total_seconds()
            for d in rows.values() if d["idempotency_key"] in posts]
    # A delivery not published by the end of the wait was at least this late: counted so, the
    # percentiles are lower bounds rather than figures of the fast part only.
    ended = timezone.now()
    censored = lags + [(ended - d["publish_at"]).total_seconds() for d in rows.values()
                       if d["idempotency_key"] not in posts]
    lost = sum(1 for d in rows.values() if d["idempotency_key"] not in posts)
    dup_posts = sum(len(t) - 1 for t in posts.values() if len(t) > 1)
    dup_events = published_event_repeats(ids)
    first_due = min(d["publish_at"] for d in rows.values())
    last_post = max((min(t) for t in posts.values()), default=first_due)
    span = (last_post - first_due).total_seconds()
    print(f"{label}: lag {spread(lags)} (published ones)")
    if len(censored) > len(lags):
        print(f"{label}: lag {spread(censored)} counting the {len(censored) - len(lags)} "
              "unpublished at their lag when the wait ended: LOWER BOUNDS")
    print(f"{label}: {len(lags)}/{len(rows)} published, lost={lost}, duplicate posts={dup_posts}, "
          f"repeated 'published' events={dup_events}, states "
          f"{dict(Counter(d['state'] for d in rows.values()))}, "
          f"re-claimed={sum(1 for d in rows.values() if d['attempts'] > 1)}")
    print(f"{label}: throughput {len(lags) / span if span > 0 else float('nan'):.1f} posts/s "
          f"(first due -> last post {span:.1f}s; offered {len(rows) / window:.1f}/s)")
    # lag by due time, 10-second windows: does a backlog build up?
    by_window: dict[int, list[float]] = {}
    for d in rows.values():
        times = posts.get(d["idempotency_key"])
        if times:
            slot = int((d["publish_at"] - first_due).total_seconds() // 10)
            by_window.setdefault(slot, []).append((min(times) - d["publish_at"]).total_seconds())
    print(f"{label}: p99 lag by due window: " + "  ".join(
        f"{slot * 10:>2d}-{slot * 10 + 10}s {percentile(v, 99):.2f}"
        for slot, v in sorted(by_window.items())))
    if staged:
        stages(rows, posts)
    return {"lags": censored, "lost": lost, "duplicates": dup_posts + dup_events,
            "bounded": len(censored) > len(lags)}


def stages(rows: dict, posts: dict) -> None:
    claims, broker = traces()
    parts: dict[str, list[float]] = {}

    def add(name, later, earlier):
        if later is not None and earlier is not None:
            parts.setdefault(name, []).append((later - earlier).total_seconds())

    for pk, d in rows.items():
        claimed = claims.get(pk)
        sent = min(posts.get(d["idempotency_key"]) or [None], key=lambda t: t or d["publish_at"])
        add("dispatch  due -> claimed", claimed, d["publish_at"])
        item = broker.get(pk)
        if item:
            add("enqueue   claimed -> task row", item["enqueued"], claimed)
            add("broker    task row -> pusher", item.get("dequeued"), item["enqueued"])
            add("wait      pusher -> sending_at", d["sending_at"], item.get("dequeued"))
        else:
            add("queue     claimed -> sending_at", d["sending_at"], claimed)
        add("publish   sending_at -> sandbox post", sent, d["sending_at"])
        add("record    sandbox post -> published_at", d["published_at"], sent)
    sizes = Counter(len(item["deliveries"]) for item in {id(i): i for i in broker.values()}
                    .values())
    if sizes:
        print(f"engine: deliveries per task: {dict(sorted(sizes.items()))}")
    print("engine: where the lag goes (per delivery; first claim; the dispatcher may claim "
          "ahead of the due time and the worker wait for it):")
    for name, values in parts.items():
        print(f"  {name:40s} {spread(values)}")


def burst(cluster: Child, dispatcher: Child, clients, channels, schemas, count: int,
          lead: float, timeout: float) -> dict:
    """``count`` deliveries all due at one moment, on the running cluster and dispatcher: how
    many posts per second go out at saturation, and the CPU per post of each process."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.publishing.models import Delivery, State

    # the engine run's backlog first, or the burst would measure it too
    began = time.monotonic()
    while Delivery.objects.filter(state__in=[State.SCHEDULED, State.CLAIMED]).exists():
        connection.close()
        if time.monotonic() - began > timeout:
            print("burst: WARNING the engine run's backlog is still going out")
            break
        time.sleep(1.0)
    print(f"burst: waited {time.monotonic() - began:.0f}s for the engine run's backlog",
          flush=True)
    stamp = timezone.now().strftime("%H%M%S")
    tag = f"s{stamp}"
    due = timezone.now() + timedelta(seconds=lead)
    ids = make_run(tag, clients, channels, [due] * count)
    print(f"burst: {len(ids)} deliveries across {len(clients)} brands all due {due:%H:%M:%S}",
          flush=True)
    meter = CpuMeter(cluster, dispatcher, DATABASE)
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()))
    cpu_before, wall = meter.snapshot(), time.monotonic()
    wait_published(tag, len(ids), time.monotonic() + timeout, due)
    cpu = meter.snapshot() - cpu_before
    wall = time.monotonic() - wall
    posts = sandbox_times(schemas, tag)
    firsts = sorted(min(times) for times in posts.values())
    span = (firsts[-1] - due).total_seconds() if firsts else float("nan")
    rate = len(firsts) / span if firsts and span > 0 else float("nan")
    lags = [(t - due).total_seconds() for t in firsts]
    print(f"burst: {len(firsts)}/{len(ids)} published in {span:.1f}s after their time: "
          f"{rate:.1f} posts/s; time after due {spread(lags)}")
    machine = cpu.pop(MACHINE)
    per_post = {name: 1000 * seconds / max(1, len(firsts)) for name, seconds in cpu.items()}
    ours = sum(v for k, v in per_post.items() if k != "bench (this process)")
    print(f"burst: CPU ms per post over {wall:.0f}s (machine busy {machine:.0f} CPU-s): "
          + ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(
              per_post.items(), key=lambda item: -item[1])) + f"; all ours {ours:.1f}")
    return {"posts_per_s": rate, "cpu_ms": per_post}


def worker_cost(clients, channels, count: int) -> dict:
    """In this process, the cluster stopped: ``count`` due deliveries (brand after brand)
    claimed and published by ``worker.deliver_batch`` in tasks of ``DELIVERIES_PER_TASK``.
    Statements (as Django sends them), transactions (PostgreSQL's count for the database) and
    this process's CPU, per post."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from campaigns.publishing import transitions, worker

    def transactions() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")  # PostgreSQL 15+
            cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                           "WHERE datname = current_database()")
            return cursor.fetchone()[0]

    tag = f"w{timezone.now():%H%M%S}"
    now = timezone.now()
    make_run(tag, clients, channels, [now] * count)
    claims = transitions.claim_due(batch=count)
    per_task = settings.PUBLISHING["DELIVERIES_PER_TASK"]
    tasks = [claims[i:i + per_task] for i in range(0, len(claims), per_task)]
    worker.deliver_batch(tasks.pop())  # imports and first connection out of the figures
    # half counted (Django's query log costs CPU of its own), half timed
    counted, timed = tasks[:len(tasks) // 2], tasks[len(tasks) // 2:]
    outcomes: Counter = Counter()
    before_xact = transactions()
    with CaptureQueriesContext(connection) as queries:
        for task in counted:
            outcomes.update(worker.deliver_batch(task))
    xacts = transactions() - before_xact - 2  # less the two reads of the count
    n_counted = max(1, sum(len(task) for task in counted))
    cpu = time.process_time()
    for task in timed:
        outcomes.update(worker.deliver_batch(task))
    cpu = time.process_time() - cpu
    n_timed = max(1, sum(len(task) for task in timed))
    statements = len(queries.captured_queries) / n_counted
    kinds = Counter(" ".join(q["sql"].split()[:2]) for q in queries.captured_queries)
    print(f"worker in process: {n_counted + n_timed} posts of {len(clients)} brands in tasks "
          f"of {per_task}: {statements:.2f} statements per post, {xacts / n_counted:.2f} "
          f"transactions per post, {1000 * cpu / n_timed:.2f} ms CPU per post (this process); "
          f"outcomes {dict(outcomes)}; statements by kind: " + ", ".join(
              f"{kind} {n / n_counted:.2f}" for kind, n in kinds.most_common()))
    return {"statements": statements, "cpu_ms": 1000 * cpu / n_timed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--brands", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="Q_WORKERS (default 2)")
    parser.add_argument("--quick", action="store_true", help="500 deliveries across 20 brands")
    parser.add_argument("--broker", choices=("orm", "redis"),
                        default="redis" if os.environ.get("REDIS_URL") else "orm")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--lead", type=float, default=20.0,
                        help="seconds from the cluster being warm to the first due time")
    parser.add_argument("--window", type=float, default=60.0, help="due times spread (s)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="engine: wait this long after the last due time (s)")
    parser.add_argument("--baseline-timeout", type=float, default=180.0)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--burst", action="store_true",
                        help="also: all deliveries due at once (posts_per_s at saturation) "
                             "and the worker's cost per post in process")
    parser.add_argument("--burst-count", type=int, default=0,
                        help="--burst: deliveries due at once (default: --deliveries)")
    parser.add_argument("--sample", type=int, default=400,
                        help="--burst: deliveries for the in-process worker measurement")
    args = parser.parse_args(argv)
    if args.quick:
        args.deliveries, args.brands = 500, 20
    if args.deliveries < 1 or args.brands < 1 or args.workers < 1:
        parser.error("--deliveries, --brands and --workers must be at least 1")

    os.chdir(ROOT)
    began = time.perf_counter()
    env = configure(args)
    created = ensure_database(DATABASE)
    print(f"database {DATABASE} ({'created' if created else 'reused'}) at "
          f"{redacted(os.environ['DATABASE_URL'])}", flush=True)
    django_setup()
    from django.db import connection
    from django.utils import timezone
    from django_q.models import Schedule

    from campaigns.publishing.models import Delivery, State

    migrate_if_needed()
    clients = ensure_brands(PREFIX, args.brands)
    channels = {c.pk: ensure_channel(c, network="sandbox", name=CHANNEL, handle=f"@{c.slug}")
                for c in clients}
    schemas = [c.schema_name for c in clients]
    connection.set_schema_to_public()
    clean_outbox(schemas)
    purge_queue(args, env)
    with connection.cursor() as cursor:
        cursor.execute(TRACE_SQL)
    connection.close()
    print(f"engine: commit {engine_version()}")
    describe_settings(args, env)

    child_env = dict(os.environ)
    LOGS.mkdir(parents=True, exist_ok=True)
    cluster = Child("qcluster", ["qcluster"], child_env, LOGS / "qcluster.log").start()
    dispatcher = None
    results = {}
    try:
        warmed = wait_warm(LOGS / "warm", args.workers)
        print(f"cluster pid {cluster.pid} warm: workers {sorted(warmed)} answered", flush=True)
        dispatcher = Child("dispatcher", ["dispatcher"], child_env,
                           LOGS / "dispatcher.log").start()
        wait_for_log(dispatcher, "Dispatcher running.")
        print(f"dispatcher pid {dispatcher.pid} running", flush=True)

        # --- engine
        stamp = timezone.now().strftime("%H%M%S")
        t0 = timezone.now() + timedelta(seconds=args.lead)
        dues = due_times(t0, args.deliveries, args.window)
        tag = f"e{stamp}"
        ids = make_run(tag, clients, channels, dues)
        print(f"engine: {len(ids)} deliveries across {len(clients)} brands due "
              f"{t0:%H:%M:%S}..{dues[-1]:%H:%M:%S} ({args.lead:.0f}s from now)", flush=True)
        meter = CpuMeter(cluster, dispatcher, DATABASE)
        time.sleep(max(0.0, (t0 - timezone.now()).total_seconds()))
        cpu_before, wall, sessions = meter.snapshot(), time.monotonic(), db_sessions()
        wait_published(tag, len(ids), time.monotonic() + args.window + args.timeout, t0)
        cpu = meter.snapshot() - cpu_before
        time.sleep(1.0)  # backends report their session counts within a second
        sessions = db_sessions() - sessions
        wall = time.monotonic() - wall
        if not dispatcher.alive() or not cluster.alive():
            print(f"WARNING: dispatcher alive={dispatcher.alive()} cluster "
                  f"alive={cluster.alive()} at the end of the engine run")
        if args.burst:
            results["burst"] = burst(cluster, dispatcher, clients, channels, schemas,
                                     args.burst_count or args.deliveries, args.lead,
                                     args.window + args.timeout)
        dispatcher.stop()
        print(f"dispatcher stopped (exit {dispatcher.proc.returncode})", flush=True)
        results["engine"] = analyse("engine", tag, ids, schemas, window=args.window,
                                    staged=True)
        print(f"engine: {sessions} new PostgreSQL connections to {DATABASE} during the run "
              f"({sessions / len(ids):.1f} per delivery)")
        machine = cpu.pop(MACHINE)
        print(f"engine: CPU seconds over {wall:.0f}s of wall time ({os.cpu_count()} cores = "
              f"{os.cpu_count() * wall:.0f} CPU-s; machine busy {machine:.0f}, of which not "
              f"ours ~{max(0.0, machine - sum(cpu.values())):.0f} at most): " + ", ".join(
                  f"{name} {seconds:.1f}" for name, seconds in cpu.most_common()))

        # --- baseline, on a fresh cluster: the engine's unfinished work must not compete
        if not args.no_baseline:
            code = cluster.stop()
            left = Delivery.objects.filter(idempotency_key__startswith=tag + "-").exclude(
                state=State.PUBLISHED).update(state=State.CANCELLED, claim=None)
            purge_queue(args, env)
            connection.close()
            print(f"cluster stopped (exit {code}); {left} unfinished engine deliveries cancelled "
                  "and the queue emptied; a fresh cluster for the baseline", flush=True)
            cluster = Child("qcluster", ["qcluster"], child_env, LOGS / "qcluster.log").start()
            wait_warm(LOGS / "warm", args.workers)
            t0 = timezone.now() + timedelta(seconds=args.lead)
            dues = due_times(t0, args.deliveries, args.window)
            tag = f"b{stamp}"
            ids = make_run(tag, clients, channels, dues)
            Schedule.objects.bulk_create([
                Schedule(name=f"bench-baseline-{pk}", func="bench.publishing_common."
                         "baseline_publish", args=repr(pk), schedule_type=Schedule.ONCE,
                         repeats=-1, next_run=due) for pk, due in zip(ids, dues, strict=True)],
                batch_size=1000)
            print(f"baseline: {len(ids)} deliveries with one django-q2 schedule each, due "
                  f"{t0:%H:%M:%S}..{dues[-1]:%H:%M:%S}", flush=True)
            connection.close()
            wait_published(tag, len(ids), time.monotonic() + args.lead + args.window
                           + args.baseline_timeout, t0)
            results["baseline"] = analyse("baseline", tag, ids, schemas,
                                          window=args.window, staged=False)
    finally:
        if dispatcher is not None:
            dispatcher.stop()
        code = cluster.stop()
        print(f"cluster stopped (exit {code})")
        with connection.cursor() as cursor:
            cursor.execute(UNTRACE_SQL)

    if args.burst:
        results["worker"] = worker_cost(clients, channels, args.sample)
    engine = results["engine"]
    p99 = percentile(engine["lags"], 99) if engine["lags"] else float("nan")
    base = results.get("baseline")
    base_p99 = percentile(base["lags"], 99) if base and base["lags"] else float("nan")
    broker = "redis" if args.broker == "redis" else "orm"
    print(f"settings: broker={broker} workers={args.workers} deliveries={args.deliveries} "
          f"brands={args.brands} env={' '.join(args.env) or '-'}")
    for name, result in (("engine", engine), ("baseline", base)):
        if result:
            bound = "  (unpublished counted at the end of the wait: lower bounds)" \
                if result["bounded"] else ""
            print(f"{name:8s} lag {spread(result['lags'])} lost={result['lost']} "
                  f"duplicates={result['duplicates']}{bound}")
    print(f"total {time.perf_counter() - began:.0f}s")
    rate = results["burst"]["posts_per_s"] if "burst" in results else float("nan")
    cost = results.get("worker", {"statements": float("nan"), "cpu_ms": float("nan")})
    print(f"dispatch_lag p99_s={p99:.3f} baseline_p99_s={base_p99:.3f} "
          f"ratio={base_p99 / p99 if p99 > 0 else float('nan'):.1f} lost={engine['lost']} "
          f"duplicates={engine['duplicates']} posts_per_s={rate:.1f} "
          f"statements_per_post={cost['statements']:.2f} "
          f"worker_cpu_ms_per_post={cost['cpu_ms']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
