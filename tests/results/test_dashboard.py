"""The results dashboards in the brand's admin and the results API: what staff and integrators
read, and that another brand reads none of it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from campaigns.results.collection import collect_round
from tenants.models import Client, Role
from tests.api.conftest import ApiClient, make_key
from tests.results.conftest import in_brand, publish

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


@pytest.fixture
def counted(networks):
    """A campaign of two posts on Mastodon and Bluesky, out and counted once."""
    n = networks
    deliveries = publish(n.schema, [n.on_mastodon, n.on_bluesky], posts=2, title="Harvest")
    for delivery in deliveries:
        if delivery.network == "mastodon":
            n.mastodon.set_counts(delivery.remote_id, favourites=10 * delivery.post_number,
                                  reblogs=2, replies=1)
        else:
            n.bluesky.set_counts(delivery.remote_id, likes=5, reposts=1, replies=0, quotes=1)
    n.mastodon.followers_count, n.bluesky.followers_count = 1000, 500
    with in_brand(n.schema):
        collect_round(Client.objects.get(schema_name=n.schema),
                      now=timezone.now() + dt.timedelta(minutes=16))
    return n, deliveries


def _cells(html: str, delivery_id: int) -> list[str]:
    row = re.search(rf'<tr data-delivery="{delivery_id}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_the_campaign_dashboard_shows_each_posts_figures_per_channel(world, http, counted):
    n, deliveries = counted
    page_id = deliveries[0].page_id
    editor = http(world.acme.host, world.acme.users[Role.EDITOR])
    html = editor.get(f"/admin/results/campaign/{page_id}/").content.decode()
    second_on_mastodon = next(d for d in deliveries
                              if d.network == "mastodon" and d.post_number == 2)
    # likes, reposts, replies, quotes, impressions, interactions, engagement rate
    assert _cells(html, second_on_mastodon.pk)[1:8] == ["20", "2", "1", "–", "–", "23", "2.3%"]
    # totals: Mastodon 11+1+... = (10+2+1) + (20+2+1) = 36; Bluesky 2 x 7 = 14
    assert re.search(r'data-figure="interactions">50<', html)
    # 50 interactions over 2 x 1000 + 2 x 500 followers reached
    assert re.search(r'data-figure="rate">1.67%<', html)
    assert "per 100 followers" in html and "Figures since" in html
    assert "<svg" in html and 'role="img"' in html and "style=" not in html.split(
        "<svg", 1)[1].split("</svg>", 1)[0]


def test_the_brand_results_show_channels_top_posts_and_the_heat_map(world, http, counted):
    n, deliveries = counted
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    html = manager.get("/admin/results/?days=7").content.decode()
    assert "Acme on Mastodon" in html and "Acme on Bluesky" in html
    top = re.search(r'<table class="listing results-top">(.*?)</table>', html, re.S).group(1)
    assert top.index("Post 2") < top.index("Post 1")  # 23 interactions before 13
    assert "Best so far:" in html and 'class="heat-5"' in html
    only_bluesky = manager.get(f"/admin/results/?days=7&channel={n.on_bluesky.pk}")
    assert "Acme on Mastodon" not in re.search(
        r'<table class="listing results-channels">(.*?)</table>',
        only_bluesky.content.decode(), re.S).group(1)


def test_another_brands_staff_see_nothing_of_a_campaigns_results(world, http, counted):
    n, deliveries = counted
    globex = http(world.globex.host, world.globex.users[Role.ACCOUNT_MANAGER])
    assert globex.get(f"/admin/results/campaign/{deliveries[0].page_id}/").status_code == 404
    assert "Harvest" not in globex.get("/admin/results/").content.decode()
    # and on Acme's host, a Globex member is not let in at all
    crossing = http(world.acme.host, world.globex.users[Role.ACCOUNT_MANAGER],
                    raise_request_exception=False)
    response = crossing.get(f"/admin/results/campaign/{deliveries[0].page_id}/")
    assert response.status_code in (302, 403, 404) and b"Harvest" not in response.content


def test_the_api_gives_results_per_delivery_campaign_and_channel(world, counted):
    n, deliveries = counted
    api = ApiClient(world.acme.host, make_key(world.acme, scopes=("read",)))
    first = next(d for d in deliveries if d.network == "bluesky")
    listed = api.get(f"/api/v1/results/?campaign={first.page_id}").json()
    assert len(listed["results"]) == 4
    one = api.get(f"/api/v1/results/{first.pk}/").json()
    assert (one["likes"], one["quotes"], one["impressions"], one["interactions"]) == (
        5, 1, None, 7)
    history = api.get(f"/api/v1/results/{first.pk}/history/").json()
    assert [reading["likes"] for reading in history] == [5]
    campaign = api.get(f"/api/v1/results/campaigns/{first.page_id}/").json()
    assert campaign["totals"]["interactions"] == 50
    assert campaign["totals"]["engagement_rate"] == 1.67
    assert {c["channel_name"]: c["interactions"] for c in campaign["channels"]} == {
        "Acme on Mastodon": 36, "Acme on Bluesky": 14}
    channel = api.get(f"/api/v1/results/channels/{n.on_mastodon.pk}/?days=7").json()
    assert (channel["posts"], channel["followers"], channel["likes"]) == (2, 1000, 30)
    refused = api.get(f"/api/v1/results/channels/{n.on_mastodon.pk}/?days=0")
    assert refused.status_code == 400 and "days" in refused.content.decode()


def test_another_brands_key_reads_no_results(world, counted):
    n, deliveries = counted
    globex = ApiClient(world.globex.host, make_key(world.globex, scopes=("read",)))
    assert globex.get("/api/v1/results/").json()["results"] == []
    for path in (f"/api/v1/results/{deliveries[0].pk}/",
                 f"/api/v1/results/{deliveries[0].pk}/history/",
                 f"/api/v1/results/campaigns/{deliveries[0].page_id}/",
                 f"/api/v1/results/channels/{n.on_mastodon.pk}/"):
        response = globex.get(path)
        # 404; or, where Globex has a campaign or channel of the same id, Globex's own (none)
        assert response.status_code in (200, 404), path
        assert b"Harvest" not in response.content and b"Acme" not in response.content
        if response.status_code == 200:
            assert response.json().get("posts", 0) == 0 or response.json()["totals"][
                "posts"] == 0
    # an Acme key on Globex's host is refused
    crossing = ApiClient(world.globex.host, make_key(world.acme, scopes=("read",)))
    assert crossing.get("/api/v1/results/").status_code == 401


def test_the_results_page_is_kept_until_new_counts_are_read(world, http, counted):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    n, deliveries = counted
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    first = manager.get("/admin/results/?days=7").content.decode()
    assert re.search(r'data-figure="interactions">50<', first)
    with CaptureQueriesContext(connection) as again:
        assert manager.get("/admin/results/?days=7").content.decode().count("50") >= 1
    read = [q["sql"] for q in again.captured_queries if "results_postresult" in q["sql"]]
    assert len(read) == 1 and "max(id)" in read[0]  # only the version: the figures were kept
    # An hour later the posts are read again: the page shows the new counts at once.
    for delivery in deliveries:
        if delivery.network == "mastodon":
            n.mastodon.set_counts(delivery.remote_id, favourites=100, reblogs=2, replies=1)
    with in_brand(n.schema):
        collect_round(Client.objects.get(schema_name=n.schema),
                      now=timezone.now() + dt.timedelta(minutes=61))
    later = manager.get("/admin/results/?days=7").content.decode()
    assert re.search(r'data-figure="interactions">220<', later)  # 2 x 103 + 2 x 7
