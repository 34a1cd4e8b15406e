"""Benchmark: the content calendar (month view) and the campaign editor at 10 and 200 posts.

    python bench/studio.py [--rounds R]

Works in a throwaway database (``bench_studio_<pid>``) on the configured server, dropped at the
end. Requests go through Django's whole stack (host routing, sessions, Wagtail) in this process
via the test client, as an editor of one brand. The 10- and 200-post requests are interleaved so
machine noise hits both alike. The last line is machine-readable:

    studio calendar_ms_200=<p50> edit_ms_200=<p50> growth=<max of p50_200/p50_10 over both views>
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.provisioning import django_setup, percentile, throwaway_database  # noqa: E402


def build(sizes: tuple[int, ...]) -> tuple[object, object, dict[int, object]]:
    """A brand with an editor, three channels, and one campaign per size (posts in October)."""
    from django.contrib.auth import get_user_model
    from django.core.files.images import ImageFile
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context
    from PIL import Image as PILImage
    from wagtail.blocks import StreamValue
    from wagtail.images.models import Image

    from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
    from tenants.models import Role
    from tenants.services import client_provision, membership_set

    call_command("migrate", verbosity=0)
    client = client_provision(name="Bench Studio", slug="benchstudio")
    editor = get_user_model().objects.create_user(username="editor@bench.test", password="x")
    membership_set(client=client, user=editor, role=Role.EDITOR)
    campaigns = {}
    with schema_context(client.schema_name):
        channels = [Channel.objects.create(name=f"Channel {n}", network="sandbox",
                                           handle=f"@c{n}") for n in range(3)]
        buffer = io.BytesIO()
        PILImage.new("RGB", (64, 48), (200, 80, 40)).save(buffer, format="PNG")
        image = Image.objects.create(title="Cup", file=ImageFile(buffer, name="cup.png"))
        index = CampaignIndexPage.objects.get()
        for size in sizes:
            page = index.add_child(instance=CampaignPage(title=f"Campaign of {size}", live=False))
            posts = []
            for n in range(size):
                post = Post(copy=f"Post {n} of the autumn launch ☕", link="https://acme.example/",
                            publish_at=dt.datetime(2026, 10, 1 + n % 28, 8 + n % 10,
                                                   tzinfo=dt.UTC),
                            channels=channels[: 1 + n % 2])
                post.media = StreamValue(post.media.stream_block, [
                    ("image", {"image": image, "alt_text": "A cup of coffee"})])
                posts.append(post)
            page.posts = posts
            page.save_revision(user=editor)
            campaigns[size] = page
    connection.set_schema_to_public()
    return client, editor, campaigns


def timed(http, path: str, must_contain: str) -> float:
    start = time.perf_counter()
    response = http.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    body = response.content.decode()
    if response.status_code != 200 or must_contain not in body:
        raise SystemExit(f"{path} answered {response.status_code} without {must_contain!r}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agency.settings.dev")
    os.environ["LOG_LEVEL"] = "WARNING"
    sizes = (10, 200)
    media = tempfile.TemporaryDirectory(prefix="bench-studio-media-")
    os.environ["MEDIA_ROOT"] = media.name  # uploads go away with the database
    with media, throwaway_database("bench_studio") as name:
        print(f"database {name}")
        django_setup()
        from django.db import connection
        from django.test import Client as HttpClient

        client, editor, campaigns = build(sizes)
        http = HttpClient(HTTP_HOST=client.host)
        http.force_login(editor)
        views = {
            "calendar": lambda size: f"/admin/calendar/?month=2026-10&campaign="
                                     f"{campaigns[size].pk}",
            "edit": lambda size: f"/admin/pages/{campaigns[size].pk}/edit/",
        }
        timings = {(view, size): [] for view in views for size in sizes}
        for round_number in range(args.rounds + 2):  # two warm-up rounds
            for view, path in views.items():
                for size in sizes:
                    ms = timed(http, path(size), f"Campaign of {size}")
                    if round_number >= 2:
                        timings[(view, size)].append(ms)
            connection.set_schema_to_public()
    p50 = {key: statistics.median(values) for key, values in timings.items()}
    for (view, size), values in timings.items():
        print(f"{view:8s} {size:3d} posts: p50={p50[(view, size)]:.1f} ms "
              f"p95={percentile(values, 95):.1f} ms (n={len(values)})")
    growth = {view: p50[(view, 200)] / p50[(view, 10)] for view in views}
    for view, ratio in growth.items():
        print(f"{view:8s} growth p50_200/p50_10 = {ratio:.2f}")
    print(f"studio calendar_ms_200={p50[('calendar', 200)]:.1f} "
          f"edit_ms_200={p50[('edit', 200)]:.1f} growth={max(growth.values()):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
