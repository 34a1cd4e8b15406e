"""Benchmark: the agency portal's results across brands (``campaigns.results.overview``).

    python bench/results_overview.py [--brands 200] [--posts 100] [--requests 30]

Works in its own database (``agency_bench_overview`` on the configured server), kept between
runs so its brands (``ov001``..) are provisioned once (~0.6 s each). Each brand gets ``--posts``
counted posts over the last 60 days on two channels and 30 days of follower counts (written
straight into the tables the collection fills). Then the portal page is requested ``--requests``
times through Django's test client as an agency admin (middleware, view, template, SQL), and
its statements are counted. Last line:

    results_overview brands=<n> queries=<q> overview_p50_ms=<a> overview_p95_ms=<b>
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402 - the path above first
    django_setup,
    ensure_brands,
    ensure_database,
    migrate_if_needed,
    percentile,
)

DATABASE = "agency_bench_overview"


def fill(clients, posts: int) -> None:
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns.results.models import FollowerCount, PostResult

    now = timezone.now()
    rng = random.Random(7)
    filled = 0
    for client in clients:
        with schema_context(client.schema_name):
            if PostResult.objects.exists():
                continue
            PostResult.objects.bulk_create(PostResult(
                delivery_id=client.pk * 100000 + n, page_id=1 + n // 20, post_id=n,
                post_number=1 + n % 20, channel_id=1 + n % 2, network="bluesky",
                channel_name=f"Channel {1 + n % 2}", campaign_title=f"Campaign {1 + n // 20}",
                text=f"Post {n} of {client.name}", remote_id=f"at://bench/{n}",
                published_at=(when := now - timedelta(hours=rng.randint(1, 60 * 24))),
                posted_weekday=when.isoweekday(), posted_hour=when.hour, likes=rng.randint(0, 90),
                reposts=rng.randint(0, 20), replies=rng.randint(0, 10),
                interactions=rng.randint(0, 120), collected_at=now) for n in range(posts))
            FollowerCount.objects.bulk_create(
                FollowerCount(channel_id=channel, day=(now - timedelta(days=d)).date(),
                              followers=5000 + 10 * (30 - d) + channel)
                for channel in (1, 2) for d in range(30))
            filled += 1
    connection.set_schema_to_public()
    print(f"filled {filled} brands ({len(clients) - filled} kept)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brands", type=int, default=200)
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agency.settings.dev")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("LOG_FORMAT", "plain")
    ensure_database(DATABASE)
    django_setup()
    migrate_if_needed()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    clients = ensure_brands("ov", args.brands)
    fill(clients, args.posts)
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-overview@agency.test",
        defaults={"email": "bench-overview@agency.test", "is_superuser": True, "is_staff": True})
    browser = HttpClient(HTTP_HOST=settings.AGENCY_BASE_DOMAIN)
    browser.force_login(admin)
    first = browser.get("/results/?days=30")
    assert first.status_code == 200, first.status_code
    assert first.content.count(b'<tr data-client="ov') >= args.brands
    with CaptureQueriesContext(connection) as captured:
        browser.get("/results/?days=30")
    # (read now: the next request clears the connection's log)
    statements = list(captured.captured_queries)
    overview_queries = [q for q in statements if "UNION ALL" in q["sql"]]
    times = []
    for _ in range(args.requests):
        start = time.perf_counter()
        browser.get("/results/?days=30")
        times.append((time.perf_counter() - start) * 1000)
    print(f"page statements={len(statements)} (of which the overview: "
          f"{len(overview_queries)})")
    print(f"results_overview brands={args.brands} queries={len(overview_queries)} "
          f"overview_p50_ms={percentile(times, 50):.1f} "
          f"overview_p95_ms={percentile(times, 95):.1f}")


if __name__ == "__main__":
    main()
