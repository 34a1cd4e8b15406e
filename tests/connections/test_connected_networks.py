"""Facebook Pages, Instagram, Threads and LinkedIn pages connected through the real connection
flow (Connect account, the network's consent screen, the callback, picking the account) against
the local fakes of Meta and LinkedIn; then a campaign with an image, a carousel and a video goes
out to all four through the worker, each post exactly once; an expired token holds the channel's
posts with a Reconnect button until it is reconnected; and none of it is usable from another
brand."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlsplit

import pytest
import requests
from django.core import mail
from django.core.files.base import ContentFile
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.demo.fakes.linkedin import FakeLinkedIn
from agency.demo.fakes.meta import FakeMeta
from campaigns.models import Channel
from campaigns.publishing import connected, transitions, worker
from campaigns.publishing.adapters import graph
from campaigns.publishing.adapters import linkedin as linkedin_adapter
from campaigns.publishing.models import Delivery, ReconnectWait, State
from campaigns.publishing.transitions import Outcome
from tenants.models import Role
from tests.connections.conftest import consent_link, local, query
from tests.factories import ImageFactory, MemberFactory
from tests.publishing.conftest import approve, make_campaign

pytestmark = pytest.mark.django_db

PAGE, OUTLET, IG_USER, THREADS_USER = "20001", "20002", "17841400000000001", "30001"
ORGANIZATION = "2414183"
META_APP = ("meta-app", "meta-secret")
LINKEDIN_APP = ("li-app", "li-secret")
CLIP = b"\x00\x00\x00\x18ftypmp42" + b"clip" * 60


@dataclass
class Fakes:
    meta: FakeMeta
    linkedin: FakeLinkedIn


@pytest.fixture
def fakes(settings):
    with FakeMeta(app_id=META_APP[0], app_secret=META_APP[1], hang_seconds=4) as meta, \
            FakeLinkedIn(client_id=LINKEDIN_APP[0], client_secret=LINKEDIN_APP[1],
                         organizations={ORGANIZATION: "Acme Coffee",
                                        "2414190": "Acme Roastery"}) as linkedin:
        settings.NETWORK_BASE_URLS = {
            **dict.fromkeys(("facebook_graph", "facebook_www", "threads_graph", "threads_www"),
                            meta.url),
            "linkedin_api": linkedin.url, "linkedin_www": linkedin.url}
        settings.OAUTH_CLIENTS = {
            **{network: {"client_id": META_APP[0], "client_secret": META_APP[1]}
               for network in ("facebook", "instagram", "threads")},
            "linkedin": {"client_id": LINKEDIN_APP[0], "client_secret": LINKEDIN_APP[1]}}
        yield Fakes(meta, linkedin)


def _manager(brand):
    return brand.users[Role.ACCOUNT_MANAGER]


# -- the consent screens, answered as a person would ---------------------------------------------


def meta_consent(url: str, *, allow: bool = True) -> str:
    """Meta's consent page (Facebook Login's dialog or Threads'): follow its Allow or Deny
    link; returns where Meta sends the person back to."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    button = "allow" if allow else "deny"
    found = re.search(rf"id='{button}' href='([^']+)'", page.text)
    assert found, page.text
    parts = urlsplit(url)
    answer = requests.get(f"{parts.scheme}://{parts.netloc}{unescape(found.group(1))}",
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def linkedin_consent(url: str, *, allow: bool = True) -> str:
    """LinkedIn's consent page: submit its form with Allow or Cancel."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    parts = urlsplit(url)
    answer = requests.post(f"{parts.scheme}://{parts.netloc}/oauth/v2/authorization/decide",
                           data={**fields, "decision": "allow" if allow else "deny"},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def start(client, network: str, **extra) -> str:
    """Press "Connect <network>"; the consent screen's address."""
    return consent_link(client.post("/admin/channels/connect/", {"network": network, **extra}))


def answer_consent(network: str, url: str, *, allow: bool = True) -> str:
    return (linkedin_consent if network == "linkedin" else meta_consent)(url, allow=allow)


def connect(client, network: str, account_id: str, **extra) -> tuple[Channel, str]:
    """The whole flow; returns the channel and the text of the "pick the account" page."""
    back = answer_consent(network, start(client, network, **extra))
    response = client.get(local(back))
    assert response.status_code == 302, response.content.decode()[:2000]
    pick = client.get(response["Location"])
    assert pick.status_code == 200
    picked = client.post("/admin/channels/connect/pick/", {
        "pick": query(response["Location"])["pick"], "account": account_id})
    assert picked.status_code == 302, picked.content.decode()[:3000]
    return (Channel.objects.get(network=network, account_id=account_id),
            pick.content.decode())


# -- connecting each network ---------------------------------------------------------------------


def test_the_channels_screen_offers_each_network(world, http, fakes):
    text = http(world.acme.host, _manager(world.acme)).get("/admin/channels/connect/") \
        .content.decode()
    for label in ("Facebook", "Instagram", "Threads", "LinkedIn"):
        assert f"Connect {label}" in text


def test_instagram_uses_the_facebook_app_when_it_has_none_of_its_own(world, http, fakes,
                                                                    settings):
    settings.OAUTH_CLIENTS = {"facebook": {"client_id": META_APP[0],
                                           "client_secret": META_APP[1]}}
    client = http(world.acme.host, _manager(world.acme))
    text = client.get("/admin/channels/connect/").content.decode()
    assert "Connect Instagram" in text and "Connect Threads" not in text
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, "instagram", IG_USER)
    assert channel.get_secret() == fakes.meta.page_token(PAGE)


