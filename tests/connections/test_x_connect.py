"""X connected through the studio's connection flow (Connect X, X's consent screen with PKCE,
the callback, picking the account) against the local X (agency/demo/fakes/x.py); its two-hour
tokens renewed by the token job and before a send; a campaign with four images and a video
going out through the worker, each post once; declined consent and a bad callback explained."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.demo.fakes.x import FakeX
from campaigns.models import Channel
from campaigns.publishing import connected, transitions, worker
from campaigns.publishing.adapters import x as x_adapter
from campaigns.publishing.models import Delivery, State
from campaigns.publishing.transitions import Outcome
from tenants.models import Role
from tests.connections.conftest import consent_link, local, query
from tests.factories import ImageFactory
from tests.publishing.conftest import approve, make_campaign

pytestmark = pytest.mark.django_db

USER = "1500000000000000042"
APP = ("x-app", "x-secret")
CLIP = b"\x00\x00\x00\x18ftypmp42" + b"clip" * 60


@pytest.fixture
def fake_x(settings):
    with FakeX(client_id=APP[0], client_secret=APP[1], user_id=USER,
               username="acmecoffee", display_name="Acme Coffee") as fake:
        settings.NETWORK_BASE_URLS = {"x_api": fake.url, "x_www": fake.url}
        settings.OAUTH_CLIENTS = {"x": {"client_id": APP[0], "client_secret": APP[1]}}
        yield fake


def _manager(brand):
    return brand.users[Role.ACCOUNT_MANAGER]


def x_consent(url: str, *, allow: bool = True) -> str:
    """X's consent page: submit its form with "Authorize app" or "Cancel"; where X sends the
    person back to."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    parts = urlsplit(url)
    answer = requests.post(f"{parts.scheme}://{parts.netloc}/i/oauth2/authorize/decide",
                           data={**fields, "decision": "allow" if allow else "deny"},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def start(client) -> str:
    return consent_link(client.post("/admin/channels/connect/", {"network": "x"}))


def connect(client) -> tuple[Channel, str]:
    back = x_consent(start(client))
    response = client.get(local(back))
    assert response.status_code == 302, response.content.decode()[:2000]
    pick = client.get(response["Location"])
    assert pick.status_code == 200
    picked = client.post("/admin/channels/connect/pick/", {
        "pick": query(response["Location"])["pick"], "account": USER})
    assert picked.status_code == 302, picked.content.decode()[:3000]
    return Channel.objects.get(network="x", account_id=USER), pick.content.decode()


def test_an_x_account_connects_with_pkce_and_its_tokens_are_kept_encrypted(
        world, http, fake_x):
    client = http(world.acme.host, _manager(world.acme))
    assert "Connect X" in client.get("/admin/channels/connect/").content.decode()
    url = start(client)
    assert url.startswith(f"{fake_x.url}/i/oauth2/authorize?")
    sent = query(url)
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]
    assert "offline.access" in sent["scope"].split()
    with schema_context(world.acme.client.schema_name):
        channel, pick = connect(client)
        assert "Acme Coffee" in pick and "@acmecoffee" in pick
        assert channel.handle == "@acmecoffee" and channel.settings["username"] == "acmecoffee"
        token, refresh = channel.get_secret(), channel.get_refresh_token()
        assert token and token not in channel.secret_encrypted
        assert refresh and refresh not in channel.refresh_encrypted
        assert {"tweet.write", "media.write"} <= set(channel.scopes.split())
        assert dt.timedelta(minutes=110) < channel.token_expires_at - timezone.now() \
            <= dt.timedelta(hours=2)

    # The hourly token job leaves a token just issued, and renews one with less than
    # refresh_ahead (1 h 50) left, so none reaches its expiry between two runs; X replaces
    # both tokens.
    connected.tokens_check_all()
    assert fake_x.refreshes == 0
    with schema_context(world.acme.client.schema_name):
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(minutes=90))
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
        assert channel.get_secret() != token and channel.get_refresh_token() != refresh
    assert fake_x.refreshes == 1 and not channel.needs_reconnect


