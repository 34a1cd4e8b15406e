"""The agency portal's results across brands: agency admins see each brand's posts,
interactions, engagement rate, followers change and top post over a period, read for all
brands in one statement; nobody else sees it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.results.collection import collect_round
from campaigns.results.models import FollowerCount
from campaigns.results.overview import overview
from tenants.models import Client, Role
from tests.results.conftest import in_brand, publish

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


@pytest.fixture
def counted(world, networks):
    """Acme: two posts on Mastodon, counted; its followers went from 950 to 1000 this week."""
    n = networks
    # Published 20 minutes ago and collected now (not "now + 16 minutes": after 23:44 UTC that
    # counted today's followers as tomorrow's, outside the page's period).
    deliveries = publish(n.schema, [n.on_mastodon], posts=2, title="Harvest",
                         when=timezone.now() - dt.timedelta(minutes=20))
    for delivery in deliveries:
        n.mastodon.set_counts(delivery.remote_id, favourites=10 * delivery.post_number,
                              reblogs=2, replies=1)
    n.mastodon.followers_count = 1000
    with in_brand(n.schema):
        collect_round(Client.objects.get(schema_name=n.schema), now=timezone.now())
        FollowerCount.objects.create(channel_id=n.on_mastodon.pk, followers=950,
                                     day=timezone.now().date() - dt.timedelta(days=3))
    connection.set_schema_to_public()
    return n, deliveries


def _row(html: str, slug: str) -> dict:
    row = re.search(rf'<tr data-client="{slug}">(.*?)</tr>', html, re.S).group(1)
    return {name: re.sub(r"<[^>]+>", "", value).strip()
            for name, value in re.findall(r'<td data-figure="(\w+)">(.*?)</td>', row, re.S)}


def test_agency_admins_see_every_brands_results(world, http, counted):
    n, deliveries = counted
    admin = http(user=world.agency_admin)
    page = admin.get("/results/?days=7")
    assert page.status_code == 200
    html = page.content.decode()
    acme = _row(html, world.acme.client.slug)
    # (10+2+1) + (20+2+1) = 36 interactions over 2 posts x 1000 followers
    assert (acme["posts"], acme["interactions"], acme["rate"], acme["followers"]) == (
        "2", "36", "1.8%", "+50")
    assert "Harvest: post 2 #Spring" in acme["top"] and "23 interactions" in acme["top"]
    globex = _row(html, world.globex.client.slug)
    assert (globex["posts"], globex["interactions"], globex["rate"], globex["top"]) == (
        "0", "0", "–", "–")
    assert "Results across brands" in admin.get("/").content.decode()


def test_the_overview_reads_every_brand_in_one_statement(world, counted):
    clients = list(Client.objects.active())
    with CaptureQueriesContext(connection) as queries:
        rows = overview(clients, days=7)
    assert len(queries.captured_queries) == 1
    assert {r.client.slug: r.posts for r in rows}[world.acme.client.slug] == 2
    assert connection.schema_name == "public"


def test_only_agency_admins_see_the_overview(world, http, counted):
    for role in (Role.ACCOUNT_MANAGER, Role.EDITOR):
        member = http(user=world.acme.users[role], raise_request_exception=False)
        response = member.get("/results/")
        assert response.status_code == 403 and b"Harvest" not in response.content
    # not on a brand's host either
    on_brand = http(world.acme.host, world.agency_admin, raise_request_exception=False)
    assert b"Results across brands" not in on_brand.get("/results/").content
    anonymous = http(raise_request_exception=False).get("/results/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