def test_a_facebook_user_with_two_pages_picks_one_and_the_pages_token_is_kept_encrypted(
        world, http, fakes):
    meta = fakes.meta
    client = http(world.acme.host, _manager(world.acme))
    url = start(client, "facebook")
    params = query(url)
    assert url.startswith(f"{meta.url}/v23.0/dialog/oauth?")
    assert params["client_id"] == META_APP[0]
    assert params["code_challenge_method"] == "S256"  # Facebook Login takes PKCE
    assert "pages_manage_posts" in params["scope"].split(",")
    with schema_context(world.acme.client.schema_name):
        channel, pick = connect(client, "facebook", PAGE)
        assert "Acme Coffee" in pick and "Acme Outlet" in pick  # both Pages offered
        assert Channel.objects.count() == 1
        token = channel.get_secret()
        assert token == meta.page_token(PAGE) and token not in channel.secret_encrypted
        assert channel.account_id == PAGE and channel.handle == "Acme Coffee"
        assert channel.settings["user_id"] == "10001"
        assert "pages_manage_posts" in channel.scopes.split()
        # The login's long-lived token (about 60 days): no refresh, a warning ahead of it.
        left = channel.token_expires_at - timezone.now()
        assert dt.timedelta(days=59) < left <= dt.timedelta(days=60)
        assert channel.get_refresh_token() == ""
        screen = client.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/")
    text = screen.content.decode()
    assert "Connected as" in text and "pages_manage_posts" in text


def test_an_instagram_account_is_found_through_its_facebook_page(world, http, fakes):
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, pick = connect(client, "instagram", IG_USER)
        assert "@acmecoffee" in pick and "Acme Outlet" not in pick  # no Instagram linked
        assert channel.handle == "@acmecoffee"
        assert channel.settings["page_id"] == PAGE
        assert channel.get_secret() == fakes.meta.page_token(PAGE)
        assert "instagram_content_publish" in channel.scopes.split()


