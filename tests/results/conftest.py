"""Fixtures for the results tests: Acme's channels on local fake networks, and campaigns whose
posts went out through the real publishing worker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.demo.fakes import FakeBluesky, FakeMastodon
from campaigns.publishing import transitions, worker
from campaigns.publishing.adapters.bluesky import forget_sessions
from campaigns.publishing.models import Delivery, State
from tests.factories import ChannelFactory
from tests.publishing.conftest import approve, make_campaign

TOKEN = "mastodon-access-token"
PASSWORD = "abcd-efgh-ijkl-mnop"


@dataclass
class Networks:
    schema: str
    mastodon: FakeMastodon
    bluesky: FakeBluesky
    on_mastodon: object
    on_bluesky: object
    sandbox: object


@pytest.fixture
def networks(world):
    forget_sessions()
    acme = world.acme
    with FakeMastodon(token=TOKEN, username="acme", hang_seconds=2) as mastodon, \
            FakeBluesky(handle="acme.test", password=PASSWORD, hang_seconds=2) as bluesky:
        yield Networks(
            schema=acme.client.schema_name, mastodon=mastodon, bluesky=bluesky,
            on_mastodon=ChannelFactory(brand=acme, name="Acme on Mastodon", network="mastodon",
                                       handle="@acme@127.0.0.1", endpoint=mastodon.url,
                                       secret=TOKEN),
            on_bluesky=ChannelFactory(brand=acme, name="Acme on Bluesky", network="bluesky",
                                      handle="@acme.test", endpoint=bluesky.url,
                                      secret=PASSWORD),
            sandbox=ChannelFactory(brand=acme, name="Acme Sandbox", handle="@acme"))
    forget_sessions()


def publish(schema: str, channels, *, posts: int = 1, title: str = "Spring launch",
            when: dt.datetime | None = None) -> list[Delivery]:
    """A campaign of ``posts`` posts on ``channels``, approved and sent out by the publishing
    worker to the (fake) networks; its deliveries, published."""
    now = timezone.now()
    page = make_campaign(schema, title=title, posts=[
        (f"{title}: post {n + 1} #Spring", list(channels), now + dt.timedelta(hours=1), None)
        for n in range(posts)])
    deliveries = approve(schema, page)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(next_attempt_at=now)
    for pk, claim in transitions.claim_due():
        worker.deliver(pk, claim)
    published = list(Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
                     .order_by("post_number", "channel_name"))
    assert {d.state for d in published} == {State.PUBLISHED}, [d.error for d in published]
    if when is not None:  # as if they had gone out then
        Delivery.objects.filter(pk__in=[d.pk for d in published]).update(published_at=when)
        for delivery in published:
            delivery.published_at = when
    return published


def in_brand(schema: str):
    return schema_context(schema)
