"""Benchmark: collecting what published posts achieved, and reading the results dashboards.

    python bench/results.py [--deliveries N] [--brands M] [--mastodon-share F]
                            [--small S] [--big B] [--requests R]

    python bench/results.py --deliveries 20000 --brands 200 --big 20000   # the issue's size

Works in its own database (``agency_bench_results`` on the configured server: ``DATABASE_URL``'s
server if set, else the embedded PostgreSQL), migrated when needed and kept between runs so its
brands (``res001``..) are provisioned once (~0.6 s each); earlier runs' deliveries and results
are removed at the start.

1. Collection. Each of M brands gets a Mastodon and a Bluesky channel on one local fake server
   each (``agency.demo.fakes``, answering as the networks' APIs do). N published deliveries are
   spread over the brands (``--mastodon-share`` of them on Mastodon, the rest on Bluesky), each
   a post that exists on its fake network, published between 20 minutes and 20 days ago, so
   every one is due. Then one full round of the real periodic job
   (``campaigns.results.tasks.collect_results``: every brand, its new deliveries taken in, the
   due ones read through the real adapters and client libraries) is timed, and the requests
   that reached the fake networks are counted per network. Bluesky reads 25 posts per
   ``getPosts`` call; Mastodon has no batch read (one ``GET /api/v1/statuses/:id`` each).
2. Dashboards. Two brands hold S and B published posts with their counts (``--small``,
   default 1,000; ``--big``, default 20,000), 20 posts per campaign over the last year at
   varied hours. Both brands are built first (then ``VACUUM ANALYZE``); the campaign dashboard
   (one campaign of 20 posts) and the brand's Results page (last 30 days, the heat map over
   all history) are then requested R times each at each size, in turn, through Django's test
   client as a signed-in account manager (middleware, tenancy, views, templates, SQL), after 3
   untimed warm-up rounds. Interleaved, a change in the machine's load falls on both sizes
   alike. The warm-up fills the pages' caches, so the timed requests are what staff get while
   the counts stand still (the brand page: its version query, the inbox panel and the admin
   around a kept body; the campaign page: its rows read, their digest, a kept body). The
   brand page drawn from the tables (a cold cache: after each collection round that read
   something, or on a period or channel not asked for in 5 minutes) is timed apart, printed,
   and not in the last line.

The last line is machine-readable:

    results deliveries=<n> calls_per_delivery=<x> collect_s=<y> dashboard_p95_ms=<z> growth=<g>

``calls_per_delivery``: requests to the networks that batch (Bluesky: getPosts, logins,
profiles) per delivery on them; Mastodon's figure is printed on the line before.
``dashboard_p95_ms``: the slower p95 of the two dashboards at B posts; ``growth``: that p95 at
B over the same dashboard's p95 at S.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import zoneinfo
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    brand_http,
    django_setup,
    ensure_brands,
    ensure_channel,
    ensure_database,
    migrate_if_needed,
    percentile,
    timed_get,
)

DATABASE = "agency_bench_results"
TOKEN = "bench-mastodon-token"  # noqa: S105 - a fake server's token
PASSWORD = "bench-app-password"  # noqa: S105


def clean(brands: list) -> None:
    """Forget earlier runs: the outbox, and every bench brand's results; the channels of bench
    brands this run does not use are switched off (their fake servers are gone)."""
    from django.db import connection
    from django_tenants.utils import schema_context
    from psycopg import sql

    from campaigns.models import Channel
    from tenants.models import Client

    used = {brand.schema_name for brand in brands}
    schemas = list(Client.objects.filter(slug__startswith="res").values_list("schema_name",
                                                                              flat=True))
    for schema in schemas:
        if schema not in used:
            with schema_context(schema):
                Channel.objects.update(active=False)

    tables = [sql.Identifier("public", "publishing_deliveryevent"),
              sql.Identifier("public", "publishing_delivery")]
    for schema in schemas:
        tables += [sql.Identifier(schema, name) for name in (
            "results_postresult", "results_metricsnapshot", "results_followercount",
            "results_channelcollection")]
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(tables))
                       .as_string(cursor.connection))


def published_rows(client, channel, remote: list[tuple[str, str]], *, now, rng) -> list:
    """Published outbox rows of ``channel`` for posts (remote id, url) on its network."""
    import hashlib

    from campaigns.publishing.models import Delivery, State

    rows = []
    for number, (remote_id, url) in enumerate(remote, start=1):
        out = now - timedelta(minutes=rng.randint(20, 20 * 24 * 60))
        key = hashlib.sha256(f"{client.schema_name}-{channel.pk}-{remote_id}".encode()
                             ).hexdigest()[:40]
        rows.append(Delivery(
            client=client, schema_name=client.schema_name, page_id=1_000_000 + number // 20,
            revision_id=0, post_id=number, post_number=number % 20 + 1, channel_id=channel.pk,
            network=channel.network, channel_name=channel.name, campaign_title="Bench campaign",
            tags=[], content={"text": f"Bench post {number}", "images": []},
            content_hash=key, idempotency_key=key, publish_at=out, next_attempt_at=out,
            state=State.PUBLISHED, remote_id=remote_id, remote_url=url, published_at=out))
    return rows


def collection(args) -> tuple[float, dict]:
    from django.db import connection
    from django.utils import timezone

    from agency.demo.fakes import FakeBluesky, FakeMastodon
    from campaigns.publishing.adapters import mastodon as _loaded  # noqa: F401 - as in a worker
    from campaigns.publishing.adapters.bluesky import forget_sessions
    from campaigns.publishing.models import Delivery
    from campaigns.results import tasks

    brands = ensure_brands("res", args.brands)
    clean(brands)
    rng = random.Random(20)  # noqa: S311 - spread, not secrets
    now = timezone.now()
    per_network = {"mastodon": 0, "bluesky": 0}
    with FakeMastodon(token=TOKEN, username="bench") as mastodon, \
            FakeBluesky(handle="bench.test", password=PASSWORD) as bluesky:
        rows = []
        for index, client in enumerate(brands):
            share = args.deliveries // len(brands) + (index < args.deliveries % len(brands))
            on_mastodon = round(share * args.mastodon_share)
            toot = ensure_channel(client, network="mastodon", name="Bench Mastodon",
                                  handle="@bench@127.0.0.1", endpoint=mastodon.url,
                                  secret=TOKEN)
            sky = ensure_channel(client, network="bluesky", name="Bench Bluesky",
                                 handle="@bench.test", endpoint=bluesky.url, secret=PASSWORD)
            toots = [mastodon.add_status(f"{client.slug} toot {n}") for n in range(on_mastodon)]
            skeets = [bluesky.add_post(f"{client.slug} post {n}")
                      for n in range(share - on_mastodon)]
            for status in toots:
                mastodon.set_counts(status["id"], favourites=rng.randint(0, 50),
                                    reblogs=rng.randint(0, 9), replies=rng.randint(0, 5))
            for post in skeets:
                bluesky.set_counts(post["uri"], likes=rng.randint(0, 80),
                                   reposts=rng.randint(0, 9), replies=rng.randint(0, 5),
                                   quotes=rng.randint(0, 2))
            rows += published_rows(client, toot, [(s["id"], s["url"]) for s in toots],
                                   now=now, rng=rng)
            rows += published_rows(client, sky, [(p["uri"], "") for p in skeets], now=now,
                                   rng=rng)
            per_network["mastodon"] += on_mastodon
            per_network["bluesky"] += share - on_mastodon
        Delivery.objects.bulk_create(rows, batch_size=2000)
        connection.set_schema_to_public()
        print(f"{len(rows)} published deliveries in {len(brands)} brands: "
              f"{per_network['mastodon']} on Mastodon, {per_network['bluesky']} on Bluesky",
              flush=True)
        mastodon.requests.clear()
        bluesky.requests.clear()
        forget_sessions()
        start = time.perf_counter()
        done = tasks.collect_results()
        seconds = time.perf_counter() - start
        read = sum(report["read"] for report in done.values())
        failed = sum(len(report["failed"]) + len(report["deferred"]) for report in done.values())
        calls = {"mastodon": len(mastodon.requests), "bluesky": len(bluesky.requests)}
        detail = {name: dict(sorted(_kinds(fake.requests).items()))
                  for name, fake in (("mastodon", mastodon), ("bluesky", bluesky))}
    print(f"collection round: {read} of {len(rows)} posts read in {seconds:.1f}s "
          f"({len(done)} brands, {failed} channels failed or deferred)")
    for name in ("mastodon", "bluesky"):
        if per_network[name]:
            print(f"  {name}: {calls[name]} requests for {per_network[name]} posts = "
                  f"{calls[name] / per_network[name]:.3f} per post  {detail[name]}")
    return seconds, {"calls": calls, "posts": per_network, "read": read}


def _kinds(requests) -> dict:
    kinds: dict[str, int] = {}
    for method, path in requests:
        name = path.rsplit("/", 1)[-1] if "/xrpc/" in path else (
            "statuses/:id" if path.startswith("/api/v1/statuses/") else path)
        kinds[f"{method} {name}"] = kinds.get(f"{method} {name}", 0) + 1
    return kinds


def dashboard_brand(slug: str, posts: int, rng):
    """A brand with ``posts`` counted posts over the last year, and an account manager."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns.models import CampaignIndexPage, CampaignPage
    from campaigns.results.models import FollowerCount, PostResult
    from tenants.models import Client, Role
    from tenants.services import SYSTEM, client_provision, membership_set

    client = Client.objects.filter(slug=slug).first() or client_provision(
        name=f"Bench {slug}", slug=slug)
    user, _ = get_user_model().objects.get_or_create(username=f"{slug}@bench.test",
                                                     defaults={"email": f"{slug}@bench.test"})
    membership_set(client=client, user=user, role=Role.ACCOUNT_MANAGER, actor=SYSTEM)
    now = timezone.now()
    zone = zoneinfo.ZoneInfo(client.time_zone)
    with schema_context(client.schema_name):
        campaign = CampaignPage.objects.filter(title="Bench results campaign").first()
        if campaign is None:
            campaign = CampaignPage(title="Bench results campaign", goal="Bench")
            CampaignIndexPage.objects.get().add_child(instance=campaign)
        PostResult.objects.all().delete()
        FollowerCount.objects.all().delete()
        rows = []
        for number in range(posts):
            out = now - timedelta(minutes=rng.randint(20, 365 * 24 * 60) if number >= 20
                                  else 2 * 24 * 60)
            likes, reposts, replies = (rng.randint(0, 80), rng.randint(0, 9),
                                       rng.randint(0, 5))
            page_id = campaign.pk if number < 20 else 2_000_000 + number // 20
            rows.append(PostResult(
                delivery_id=10_000_000 + number, page_id=page_id, post_id=number,
                post_number=number % 20 + 1, channel_id=number % 3 + 1,
                network="bluesky", channel_name=f"Bench channel {number % 3 + 1}",
                campaign_title=f"Campaign {page_id}", text=f"Bench post {number}",
                remote_id=f"at://did:plc:bench/app.bsky.feed.post/{number}",
                published_at=out,
                posted_weekday=out.astimezone(zone).isoweekday(),
                posted_hour=out.astimezone(zone).hour,
                collected_at=now, collections=6, likes=likes, reposts=reposts,
                replies=replies, quotes=0, interactions=likes + reposts + replies,
                next_collect_at=out + timedelta(days=1) if number % 7 == 0 else None))
        PostResult.objects.bulk_create(rows, batch_size=2000)
        FollowerCount.objects.bulk_create([
            FollowerCount(channel_id=n, day=now.date(), followers=1000 * n) for n in (1, 2, 3)])
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE results_postresult")
    return client, user, campaign


