"""End to end on a real django-q2 cluster and the real dispatcher: an approved campaign goes out
to all four channel kinds once, and a worker killed mid-publish loses and duplicates nothing."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.demo.fakes import FakeBluesky, FakeMastodon
from agency.signing import verify
from campaigns.publishing.models import Delivery, State
from tenants.models import Role
from tests.conftest import (
    Brand,
    HostClient,
    brand_host,
    child_env,
    manage_processes,
    wait_until,
)
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    ClientFactory,
    DeliveryFactory,
    ImageFactory,
    MemberFactory,
    PostFactory,
    pass_sensitivity_review,
    submit,
)
from tests.publishing.conftest import HOOK_SECRET
from tests.publishing.test_engine import Receiver

pytestmark = pytest.mark.cluster

TIMINGS = {"PUBLISHING_SEND_TIMEOUT_SECONDS": "6", "PUBLISHING_LEASE_SECONDS": "4",
           "PUBLISHING_CHECK_AFTER_SECONDS": "1", "PUBLISHING_IDLE_POLL_SECONDS": "0.1",
           "Q_WORKERS": "2"}


@pytest.fixture
def relay(world, django_db_blocker):
    """A brand of its own (deleted after), with staff and an approver, for committed data."""
    from approvals.models import ApproverContact
    from tenants.services import client_delete

    with django_db_blocker.unblock():
        client = ClientFactory(name="Relay Tea", slug="relay", time_zone="Europe/London")
        users = {role: MemberFactory(client=client, role=role,
                                     user__username=f"{role.value}@relay.test").user
                 for role in Role}
        with schema_context(client.schema_name):
            ApproverContact.objects.create(name="Rae Client", email="rae@relay.example")
        connection.set_schema_to_public()
    yield Brand(client=client, host=brand_host("relay"), users=users)
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        client_delete(client=client, actor=None, confirm_slug="relay")


@pytest.fixture
def platform(relay, django_db_blocker):
    """The real thing, twice: two `manage.py qcluster` and two `manage.py dispatcher`, as on
    two machines (they must never publish a post twice)."""
    with manage_processes("qcluster", "dispatcher", "qcluster", "dispatcher",
                          env=child_env(**TIMINGS)) as procs:
        yield procs


@pytest.fixture
def networks():
    fakes = {"mastodon": FakeMastodon(token="masto-token").start(),
             "bluesky": FakeBluesky(handle="relay.test", password="app-pass").start(),
             "webhook": Receiver()}
    yield fakes
    fakes["mastodon"].stop()
    fakes["bluesky"].stop()
    fakes["webhook"].close()


def _channels(networks):
    made = {"sandbox": ChannelFactory(name="Relay Sandbox", handle="@relay")}
    for network, endpoint, secret, handle in [
            ("mastodon", networks["mastodon"].url, "masto-token", "@relay@masto.test"),
            ("bluesky", networks["bluesky"].url, "app-pass", "relay.test"),
            ("webhook", networks["webhook"].url, HOOK_SECRET, "relay-hook")]:
        made[network] = ChannelFactory(name=f"Relay {network}", network=network, handle=handle,
                                       endpoint=endpoint, secret=secret)
    return made



def _stderr(procs) -> str:
    return "".join(proc.stderr.read1(4000).decode(errors="replace") if proc.poll() is not None
                   else "" for proc in procs)


def test_an_approved_campaign_goes_out_once_to_all_four_kinds_of_channel(
        relay, platform, networks, django_db_blocker):
    users = relay.users
    with django_db_blocker.unblock():
        with schema_context(relay.client.schema_name):
            channels = _channels(networks)
            image = ImageFactory(title="Tea")
            due = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=25)
            page = CampaignFactory(title="First flush", goal="Launch the first flush",
                                   author=users[Role.EDITOR], posts=[PostFactory(
                                       copy="First flush is in 🍃 #FirstFlush "
                                            "https://relay.example/flush",
                                       channels=list(channels.values()), publish_at=due,
                                       image=image, alt_text="A glass teapot of pale green tea")])
            submit(page, users[Role.EDITOR])
            pass_sensitivity_review(page, users[Role.SENSITIVITY_REVIEWER])
        connection.set_schema_to_public()
        link = next(m for m in mail.outbox if m.to == ["rae@relay.example"])
        token = re.search(r"/review/([\w-]+)/", link.body).group(1)
        answer = HostClient(relay.host).post(f"/review/{token}/", {"decision": "approved"})
        assert answer.status_code == 200 and "You approved" in answer.content.decode()

        deliveries = Delivery.objects.filter(client=relay.client)
        assert deliveries.count() == 4
        assert set(deliveries.values_list("state", flat=True)) == {State.SCHEDULED}
        assert wait_until(lambda: deliveries.filter(state=State.PUBLISHED).count() == 4, 60), (
            list(deliveries.values_list("network", "state", "error")), _stderr(platform))

        for delivery in deliveries:
            assert delivery.published_at >= delivery.publish_at  # not early
        masto, = networks["mastodon"].posts
        assert masto["text"].startswith("First flush is in 🍃")
        assert [m["description"] for m in masto["media"]] == ["A glass teapot of pale green tea"]
        sky, = networks["bluesky"].posts
        assert [i["alt"] for i in sky["images"]] == ["A glass teapot of pale green tea"]
        kinds = sorted(f["features"][0]["$type"] for f in sky["facets"])
        assert kinds == ["app.bsky.richtext.facet#link", "app.bsky.richtext.facet#tag"]
        (headers, body), = networks["webhook"].requests
        assert verify(HOOK_SECRET, headers, body)
        with schema_context(relay.client.schema_name):
            from campaigns.models import SandboxPost

            assert SandboxPost.objects.get().text.startswith("First flush is in")
        connection.set_schema_to_public()


def test_a_worker_killed_mid_publish_loses_nothing_and_duplicates_nothing(
        relay, platform, networks, django_db_blocker):
    fake = networks["mastodon"]
    fake.hang_seconds = 5
    fake.accept_then_hang(1)  # the status is stored, the answer does not come
    with django_db_blocker.unblock():
        with schema_context(relay.client.schema_name):
            channels = _channels(networks)
        delivery = DeliveryFactory(
            brand=relay, title="Killed mid-publish", copy="Second flush, coming soon",
            channel=channels["mastodon"],
            publish_at=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=3))
        connection.set_schema_to_public()
        assert wait_until(lambda: len(fake.posts) == 1, 30), _stderr(platform)
        sending = Delivery.objects.get(pk=delivery.pk)
        assert sending.state == State.CLAIMED and sending.sending_at is not None
        pid = int(sending.sent_by.rsplit(":", 1)[1])
        os.kill(pid, signal.SIGKILL)  # the worker dies with the network call in flight
        published = lambda: Delivery.objects.get(pk=delivery.pk).state == State.PUBLISHED  # noqa: E731
        assert wait_until(published, 60), (
            list(Delivery.objects.get(pk=delivery.pk).events.values_list("kind", "detail")),
            _stderr(platform))
        events = list(Delivery.objects.get(pk=delivery.pk).events.values_list("kind", "detail"))
        kinds = [kind for kind, _ in events]
        # (a claim may also run out while the cluster starts: "lease_expired", taken again)
        assert kinds[0] == "created" and kinds[-2:] == ["unconfirmed", "published"], events
        assert events[-1][1].startswith("Found on the network after an unknown outcome")
        assert len(fake.posts) == 1 and fake.duplicates() == {}
        assert fake.count("POST", "/api/v1/statuses") == 1  # asked, never resent
