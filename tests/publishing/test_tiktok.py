"""TikTok creator accounts: the adapter and the OAuth provider against a local TikTok
(agency/demo/fakes/tiktok.py) that answers as TikTok's developer references say: what arrives on
the account, with which privacy and interactions, and what staff are told when it does not."""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tenants.utils import tenant_context

from agency.demo.fakes.tiktok import FakeTikTok
from campaigns import connections, networks
from campaigns.connections import ConnectionError_
from campaigns.providers.tiktok import provider
from campaigns.publishing.adapters import (
    Image,
    NeedsReconnect,
    Outgoing,
    Permanent,
    Transient,
    Unknown,
    Video,
    for_channel,
)
from campaigns.publishing.adapters import tiktok as adapter_module
from campaigns.publishing.adapters.tiktok import TikTokAdapter, chunks
from tests.factories import ChannelFactory

OPEN_ID = "_000acmeOpenId"
TIMEOUT = 0.5
MB = 1024 * 1024
CLIP = Video(data=b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40, mime_type="video/mp4",
             name="pour.mp4", description="A barista pours a leaf into a flat white")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"cup" * 200
_ids = itertools.count(1)


def outgoing(text="Latte art, slowly #coffee", *, options=None, **extra) -> Outgoing:
    """A post; ``options`` are its TikTok options (as approved)."""
    extra.setdefault("videos", [CLIP])
    return Outgoing(idempotency_key=f"tiktok-{next(_ids)}", text=text, campaign_title="Autumn",
                    options=options or {}, **extra)