def test_a_declined_consent_is_explained_and_saves_nothing(world, http, fake_x):
    client = http(world.acme.host, _manager(world.acme))
    back = x_consent(start(client), allow=False)
    assert query(back)["error"] == "access_denied"
    text = client.get(local(back)).content.decode()
    assert "X access was not given" in text and "declined" in text
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(network="x").exists()


def test_a_callback_with_a_code_x_does_not_know_is_explained_and_saves_nothing(
        world, http, fake_x):
    client = http(world.acme.host, _manager(world.acme))
    back = x_consent(start(client))
    forged = re.sub(r"code=[^&]+", "code=not-a-code", local(back))
    response = client.get(forged)
    text = unescape(response.content.decode())
    assert response.status_code == 502
    assert "X did not finish the connection" in text
    assert "authorization code was invalid" in text and "Nothing was saved" in text
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(network="x").exists()


def test_a_campaign_goes_out_to_x_once_each_after_renewing_a_token_about_to_expire(
        world, kit, http, fake_x, monkeypatch):
    from wagtail.blocks import StreamValue
    from wagtail.documents.models import Document

    from campaigns.models import CampaignPage, Post

    monkeypatch.setattr(x_adapter, "PROCESSING_POLL", 0.01)
    fake_x.video_processing_polls = 2
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(kit.schema):
        channel, _ = connect(client)
        first = channel.get_secret()
        Channel.objects.filter(pk=channel.pk).update(  # two minutes left: renewed at the send
            token_expires_at=timezone.now() + dt.timedelta(minutes=2))
    when = kit.soon
    page = make_campaign(kit.schema, title="Autumn", posts=[
        ("Four cups of autumn ☕ https://acme.example/autumn", [channel], when, None),
        ("Watch the autumn pour", [channel], when, None)])
    with schema_context(kit.schema):
        cups = [ImageFactory(brand=world.acme, title=f"Cup {n}", size=(64, 64))
                for n in range(4)]
        video = Document.objects.create(title="Pour", file=ContentFile(CLIP, name="pour.mp4"))
        page = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        block = Post._meta.get_field("media").stream_block
        cups_post, film = page.posts.all()
        page.posts = [
            Post(copy=cups_post.copy, channels=[channel], publish_at=when, media=StreamValue(
                block, [("image", {"image": cup, "alt_text": f"Cup number {n}"})
                        for n, cup in enumerate(cups)])),
            Post(copy=film.copy, channels=[channel], publish_at=when, media=StreamValue(
                block, [("video", {"video": video,
                                   "description": "Milk poured into a flat white"})]))]
        page.save_revision()
    deliveries = approve(kit.schema, page)
    assert len(deliveries) == 2

    def send_due():
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
            next_attempt_at=timezone.now())
        return [worker.deliver(pk, claim) for pk, claim in transitions.claim_due()]

    outcomes = send_due()
    errors = dict(Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
                  .values_list("pk", "error"))
    assert outcomes == [Outcome.PUBLISHED] * 2, errors
    assert send_due() == []  # nothing is sent twice

    posts = {p["text"]: p for p in fake_x.posts}
    assert sorted(posts) == ["Four cups of autumn ☕ https://acme.example/autumn",
                             "Watch the autumn pour"]
    cups_sent = posts["Four cups of autumn ☕ https://acme.example/autumn"]["media"]
    assert [m["alt"] for m in cups_sent] == [f"Cup number {n}" for n in range(4)]
    [clip] = posts["Watch the autumn pour"]["media"]
    assert clip["type"] == "video/mp4" and clip["total"] == len(CLIP)
    assert fake_x.duplicates() == {}
    remote = set(Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
                 .values_list("remote_id", flat=True))
    assert remote == {p["id"] for p in fake_x.posts}
    assert set(Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
               .values_list("state", flat=True)) == {State.PUBLISHED}
    # Renewed once, before the first send, and kept for the second.
    assert fake_x.refreshes == 1
    with schema_context(kit.schema):
        channel.refresh_from_db()
        assert channel.get_secret() != first
        assert channel.token_expires_at - timezone.now() > dt.timedelta(hours=1)