def test_threads_connects_without_pkce_and_its_long_lived_token_refreshes_ahead_of_expiry(
        world, http, fakes):
    meta = fakes.meta
    client = http(world.acme.host, _manager(world.acme))
    url = start(client, "threads")
    assert url.startswith(f"{meta.url}/oauth/authorize?")
    assert "code_challenge" not in query(url)
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, "threads", THREADS_USER)
        first = channel.get_secret()
        assert meta.tokens[first]["kind"] == "threads" and channel.handle == "@acme.coffee"
        assert channel.token_expires_at - timezone.now() > dt.timedelta(days=59)
        # Not due yet: the job leaves it alone.
        connected.tokens_check_all()
        channel.refresh_from_db()
        assert channel.get_secret() == first
        # Six days before it expires, the job refreshes it (th_refresh_token).
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(days=6))
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    renewed = channel.get_secret()
    assert renewed != first and meta.tokens[renewed]["subject"] == THREADS_USER
    assert channel.token_expires_at - timezone.now() > dt.timedelta(days=59)
    assert not channel.needs_reconnect


def test_a_linkedin_member_picks_an_organization_and_its_tokens_refresh(world, http, fakes):
    linkedin = fakes.linkedin
    client = http(world.acme.host, _manager(world.acme))
    url = start(client, "linkedin")
    assert url.startswith(f"{linkedin.url}/oauth/v2/authorization?")
    assert "code_challenge" not in query(url)  # LinkedIn takes no PKCE from web apps
    with schema_context(world.acme.client.schema_name):
        channel, pick = connect(client, "linkedin", ORGANIZATION)
        assert "Acme Coffee" in pick and "Acme Roastery" in pick
        assert channel.settings["organization_urn"] == f"urn:li:organization:{ORGANIZATION}"
        assert channel.get_refresh_token() and channel.get_refresh_token() \
            not in channel.refresh_encrypted
        assert "w_organization_social" in channel.scopes.split()
        first = channel.get_secret()
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(hours=12))
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.get_secret() != first and not channel.needs_reconnect


def _linkedin_channel_due(world, http, fakes) -> Channel:
    """A LinkedIn page connected through the flow, its token due for the hourly refresh."""
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, "linkedin", ORGANIZATION)
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(hours=12))
        channel.refresh_from_db()
    return channel


def test_a_linkedin_token_endpoint_that_is_down_leaves_the_channel_connected_until_it_is_back(
        world, http, fakes, settings):
    from tests.conftest import free_port

    channel = _linkedin_channel_due(world, http, fakes)
    first, refresh = channel.get_secret(), channel.get_refresh_token()
    settings.NETWORK_BASE_URLS = {**settings.NETWORK_BASE_URLS,
                                  "linkedin_www": f"http://127.0.0.1:{free_port()}"}  # no one
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert not channel.needs_reconnect and channel.reconnect_reason == ""
    assert channel.get_secret() == first and channel.get_refresh_token() == refresh
    settings.NETWORK_BASE_URLS = {**settings.NETWORK_BASE_URLS,
                                  "linkedin_www": fakes.linkedin.url}  # back: the next run
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.get_secret() != first and not channel.needs_reconnect


def test_a_linkedin_refresh_token_refused_with_invalid_grant_asks_for_reconnection(
        world, http, fakes):
    channel = _linkedin_channel_due(world, http, fakes)
    with schema_context(world.acme.client.schema_name):
        channel.set_refresh_token("AQX-no-longer-valid")
        channel.save()
    connected.tokens_check_all()
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert channel.needs_reconnect
    assert "HTTP 400, invalid_grant" in channel.reconnect_reason
    assert "refresh token is invalid or expired" in channel.reconnect_reason


