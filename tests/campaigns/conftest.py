"""Fixtures shared by the studio tests."""

import io

import pytest
from django.core.files.images import ImageFile
from django_tenants.utils import schema_context

from tests.images import png_bytes


@pytest.fixture
def acme_kit(world):
    """In Acme's schema: a Mastodon and a Bluesky channel and one image (rolled back after)."""
    from wagtail.images.models import Image

    from campaigns.models import Channel

    with schema_context(world.acme.client.schema_name):
        masto = Channel.objects.create(name="Acme Masto", network="mastodon", handle="@acme@m.ex",
                                       endpoint="https://m.example")
        sky = Channel.objects.create(name="Acme Sky", network="bluesky", handle="@acme.bsky")
        image = Image.objects.create(title="Cup", file=ImageFile(io.BytesIO(png_bytes()),
                                                                   name="cup.png"))
    return {"masto": masto, "sky": sky, "image": image}