@pytest.fixture
def tiktok(settings, monkeypatch):
    with FakeTikTok(client_key="tt-app", client_secret="tt-secret", hang_seconds=3) as fake:
        settings.NETWORK_BASE_URLS = {"tiktok_api": fake.url, "tiktok_www": fake.url}
        settings.OAUTH_CLIENTS = {"tiktok": {"client_id": "tt-app", "client_secret": "tt-secret"}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        settings.TIKTOK_APP_AUDITED = False
        monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
        yield fake


def channel_for(fake: FakeTikTok, token: str | None = None, **extra):
    channel = ChannelFactory.build(name="Acme on TikTok", network="tiktok", handle="@acmecoffee",
                                   secret=token if token is not None else fake.issue_token(),
                                   **extra)
    channel.account_id = OPEN_ID
    return channel


def adapter(fake: FakeTikTok, token: str | None = None) -> TikTokAdapter:
    return TikTokAdapter(channel_for(fake, token), timeout=TIMEOUT)


def made(fake: FakeTikTok) -> list[dict]:
    return fake.posts


# -- publishing a video ---------------------------------------------------------------------------


def test_a_video_goes_out_privately_from_an_unaudited_app_after_reading_the_creators_options(
        tiktok):
    published = for_channel(channel_for(tiktok), timeout=TIMEOUT).publish(outgoing())

    [post] = made(tiktok)
    assert post["title"] == "Latte art, slowly #coffee" and post["data"] == CLIP.data
    assert post["privacy_level"] == "SELF_ONLY" and post["post_id"] == ""
    # a private post has no public id: the publish is its record, the profile its address
    assert published.remote_id == "tiktok-publish:" + post["publish_id"]
    assert published.url == "https://www.tiktok.com/@acmecoffee"
    paths = [path for method, path in tiktok.requests if method == "POST"]
    assert paths.index("/v2/post/publish/creator_info/query/") \
        < paths.index("/v2/post/publish/video/init/")


def test_an_audited_app_posts_publicly_and_the_posts_address_is_recorded(tiktok, settings):
    settings.TIKTOK_APP_AUDITED = True
    tiktok.audited = True
    published = adapter(tiktok).publish(outgoing(options={"privacy_level":
                                                          "PUBLIC_TO_EVERYONE"}))
    [post] = made(tiktok)
    assert post["privacy_level"] == "PUBLIC_TO_EVERYONE"
    assert published.remote_id == post["post_id"]
    assert published.url == f"https://www.tiktok.com/@acmecoffee/video/{post['post_id']}"


def test_a_big_video_is_sent_in_chunks_with_content_range_in_order(tiktok, monkeypatch):
    monkeypatch.setattr(adapter_module, "CHUNK", 5 * MB)
    data = bytes(range(256)) * (12 * MB // 256)
    video = Video(data=data, mime_type="video/mp4", name="long.mp4", description="")
    adapter(tiktok).publish(outgoing(videos=[video]))
    [post] = made(tiktok)
    assert post["data"] == data and (post["chunk"], post["count"]) == (5 * MB, 2)
    assert tiktok.count("PUT", "/upload/") == 2


def test_chunks_follow_tiktoks_media_transfer_rules():
    assert chunks(3 * MB) == (3 * MB, [(0, 3 * MB - 1)])  # under 5 MB: whole
    size = 25 * MB + 7
    chunk_size, ranges = chunks(size)
    assert chunk_size == 10 * MB and len(ranges) == size // chunk_size
    assert ranges[-1] == (10 * MB, size - 1)  # the last one takes the trailing bytes


def test_the_posts_interaction_options_go_out_and_what_the_creator_switched_off_stays_off(
        tiktok):
    tiktok.comment_disabled = True
    adapter(tiktok).publish(outgoing(options={"privacy_level": "SELF_ONLY",
                                              "disable_duet": True}))
    [post] = made(tiktok)
    assert (post["disable_comment"], post["disable_duet"], post["disable_stitch"]) == (
        True, True, False)


def test_the_channels_copy_of_the_creators_options_is_refreshed_at_each_post(tiktok):
    channel = channel_for(tiktok, settings={"privacy_levels": [{"id": "SELF_ONLY",
                                                                "name": "Only me"}]})
    tiktok.privacy_levels = ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    tiktok.max_video_seconds = 180
    TikTokAdapter(channel, timeout=TIMEOUT).publish(outgoing())
    assert [level["id"] for level in channel.settings["privacy_levels"]] == [
        "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    assert channel.settings["max_video_post_duration_sec"] == 180


def test_a_privacy_level_the_account_no_longer_offers_is_refused_before_anything_is_sent(
        tiktok, settings):
    settings.TIKTOK_APP_AUDITED = True
    tiktok.privacy_levels = ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    with pytest.raises(Permanent, match="no longer offers “Everyone”.*Followers"):
        adapter(tiktok).publish(outgoing(options={"privacy_level": "PUBLIC_TO_EVERYONE"}))
    assert tiktok.count("POST", "/init/") == 0 and made(tiktok) == []


def test_an_unaudited_app_asking_for_a_public_post_gets_tiktoks_refusal_in_plain_words(tiktok):
    with pytest.raises(Permanent, match="can only post privately until TikTok audits it"):
        adapter(tiktok).publish(outgoing(options={"privacy_level": "PUBLIC_TO_EVERYONE"}))
    assert made(tiktok) == []


def test_photos_and_a_video_together_are_refused_before_anything_is_sent(tiktok):
    photo = Image(data=JPEG, mime_type="image/jpeg", name="cup.jpg", alt="Cup", file="x.jpg")
    with pytest.raises(Permanent, match="cannot mix photos and a video"):
        adapter(tiktok).publish(outgoing(images=[photo]))
    with pytest.raises(Permanent, match="needs a video or photos"):
        adapter(tiktok).publish(outgoing(videos=[]))
    assert tiktok.requests == []


# -- processing ---------------------------------------------------------------------------------


def test_a_publish_still_processing_is_awaited_until_complete(tiktok):
    tiktok.processing_polls = 3
    adapter(tiktok).publish(outgoing())
    assert len(made(tiktok)) == 1
    assert tiktok.count("POST", "/status/fetch/") == 4


def test_a_publish_still_processing_after_the_wait_is_unknown_not_sent_again(tiktok,
                                                                            monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_WAIT", 0.05)
    tiktok.processing_polls = 10_000
    with pytest.raises(Unknown, match="still processing the post.*looked up"):
        adapter(tiktok).publish(outgoing())


@pytest.mark.parametrize("reason, said, kind", [
    ("duration_check_failed", "longer than this account may post", Permanent),
    ("spam_risk_text", "judged the caption to be spam", Permanent),
    ("internal", "TikTok failed while processing it", Transient),
])
def test_a_failed_publish_says_tiktoks_reason_plainly(tiktok, reason, said, kind):
    tiktok.fail_publish(reason)
    with pytest.raises(kind, match=said) as failed:
        adapter(tiktok).publish(outgoing())
    assert reason in failed.value.message and made(tiktok) == []


# -- errors -------------------------------------------------------------------------------------


def test_an_expired_token_needs_reconnect_with_tiktoks_code(tiktok):
    token = tiktok.issue_token()
    tiktok.expire(token)
    with pytest.raises(NeedsReconnect, match="access_token_invalid"):
        adapter(tiktok, token).publish(outgoing())


def test_a_rate_limit_is_transient_for_tiktoks_one_minute_window(tiktok):
    token = tiktok.issue_token()
    for number in range(6):  # TikTok: 6 init calls per token per minute
        adapter(tiktok, token).publish(outgoing(f"Post {number}"))
    with pytest.raises(Transient, match="rate_limit_exceeded") as limited:
        adapter(tiktok, token).publish(outgoing("Post 7"))
    assert limited.value.retry_after == 60.0
    assert len(made(tiktok)) == 6


def test_a_retry_after_header_is_honoured_should_one_come(tiktok):
    tiktok.fail_next(1, status=429, retry_after=17, path="/video/init/")
    with pytest.raises(Transient) as limited:
        adapter(tiktok).publish(outgoing())
    assert limited.value.retry_after == 17.0


def test_too_many_posts_today_is_refused_with_the_reason(tiktok):
    tiktok.fail_next(1, status=403, message="spam_risk_too_many_posts", path="/video/init/")
    with pytest.raises(Permanent, match="daily limit of posts.*spam_risk_too_many_posts"):
        adapter(tiktok).publish(outgoing())


def test_a_server_error_on_the_video_init_is_transient_nothing_can_be_posted_without_bytes(
        tiktok):
    tiktok.fail_next(1, status=500, path="/video/init/")
    with pytest.raises(Transient, match="HTTP 500"):
        adapter(tiktok).publish(outgoing())


def test_a_lost_answer_to_the_video_init_is_transient_not_unknown(tiktok):
    tiktok.latency = 1.0  # every answer later than the client waits
    with pytest.raises(Transient, match="no answer from TikTok"):
        adapter(tiktok).publish(outgoing())
    tiktok.latency = 0.0


def test_a_channel_without_an_account_says_to_connect_it(tiktok):
    channel = channel_for(tiktok)
    channel.account_id = ""
    with pytest.raises(Permanent, match="Connect account"):
        TikTokAdapter(channel, timeout=TIMEOUT).publish(outgoing())


def test_tiktok_answers_whether_it_still_takes_the_token_without_posting(tiktok):
    assert adapter(tiktok).check_access() is True
    token = tiktok.issue_token()
    tiktok.expire(token)
    with pytest.raises(NeedsReconnect):
        adapter(tiktok, token).check_access()
    assert made(tiktok) == []


# -- connecting: the provider -------------------------------------------------------------------


def consent(fake: FakeTikTok, decision: str = "allow", state: str = "st4te"):
    redirect_uri = "http://acme.agency.localhost:8000/admin/channels/connect/callback/"
    url = provider.authorization_url(redirect_uri=redirect_uri, state=state, code_verifier="")
    assert "client_key=tt-app" in url and "code_challenge" not in url
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Authorize" in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    answer = requests.post(fake.url + "/v2/auth/authorize/decide",
                           data={**fields, "decision": decision}, allow_redirects=False,
                           timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()}, redirect_uri


def test_consent_exchange_and_the_creator_with_its_posting_options(tiktok):
    query, redirect_uri = consent(tiktok)
    assert query["state"] == "st4te"
    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri)
    assert tokens.access_token and tokens.refresh_token
    lasts = (tokens.expires_at - datetime.now(UTC)).total_seconds()
    assert 23 * 3600 < lasts <= 24 * 3600  # TikTok's access tokens last 24 hours
    assert (tokens.refresh_expires_at - tokens.expires_at).days >= 363
    assert set(tokens.scopes.split()) == set(provider.scopes)

    [account] = provider.accounts(tokens)
    assert (account.id, account.name, account.handle) == (OPEN_ID, "Acme Coffee", "@acmecoffee")
    assert [level["id"] for level in account.settings["privacy_levels"]] == [
        "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    assert account.settings["max_video_post_duration_sec"] == 600


def test_denied_consent_comes_back_as_access_denied_with_the_state(tiktok):
    query, _ = consent(tiktok, decision="deny")
    assert query["error"] == "access_denied" and query["state"] == "st4te"
    assert "code" not in query


def test_consent_without_permission_to_post_is_refused_saying_what_to_tick(tiktok):
    query, redirect_uri = consent(tiktok)
    tiktok._codes[query["code"]]["scope"] = "user.info.basic"
    with pytest.raises(ConnectionError_, match="did not grant permission to post"):
        provider.exchange(code=query["code"], redirect_uri=redirect_uri)


def test_a_code_used_twice_is_refused_with_tiktoks_reason(tiktok):
    query, redirect_uri = consent(tiktok)
    provider.exchange(code=query["code"], redirect_uri=redirect_uri)
    with pytest.raises(ConnectionError_, match="HTTP 400, invalid_grant.*expired or invalid"):
        provider.exchange(code=query["code"], redirect_uri=redirect_uri)


def test_without_an_app_configured_the_provider_says_what_to_set(tiktok, settings):
    settings.OAUTH_CLIENTS = {}
    with pytest.raises(ConnectionError_, match="OAUTH_TIKTOK_CLIENT_ID"):
        provider.exchange(code="x", redirect_uri="http://x/")


def test_refresh_gives_a_working_token_and_keeps_the_refresh_token(tiktok):
    query, redirect_uri = consent(tiktok)
    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri)
    channel = channel_for(tiktok, tokens.access_token)
    channel.set_refresh_token(tokens.refresh_token)
    fresh = provider.refresh(channel)
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token == tokens.refresh_token
    assert 23 * 3600 < (fresh.expires_at - datetime.now(UTC)).total_seconds() <= 24 * 3600


def test_a_token_tiktok_no_longer_takes_is_renewed_once_and_the_post_goes_out(tiktok):
    query, redirect_uri = consent(tiktok)
    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri)
    channel = channel_for(tiktok, tokens.access_token)
    channel.set_refresh_token(tokens.refresh_token)
    tiktok.expire(tokens.access_token)

    TikTokAdapter(channel, timeout=TIMEOUT).publish(outgoing("After the refresh"))
    assert [p["title"] for p in made(tiktok)] == ["After the refresh"]
    assert channel.get_secret() != tokens.access_token  # the renewed token is kept
    assert tiktok.count("POST", "/v2/oauth/token/") == 2  # the consent's, then one renewal


def test_a_token_that_cannot_be_renewed_needs_reconnect_with_tiktoks_reason(tiktok):
    token = tiktok.issue_token()
    channel = channel_for(tiktok, token)
    channel.set_refresh_token("rft.long-gone")
    tiktok.expire(token)
    with pytest.raises(NeedsReconnect, match="refused to renew.*invalid_grant"):
        TikTokAdapter(channel, timeout=TIMEOUT).publish(outgoing())
    assert made(tiktok) == []


def test_a_token_without_permission_to_post_needs_reconnect(tiktok):
    token = tiktok.issue_token(scope="user.info.basic")
    with pytest.raises(NeedsReconnect, match="scope_not_authorized"):
        adapter(tiktok, token).publish(outgoing())


def test_a_refused_refresh_token_is_a_connection_error_with_tiktoks_reason(tiktok):
    channel = channel_for(tiktok)
    channel.set_refresh_token("rft.not-a-real-one")
    with pytest.raises(ConnectionError_, match="invalid_grant.*Refresh token is invalid"):
        provider.refresh(channel)


def test_revoke_makes_the_token_stop_working(tiktok):
    token = tiktok.issue_token()
    channel = channel_for(tiktok, token)
    assert provider.revoke(channel) is True
    assert tiktok.revoked == [token]
    with pytest.raises(NeedsReconnect):
        TikTokAdapter(channel, timeout=TIMEOUT).publish(outgoing())


def test_the_provider_is_registered_under_the_networks_name():
    assert connections.get("tiktok") is provider
    assert networks.get("tiktok").connected


# -- rules --------------------------------------------------------------------------------------


def _problems(**draft) -> list[str]:
    draft.setdefault("options", {"tiktok": {"privacy_level": "SELF_ONLY"}})
    return networks.get("tiktok").problems(networks.PostDraft(**draft))


def test_tiktok_rules_need_media_take_2200_characters_and_its_formats():
    assert any("needs an image or a video" in p for p in _problems(copy="Just words"))
    assert not _problems(copy="x" * 2200, videos=1, video_files=["a.mp4"])
    assert any("allows 2200" in p for p in _problems(copy="x" * 2201, videos=1,
                                                     video_files=["a.mp4"]))
    assert any("takes JPG, JPEG, WEBP images" in p for p in _problems(
        copy="x", images=["A cup"], image_files=["cup.png"]))
    assert not _problems(copy="x", images=["A cup"] * 35, image_files=["cup.webp"] * 35)
    assert any("at most 35 images" in p for p in _problems(copy="x", images=["A"] * 36))


CREATOR = {"privacy_levels": [{"id": "FOLLOWER_OF_CREATOR", "name": "Followers"},
                              {"id": "SELF_ONLY", "name": "Only me (private)"}],
           "max_video_post_duration_sec": 60}


def _check(options: dict, *, seconds=()) -> list[str]:
    draft = networks.PostDraft(copy="Watch the pour", videos=len(seconds),
                               video_seconds=list(seconds), options={"tiktok": options})
    return networks.tiktok_check(draft, CREATOR)


def test_a_post_without_a_privacy_level_is_asked_for_one():
    channel = SimpleNamespace(settings=CREATOR)
    draft = networks.PostDraft(copy="Watch the pour", videos=1, video_files=["pour.mp4"])
    assert "TikTok needs “Who can see it on TikTok”: choose one." in \
        networks.get("tiktok").problems(draft, channel)
    chosen = networks.PostDraft(copy="Watch the pour", videos=1, video_files=["pour.mp4"],
                                options={"tiktok": {"privacy_level": "SELF_ONLY"}})
    assert networks.get("tiktok").problems(chosen, channel) == []


def test_the_editor_says_an_unaudited_app_can_only_post_privately(settings):
    settings.TIKTOK_APP_AUDITED = False
    assert any("can only post privately until TikTok audits it" in p
               for p in _check({"privacy_level": "FOLLOWER_OF_CREATOR"}))
    assert _check({"privacy_level": "SELF_ONLY"}) == []
    settings.TIKTOK_APP_AUDITED = True
    assert _check({"privacy_level": "FOLLOWER_OF_CREATOR"}) == []


def test_the_editor_checks_the_post_against_the_creators_options(settings):
    settings.TIKTOK_APP_AUDITED = True
    [offered] = _check({"privacy_level": "PUBLIC_TO_EVERYONE"})
    assert "does not offer “Everyone”" in offered and "Followers, Only me" in offered
    [branded] = _check({"privacy_level": "SELF_ONLY", "brand_content_toggle": True})
    assert "branded content" in branded
    [long] = _check({"privacy_level": "SELF_ONLY"}, seconds=[75.0])
    assert "up to 60 s; video 1 runs 75 s" in long


# -- unknown outcomes: the recorded publish ----------------------------------------------------


@pytest.fixture
def tiktok_channel(world, tiktok):
    channel = ChannelFactory(brand=world.acme, name="Acme on TikTok", network="tiktok",
                             handle="@acmecoffee", secret=tiktok.issue_token())
    with tenant_context(world.acme.client):
        channel.account_id = OPEN_ID
        channel.save()
    return channel


def _delivery(world, channel):
    from tests.factories import DeliveryFactory

    return DeliveryFactory(brand=world.acme, channel=channel, copy="Latte art, slowly")


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["accept_then_hang", "accept_then_drop"])
def test_a_lost_answer_to_the_last_chunk_is_unknown_and_find_asks_about_the_recorded_publish(
        world, tiktok, tiktok_channel, fault):
    delivery = _delivery(world, tiktok_channel)
    getattr(tiktok, fault)(1)
    post = outgoing(delivery_id=delivery.pk)
    with tenant_context(world.acme.client):
        with pytest.raises(Unknown):
            TikTokAdapter(tiktok_channel, timeout=TIMEOUT).publish(post)
        [on_tiktok] = made(tiktok)
        delivery.refresh_from_db()
        assert delivery.remote_id == "tiktok-publish:" + on_tiktok["publish_id"]
        found = TikTokAdapter(tiktok_channel, timeout=TIMEOUT).find(post, since=None)
    assert found.remote_id == "tiktok-publish:" + on_tiktok["publish_id"]


