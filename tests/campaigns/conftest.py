"""Fixtures shared by the studio tests."""

from dataclasses import dataclass

import pytest

from tests.factories import ChannelFactory, ImageFactory


@dataclass
class StudioKit:
    masto: object
    sky: object
    image: object


@pytest.fixture
def acme_kit(world) -> StudioKit:
    """In Acme's schema: a Mastodon and a Bluesky channel and one image (rolled back after)."""
    acme = world.acme
    return StudioKit(
        masto=ChannelFactory(brand=acme, name="Acme Masto", network="mastodon",
                             handle="@acme@m.ex", endpoint="https://m.example"),
        sky=ChannelFactory(brand=acme, name="Acme Sky", network="bluesky", handle="@acme.bsky"),
        image=ImageFactory(brand=acme, title="Cup"))