def interleaved_p95_growth(sizes: dict[str, int], build, requests: int, what: str,
                           warmup: int = 3) -> tuple[float, float]:
    """Each page's p50 and p95 at a "small" and a "big" size, printed; returns the slowest
    page's p95 at the big size and its growth (p95 big / p95 small).

    ``build(label, size)`` -> (test client, {page name: path}). Every brand is built first (and
    its tables vacuumed and analysed), then the pages are requested round by round, one
    request of each page at each size a round, so a change in the machine's load (other
    processes, autovacuum after the big brand's rows went in) falls on both sizes alike:
    measured one size after the other, the growth mostly measured when each size ran."""
    from django.db import connection

    built = {label: build(label, size) for label, size in sizes.items()}
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    times = {label: {name: [] for name in pages} for label, (_, pages) in built.items()}
    for attempt in range(warmup + requests):
        for label, (http, pages) in built.items():
            for name, path in pages.items():
                took = timed_get(http, path)
                if attempt >= warmup:
                    times[label][name].append(took)
    p95 = {}
    for label, size in sizes.items():
        p95[label] = {name: percentile(values, 95) for name, values in times[label].items()}
        print(f"{what} at {size}: " + ", ".join(
            f"{name} p50 {percentile(values, 50):.1f} ms p95 {p95[label][name]:.1f} ms"
            for name, values in times[label].items()), flush=True)
    worst = max(p95["big"], key=p95["big"].get)
    return p95["big"][worst], p95["big"][worst] / p95["small"][worst]


