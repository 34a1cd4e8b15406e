"""Benchmark: one month of the content calendar in a brand with a year and more of campaigns.

    python bench/calendar_range.py [--campaigns N] [--posts P] [--rounds R]

Works in a throwaway database (``bench_calendar_<pid>``) on the configured server
(``DATABASE_URL`` if set, else the embedded PostgreSQL), migrated from scratch and dropped at
the end. It provisions one brand with three sandbox channels and N draft campaigns (default
180) of P posts each (default 20), campaign n's posts in month n % 18 from January 2026, so a
month holds about a eighteenth of them. Then, in this process, it times
``campaigns.selectors.calendar_entries`` for October 2026 (the calendar's month view reads
exactly this) over R rounds, and counts its queries and the revisions it reads (Wagtail's
revision rows fetched, from the statements' result sizes).

The last line is machine-readable:

    calendar_range campaigns=<N> month_ms_p50=<p50> revisions_read=<n> queries=<n>
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    brand_with_member,
    django_setup,
    migrate,
    sandbox_channels,
    throwaway_database,
)

SLUG = "benchcalendar"
MONTHS = 18


def build(campaigns: int, posts: int):
    from django.db import connection
    from django_tenants.utils import schema_context

    from campaigns.models import CampaignIndexPage, CampaignPage, Post
    from tenants.models import Role

    migrate()
    client, editor = brand_with_member(name="Bench Calendar", slug=SLUG,
                                       username="editor@benchcalendar.test", role=Role.EDITOR)
    channels = sandbox_channels(client)
    with schema_context(client.schema_name):
        index = CampaignIndexPage.objects.get()
        for n in range(campaigns):
            year, month = 2026 + (n % MONTHS) // 12, 1 + (n % MONTHS) % 12
            page = index.add_child(instance=CampaignPage(title=f"Bench campaign {n}",
                                                         live=False))
            page.posts = [Post(copy=f"Post {k + 1} of campaign {n}: the autumn blend is here.",
                               link=f"https://benchcalendar.example/{n}/{k}",
                               publish_at=dt.datetime(year, month, 1 + k % 28, 8 + k % 10,
                                                      tzinfo=dt.UTC),
                               channels=[channels[k % 3]]) for k in range(posts)]
            page.save_revision(user=editor)
    connection.set_schema_to_public()
    print(f"{campaigns} campaigns of {posts} posts over {MONTHS} months")
    return client


def measure(client, rounds: int) -> tuple[float, int, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from campaigns.selectors import calendar_entries

    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    end = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    timings = []
    with schema_context(client.schema_name):
        connection.set_tenant(client)
        entries = calendar_entries(start=start, end=end)  # warm-up
        for _ in range(rounds):
            began = time.perf_counter()
            calendar_entries(start=start, end=end)
            timings.append((time.perf_counter() - began) * 1000)
        connection.queries_log.clear()  # DEBUG's log is full from building: count afresh
        with CaptureQueriesContext(connection) as captured:
            calendar_entries(start=start, end=end)
        with connection.cursor() as cursor:
            # the revisions a month's calendar reads: those its content query returns
            content_query = next(q["sql"] for q in captured.captured_queries
                                 if '"wagtailcore_revision"."content"' in q["sql"])
            cursor.execute(f"SELECT count(*) FROM ({content_query}) AS read")  # noqa: S608 - Django's own logged statement
            read = cursor.fetchone()[0]
    return statistics.median(timings), read, len(captured.captured_queries), len(entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=180)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "agency.settings.dev"
    os.environ["LOG_LEVEL"] = "WARNING"
    with throwaway_database("bench_calendar"):
        django_setup()
        client = build(args.campaigns, args.posts)
        p50, read, queries, entries = measure(client, args.rounds)
        print(f"October 2026: {entries} posts shown; {read} of {args.campaigns} campaigns' "
              f"revisions read; {queries} queries; p50 {p50:.1f} ms over {args.rounds} rounds")
    print(f"calendar_range campaigns={args.campaigns} month_ms_p50={p50:.1f} "
          f"revisions_read={read} queries={queries}")


if __name__ == "__main__":
    main()