@pytest.mark.django_db
def test_find_says_not_there_for_a_failed_publish_and_unknown_while_processing(
        world, tiktok, tiktok_channel, monkeypatch):
    delivery = _delivery(world, tiktok_channel)
    post = outgoing(delivery_id=delivery.pk)
    monkeypatch.setattr(adapter_module, "PROCESSING_WAIT", 0.05)
    tiktok.processing_polls = 10_000
    with tenant_context(world.acme.client):
        with pytest.raises(Unknown):
            TikTokAdapter(tiktok_channel, timeout=TIMEOUT).publish(post)
        with pytest.raises(Unknown, match="still processing"):
            TikTokAdapter(tiktok_channel, timeout=TIMEOUT).find(post, since=None)
        [publish] = tiktok.publishes.values()
        publish.update(status="FAILED", fail_reason="internal")
        assert TikTokAdapter(tiktok_channel, timeout=TIMEOUT).find(post, since=None) is None


@pytest.mark.django_db
def test_a_new_attempt_forgets_the_publish_of_the_one_before(world, tiktok, tiktok_channel):
    from campaigns.publishing.models import Delivery

    delivery = _delivery(world, tiktok_channel)
    Delivery.objects.filter(pk=delivery.pk).update(remote_id="tiktok-publish:v_pub_file~old")
    tiktok.fail_next(1, status=500, path="/video/init/")
    post = outgoing(delivery_id=delivery.pk)
    with tenant_context(world.acme.client):
        with pytest.raises(Transient):
            TikTokAdapter(tiktok_channel, timeout=TIMEOUT).publish(post)
        delivery.refresh_from_db()
        assert delivery.remote_id == ""
        assert TikTokAdapter(tiktok_channel, timeout=TIMEOUT).find(post, since=None) is None
    assert tiktok.count("POST", "/status/fetch/") == 0  # the old publish is not asked about


