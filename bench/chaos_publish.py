"""Benchmark: 1,000 deliveries through worker SIGKILLs, lost answers and a database restart,
to Mastodon or spread over every network the platform publishes to; every post must go out
once, and none may be lost.

    python bench/chaos_publish.py [--deliveries N] [--brands M] [--workers W] [--kills K]
                                  [--networks all|mastodon,linkedin,...] [--quick]
                                  [--broker orm|redis]

Runs on an embedded PostgreSQL of its own (``AGENCY_DATA_DIR=var/bench/chaos``, ``DATABASE_URL``
unset), so restarting it touches nobody else; it is migrated when needed, its brands
(``chaos001``..) provisioned once and reused, earlier runs' outbox and queue removed at the start,
and the server stopped at the end (``--keep-db`` leaves it running).

``--networks`` (default ``mastodon``, the original run; ``all``: every network with an adapter
and a bench entry in bench/chaos_networks.py, i.e. sandbox, webhook, Mastodon, Bluesky,
LinkedIn, Facebook, Instagram, Threads, and the others as they join) gives each brand one
channel per network, each pointing at its local fake (agency/demo/fakes) run by this process: a
fake per brand where a channel names its own server, one fake for all brands where the network
has one address (``NETWORK_BASE_URLS``, passed to the children; Meta's three networks share one
fake Meta). Every request to a fake waits 0.05-0.2 s (so a kill is likely to land while a
publish call is in flight), and 5% of posts are stored but answered only after the client's
timeout (``hang_probability``).

Instagram and Threads posts carry a JPEG that the network fetches itself, from the signed media
link the worker makes (campaigns/publishing/media_links.py): the bench runs the platform's web
server, ``gunicorn agency.wsgi``, on a free local port (``AGENCY_PORT`` for every child, so the
links say ``http://<slug>.agency.localhost:<port>/media-link/<token>/``), and the fake Meta
GETs each link at 127.0.0.1 with the brand's host, through the tenant middleware and the
media-link view as a real fetch would; an image it cannot fetch is refused as Meta does (code
9004, subcode 2207052), which the adapters read as permanent: a link that answers 500 while the
database restarts fails its delivery with that reason (failed, not lost). The report counts the
fetches by status. LinkedIn's posts carry a PNG uploaded by the worker.

The real ``manage.py qcluster`` and ``manage.py dispatcher`` run as children with short timings
(lease 5 s, send timeout 1 s, check after 2 s, backoff 0.5-5 s, media links valid 60 s).

TikTok's photo posts are made by the init call, and TikTok fetches their photos afterwards
(the fake, as TikTok, in the background whether or not its answer arrives). A lost init answer
is settled by those fetches: each send's links are recorded and marked when fetched
(``media_links.pull_urls``), every photo fetched means the post is there, a link expired
unfetched means it cannot be, and it is sent again.

N deliveries (unique texts) fall due over ``--window`` seconds, spread evenly over brands and
networks. Meanwhile, at least ``--kills`` times, a worker process of the cluster whose publish
call (the request that makes the post on its network: ``POST /api/v1/statuses``,
``createRecord``, ``POST /rest/posts``, the webhook's POST, ``POST /{page}/feed``,
``/{ig-user}/media_publish``, ``/{user}/threads_publish``) is in flight on a fake is SIGKILLed
(found from the fakes' open requests and the worker's sockets), spread over the run (tries go on
after the window until the count is reached); and once, the PostgreSQL server is restarted
(``pg_ctl restart -m fast``, as the server's user). The benchmark then waits until every
delivery is published or failed (or ``--timeout``), printing progress (with the number of tasks
waiting in django-q2's broker), and reports whether the cluster and the dispatcher survived the
restart. If either exits, or the cluster sits idle with tasks queued while no delivery finishes
for ``--stall`` seconds, it is restarted and the report says so ("RESCUE"); no progress while the
cluster is busy is reported as a "STALL" (tasks going stale in the queue), without a restart.

The last line is machine-readable:

    chaos delivered=<n> duplicates=<n> lost=<n> unconfirmed_left=<n> networks=<comma list>

``delivered``: deliveries in state published whose post is on the network (its fake, or the
sandbox feed); ``duplicates``: posts beyond the first per delivery on the network (by text,
which is unique per delivery; a webhook receiver keeps one post per key and the requests it
dropped as repeats are reported apart); ``lost``: deliveries neither published (and on the
network) nor failed with a reason at the end (unconfirmed ones included); ``unconfirmed_left``:
deliveries still unconfirmed at the end; ``networks``: the networks the run spread over.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import chaos_networks  # noqa: E402
from bench.common import (  # noqa: E402
    django_setup,
    ensure_brands,
    migrate_if_needed,
)
from bench.publishing_common import (  # noqa: E402
    Child,
    clean_outbox,
    engine_version,
    make_deliveries,
    redacted,
    wait_for_log,
    wait_warm,
)

DATA = ROOT / "var" / "bench" / "chaos"
PREFIX = "chaos"
TIMINGS = {"PUBLISHING_LEASE_SECONDS": "5", "PUBLISHING_SEND_TIMEOUT_SECONDS": "1",
           "PUBLISHING_CHECK_AFTER_SECONDS": "2", "PUBLISHING_BACKOFF_BASE_SECONDS": "0.5",
           "PUBLISHING_BACKOFF_MAX_SECONDS": "5",
           # media links: the fakes fetch them within seconds; a TikTok photo post whose init
           # answer was lost and whose links were never fetched is settled once they expire
           "PUBLISHING_MEDIA_LINK_SECONDS": "60"}


def ensure_channel(client, network: str, fields: dict):
    """The brand's bench channel for ``network`` (made or updated in place), active."""
    from django_tenants.utils import schema_context

    from campaigns.models import Channel

    name = f"Bench {network}"
    with schema_context(client.schema_name):
        channel = Channel.objects.filter(name=name).first() or Channel(name=name)
        channel.network, channel.active = network, True
        channel.handle = fields.get("handle", "")
        channel.endpoint = fields.get("endpoint", "")
        channel.account_id = fields.get("account_id", "")
        channel.set_secret(fields.get("secret", ""))
        channel.settings = fields.get("settings", {})
        channel.needs_reconnect_since = None
        channel.save()
        return channel