def dashboards(args) -> tuple[float, float]:
    rng = random.Random(21)  # noqa: S311

    def build(label, size):
        client, user, campaign = dashboard_brand(f"resdash{label}", size, rng)
        return brand_http(client, user), {
            "campaign": f"/admin/results/campaign/{campaign.pk}/",
            "brand": "/admin/results/?days=30"}

    sizes = {"small": args.small, "big": args.big}
    found = interleaved_p95_growth(sizes, build, args.requests, "dashboards, posts in a brand")
    cold(sizes, 10)
    return found


def cold(sizes: dict[str, int], requests: int) -> None:
    """The brand page drawn from the tables: its kept body forgotten before each request (that
    key only: the cache may be a Redis other processes use)."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection

    from campaigns.results import selectors
    from tenants.models import Client

    for label, size in sizes.items():
        slug = f"resdash{label}"
        client = Client.objects.get(slug=slug)
        http = brand_http(client, get_user_model().objects.get(username=f"{slug}@bench.test"))
        took = []
        for _ in range(requests):
            connection.set_tenant(client)  # the cache's keys carry the brand's schema
            key = f"results:brand:{selectors.results_version()}:30:0:{client.time_zone}"
            found = cache.delete(key)
            connection.set_schema_to_public()
            if not found and took:  # the page before this one kept its body under that key
                raise SystemExit(f"no kept body under {key}: the cold figure would be warm")
            start = time.perf_counter()
            http.get("/admin/results/?days=30")
            took.append((time.perf_counter() - start) * 1000)
        print(f"brand page drawn from the tables (cold cache) at {size}: "
              f"p50 {percentile(took, 50):.1f} ms p95 {percentile(took, 95):.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--brands", type=int, default=10)
    parser.add_argument("--mastodon-share", type=float, default=0.2)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--big", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agency.settings.dev")
    os.environ["OUTBOUND_ALLOW_PRIVATE"] = "1"  # the fake networks listen on 127.0.0.1
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("LOG_FORMAT", "plain")
    ensure_database(DATABASE)
    django_setup()
    migrate_if_needed()
    import logging

    logging.getLogger("campaigns.results").setLevel(logging.ERROR)
    for noisy in ("httpx", "django_tasks", "wagtail"):  # a line per request or page otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    collect_s, found = collection(args)
    posts = found["posts"]["bluesky"] or 1
    calls_per_delivery = found["calls"]["bluesky"] / posts
    if found["posts"]["mastodon"]:
        per_toot = found["calls"]["mastodon"] / found["posts"]["mastodon"]
        print(f"mastodon calls_per_delivery={per_toot:.3f} (no batch read in Mastodon's API)")
    p95, growth = dashboards(args)
    print(f"results deliveries={args.deliveries} calls_per_delivery={calls_per_delivery:.3f} "
          f"collect_s={collect_s:.1f} dashboard_p95_ms={p95:.1f} growth={growth:.2f}")


if __name__ == "__main__":
    main()