@pytest.mark.django_db
def test_find_for_a_video_whose_init_never_answered_is_none(world, tiktok, tiktok_channel):
    delivery = _delivery(world, tiktok_channel)
    with tenant_context(world.acme.client):
        post = outgoing(delivery_id=delivery.pk)
        assert TikTokAdapter(tiktok_channel, timeout=TIMEOUT).find(post, since=None) is None


# -- photos: fetched by TikTok from signed links on the brand's host ---------------------------


@pytest.fixture
def acme_photos(world, live_server_url, settings, django_db_blocker):
    settings.AGENCY_PORT = str(live_server_url)
    with django_db_blocker.unblock(), tenant_context(world.acme.client):
        names = [default_storage.save("tiktok-tests/cup.jpg", ContentFile(JPEG)),
                 default_storage.save("tiktok-tests/beans.jpg", ContentFile(JPEG[::-1]))]
        yield names
        for name in names:
            default_storage.delete(name)


def _photos(names) -> list[Image]:
    return [Image(data=b"", mime_type="image/jpeg", name=name.rsplit("/", 1)[-1], alt="",
                  file=name) for name in names]


@pytest.mark.django_db
def test_photos_are_fetched_by_tiktok_from_signed_links_and_posted_in_order(
        world, tiktok, tiktok_channel, acme_photos):
    with tenant_context(world.acme.client):
        published = TikTokAdapter(tiktok_channel, timeout=5).publish(
            outgoing("Two cups", videos=[], images=_photos(acme_photos)))
    [post] = made(tiktok)
    assert post["media_type"] == "PHOTO" and post["photos"] == [JPEG, JPEG[::-1]]
    assert post["description"] == "Two cups" and post["title"] == "Autumn"
    assert all("/media-link/" in f["url"] and "cup" not in f["url"] for f in tiktok.fetched)
    assert published.remote_id == "tiktok-publish:" + post["publish_id"]