# A 1x1 PNG: the image posts of networks that need (or are benched with) one.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPj/HwAF"
                       "gwJ/lw9a4wAAAABJRU5ErkJggg==")
ALT = "A blue cup of coffee on a wooden table"
# A few bytes with an MP4 header: the video posts of networks that need one (YouTube).
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8


def jpeg() -> bytes:
    """A 1080x1080 JPEG (Instagram takes JPEG only; Meta's networks fetch it from a link)."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (1080, 1080), (111, 78, 55)).save(out, "JPEG", quality=80)
    return out.getvalue()


def with_images(benches: dict, rows: list[tuple], ids: list[int]) -> None:
    """Give the deliveries of networks benched with media one image each (``media``: "image", a
    PNG; "jpeg"), stored in the brand's media as an approved post's image is."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django_tenants.utils import schema_context

    from campaigns.publishing.models import Delivery

    kinds = {"image": ("chaos/bench-cup.png", PNG), "jpeg": ("chaos/bench-cup.jpg", None),
             "video": ("chaos/bench-clip.mp4", MP4)}
    files, changed = {}, []
    for (client, channel, _due, _key, _text), pk in zip(rows, ids, strict=True):
        media = benches[channel.network].media
        if media not in kinds:
            continue
        if (client.pk, media) not in files:
            name, data = kinds[media]
            with schema_context(client.schema_name):
                files[client.pk, media] = default_storage.save(name, ContentFile(data or jpeg()))
        changed.append((pk, (files[client.pk, media], media)))
    named = dict(changed)
    deliveries = list(Delivery.objects.filter(pk__in=named))
    for delivery in deliveries:
        name, media = named[delivery.pk]
        delivery.content = {**delivery.content, **(
            {"videos": [{"file": name, "description": ALT}]} if media == "video"
            else {"images": [{"file": name, "alt": ALT}]})}
    Delivery.objects.bulk_update(deliveries, ["content"], batch_size=500)