def test_the_demo_sandbox_runs_meta_and_linkedin_with_apps_that_connect(world, http, settings):
    from agency.demo.fakes import demo_env, load_all

    sandbox = load_all()
    assert (sandbox["meta"].port, sandbox["linkedin"].port) == (9103, 9104)
    env = demo_env()
    urls = json.loads(env["NETWORK_BASE_URLS"])
    assert {key: urls[key] for key in ("facebook_graph", "facebook_www", "threads_graph",
                                       "threads_www")} == dict.fromkeys(
        ("facebook_graph", "facebook_www", "threads_graph", "threads_www"),
        "http://127.0.0.1:9103")
    assert urls["linkedin_api"] == urls["linkedin_www"] == "http://127.0.0.1:9104"
    # The demo's fakes (on free ports here) know the OAuth apps the demo gives the platform.
    with sandbox["meta"].make() as meta, sandbox["linkedin"].make() as linkedin:
        settings.NETWORK_BASE_URLS = {key: (meta.url if value.endswith(":9103") else
                                            linkedin.url if value.endswith(":9104") else value)
                                      for key, value in urls.items()}
        settings.OAUTH_CLIENTS = {
            network: {"client_id": env[f"OAUTH_{network.upper()}_CLIENT_ID"],
                      "client_secret": env[f"OAUTH_{network.upper()}_CLIENT_SECRET"]}
            for network in ("facebook", "instagram", "threads", "linkedin")}
        client = http(world.acme.host, _manager(world.acme))
        screen = client.get("/admin/channels/connect/").content.decode()
        for network in ("facebook", "instagram", "threads", "linkedin"):
            label = {"linkedin": "LinkedIn"}.get(network, network.capitalize())
            assert f"Connect {label}" in screen
            back = answer_consent(network, start(client, network))
            callback = client.get(local(back))
            assert callback.status_code == 302, callback.content.decode()[:2000]
            assert "/admin/channels/connect/pick/" in callback["Location"]


@pytest.mark.parametrize("network", ["facebook", "instagram", "threads", "linkedin"])
def test_a_declined_consent_is_explained_and_saves_nothing(world, http, fakes, network):
    client = http(world.acme.host, _manager(world.acme))
    back = answer_consent(network, start(client, network), allow=False)
    expected = "user_cancelled_authorize" if network == "linkedin" else "access_denied"
    assert query(back)["error"] == expected
    response = client.get(local(back))
    text = response.content.decode()
    label = {"linkedin": "LinkedIn"}.get(network, network.capitalize())
    assert f"{label} access was not given" in text and "declined" in text
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.exists()


def test_metas_long_lived_login_is_warned_about_once_ahead_of_its_expiry(world, http, fakes):
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        channel, _ = connect(client, "facebook", PAGE)
        Channel.objects.filter(pk=channel.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(days=5))
    mail.outbox.clear()
    connected.tokens_check_all()
    connected.tokens_check_all()
    (email,) = mail.outbox
    assert email.subject.startswith("Reconnect Acme Coffee on Facebook before")
    assert _manager(world.acme).email in email.to
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
    assert not channel.needs_reconnect  # warned, still working


# -- publishing to all four ------------------------------------------------------------------------


def _media_campaign(brand, kit, channels, *, when):
    """A campaign of three posts to ``channels``: one image, a carousel of three, a video."""
    from wagtail.blocks import StreamValue
    from wagtail.documents.models import Document

    from campaigns.models import CampaignPage, Post

    page = make_campaign(kit.schema, title="Autumn", posts=[
        ("One cup of autumn", channels, when, kit.image),
        ("Three cups of autumn", channels, when, None),
        ("Watch the autumn pour", channels, when, None)])
    with schema_context(kit.schema):
        cups = [ImageFactory(brand=brand, title=f"Cup {n}", size=(64, 64))
                for n in range(3)]
        video = Document.objects.create(title="Pour", file=ContentFile(CLIP, name="pour.mp4"))
        page = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        block = Post._meta.get_field("media").stream_block
        one, carousel, film = page.posts.all()
        page.posts = [
            Post(copy=one.copy, channels=channels, publish_at=when, media=one.media),
            Post(copy=carousel.copy, channels=channels, publish_at=when, media=StreamValue(
                block, [("image", {"image": cup, "alt_text": f"Cup number {n}"})
                        for n, cup in enumerate(cups)])),
            Post(copy=film.copy, channels=channels, publish_at=when, media=StreamValue(
                block, [("video", {"video": video,
                                   "description": "Milk poured into a flat white"})]))]
        page.save_revision()
    return approve(kit.schema, page)