@pytest.mark.django_db
def test_a_photo_that_cannot_be_fetched_fails_with_the_reason(world, tiktok, tiktok_channel,
                                                              acme_photos):
    photos = _photos(acme_photos)
    gone = Image(data=b"", mime_type="image/jpeg", name="gone.jpg", alt="", file="nope.jpg")
    with tenant_context(world.acme.client), pytest.raises(Transient,
                                                           match="could not download a photo"):
        TikTokAdapter(tiktok_channel, timeout=5).publish(
            outgoing("Gone", videos=[], images=[photos[0], gone]))
    assert made(tiktok) == []


# A photo post's init whose answer is lost: the links of the send tell. The web server that
# serves them (live_server_url) is another process, so these tests commit their delivery (and
# delete it after) instead of running in the test's transaction.


@pytest.fixture
def committed_delivery(world, django_db_blocker):
    """A bare TikTok delivery of acme, committed so the media link view sees its links."""
    from django.utils import timezone

    from campaigns.publishing.models import Delivery

    with django_db_blocker.unblock():
        now = timezone.now()
        delivery = Delivery.objects.create(
            client=world.acme.client, schema_name=world.acme.client.schema_name, page_id=0,
            revision_id=0, post_id=0, post_number=1, channel_id=0, network="tiktok",
            channel_name="Acme on TikTok", campaign_title="Autumn", content={},
            content_hash="-", idempotency_key=f"tiktok-pull-test-{next(_ids)}",
            publish_at=now, next_attempt_at=now)
        yield delivery
        delivery.delete()


