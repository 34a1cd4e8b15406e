"""List requests cost a fixed number of queries, whatever the page size."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(world):
    from campaigns.services import campaign_draft_create
    from tenants.models import Role
    from tests.factories import ChannelFactory

    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        channel = ChannelFactory(name="Feed", handle="@f")
        start = dt.datetime(2027, 2, 1, 9, tzinfo=dt.UTC)
        for n in range(24):
            campaign_draft_create(user=editor, data={
                "title": f"Bulk {n}", "tags": [f"t{n}", "shared"],
                "posts": [{"copy": f"Post {n}.{i}", "channels": [channel.pk],
                           "publish_at": start + dt.timedelta(hours=n * 3 + i), "media": []}
                          for i in range(3)]})
        from django.core.files.base import ContentFile
        from wagtail.documents.models import Document

        for n in range(24):
            video = Document(title=f"Clip {n}")
            video.file.save(f"clip{n}.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42"),
                            save=False)
            video.save()


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.send("GET", path)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.parametrize("path", [
    "/api/v1/campaigns/?search=Bulk", "/api/v1/channels/", "/api/v1/media/",
    "/api/v1/deliveries/", "/api/v1/review-links/", "/api/v1/videos/",
])
def test_a_list_costs_the_same_for_3_or_24_items(world, api, many, path,
                                                 django_assert_max_num_queries):
    client = api()
    client.send("GET", "/api/v1/channels/")  # the key's last-used time is written once
    sep = "&" if "?" in path else "?"
    small = _queries(client, f"{path}{sep}page_size=3")
    large = _queries(client, f"{path}{sep}page_size=24")
    assert large == small
    with django_assert_max_num_queries(8):
        client.send("GET", f"{path}{sep}page_size=24")


def test_the_campaign_list_shows_every_row_with_its_tags_and_posts(world, api, many):
    rows = api().send("GET", "/api/v1/campaigns/?search=Bulk&page_size=24").json()["results"]
    assert len(rows) == 24
    assert all(r["post_count"] == 3 and "shared" in r["tags"] for r in rows)


def test_the_calendar_costs_the_same_for_a_day_or_a_month(world, api, many):
    client = api()
    client.send("GET", "/api/v1/channels/")
    day = _queries(client, "/api/v1/calendar/?start=2027-02-01T00:00:00Z"
                           "&end=2027-02-02T00:00:00Z")
    month = _queries(client, "/api/v1/calendar/?start=2027-02-01T00:00:00Z"
                             "&end=2027-03-01T00:00:00Z")
    assert month == day
