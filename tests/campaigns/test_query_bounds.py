"""Editing and previewing a campaign costs the same number of queries with 5 posts or 50."""

import datetime as dt
import io

import pytest
from django.core.files.images import ImageFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context
from wagtail.blocks import StreamValue

from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
from tenants.models import Role
from tests.images import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaigns(world):
    from wagtail.images.models import Image

    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        channels = [Channel.objects.create(name=f"Q{n}", network="sandbox", handle=f"@q{n}")
                    for n in range(3)]
        image = Image.objects.create(title="Q", file=ImageFile(io.BytesIO(png_bytes()),
                                                                 name="q.png"))
        made = {}
        for size in (5, 50):
            page = index.add_child(instance=CampaignPage(title=f"Q{size}", live=False))
            posts = []
            for n in range(size):
                post = Post(copy=f"Post {n}", link="https://acme.example/x",
                            publish_at=dt.datetime(2026, 10, 1 + n % 28, 9, tzinfo=dt.UTC),
                            channels=channels[: 1 + n % 3])
                post.media = StreamValue(post.media.stream_block, [
                    ("image", {"image": image, "alt_text": "A cup"})])
                posts.append(post)
            page.posts = posts
            page.save_revision(user=editor)
            made[size] = page
    return made


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
