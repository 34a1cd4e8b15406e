"""The results dashboards do not grow with the brand: the same queries whether the brand has
published a few dozen posts or a few hundred, and on the campaign page no read of the brand's
other results. Query counts and what the queries read, not timings."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.results.models import FollowerCount, PostResult
from tenants.models import Role
from tests.factories import CampaignFactory
from tests.results.conftest import in_brand

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def _results(page_id: int, first: int, count: int, now) -> list[PostResult]:
    """``count`` counted results of campaign ``page_id``, 20 posts to a campaign."""
    rows = []
    for n in range(first, first + count):
        out = now - dt.timedelta(hours=n + 2)
        rows.append(PostResult(
            delivery_id=900_000 + n, page_id=page_id, post_id=n, post_number=n % 20 + 1,
            channel_id=n % 2 + 1, network="bluesky", channel_name=f"Channel {n % 2 + 1}",
            campaign_title="Bench", text=f"Post {n}", remote_id=f"at://x/{n}", published_at=out,
            posted_weekday=out.isoweekday(), posted_hour=out.hour, collected_at=now,
            collections=1, likes=n % 7, reposts=1, replies=0, quotes=0,
            interactions=n % 7 + 1))
    return rows


@pytest.fixture
def brand_of(world):
    """Acme with one campaign of 20 counted posts and ``others`` counted posts of other
    campaigns: ``grow(others)`` -> the campaign's id."""
    schema = world.acme.client.schema_name
    now = timezone.now()
    with in_brand(schema):
        page = CampaignFactory(brand=world.acme, title="Harvest")
        PostResult.objects.bulk_create(_results(page.pk, 0, 20, now))
        FollowerCount.objects.bulk_create([FollowerCount(channel_id=c, day=now.date(),
                                                         followers=500 * c) for c in (1, 2)])

    def grow(others: int) -> int:
        with in_brand(schema):
            have = PostResult.objects.exclude(page_id=page.pk).count()
            PostResult.objects.bulk_create([
                *_results(5_000_000, 20 + have, others - have, now)])
        return page.pk

    return grow


def _queries(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_the_campaign_dashboard_reads_only_its_own_posts_at_any_brand_size(world, http,
                                                                           brand_of):
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    page_id = brand_of(10)
    path = f"/admin/results/campaign/{page_id}/"
    manager.get(path)
    cache.clear()
    small_cold = _queries(manager, path)
    small_warm = _queries(manager, path)
    page_id = brand_of(400)
    cache.clear()
    big_cold = _queries(manager, path)
    big_warm = _queries(manager, path)
    assert len(big_cold) == len(small_cold) and len(big_warm) == len(small_warm)
    for sql in big_cold + big_warm:
        if "results_postresult" in sql:  # each read of results is of this campaign's rows
            assert re.search(rf'"page_id" = {page_id}\b', sql), sql
    html = manager.get(path).content.decode()
    assert html.count("<tr data-delivery=") == 20 and "Harvest" in html


def test_the_campaign_dashboard_shows_new_counts_at_once(world, http, brand_of):
    """Its rendered body is kept, but under what it is drawn from: a new count is a new body."""
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    page_id = brand_of(10)
    path = f"/admin/results/campaign/{page_id}/"
    before = manager.get(path).content.decode()
    assert re.search(r'data-figure="interactions">(\d+)<', before).group(1) == "77"
    with in_brand(world.acme.client.schema_name):
        PostResult.objects.filter(page_id=page_id, post_number=1).update(likes=100,
                                                                       interactions=101)
    after = manager.get(path).content.decode()
    # post 1 had 0 likes and 1 repost: 77 - 1 + 101
    assert re.search(r'data-figure="interactions">(\d+)<', after).group(1) == "177"


def test_the_brand_results_page_makes_the_same_queries_at_any_brand_size(world, http,
                                                                         brand_of):
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    brand_of(10)
    manager.get("/admin/results/?days=30")  # once made: the brand's inbox settings
    cache.clear()
    small_cold = _queries(manager, "/admin/results/?days=30")
    small_warm = _queries(manager, "/admin/results/?days=30")
    brand_of(400)
    cache.clear()
    big_cold = _queries(manager, "/admin/results/?days=30")
    big_warm = _queries(manager, "/admin/results/?days=30")
    assert len(big_cold) == len(small_cold) and len(big_warm) == len(small_warm)
    # kept: the figures are not read again, only the results' version
    read = [sql for sql in big_warm if "results_postresult" in sql]
    assert len(read) == 1 and "max(id)" in read[0]