def _send(world, fake, post, *, timeout=1.5):
    with tenant_context(world.acme.client):
        return TikTokAdapter(channel_for(fake), timeout=timeout).publish(post)


def _find(world, fake, post):
    with tenant_context(world.acme.client):
        return TikTokAdapter(channel_for(fake), timeout=TIMEOUT).find(post, since=None)


def _settled(fake, count=1, seconds=5.0):
    """Wait for TikTok's background downloads: ``count`` publishes no longer downloading."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with fake.lock:
            done = [p for p in fake.publishes.values() if not p.get("downloading")]
        if len(done) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("TikTok did not finish fetching the photos")


@pytest.mark.parametrize("fault", ["accept_then_hang", "accept_then_drop"])
def test_a_photo_post_whose_start_was_not_answered_is_published_once_tiktok_fetched_its_photos(
        world, tiktok, acme_photos, committed_delivery, django_db_blocker, fault):
    getattr(tiktok, fault)(1)
    post = outgoing("Two cups", videos=[], images=_photos(acme_photos),
                    delivery_id=committed_delivery.pk)
    with django_db_blocker.unblock():
        with pytest.raises(Unknown, match="may have been made"):
            _send(world, tiktok, post)
        _settled(tiktok)
        found = _find(world, tiktok, post)
        committed_delivery.refresh_from_db()
    [on_tiktok] = made(tiktok)  # it went out, from this send's links, each fetched once
    assert on_tiktok["photos"] == [JPEG, JPEG[::-1]] and len(tiktok.fetched) == 2
    assert committed_delivery.remote_id.startswith("tiktok-pull:")
    assert found.remote_id == committed_delivery.remote_id
    assert found.url == "https://www.tiktok.com/@acmecoffee"
    assert tiktok.count("POST", "/content/init/") == 1


def test_a_photo_post_tiktok_took_but_has_not_fetched_yet_is_asked_about_again(
        world, tiktok, acme_photos, committed_delivery, django_db_blocker):
    tiktok.accept_then_drop(1)
    tiktok.pull_delay = 1.0
    post = outgoing("Slow cups", videos=[], images=_photos(acme_photos),
                    delivery_id=committed_delivery.pk)
    with django_db_blocker.unblock():
        with pytest.raises(Unknown):
            _send(world, tiktok, post)
        with pytest.raises(Unknown, match="has not fetched all its photos yet"):
            _find(world, tiktok, post)
        _settled(tiktok)
        assert _find(world, tiktok, post).remote_id.startswith("tiktok-pull:")
    assert len(made(tiktok)) == 1


def test_a_photo_post_tiktok_never_took_is_sent_again_once_its_links_expired_unfetched(
        world, tiktok, acme_photos, committed_delivery, django_db_blocker, settings):
    from campaigns.publishing.models import MediaPull

    settings.PUBLISHING_MEDIA_LINK_SECONDS = 2
    tiktok.fail_next(1, status=502, path="/content/init/")  # answered 502, nothing taken
    post = outgoing("Never taken", videos=[], images=_photos(acme_photos),
                    delivery_id=committed_delivery.pk)
    with django_db_blocker.unblock():
        with pytest.raises(Unknown, match="may have been made"):
            _send(world, tiktok, post)
        with pytest.raises(Unknown, match="has not fetched"):  # its links still work: wait
            _find(world, tiktok, post)
        links = list(MediaPull.objects.filter(delivery=committed_delivery))
        time.sleep(2.2)
        assert _find(world, tiktok, post) is None  # expired unfetched: nothing can come of it
        assert not MediaPull.objects.filter(pk__in=[p.pk for p in links]).exists()
        published = _send(world, tiktok, post, timeout=5)  # the retry, with links of its own
    assert len(links) == 2 and tiktok.fetched and made(tiktok)[0]["description"] == "Never taken"
    assert published.remote_id == "tiktok-publish:" + made(tiktok)[0]["publish_id"]
    assert len(made(tiktok)) == 1 and tiktok.count("POST", "/content/init/") == 2


def test_a_photo_post_whose_photos_tiktok_fetched_only_in_part_is_sent_again(
        world, tiktok, acme_photos, committed_delivery, django_db_blocker, settings):
    """TikTok needs every photo: one link that cannot be fetched ends its publish FAILED, so a
    send with a link expired unfetched is not there even though another link was fetched."""
    settings.PUBLISHING_MEDIA_LINK_SECONDS = 2
    tiktok.accept_then_drop(1)
    gone = Image(data=b"", mime_type="image/jpeg", name="gone.jpg", alt="", file="nope.jpg")
    post = outgoing("Half", videos=[], images=[*_photos(acme_photos)[:1], gone],
                    delivery_id=committed_delivery.pk)
    with django_db_blocker.unblock():
        with pytest.raises(Unknown):
            _send(world, tiktok, post)
        _settled(tiktok)
        time.sleep(2.2)
        assert _find(world, tiktok, post) is None
    [publish] = tiktok.publishes.values()
    assert publish["fail_reason"] == "photo_pull_failed" and made(tiktok) == []
    assert [f["status"] for f in tiktok.fetched] == [200, 404]


def _fetch(url: str) -> requests.Response:
    """GET a link on the brand's host as TikTok would (``*.localhost`` is 127.0.0.1)."""
    parts = urlsplit(url)
    return requests.get(parts._replace(netloc=f"127.0.0.1:{parts.port}").geturl(),
                        headers={"Host": parts.netloc}, timeout=5)