def _send_due() -> list:
    return [worker.deliver(pk, claim) for pk, claim in transitions.claim_due()]


def _make_due(deliveries) -> None:
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now())


def test_a_campaign_with_images_a_carousel_and_a_video_goes_out_to_all_four_exactly_once(
        world, kit, http, fakes, settings, monkeypatch, live_server_url):
    meta, linkedin = fakes.meta, fakes.linkedin
    settings.AGENCY_PORT = str(live_server_url)  # Instagram and Threads fetch the media here
    monkeypatch.setattr(graph, "CONTAINER_POLL", 0.01)
    monkeypatch.setattr(linkedin_adapter, "PROCESSING_POLL", 0.01)
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(kit.schema):
        channels = [connect(client, network, account)[0] for network, account in (
            ("facebook", PAGE), ("instagram", IG_USER), ("threads", THREADS_USER),
            ("linkedin", ORGANIZATION))]
    deliveries = _media_campaign(world.acme, kit, channels, when=kit.soon)
    assert len(deliveries) == 12
    _make_due(deliveries)
    outcomes = _send_due()
    states = dict(Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
                  .values_list("pk", "error"))
    assert outcomes == [Outcome.PUBLISHED] * 12, states
    _make_due(deliveries)
    assert _send_due() == []  # nothing is sent twice

    # Facebook: a photo, one post of three photos, a video.
    posts = meta.page_posts(PAGE)
    assert sorted(p["message"] for p in posts) == [
        "One cup of autumn", "Three cups of autumn", "Watch the autumn pour"]
    carousel = next(p for p in posts if p["message"] == "Three cups of autumn")
    assert [meta.objects[i]["alt"] for i in carousel["photos"]] == [
        "Cup number 0", "Cup number 1", "Cup number 2"]
    videos = [o for o in meta.objects.values() if o["kind"] == "video"]
    assert [v["size"] for v in videos] == [len(CLIP)]
    # Instagram: an image, a carousel, a Reel.
    on_instagram = {p["caption"]: p for p in meta.ig_posts()}
    assert {caption: p["media_type"] for caption, p in on_instagram.items()} == {
        "One cup of autumn": "IMAGE", "Three cups of autumn": "CAROUSEL",
        "Watch the autumn pour": "REELS"}
    assert on_instagram["Three cups of autumn"]["children"] == ["IMAGE"] * 3
    assert on_instagram["Three cups of autumn"]["alt_texts"] == [
        "Cup number 0", "Cup number 1", "Cup number 2"]
    # Threads: the same three.
    assert sorted(p["text"] for p in meta.threads_posts()) == [
        "One cup of autumn", "Three cups of autumn", "Watch the autumn pour"]
    assert sorted(p["media_type"] for p in meta.threads_posts()) == [
        "CAROUSEL", "IMAGE", "VIDEO"]
    # LinkedIn: an image, a multi-image post, a video; each post's URN recorded.
    shown = {linkedin.shown_text(p): p for p in linkedin.posts}
    assert sorted(shown) == ["One cup of autumn", "Three cups of autumn",
                             "Watch the autumn pour"]
    content = {text: post["content"] for text, post in shown.items()}
    assert len(content["Three cups of autumn"]["multiImage"]["images"]) == 3
    assert content["Watch the autumn pour"]["media"]["id"].startswith("urn:li:video:")
    remote = set(Delivery.objects.filter(channel_id=channels[3].pk)
                 .values_list("remote_id", flat=True))
    assert remote == {p["id"] for p in linkedin.posts}
    # Each text once on each of Meta's three networks (the fake counts them together), once
    # on LinkedIn.
    assert dict(meta.posts_per_text) == dict.fromkeys(
        ("One cup of autumn", "Three cups of autumn", "Watch the autumn pour"), 3)
    assert linkedin.duplicates() == {}
    assert set(Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
               .values_list("state", flat=True)) == {State.PUBLISHED}


