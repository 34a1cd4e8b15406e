"""Editing and previewing a campaign costs the same number of queries with 5 posts or 50."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenants.models import Role
from tests.factories import CampaignFactory, ChannelFactory, ImageFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaigns(world):
    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        channels = [ChannelFactory(name=f"Q{n}", handle=f"@q{n}") for n in range(3)]
        image = ImageFactory(title="Q")
        return {size: CampaignFactory(title=f"Q{size}", author=editor, posts=[
            PostFactory(copy=f"Post {n}", link="https://acme.example/x",
                        publish_at=dt.datetime(2026, 10, 1 + n % 28, 9, tzinfo=dt.UTC),
                        channels=channels[: 1 + n % 3], image=image, alt_text="A cup")
            for n in range(size)]) for size in (5, 50)}


def _queries(client, path) -> int:
    client.get(path)  # warm per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("path", ["/admin/pages/{pk}/edit/", "/admin/pages/{pk}/view_draft/"])
def test_query_count_does_not_grow_with_the_number_of_posts(world, http, campaigns, path,
                                                            django_assert_max_num_queries):
    client = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    small = _queries(client, path.format(pk=campaigns[5].pk))
    large = _queries(client, path.format(pk=campaigns[50].pk))
    assert large <= small + 5, f"{path}: {small} queries with 5 posts, {large} with 50"
    with django_assert_max_num_queries(small + 5):
        client.get(path.format(pk=campaigns[50].pk))
