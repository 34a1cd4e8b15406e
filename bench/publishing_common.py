"""What the publishing benchmarks (``dispatch_lag.py``, ``chaos_publish.py``) share beyond
``bench.common`` (their database, kept between runs, and their brands with one channel each):
outbox rows made in bulk, the real processes (``manage.py qcluster``, ``manage.py dispatcher``)
run as children, and the baseline task (one django-q2 schedule per post) that ``dispatch_lag``
compares the engine with. Nothing here changes the engine: the
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

from bench.common import percentile  # noqa: E402

# --- What the run measures ------------------------------------------------------------------------


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


def spread(values: list[float]) -> str:
    """p50/p99/max of ``values`` (seconds)."""
    if not values:
        return "n=0"
    return (f"p50={percentile(values, 50):.3f}s p99={percentile(values, 99):.3f}s "
            f"max={max(values):.3f}s (n={len(values)})")