# -- an expired token, caught before the post's time, and reconnecting -----------------------------


def test_an_expired_token_holds_the_channels_posts_shows_reconnect_and_reconnecting_sends_once(
        world, kit, http, fakes, django_capture_on_commit_callbacks):
    meta = fakes.meta
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(kit.schema):
        channel, _ = connect(client, "facebook", PAGE)
    now = timezone.now()
    early = make_campaign(kit.schema, title="Early", posts=[
        ("Doors open at eight", [channel], now + dt.timedelta(hours=1), None)])
    (first,) = approve(kit.schema, early)
    later = make_campaign(kit.schema, title="Later", posts=[
        ("Late-night roast", [channel], now + dt.timedelta(hours=5), None)])
    (second,) = approve(kit.schema, later)
    meta.expire(channel.get_secret())  # Meta stops taking the Page's token
    mail.outbox.clear()

    # The first send finds it out; the later post is held before its time, not failed.
    _make_due([first])
    with django_capture_on_commit_callbacks(execute=True):
        assert _send_due() == [Outcome.WAITING]
    for delivery in (first, second):
        delivery.refresh_from_db()
        assert delivery.state == State.SCHEDULED
    assert meta.page_posts(PAGE) == []
    with schema_context(kit.schema):
        channel.refresh_from_db()
        assert channel.needs_reconnect and "Session has expired" in channel.reconnect_reason
        screen = client.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/")
    text = screen.content.decode()
    assert "Needs reconnect" in text and "2 scheduled posts" in text
    assert f'/admin/channels/connect/?channel={channel.pk}' in text  # the Reconnect button
    assert [m for m in mail.outbox if "Reconnect" in m.subject]
    _make_due([first, second])
    assert transitions.claim_due() == []  # held while it needs reconnecting

    # Reconnecting through the consent screen lets both go, each once.
    with schema_context(kit.schema):
        reconnected, _ = connect(client, "facebook", PAGE, channel=channel.pk)
        assert reconnected.pk == channel.pk and not reconnected.needs_reconnect
        assert reconnected.get_secret() != channel.get_secret()
    assert not ReconnectWait.objects.filter(client=world.acme.client,
                                            channel_id=channel.pk).exists()
    _make_due([first, second])
    assert sorted(_send_due()) == [Outcome.PUBLISHED, Outcome.PUBLISHED]
    assert _send_due() == []
    assert sorted(p["message"] for p in meta.page_posts(PAGE)) == [
        "Doors open at eight", "Late-night roast"]
    assert meta.duplicates() == {}


def test_the_hourly_job_finds_a_token_meta_stopped_taking_before_the_posts_time(
        world, kit, http, fakes, django_capture_on_commit_callbacks):
    """A token revoked long before its expiry (a password change, a removed admin) is found by
    the token job asking Meta, hours ahead of the post: shown for reconnection, nothing sent,
    nothing failed. A channel with nothing due soon is not asked."""
    meta = fakes.meta
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(kit.schema):
        channel, _ = connect(client, "facebook", PAGE)
        idle, _ = connect(client, "facebook", "20002")
    campaign = make_campaign(kit.schema, title="Tonight", posts=[
        ("Late-night roast", [channel], timezone.now() + dt.timedelta(hours=5), None)])
    (delivery,) = approve(kit.schema, campaign)

    before = meta.count("GET", "/me")
    connected.tokens_check_all()  # the token works: nothing changes
    with schema_context(kit.schema):
        channel.refresh_from_db()
        assert not channel.needs_reconnect
    assert meta.count("GET", "/me") == before + 1  # the channel with a post due, only

    meta.expire(channel.get_secret())
    meta.expire(idle.get_secret())
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        connected.tokens_check_all()
    delivery.refresh_from_db()
    assert delivery.state == State.SCHEDULED  # waiting, not failed
    assert meta.page_posts(PAGE) == []
    with schema_context(kit.schema):
        channel.refresh_from_db()
        idle.refresh_from_db()
        assert channel.needs_reconnect and "Reconnect" in channel.reconnect_reason
        assert not idle.needs_reconnect  # nothing due: not asked, found at its next send
        screen = client.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/")
    assert "Needs reconnect" in screen.content.decode()
    (email,) = [m for m in mail.outbox if m.subject.startswith("Reconnect")]
    assert "Acme Coffee" in email.subject
    _make_due([delivery])
    assert transitions.claim_due() == []  # held until someone reconnects