def test_a_tracked_link_is_served_only_while_open_and_not_after_the_send_was_closed(
        world, acme_photos, committed_delivery, django_db_blocker, settings):
    from campaigns.publishing import media_links

    settings.PUBLISHING_MEDIA_LINK_SECONDS = 2
    with django_db_blocker.unblock(), tenant_context(world.acme.client):
        send = media_links.new_send()
        first, second = media_links.pull_urls(committed_delivery.pk, send, acme_photos)
        assert media_links.pull_state(committed_delivery.pk, send) == media_links.OPEN
        assert _fetch(first).content == JPEG
        assert _fetch(first).status_code == 200  # fetched again: still open
        assert media_links.pull_state(committed_delivery.pk, send) == media_links.OPEN
        time.sleep(2.2)
        assert media_links.pull_state(committed_delivery.pk, send) == media_links.CLOSED
        assert _fetch(first).status_code == 404
        assert _fetch(second).status_code == 404
        link, _ = media_links.pull_urls(committed_delivery.pk, media_links.new_send(),
                                        acme_photos)
        for url in media_links.pull_urls(committed_delivery.pk, media_links.new_send(),
                                         acme_photos):
            assert _fetch(url).status_code == 200
        assert _fetch(link).status_code == 404  # an earlier send's: closed
        assert media_links.pull_state(committed_delivery.pk, "never-made") == \
            media_links.CLOSED


# -- through the outbox -------------------------------------------------------------------------


@pytest.fixture
def video_delivery(world, kit, tiktok_channel, django_db_blocker):
    """An approved TikTok post whose frozen content is a stored MP4 (as a post with a video
    freezes it), due now."""
    from django.utils import timezone

    from campaigns.publishing.models import Delivery
    from tests.publishing.conftest import approve, make_campaign

    page = make_campaign(kit.schema, posts=[("Watch the pour #coffee", [tiktok_channel],
                                             kit.soon, None)])
    (delivery,) = approve(kit.schema, page)
    with tenant_context(world.acme.client):
        name = default_storage.save("tiktok-tests/pour.mp4", ContentFile(CLIP.data))
    content = {**delivery.content, "images": [],
               "videos": [{"id": 1, "description": "A pour", "file": name}]}
    Delivery.objects.filter(pk=delivery.pk).update(content=content,
                                                   next_attempt_at=timezone.now())
    yield delivery
    with tenant_context(world.acme.client):
        default_storage.delete(name)


@pytest.mark.django_db
def test_an_unknown_outcome_through_the_outbox_is_found_by_its_publish_not_sent_again(
        world, tiktok, video_delivery, settings):
    from django.utils import timezone

    from campaigns.publishing import transitions, worker
    from campaigns.publishing.models import Delivery, State
    from campaigns.publishing.transitions import Outcome

    settings.PUBLISHING = {**settings.PUBLISHING, "SEND_TIMEOUT_SECONDS": 0.5}
    tiktok.accept_then_hang(1)
    assert [worker.deliver(pk, c) for pk, c in transitions.claim_due()] == [Outcome.UNCONFIRMED]
    Delivery.objects.filter(pk=video_delivery.pk).update(next_attempt_at=timezone.now())
    assert [worker.check(pk, c) for pk, c in transitions.claim_checks()] == [Outcome.PUBLISHED]

    video_delivery.refresh_from_db()
    [post] = made(tiktok)
    assert video_delivery.state == State.PUBLISHED
    assert video_delivery.remote_id == "tiktok-publish:" + post["publish_id"]
    assert video_delivery.remote_url == "https://www.tiktok.com/@acmecoffee"
    assert post["title"] == "Watch the pour #coffee" and post["data"] == CLIP.data
    assert tiktok.count("POST", "/video/init/") == 1 and tiktok.duplicates() == {}


