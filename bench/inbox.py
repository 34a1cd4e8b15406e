"""Benchmark: gathering the conversation and reading the inbox.

    python bench/inbox.py [--items N] [--brands M] [--small S] [--big B] [--requests R]

    python bench/inbox.py --items 50000 --brands 200 --big 50000   # the issue's size

Works in its own database (``agency_bench_inbox`` on the configured server: ``DATABASE_URL``'s
server if set, else the embedded PostgreSQL), migrated when needed and kept between runs so its
brands (``inb001``..) are provisioned once; earlier runs' items are removed at the start.

1. Ingest. Each of M brands gets one channel on a local fake network of its own
   (``agency.demo.fakes``; Mastodon for even brands, Bluesky for odd ones), one published post
   there, and N/M replies to it by other accounts (a few abusive, hidden or flagged on ingest; a
   few from people at risk, escalated). One run of the real periodic job
   (``campaigns.conversations.tasks.poll_conversations``: every brand, each channel's
   notifications through the real adapters and client libraries, stored page by page with the
   cursor, classified, acted on) is timed; runs repeat until nothing new comes (a poll takes at
   most 10 pages a channel).
2. The inbox list. Two brands hold S and B items (``--small``, default 500; ``--big``, default
   50,000), both built first (then ``VACUUM ANALYZE``). The inbox's first page, a filtered page
   and the page after the first (keyset) are requested R times each at each size, in turn
   (one request of each page at each size a round, after 3 untimed rounds), through Django's
   test client as a signed-in account manager: a change in the machine's load falls on both
   sizes alike.

Last line, machine-readable:

    inbox items=<n> ingest_per_s=<x> list_p95_ms=<y> growth=<p95 at B / p95 at S>
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
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
)
from bench.results import interleaved_p95_growth  # noqa: E402

DATABASE = "agency_bench_inbox"
TOKEN = "bench-mastodon-token"  # noqa: S105 - a fake server's token
PASSWORD = "bench-app-password"  # noqa: S105

TEXTS = ["Is the spring blend decaf?", "Love this roast, best coffee in town!",
         "Shipping took two weeks, not happy.", "Do you deliver to Norway?",
         "Nice photo :)", "The new cups leak, please fix it.", "When is the next sale?"]
ABUSE = "you are a pathetic idiot and a loser"
AT_RISK = "I don't want to live anymore"


def clean(brands: list) -> None:
    from django.db import connection
    from django_tenants.utils import schema_context

    from campaigns.conversations.models import Item, PollCursor
    from campaigns.models import Channel
    from campaigns.publishing.models import Delivery
    from tenants.models import Client

    used = {brand.schema_name for brand in brands}
    for client in Client.objects.filter(slug__startswith="inb"):
        with schema_context(client.schema_name):
            Item.objects.all().delete()
            PollCursor.objects.all().delete()
            if client.schema_name not in used:
                Channel.objects.update(active=False)
    Delivery.objects.filter(client__slug__startswith="inb").delete()
    connection.set_schema_to_public()


def ingest(args) -> tuple[int, float]:
    import hashlib

    from django.db import connection
    from django.utils import timezone

    from agency.demo.fakes import FakeBluesky, FakeMastodon
    from campaigns.conversations import tasks
    from campaigns.publishing.adapters.bluesky import forget_sessions
    from campaigns.publishing.models import Delivery, State

    brands = ensure_brands("inb", args.brands)
    clean(brands)
    rng = random.Random(19)  # noqa: S311 - spread, not secrets
    fakes, rows = [], []
    now = timezone.now()
    try:
        for index, client in enumerate(brands):
            share = args.items // len(brands) + (index < args.items % len(brands))
            if index % 2 == 0:
                fake = FakeMastodon(token=TOKEN, username="bench").start()
                channel = ensure_channel(client, network="mastodon", name="Bench Mastodon",
                                         handle="@bench@127.0.0.1", endpoint=fake.url,
                                         secret=TOKEN)
                post = fake.add_status(f"{client.slug} launch")
                remote_id = post["id"]
            else:
                fake = FakeBluesky(handle="bench.test", password=PASSWORD).start()
                channel = ensure_channel(client, network="bluesky", name="Bench Bluesky",
                                         handle="@bench.test", endpoint=fake.url,
                                         secret=PASSWORD)
                post = fake.add_post(f"{client.slug} launch")
                remote_id = post["uri"]
            fakes.append(fake)
            for number in range(share):
                roll = rng.random()
                text = ABUSE if roll < 0.02 else AT_RISK if roll < 0.025 else rng.choice(TEXTS)
                author = f"person{number % 500}.example.com"
                if index % 2 == 0:
                    fake.add_reply(text, in_reply_to_id=remote_id,
                                   author=f"person{number % 500}@social.example")
                else:
                    fake.add_reply(text, parent_uri=remote_id, author=author)
            key = hashlib.sha256(f"inbox-{client.schema_name}".encode()).hexdigest()[:40]
            rows.append(Delivery(
                client=client, schema_name=client.schema_name, page_id=1, revision_id=0,
                post_id=1, post_number=1, channel_id=channel.pk, network=channel.network,
                channel_name=channel.name, campaign_title="Bench launch", tags=[],
                content={"text": "launch", "images": []}, content_hash=key,
                idempotency_key=key, publish_at=now, next_attempt_at=now,
                state=State.PUBLISHED, remote_id=remote_id, published_at=now))
        Delivery.objects.bulk_create(rows)
        connection.set_schema_to_public()
        forget_sessions()
        taken, runs = 0, 0
        start = time.perf_counter()
        while True:
            done = tasks.poll_conversations()
            runs += 1
            new = sum(report["taken"] for report in done.values())
            taken += new
            if new == 0 or runs > 50:
                break
        seconds = time.perf_counter() - start
    finally:
        for fake in fakes:
            fake.stop()
    print(f"ingested {taken} of {args.items} items in {len(brands)} brands in {seconds:.1f}s "
          f"({runs} runs of the polling job, the last finding nothing new)", flush=True)
    return taken, seconds


def inbox_brand(slug: str, items: int, rng):
    """A brand with ``items`` items (a few pinned) on one channel, and an account manager."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns.conversations.models import Item
    from campaigns.models import Channel
    from tenants.models import Client, Role
    from tenants.services import SYSTEM, client_provision, membership_set

    client = Client.objects.filter(slug=slug).first() or client_provision(
        name=f"Bench {slug}", slug=slug)
    user, _ = get_user_model().objects.get_or_create(username=f"{slug}@bench.test",
                                                     defaults={"email": f"{slug}@bench.test"})
    membership_set(client=client, user=user, role=Role.ACCOUNT_MANAGER, actor=SYSTEM)
    now = timezone.now()
    with schema_context(client.schema_name):
        channel = Channel.objects.filter(name="Bench list").first() or Channel.objects.create(
            name="Bench list", network="bluesky", handle="@bench.test", active=False)
        Item.objects.all().delete()
        states = ["new", "new", "assigned", "waiting", "done", "done", "done"]
        Item.objects.bulk_create([
            Item(channel=channel, network="bluesky", remote_id=f"at://bench/{n}",
                 author_handle=f"@person{n % 997}.example.com",
                 text=rng.choice(TEXTS), created_at=now - timedelta(minutes=items - n),
                 state=rng.choice(states), pinned=n % 5000 == 17,
                 action=rng.choice(["reply", "none", "none", "reply", "hide"]))
            for n in range(items)], batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE conversations_item")
    connection.set_schema_to_public()
    return client, user


def pages_of(client, user):
    """A signed-in client and the pages timed: the first page, a filtered one, and the page
    after the first (keyset)."""
    import re

    http = brand_http(client, user)
    first = http.get("/admin/inbox/")
    link = re.search(rb'href="(\?[^"]*after=[^"]+)"', first.content)
    return http, {"first page": "/admin/inbox/",
                  "filtered": "/admin/inbox/?state=new&action=reply",
                  "next page": "/admin/inbox/" + (link.group(1).decode().replace("&amp;", "&")
                                                  if link else "")}


def lists(args) -> tuple[float, float]:
    rng = random.Random(23)  # noqa: S311

    def build(label, size):
        return pages_of(*inbox_brand(f"inblist{label}", size, rng))

    return interleaved_p95_growth({"small": args.small, "big": args.big}, build, args.requests,
                                  "inbox, items in a brand")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--brands", type=int, default=20)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--big", type=int, default=50000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agency.settings.dev")
    os.environ["OUTBOUND_ALLOW_PRIVATE"] = "1"  # the fake networks listen on 127.0.0.1
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("LOG_FORMAT", "plain")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    ensure_database(DATABASE)
    django_setup()
    migrate_if_needed()
    import logging

    for noisy in ("campaigns.conversations", "httpx", "django_tasks", "wagtail"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    taken, seconds = ingest(args)
    p95, growth = lists(args)
    print(f"inbox items={taken} ingest_per_s={taken / seconds:.0f} list_p95_ms={p95:.1f} "
          f"growth={growth:.2f}")


if __name__ == "__main__":
    main()