# --- The web server for media links --------------------------------------------------------------


class MediaServer(Child):
    """``gunicorn agency.wsgi`` (the platform as deployed, one worker with 4 threads) on
    127.0.0.1:``port``: the signed media links Instagram and Threads fetch
    (``/media-link/<token>/`` on ``<slug>.agency.localhost:<port>``; the children get
    ``AGENCY_PORT`` so the links they sign carry it). Not a cluster process: no kill aims at it;
    it lives through the database restart like any web server."""

    def __init__(self, port: int, env: dict, log: Path):
        super().__init__("media server", ["gunicorn", "agency.wsgi"], env, log)
        self.port = port

    def start(self) -> MediaServer:
        import subprocess

        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            out.write(f"\n=== {time.strftime('%H:%M:%S')} start gunicorn :{self.port}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "agency.wsgi", "--workers", "1", "--threads",
                 "4", "--bind", f"127.0.0.1:{self.port}", "--access-logfile", "-"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.starts += 1
        return self

    def wait_listening(self, timeout: float = 60.0) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise SystemExit(f"the media server exited ({self.proc.returncode}):\n"
                                 f"{self.tail(15)}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"the media server did not listen on {self.port} within {timeout:.0f}s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Chaos ----------------------------------------------------------------------------------------


def open_requests(cluster: Child, fakes: dict[int, tuple]) -> list[tuple]:
    """(process, (method, path), benches) for every cluster process with a request open on a
    fake; ``fakes``: port -> (fake, the benches of the networks it serves)."""
    import psutil

    found = []
    for proc in cluster.descendants():
        try:
            connections = proc.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        for conn in connections:
            fake, benches = fakes.get(conn.raddr.port, (None, ())) if conn.raddr \
                else (None, ())
            if fake is None or conn.status != psutil.CONN_ESTABLISHED:
                continue
            request = fake.request_of(conn.laddr.port)
            if request is not None:
                found.append((proc, request, benches))
    return found


def kill_one(cluster: Child, fakes: dict[int, tuple], patience: float) -> str | None:
    """SIGKILL a worker whose publish call is in flight on a fake (waiting up to ``patience`` s
    for one). Returns the path of the call it interrupted, or None."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        publishing = [(proc, request) for proc, request, benches in open_requests(cluster, fakes)
                      if any(bench.is_publish(request) for bench in benches)]
        if publishing:
            proc, request = publishing[0]
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            return request[1]
        time.sleep(0.01)
    return None


def restart_database(pgdata: Path) -> tuple[float, int | None, int | None]:
    """``pg_ctl restart -m fast`` on the embedded server, as its system user (pgserver, when this
    runs as root). Returns (seconds, old postmaster pid, new postmaster pid)."""
    from django.db import connections
    from pgserver import pg_ctl

    from agency.database import embedded_server

    server = embedded_server(pgdata)
    before = server.get_pid()
    connections.close_all()
    start = time.monotonic()
    pg_ctl(["-w", "-t", "60", "-l", str(pgdata / "log"), "restart", "-m", "fast"],
           pgdata=pgdata, user=server.system_user, timeout=90)
    seconds = time.monotonic() - start
    pid_file = pgdata / "postmaster.pid"
    after = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
    return seconds, before, after


# --- Figures --------------------------------------------------------------------------------------


def states(tag: str) -> Counter:
    from django.db.models import Count

    from campaigns.publishing.models import Delivery

    rows = (Delivery.objects.filter(idempotency_key__startswith=tag + "-")
            .values("state").annotate(n=Count("id")))
    return Counter({row["state"]: row["n"] for row in rows})


def safe_states(tag: str) -> Counter | None:
    """The states, or None while the database is away (the restart)."""
    from django.db import DatabaseError, InterfaceError, connection

    try:
        return states(tag)
    except (DatabaseError, InterfaceError):
        connection.close()
        return None
    finally:
        connection.close()


def queue_size(redis_url: str | None) -> int | None:
    """Tasks waiting in django-q2's broker (the ORM table, or the Redis list)."""
    from django.db import DatabaseError, InterfaceError, connection

    try:
        if redis_url:
            import redis

            return redis.from_url(redis_url).llen("django_q:agency:q")
        from django_q.models import OrmQ

        return OrmQ.objects.count()
    except (DatabaseError, InterfaceError):
        return None
    finally:
        connection.close()


def tree_cpu(child: Child) -> float:
    """CPU seconds of the child and its descendants, those already reaped included."""
    import psutil

    total = 0.0
    try:
        procs = [psutil.Process(child.pid), *child.descendants()]
    except psutil.NoSuchProcess:
        return total
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


def log_count(child: Child, text: str) -> int:
    """Occurrences of ``text`` in the child's log since this run started it."""
    try:
        with open(child.log, "rb") as log:
            log.seek(getattr(child, "log_start", 0))
            return log.read().decode(errors="replace").count(text)
    except OSError:
        return 0


def diagnose(cluster: Child) -> None:
    """What each process of the cluster is doing: state, CPU, kernel wait channel, and its Python
    stack if py-spy is on the PATH."""
    import shutil
    import subprocess

    import psutil

    spy = shutil.which("py-spy")
    for proc in [psutil.Process(cluster.pid), *cluster.descendants()]:
        try:
            wchan = Path(f"/proc/{proc.pid}/wchan").read_text()
            t = proc.cpu_times()
            print(f"     pid {proc.pid} ppid {proc.ppid()} {proc.status()} wchan={wchan} "
                  f"cpu={t.user + t.system:.1f}s", flush=True)
        except (psutil.Error, OSError):
            continue
        if spy:
            dump = subprocess.run([spy, "dump", "--pid", str(proc.pid)], capture_output=True,
                                  text=True, timeout=30, check=False).stdout
            for line in dump.splitlines()[2:14]:
                print(f"       {line}", flush=True)


# --- Main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--brands", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4, help="Q_WORKERS (default 4)")
    parser.add_argument("--kills", type=int, default=24, help="worker SIGKILLs, at least")
    parser.add_argument("--window", type=float, default=60.0, help="due times spread (s)")
    parser.add_argument("--restart-at", type=float, default=None,
                        help="seconds after the first due time (default: half the window)")
    parser.add_argument("--hang", type=float, default=0.05, help="hang_probability")
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="wait this long after the last due time (s)")
    parser.add_argument("--stall", type=float, default=45.0,
                        help="no progress this long with work left: restart the cluster")
    parser.add_argument("--networks", default="mastodon",
                        help="comma list of networks, or 'all' (every network the platform "
                             "publishes to that has a bench entry)")
    parser.add_argument("--broker", choices=("orm", "redis"), default="orm")
    parser.add_argument("--redis-db", type=int, default=15)
    parser.add_argument("--quick", action="store_true",
                        help="200 deliveries, 5 brands, 30 s window, 8 kills")
    parser.add_argument("--keep-db", action="store_true", help="leave the embedded server up")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    if args.quick:
        args.deliveries, args.brands, args.window, args.kills = 200, 5, 30.0, 8
    restart_at = args.window / 2 if args.restart_at is None else args.restart_at

    os.chdir(ROOT)
    began = time.perf_counter()
    os.environ.pop("DATABASE_URL", None)
    env = {"AGENCY_DATA_DIR": str(DATA), "DJANGO_SETTINGS_MODULE": "agency.settings.dev",
           "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "plain",
           # the fake Mastodon servers listen on 127.0.0.1, over plain http
           "OUTBOUND_ALLOW_PRIVATE": "1",
           "PYTHONUNBUFFERED": "1", "Q_WORKERS": str(args.workers), **TIMINGS}
    if args.broker == "redis":
        base = os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379"
        env["REDIS_URL"] = urlunsplit(urlsplit(base)._replace(path=f"/{args.redis_db}"))
    else:
        os.environ.pop("REDIS_URL", None)
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value
    os.environ.update(env)
    DATA.mkdir(parents=True, exist_ok=True)
    pgdata = DATA / "pgdata"
    print(f"embedded PostgreSQL in {pgdata} (DATABASE_URL unset for every process)", flush=True)
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from campaigns.publishing.models import Delivery, DeliveryEvent, State

    migrate_if_needed()
    clients = ensure_brands(PREFIX, args.brands)
    known = chaos_networks.available()
    wanted = known if args.networks.strip() == "all" else [
        n.strip() for n in args.networks.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown or not wanted:
        parser.error(f"--networks: {', '.join(unknown) or 'none given'} cannot be run; the "
                     f"bench runs {', '.join(known)} (or 'all')")
    benches = {name: chaos_networks.BENCHES[name] for name in wanted}
    fakes_by_port, base_urls = {}, {}
    for number, bench in enumerate(benches.values()):
        bench.start(clients, hang=args.hang, seed=1000 * (number + 1))
        for fake in bench.all_fakes():  # one fake may serve several networks (Meta's)
            fakes_by_port.setdefault(fake.port, (fake, []))[1].append(bench)
        base_urls.update(bench.base_urls())
    if base_urls:  # the children read where the networks with one address are
        os.environ["NETWORK_BASE_URLS"] = json.dumps(base_urls)
    channels = {(c.pk, name): ensure_channel(c, name, bench.channel(bench, c))
                for name, bench in benches.items() for c in clients}
    connection.set_schema_to_public()
    clean_outbox([c.schema_name for c in clients])
    if args.broker == "redis":
        import redis

        redis.from_url(env["REDIS_URL"]).delete("django_q:agency:q")
    connection.close()
    q = settings.Q_CLUSTER
    print(f"broker {'Redis ' + redacted(q['redis']) if 'redis' in q else 'ORM'}; workers "
          f"{q['workers']}; " + " ".join(f"{k.removeprefix('PUBLISHING_')}={v}"
                                         for k, v in TIMINGS.items()))
    print(f"engine: commit {engine_version()}")
    print(f"networks: {', '.join(benches)} ({sum(len(b.all_fakes()) for b in benches.values())} "
          f"fake servers; one account per brand on each): latency 0.05-0.2 s, hang_probability "
          f"{args.hang} (answer after 3 s, client timeout 1 s)", flush=True)
    if chaos_networks.missing():
        print(f"networks with an adapter but no bench entry (not run): "
              f"{', '.join(chaos_networks.missing())}", flush=True)

    logs = DATA / "logs"
    media_server = None
    if any(bench.serves_media for bench in benches.values()):
        port = free_port()
        os.environ["AGENCY_PORT"] = str(port)  # in the links the workers sign
        media_server = MediaServer(port, dict(os.environ), logs / "media-server.log")
        media_server.log_start = media_server.log.stat().st_size \
            if media_server.log.exists() else 0
        media_server.start().wait_listening()
        print(f"media links served by gunicorn agency.wsgi on 127.0.0.1:{port} (pid "
              f"{media_server.pid}): {', '.join(n for n, b in benches.items() if b.serves_media)} "
              f"fetch their images from /media-link/<token>/ on the brand's host", flush=True)
    child_env = dict(os.environ)
    cluster = Child("qcluster", ["qcluster"], child_env, logs / "qcluster.log")
    dispatcher = Child("dispatcher", ["dispatcher"], child_env, logs / "dispatcher.log")
    for child in (cluster, dispatcher):
        child.log_start = child.log.stat().st_size if child.log.exists() else 0
    cluster.start()
    rescues: list[tuple[str, str]] = []
    stalls: list[str] = []
    kills: Counter = Counter()
    restart = {}
    try:
        wait_warm(logs / "warm", args.workers)
        dispatcher.start()
        wait_for_log(dispatcher, "Dispatcher running.")
        print(f"cluster pid {cluster.pid} warm, dispatcher pid {dispatcher.pid}", flush=True)

        tag = f"c{timezone.now():%H%M%S}"
        t0 = timezone.now() + timedelta(seconds=5)
        rows = []
        names = list(benches)
        for i in range(args.deliveries):
            client = clients[i % len(clients)]
            network = names[(i // len(clients)) % len(names)]
            due = t0 + timedelta(seconds=args.window * i / args.deliveries)
            rows.append((client, channels[(client.pk, network)], due, f"{tag}-{i:05d}",
                         f"Chaos {tag} post {i}: fresh beans, delivered once."))
        ids = make_deliveries(rows)
        with_images(benches, rows, ids)
        connection.close()
        print(f"{args.deliveries} deliveries across {len(clients)} brands and {len(names)} "
              f"networks due "
              f"{t0:%H:%M:%S}..+{args.window:.0f}s; {args.kills}+ kills, DB restart at "
              f"+{restart_at:.0f}s", flush=True)

        # The chaos: kills spread over the window (plus 10 s), the restart once.
        kill_times = [args.window * 0.02 + (args.window + 10) * k / args.kills
                      for k in range(args.kills)]
        done_states = (State.PUBLISHED, State.FAILED)
        last_print, last_total, last_change = 0.0, -1, time.monotonic()
        deadline = time.monotonic() + 5 + args.window + args.timeout
        restart_done = False
        misses = 0
        last_stall_check, stall_cpu = time.monotonic(), tree_cpu(cluster)
        broker_url = env.get("REDIS_URL")
        while True:
            elapsed = (timezone.now() - t0).total_seconds()
            if not restart_done and elapsed >= restart_at:
                restart_done = True
                seconds, old, new = restart_database(pgdata)
                restart.update(at=elapsed, seconds=seconds, old=old, new=new,
                               done_at=timezone.now())
                print(f"  t{elapsed:+6.1f}s  DATABASE RESTARTED (pg_ctl restart -m fast, "
                      f"{seconds:.1f}s, postmaster {old} -> {new})", flush=True)
            due_kill = bool(kill_times) and elapsed >= kill_times[0]
            owed_kill = not kill_times and sum(kills.values()) < args.kills
            if due_kill or owed_kill:
                if due_kill:
                    kill_times.pop(0)
                interrupted = kill_one(cluster, fakes_by_port, patience=3.0)
                if interrupted:
                    kills[interrupted] += 1
                else:
                    misses += 1
                elapsed = (timezone.now() - t0).total_seconds()

            counts = safe_states(tag)
            now = time.monotonic()
            if counts is not None:
                total = sum(counts[s] for s in done_states)
                if total != last_total:
                    last_total, last_change = total, now
                if now - last_print >= 5 or total >= args.deliveries:
                    last_print = now
                    up = {c.name: "up" if c.alive() else "DOWN" for c in (cluster, dispatcher)}
                    print(f"  t{elapsed:+6.1f}s  " + " ".join(
                        f"{s}={counts[s]}" for s in State.values if counts[s]) +
                        f"  queue={queue_size(broker_url)} kills={sum(kills.values())} "
                        f"cluster={up['qcluster']} dispatcher={up['dispatcher']}", flush=True)
                if total >= args.deliveries:
                    break
            if now >= deadline:
                print("  timeout: not every delivery is published or failed")
                break
            for child in (cluster, dispatcher):
                if not child.alive():
                    rescues.append((child.name, f"{child.name} had exited "
                                    f"({child.proc.returncode}) at t{elapsed:+.0f}s; the bench "
                                    "restarted it"))
                    print(f"  !! {rescues[-1][1]}\n{child.tail(15)}", flush=True)
                    child.start()
            if now - last_change > args.stall and now - last_stall_check > args.stall:
                # No delivery finished for a while. A cluster that stopped consuming is idle; one
                # busy with tasks that turn out stale (their lease ran out in the queue and the
                # delivery was claimed again) is not, and restarting it would not help.
                cpu = tree_cpu(cluster)
                busy = cpu - stall_cpu
                waiting = queue_size(broker_url)
                diagnose(cluster)
                if busy < 1.0 and waiting:
                    rescues.append(("qcluster", f"no delivery finished for {args.stall:.0f}s at "
                                    f"t{elapsed:+.0f}s, {waiting} tasks queued and the cluster "
                                    f"idle ({busy:.1f} CPU-s): it stopped consuming; the bench "
                                    "restarted it"))
                    print(f"  !! {rescues[-1][1]}", flush=True)
                    cluster.stop()
                    cluster.start()
                else:
                    stalls.append(f"no delivery finished for {now - last_change:.0f}s at "
                                  f"t{elapsed:+.0f}s while the cluster was busy ({busy:.0f} CPU-s "
                                  f"in {now - last_stall_check:.0f}s) with {waiting} tasks queued")
                    print(f"  !! {stalls[-1]}", flush=True)
                last_stall_check, stall_cpu = now, tree_cpu(cluster)
            time.sleep(0.2)
    finally:
        dispatcher.stop()
        cluster.stop()
        fetched = Counter()  # media links fetched by the networks, by the answer's status
        serving = {id(f): f for b in benches.values() if b.serves_media for f in b.all_fakes()}
        for fake in serving.values():
            with fake.lock:
                fetched.update(f["status"] for f in fake.fetched)
        for bench in benches.values():
            bench.stop()
        if media_server is not None:
            media_server.stop()

    # --- Counting
    connection.close()
    deliveries = list(Delivery.objects.filter(idempotency_key__startswith=tag + "-"))
    on_fake, duplicates, repeats = {}, 0, 0
    per_network: dict[str, Counter] = {name: Counter() for name in benches}
    for d in deliveries:
        bench = benches[d.network]
        made = bench.count(d)
        on_fake[d.pk] = made
        duplicates += max(0, made - 1)
        per_network[d.network]["duplicates"] += max(0, made - 1)
        per_network[d.network][d.state] += 1
        if bench.repeats:
            repeats += bench.repeats(bench.fake_for(d.client_id), d)
    by_state = Counter(d.state for d in deliveries)
    delivered = sum(1 for d in deliveries if d.state == State.PUBLISHED and on_fake[d.pk])
    phantom = sum(1 for d in deliveries if d.state == State.PUBLISHED and not on_fake[d.pk])
    failed_reason = sum(1 for d in deliveries if d.state == State.FAILED and d.error.strip())
    failed_but_out = sum(1 for d in deliveries if d.state == State.FAILED and on_fake[d.pk])
    lost = len(deliveries) - delivered - failed_reason
    unconfirmed_left = by_state[State.UNCONFIRMED]
    events = Counter(DeliveryEvent.objects.filter(delivery__in=deliveries)
                     .values_list("kind", flat=True))
    found_after = DeliveryEvent.objects.filter(
        delivery__in=deliveries, kind="published",
        detail__startswith="Found on the network").count()
    posts_received = sum(bench.publish_requests() for bench in benches.values())
    attempts = Counter(d.attempts for d in deliveries)

    print(f"states at the end: {dict(by_state)}")
    found_by = Counter(DeliveryEvent.objects.filter(
        delivery__in=deliveries, kind="published", detail__startswith="Found on the network")
        .values_list("delivery__network", flat=True))
    for name, counts in per_network.items():
        seen = benches[name].requests_seen()
        counts["hangs"] = benches[name].hangs()
        counts["found_after_check"] = found_by[name]
        print(f"  {name}: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
              + (f"; requests: {', '.join(f'{k} {v}' for k, v in seen.most_common(6))}"
                 if seen else ""))
    print(f"on the networks: {sum(1 for n in on_fake.values() if n)} deliveries' posts, "
          f"{duplicates} duplicates; {posts_received} publish calls received (repeats "
          f"included); webhook repeats dropped by the receiver's key check: {repeats}")
    print(f"published but not on the fake: {phantom}; failed with a reason: {failed_reason} "
          f"(of which on the fake anyway: {failed_but_out})")
    print(f"events: {dict(events.most_common())}; published after a check found the post: "
          f"{found_after}")
    print(f"claims per delivery: {dict(sorted(attempts.items()))}")
    if media_server is not None:
        print(f"media links fetched by the networks: {sum(fetched.values())} (by status: "
              f"{dict(sorted(fetched.items()))}); media server log: "
              f"{log_count(media_server, 'Traceback')} tracebacks ({media_server.log})")
    print(f"kills: {sum(kills.values())} workers SIGKILLed with a publish call in flight "
          f"({', '.join(f'{path} {n}' for path, n in kills.most_common())}); tries that found "
          f"none within 3 s: {misses}")
    reincarnated = log_count(cluster, "reincarnated worker")
    print(f"qcluster log: {reincarnated} 'reincarnated worker', "
          f"{log_count(cluster, 'reincarnated pusher')} 'reincarnated pusher', "
          f"{log_count(cluster, 'reincarnated monitor')} 'reincarnated monitor', "
          f"{log_count(cluster, 'Failed to pull task from broker')} 'Failed to pull task', "
          f"{log_count(cluster, 'Traceback')} tracebacks ({cluster.log})")
    print(f"dispatcher log: {log_count(dispatcher, 'database unavailable')} 'database "
          f"unavailable' retries, {log_count(dispatcher, 'Traceback')} tracebacks "
          f"({dispatcher.log})")
    if restart:
        times = sorted(d.published_at for d in deliveries if d.published_at)
        after = [t for t in times if t > restart["done_at"]]
        first = (after[0] - restart["done_at"]).total_seconds() if after else None
        gaps = [((b - a).total_seconds(), a) for a, b in zip(times, times[1:], strict=False)]
        gap, gap_at = max(gaps, default=(0.0, t0))
        gap_from = (gap_at - t0).total_seconds()
        print(f"database restart at t+{restart['at']:.0f}s took {restart['seconds']:.1f}s "
              f"(postmaster {restart['old']} -> {restart['new']}); first post recorded published "
              f"after it: {'+%.1fs' % first if first is not None else 'NEVER'}; longest gap "
              f"between two published posts: {gap:.1f}s from t{gap_from:+.0f}s")
    for stall in stalls:
        print(f"STALL: {stall}")
    rescued = {name for name, _ in rescues}
    print(f"survived the restart and the kills without help: qcluster "
          f"{'NO' if 'qcluster' in rescued else 'yes'}, dispatcher "
          f"{'NO' if 'dispatcher' in rescued else 'yes'}")
    for _, rescue in rescues:
        print(f"RESCUE: {rescue}")
    if not args.keep_db:
        from pgserver import pg_ctl

        from agency.database import embedded_server

        connection.close()
        server = embedded_server(pgdata)
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=server.system_user)
        print("embedded PostgreSQL stopped")
    print(f"total {time.perf_counter() - began:.0f}s")
    print(f"chaos delivered={delivered} duplicates={duplicates} lost={lost} "
          f"unconfirmed_left={unconfirmed_left} networks={','.join(benches)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