# -- the editor: TikTok's per-post options ------------------------------------------------------


@pytest.mark.django_db
def test_the_editor_offers_the_creators_privacy_levels_and_says_an_unaudited_app_posts_privately(
        world, http, tiktok, settings):
    import datetime as dt

    from django_tenants.utils import schema_context

    from campaigns.models import CampaignPage
    from campaigns.providers.tiktok import creator_settings
    from tenants.models import Role
    from tests.factories import CampaignFactory, PostFactory
    from tests.forms import form_fields

    settings.TIKTOK_APP_AUDITED = False
    tiktok.privacy_levels = ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    channel = ChannelFactory(brand=world.acme, name="Acme on TikTok", network="tiktok",
                             handle="@acmecoffee", secret="act.token",
                             settings=creator_settings(tiktok.creator_info()))
    editor_user = world.acme.users[Role.EDITOR]
    page = CampaignFactory(brand=world.acme, title="Reels", author=editor_user, posts=[
        PostFactory(copy="Watch the pour", channels=[channel],
                    publish_at=dt.datetime(2027, 10, 1, 8, tzinfo=dt.UTC))])
    editor = http(world.acme.host, user=editor_user)
    html = editor.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    fields = form_fields(html, "page-edit-form")
    opened = editor.post("/admin/campaigns/post-editor/",
                         {"prefix": "posts-0", "summary": fields["posts-0-summary"][0]})
    opened_html = opened.content.decode()
    assert "Followers" in opened_html and "Only me (private)" in opened_html
    assert "Everyone" not in opened_html  # not one of this creator's levels
    del fields["posts-0-summary"]
    fields.update(form_fields(f'<form id="f">{opened_html}</form>', "f"))
    fields["posts-0-media-count"] = ["0"]

    fields["posts-0-network_options-tiktok-privacy_level"] = ["FOLLOWER_OF_CREATOR"]
    response = editor.post(f"/admin/pages/{page.pk}/edit/", fields)
    assert response.status_code == 200
    assert "this app can only post privately until TikTok audits it" in \
        response.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert CampaignPage.objects.get(pk=page.pk).revisions.count() == 1


@pytest.mark.django_db
def test_approved_options_go_out_to_tiktok_as_they_were_approved(world, tiktok, tiktok_channel,
                                                                 settings):
    import datetime as dt

    from campaigns.publishing import worker
    from tests.factories import CampaignFactory, PostFactory, approve

    settings.TIKTOK_APP_AUDITED = True
    tiktok.audited = True
    page = CampaignFactory(brand=world.acme, title="Reels", posts=[PostFactory(
        copy="Watch the pour", channels=[tiktok_channel],
        network_options={"tiktok": {"privacy_level": "FOLLOWER_OF_CREATOR",
                                    "disable_duet": True, "brand_organic_toggle": True}},
        publish_at=dt.datetime(2027, 10, 1, 8, tzinfo=dt.UTC))])
    (delivery,) = approve(page, brand=world.acme)
    with tenant_context(world.acme.client):
        post = worker.outgoing(delivery, media_data=False)
        assert post.options["privacy_level"] == "FOLLOWER_OF_CREATOR"
        TikTokAdapter(tiktok_channel, timeout=TIMEOUT).publish(
            Outgoing(**{**post.__dict__, "videos": [CLIP], "images": []}))
    [on_tiktok] = made(tiktok)
    assert on_tiktok["privacy_level"] == "FOLLOWER_OF_CREATOR"
    assert (on_tiktok["disable_duet"], on_tiktok["disable_comment"],
            on_tiktok["brand_organic_toggle"], on_tiktok["brand_content_toggle"]) == (
        True, False, True, False)


@pytest.mark.django_db
def test_the_tiktok_preview_says_who_can_see_each_post(world):
    from django.test import RequestFactory

    from campaigns.models import CampaignPage
    from tenants.models import Role
    from tests.factories import CampaignFactory, PostFactory

    channel = ChannelFactory(brand=world.acme, name="Acme on TikTok", network="tiktok",
                             handle="@acmecoffee")
    page = CampaignFactory(brand=world.acme, title="Reels", author=world.acme.users[Role.EDITOR],
                           posts=[PostFactory(copy="Private pour", channels=[channel],
                                              network_options={"tiktok": {
                                                  "privacy_level": "SELF_ONLY"}}),
                                  PostFactory(copy="Not decided", channels=[channel])])
    with tenant_context(world.acme.client):
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        request = RequestFactory(HTTP_HOST=world.acme.host).get("/")
        request.user = world.acme.users[Role.EDITOR]
        response = draft.serve_preview(request, "tiktok")
        response.render()
    html = response.content.decode()
    assert html.count('class="card card--tiktok"') == 2
    assert re.findall(r'<p class="card__privacy">([^<]*)</p>', html) == [
        "Only me (private)", "Who can see it: not chosen yet"]