# -- disconnecting ---------------------------------------------------------------------------------


def test_disconnecting_revokes_at_the_network_unless_another_channel_uses_the_login(
        world, http, fakes):
    meta, linkedin = fakes.meta, fakes.linkedin
    client = http(world.acme.host, _manager(world.acme))
    with schema_context(world.acme.client.schema_name):
        page, _ = connect(client, "facebook", PAGE)
        instagram, _ = connect(client, "instagram", IG_USER)
        organization, _ = connect(client, "linkedin", ORGANIZATION)
        token = organization.get_secret()
        # Instagram still posts through the same Facebook login: it is not revoked.
        client.post(f"/admin/channels/{page.pk}/disconnect/")
        assert meta.revoked == []
        client.post(f"/admin/channels/{instagram.pk}/disconnect/")
        assert meta.revoked == ["10001"]
        client.post(f"/admin/channels/{organization.pk}/disconnect/")
        assert linkedin.revoked == [token]
        for channel in (page, instagram, organization):
            channel.refresh_from_db()
            assert channel.get_secret() == "" and channel.needs_reconnect


# -- isolation -------------------------------------------------------------------------------------


def test_another_brand_cannot_use_a_connected_channels_urls(world, http, fakes):
    acme, globex = world.acme, world.globex
    client = http(acme.host, _manager(acme))
    with schema_context(acme.client.schema_name):
        channel, _ = connect(client, "facebook", PAGE)
    token = channel.get_secret()
    other = http(globex.host, _manager(globex))
    assert other.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/").status_code \
        in (302, 404)
    assert other.get(f"/admin/channels/{channel.pk}/disconnect/").status_code == 404
    assert other.post(f"/admin/channels/{channel.pk}/disconnect/").status_code == 404
    assert other.post("/admin/channels/connect/", {"network": "facebook",
                                                   "channel": channel.pk}).status_code == 404
    # A person who manages both brands cannot finish Acme's connection on Globex's host.
    user = _manager(acme)
    MemberFactory(client=globex.client, role=Role.ACCOUNT_MANAGER, user=user)
    back = meta_consent(start(client, "instagram"))
    refused = client.get(local(back), HTTP_HOST=globex.host)
    assert refused.status_code == 400 and "another brand" in refused.content.decode()
    # Nor pick, on Globex's host, an account Acme's consent gave.
    back = meta_consent(start(client, "instagram"))
    waiting = client.get(local(back))["Location"]
    picked = client.post("/admin/channels/connect/pick/", {
        "pick": query(waiting)["pick"], "account": IG_USER}, HTTP_HOST=globex.host)
    assert picked.status_code == 400
    assert "no account waiting to be picked here" in picked.content.decode()
    with schema_context(globex.client.schema_name):
        assert not Channel.objects.exists()
    assert fakes.meta.revoked == []
    with schema_context(acme.client.schema_name):
        channel.refresh_from_db()
        assert channel.get_secret() == token and not channel.needs_reconnect
