"""Fixtures for the results tests: Acme's channels on local fake networks, and campaigns whose
posts went out through the real publishing worker."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
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


@contextmanager
def committed_mastodon_channel(world, django_db_blocker, name: str):
    """Acme's channel on a (fake) Mastodon, committed so a browser test's live server sees it:
    yields (fake, channel); the channel is deleted afterwards (what the test made with it is
    the test's to remove first)."""
    from django.db import connection

    from campaigns.models import Channel

    schema = world.acme.client.schema_name
    with FakeMastodon(token=TOKEN, username="acme") as mastodon:
        with django_db_blocker.unblock(), schema_context(schema):
            channel = Channel.objects.create(name=name, network="mastodon",
                                             handle="@acme@127.0.0.1", endpoint=mastodon.url)
            channel.set_secret(TOKEN)
            channel.save()
        try:
            yield mastodon, channel
        finally:
            with django_db_blocker.unblock(), schema_context(schema):
                Channel.objects.filter(pk=channel.pk).delete()
            connection.set_schema_to_public()


def in_brand(schema: str):
    return schema_context(schema)


def publish_through_review(world, channels, *, title: str, posts: int = 2,
                           capture) -> list[Delivery]:
    """A campaign of ``posts`` posts on ``channels`` (the first with an image) that goes the
    whole way: submitted by the editor, passed by the sensitivity reviewer, approved by the
    client through the review link emailed to them, then sent out by the publishing worker.
    ``capture``: pytest-django's ``django_capture_on_commit_callbacks``."""
    from django.core import mail

    from approvals.models import ApproverContact
    from tenants.models import Role
    from tests.conftest import HostClient
    from tests.factories import (
        CampaignFactory,
        ImageFactory,
        PostFactory,
        pass_sensitivity_review,
        submit,
    )

    acme = world.acme
    schema = acme.client.schema_name
    editor = acme.users[Role.EDITOR]
    soon = timezone.now() + dt.timedelta(days=10)
    with schema_context(schema):
        ApproverContact.objects.get_or_create(email="jo@acme.example",
                                              defaults={"name": "Jo Client"})
        image = ImageFactory(title="Cup")
        page = CampaignFactory(title=title, goal="Sell the harvest", author=editor, posts=[
            PostFactory(copy=f"{title}: post {n + 1} #Spring", channels=list(channels),
                        publish_at=soon + dt.timedelta(hours=n),
                        image=image if n == 0 else None, alt_text="A cup of the harvest roast")
            for n in range(posts)])
        submit(page, editor)
        with capture(execute=True):
            pass_sensitivity_review(page, acme.users[Role.SENSITIVITY_REVIEWER])
    token = next(re.search(r"/review/([\w-]+)/", m.body).group(1) for m in mail.outbox
                 if title in m.subject and m.subject.startswith("Please review"))
    with capture(execute=True):
        answer = HostClient(acme.host).post(f"/review/{token}/", {"decision": "approved"})
    assert answer.status_code == 200, answer.content[:300]
    deliveries = Delivery.objects.filter(client=acme.client, page_id=page.pk)
    assert deliveries.count() == posts * len(channels)
    deliveries.update(next_attempt_at=timezone.now())
    for pk, claim in transitions.claim_due():
        worker.deliver(pk, claim)
    published = list(Delivery.objects.filter(client=acme.client, page_id=page.pk)
                     .order_by("post_number", "channel_name"))
    assert {d.state for d in published} == {State.PUBLISHED}, [d.error for d in published]
    return published
