"""Benchmark: the content calendar (month view) and the campaign editor at 10 and 200 posts,
timed over HTTP against a real server process.

    python bench/studio.py [--rounds R] [--warmup W] [--server gunicorn|runserver]

Works in a throwaway database (``bench_studio_<pid>``) on the configured server (``DATABASE_URL``
if set, else the embedded PostgreSQL), migrated from scratch and dropped at the end, so the
developer's data is never touched. It provisions one brand (``benchstudio``) with an editor, three
channels and two draft campaigns whose latest revision holds 10 and 200 posts (all in October 2026,
each with one or two channels, a link and an image with alt text), then starts
``gunicorn agency.wsgi -w 2`` (or ``manage.py runserver --noreload``) on a free port of
127.0.0.1 with ``agency.settings.dev``, signs in through Wagtail's login form and times, with a
urllib client and a cookie jar:

    calendar  GET /admin/calendar/?month=2026-10&campaign=<id>
    edit      GET /admin/pages/<id>/edit/

The 10- and 200-post requests are interleaved (and alternate which goes first) so machine noise
hits both alike. Every timed response must be a 200 holding the campaign's title (and, for the
calendar, one entry per post), so errors are never timed. Afterwards the same four requests run
once in this process under Django's query capture, to show whether the number of queries grows
with the number of posts. The last line is machine-readable:

    studio calendar_ms_200=<p50> edit_ms_200=<p50> growth=<max of p50_200/p50_10 over both views>
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar
from pathlib import Path

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

SLUG = "benchstudio"
SIZES = (10, 200)
MONTH = "2026-10"
USERNAME = "editor@benchstudio.test"
PASSWORD = "bench-studio-pass-2026"  # noqa: S105 - a throwaway account in a throwaway database


# --- Data -----------------------------------------------------------------------------------------


def _png(n: int) -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (1200, 800), (40 * n, 120, 200 - 40 * n)).save(buffer, format="PNG")
    return buffer.getvalue()


def build() -> tuple[object, dict[int, tuple[int, str]]]:
    """Migrate, then a brand with an editor, three channels and one campaign per size.

    Returns the client and {size: (page id, title)}."""
    from django.core.files.images import ImageFile
    from django.db import connection
    from django_tenants.utils import schema_context
    from wagtail.blocks import StreamValue
    from wagtail.images.models import Image

    from campaigns.models import CampaignIndexPage, CampaignPage, Post
    from tenants.models import Role

    migrate()
    client, editor = brand_with_member(name="Bench Studio", slug=SLUG, username=USERNAME,
                                       role=Role.EDITOR, password=PASSWORD)
    channels = sandbox_channels(client)
    campaigns = {}
    with schema_context(client.schema_name):
        images = [Image.objects.create(title=f"Bench image {n}", file=ImageFile(
            io.BytesIO(_png(n)), name=f"bench{n}.png")) for n in range(4)]
        index = CampaignIndexPage.objects.get()
        for size in SIZES:
            title = f"Bench campaign of {size} posts"
            page = index.add_child(instance=CampaignPage(title=title, live=False))
            posts = [
                Post(copy=f"Post {n + 1} of {size}: the autumn blend is here.",
                     link=f"https://benchstudio.example/autumn/{n + 1}",
                     publish_at=dt.datetime(2026, 10, 1 + n % 28, 8 + n % 10, 15 * (n % 4),
                                            tzinfo=dt.UTC),
                     channels=[channels[n % 3], channels[(n + 1) % 3]][: 1 + n % 2])
                for n in range(size)]
            for n, post in enumerate(posts):
                post.media = StreamValue(post.media.stream_block, [
                    ("image", {"image": images[n % 4], "alt_text": f"Autumn blend, shot {n}"})])
            page.posts = posts
            page.save_revision(user=editor)
            campaigns[size] = (page.pk, title)
            print(f"campaign {page.pk} “{title}”: {size} posts in the latest revision")
    connection.set_schema_to_public()
    return client, campaigns


# --- The HTTP client ------------------------------------------------------------------------------


class Browser:
    """urllib with a cookie jar, speaking to ``host`` (a *.localhost name Python's resolver does not
    know) by connecting to 127.0.0.1:``port``. Redirects are returned, not followed."""

    def __init__(self, host: str, port: int):
        self.origin = f"http://{host}:{port}"
        self.jar = CookieJar()

        class Loopback(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(
                    lambda _host, **kw: http.client.HTTPConnection("127.0.0.1", port, **kw), req)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(
            Loopback, NoRedirect, urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: dict | None = None) -> tuple[int, bytes, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.origin + path, data=body)  # noqa: S310 (loopback)
        try:
            with self.opener.open(req, timeout=120) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            with error:
                return error.code, error.read(), dict(error.headers)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def sign_in(self, username: str, password: str) -> None:
        status, body, _ = self.request("/admin/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or token is None or not self.cookie("csrftoken"):
            raise SystemExit(f"GET /admin/login/ answered {status} without a CSRF token")
        status, body, headers = self.request("/admin/login/", {
            "csrfmiddlewaretoken": token.group(1).decode(), "username": username,
            "password": password, "next": "/admin/"})
        if status != 302 or not self.cookie("sessionid"):
            raise SystemExit(f"sign-in answered {status} (expected a 302 with a session): "
                             f"{body[:300]!r}")
        status, body, _ = self.request(headers.get("Location", "/admin/").replace(self.origin, ""))
        if status != 200 or (b"Sign out" not in body and b"Log out" not in body):
            raise SystemExit(f"after sign-in /admin/ answered {status}, not the dashboard")
        print(f"signed in as {username} on {self.origin} (session cookie set)")


# --- Timing ---------------------------------------------------------------------------------------


def check(view: str, size: int, status: int, body: bytes, page_id: int, title: str) -> None:
    """Refuse to time an error: a 200 with the campaign's title (and every post, for the calendar:
    its filter list names every campaign, so the title alone proves nothing there)."""
    problem = None
    if status != 200:
        problem = f"status {status}"
    elif title.encode() not in body:
        problem = "no campaign title"
    elif view == "calendar":
        entries = body.count(f'data-campaign="{page_id}"'.encode())
        if entries != size:
            problem = f"{entries} calendar entries, expected {size}"
    elif view == "edit":
        total = re.search(rb'name="posts-TOTAL_FORMS"[^>]*value="(\d+)"', body) or re.search(
            rb'value="(\d+)"[^>]*name="posts-TOTAL_FORMS"', body)
        if total is None or int(total.group(1)) != size:
            problem = f"posts-TOTAL_FORMS {total.group(1) if total else None}, expected {size}"
    if problem:
        raise SystemExit(f"{view} ({size} posts) answered {problem}; not timing errors.\n"
                         f"{body[:500]!r}")


def measure(browser: Browser, paths: dict, campaigns: dict, rounds: int, warmup: int
            ) -> tuple[dict, dict]:
    timings: dict[tuple[str, int], list[float]] = {key: [] for key in paths}
    sizes_bytes: dict[tuple[str, int], int] = {}
    for round_number in range(warmup + rounds):
        order = SIZES if round_number % 2 == 0 else tuple(reversed(SIZES))
        for view in ("calendar", "edit"):
            for size in order:
                start = time.perf_counter()
                status, body, _ = browser.request(paths[(view, size)])
                ms = (time.perf_counter() - start) * 1000
                check(view, size, status, body, *campaigns[size])
                sizes_bytes[(view, size)] = len(body)
                if round_number >= warmup:
                    timings[(view, size)].append(ms)
        if round_number < warmup:
            print(f"warm-up {round_number + 1}/{warmup}: all four answered 200 with their posts")
        else:
            print(f"{round_number - warmup + 1:2d}/{rounds}  " + "  ".join(
                f"{view} {size}: {timings[(view, size)][-1]:7.1f} ms" for view, size in paths))
    return timings, sizes_bytes


# --- Query counts (in this process, untimed) ------------------------------------------------------


def query_counts(host: str, paths: dict) -> dict[tuple[str, int], list[str]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    django_client = DjangoClient(HTTP_HOST=host)
    django_client.force_login(get_user_model().objects.get(username=USERNAME))
    captured = {}
    for key, path in paths.items():
        django_client.get(path)  # warm per-process caches (content types, site, templates)
        with CaptureQueriesContext(connection) as queries:
            response = django_client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code} in process")
        captured[key] = [q["sql"] for q in queries.captured_queries]
        connection.set_schema_to_public()
    return captured


def report_queries(captured: dict[tuple[str, int], list[str]]) -> None:
    small, large = SIZES
    for view in ("calendar", "edit"):
        few, many = captured[(view, small)], captured[(view, large)]
        print(f"queries  {view:8s} {small} posts: {len(few):4d}   {large} posts: {len(many):4d}")
        grown = Counter(map(shape, many)) - Counter(map(shape, few))
        for sql, extra in grown.most_common(4):
            print(f"         +{extra} x {sql[:150]}")


# --- Main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed requests per view and size")
    parser.add_argument("--warmup", type=int, default=4, help="untimed requests per view and size")
    parser.add_argument("--server", choices=("gunicorn", "runserver"), default="gunicorn")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 1 and --warmup at least 0")

    os.chdir(ROOT)
    os.environ["DJANGO_SETTINGS_MODULE"] = "agency.settings.dev"
    os.environ["LOG_LEVEL"] = "WARNING"
    began = time.perf_counter()
    with (tempfile.TemporaryDirectory(prefix="bench-studio-") as scratch,
          throwaway_database("bench_studio") as name):
        os.environ["MEDIA_ROOT"] = str(Path(scratch) / "media")  # uploads go with the database
        print(f"database {name} (agency.settings.dev)")
        django_setup()
        client, campaigns = build()
        paths = {}
        for view in ("calendar", "edit"):
            for size in SIZES:
                page_id = campaigns[size][0]
                paths[(view, size)] = (f"/admin/calendar/?month={MONTH}&campaign={page_id}"
                                       if view == "calendar" else f"/admin/pages/{page_id}/edit/")
        port = free_port()
        with web_server(args.server, port, Path(scratch) / "server.log"):
            browser = Browser(client.host, port)
            browser.sign_in(USERNAME, PASSWORD)
            timings, sizes_bytes = measure(browser, paths, campaigns, args.rounds, args.warmup)
        report_queries(query_counts(client.host, paths))

    p50 = {key: statistics.median(values) for key, values in timings.items()}
    for (view, size), values in timings.items():
        print(f"{view:8s} {size:3d} posts: p50={p50[(view, size)]:7.1f} ms "
              f"p95={percentile(values, 95):7.1f} ms min={min(values):7.1f} ms "
              f"(n={len(values)}, {sizes_bytes[(view, size)] / 1024:.0f} KiB)")
    small, large = SIZES
    growth = {view: p50[(view, large)] / p50[(view, small)] for view in ("calendar", "edit")}
    for view, ratio in growth.items():
        print(f"{view:8s} growth p50_{large}/p50_{small} = {ratio:.2f}")
    print(f"total {time.perf_counter() - began:.0f}s")
    print(f"studio calendar_ms_200={p50[('calendar', large)]:.1f} "
          f"edit_ms_200={p50[('edit', large)]:.1f} growth={max(growth.values()):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
