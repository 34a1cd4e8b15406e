"""YouTube channels: the adapter and the OAuth provider through Google's own client library
(google-api-python-client, google-auth) against a local YouTube (agency/demo/fakes/youtube.py)
that answers as Google's references say: what arrives on the channel, and what staff are told
when it does not."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from agency.demo.fakes.youtube import CHUNK_UNIT, FakeYouTube
from campaigns import networks
from campaigns.connections import ConnectionError_
from campaigns.providers.youtube import provider
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
from campaigns.publishing.adapters import youtube as adapter_module
from campaigns.publishing.adapters.youtube import (
    CHUNK_SIZE,
    YouTubeAdapter,
    pacific_day,
    seconds_to_reset,
    title_for,
    used_today,
)
from tests.factories import ChannelFactory

CHANNEL_ID = "UCacmeCoffee0000000000a1"
TIMEOUT = 1.0
_ids = itertools.count(7001)


def clip(size: int) -> Video:
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(i % 251 for i in range(size - 12))
    return Video(data=data, mime_type="video/mp4", name="clip.mp4",
                 description="A barista pours a leaf into a flat white")


SMALL = clip(100_000)  # one chunk
LONG = clip(CHUNK_SIZE * 2 + 123_456)  # three chunks
THUMB = Image(data=b"\xff\xd8\xff\xe0" + b"jpg" * 500, mime_type="image/jpeg",
              name="thumb.jpg", alt="A flat white with a leaf")


def outgoing(text="Autumn blend is here\nRoasted in small batches.", **extra) -> Outgoing:
    extra.setdefault("delivery_id", next(_ids))
    extra.setdefault("videos", [SMALL])
    return Outgoing(idempotency_key=f"delivery-{extra['delivery_id']}", text=text,
                    campaign_title=extra.pop("campaign_title", "Autumn"), **extra)


@pytest.fixture
def youtube(settings, monkeypatch):
    monkeypatch.setattr(adapter_module, "RESUME_PAUSE", 0.0)
    with FakeYouTube(client_id="yt-app", client_secret="yt-secret", hang_seconds=3) as fake:
        settings.NETWORK_BASE_URLS = {"youtube_accounts": fake.url, "youtube_oauth2": fake.url,
                                      "youtube_api": fake.url}
        settings.OAUTH_CLIENTS = {"youtube": {"client_id": "yt-app",
                                              "client_secret": "yt-secret"}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        yield fake


def channel_for(fake: FakeYouTube, token: str | None = None, **settings):
    channel = ChannelFactory.build(name="Acme on YouTube", network="youtube",
                                   handle="@acmecoffee",
                                   secret=token if token is not None else fake.issue_token())
    channel.account_id = CHANNEL_ID
    channel.settings = {"uploads_playlist": "UU" + CHANNEL_ID[2:], **settings}
    return channel


def adapter(fake: FakeYouTube, token: str | None = None, **settings) -> YouTubeAdapter:
    return YouTubeAdapter(channel_for(fake, token, **settings), timeout=TIMEOUT)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


# -- publishing ---------------------------------------------------------------------------------


def test_a_video_post_is_uploaded_with_the_first_line_as_title_and_the_text_as_description(
        youtube):
    published = for_channel(channel_for(youtube), timeout=TIMEOUT).publish(outgoing())

    [video] = youtube.videos
    assert published.remote_id == video["id"]
    assert published.url == f"https://www.youtube.com/watch?v={video['id']}"
    assert video["title"] == "Autumn blend is here"
    assert video["description"] == "Autumn blend is here\nRoasted in small batches."
    assert video["data"] == SMALL.data
    assert video["privacy"] == "public" and video["made_for_kids"] is False


def test_a_long_video_goes_up_in_chunks_of_256_kib_multiples(youtube):
    adapter(youtube).publish(outgoing(videos=[LONG]))

    [video] = youtube.videos
    assert video["data"] == LONG.data
    assert youtube.chunks == [(0, CHUNK_SIZE), (CHUNK_SIZE, CHUNK_SIZE),
                              (2 * CHUNK_SIZE, 123_456)]
    assert CHUNK_SIZE % CHUNK_UNIT == 0


def test_a_chunk_broken_midway_is_resumed_from_the_byte_youtube_confirms_not_from_zero(youtube):
    youtube.break_upload(chunk=2, after=300_000)  # the second chunk breaks after 300,000 bytes

    published = adapter(youtube).publish(outgoing(videos=[LONG]))

    [video] = youtube.videos
    assert published.remote_id == video["id"]
    assert video["data"] == LONG.data  # every byte once, in order
    # the third request went on at the byte YouTube held, not at 0 nor at the chunk's start
    assert youtube.chunks == [(0, CHUNK_SIZE), (CHUNK_SIZE, 300_000),
                              (CHUNK_SIZE + 300_000, len(LONG.data) - CHUNK_SIZE - 300_000)]
    # the chunks, the broken one, and one question to the session: how far did it get?
    assert youtube.count("PUT", "/upload/youtube/v3/videos") == 4


def test_a_server_error_on_a_chunk_is_resumed_and_the_video_made_once(youtube):
    youtube.fail_chunks(1, 503)
    adapter(youtube).publish(outgoing(videos=[LONG]))

    [video] = youtube.videos
    assert video["data"] == LONG.data
    assert [start for start, _ in youtube.chunks] == [0, CHUNK_SIZE, 2 * CHUNK_SIZE]


def test_privacy_and_made_for_kids_come_from_the_channels_settings(youtube):
    adapter(youtube, privacy="unlisted", made_for_kids=True).publish(outgoing())

    [video] = youtube.videos
    assert video["privacy"] == "unlisted" and video["made_for_kids"] is True


def test_the_posts_image_becomes_the_thumbnail(youtube):
    published = adapter(youtube).publish(outgoing(images=[THUMB]))

    assert youtube.thumbnails == {published.remote_id: THUMB.data}


def test_a_channel_not_allowed_custom_thumbnails_still_gets_its_video(youtube, caplog):
    youtube.custom_thumbnails = False
    published = adapter(youtube).publish(outgoing(images=[THUMB]))

    assert [v["id"] for v in youtube.videos] == [published.remote_id]
    assert youtube.thumbnails == {}
    assert "custom video thumbnails" in caplog.text


def test_a_post_without_a_video_is_refused_before_anything_is_sent(youtube):
    with pytest.raises(Permanent, match="YouTube takes videos only"):
        adapter(youtube).publish(outgoing(videos=[]))
    assert youtube.requests == []


def test_titles_are_the_first_line_cut_at_a_word_and_without_angle_brackets():
    assert title_for("  \nHello <world>\nmore") == "Hello ‹world›"
    long = "word " * 40
    cut = title_for(long)
    assert len(cut) <= 100 and cut.endswith("word…")
    assert title_for("", "Campaign title") == "Campaign title"
    assert title_for("First line", chosen="Chosen title") == "Chosen title"


# -- errors ---------------------------------------------------------------------------------------


def test_an_exhausted_quota_waits_for_midnight_pacific_and_the_next_send_does_not_even_try(
        youtube):
    youtube.fail_next(1, 403, message="quotaExceeded")
    yt = adapter(youtube)
    with pytest.raises(Transient, match="daily quota is used up") as caught:
        yt.publish(outgoing())
    assert caught.value.retry_after == pytest.approx(seconds_to_reset(), abs=5)
    assert used_today(yt.channel) >= 10_000

    asked = len(youtube.requests)
    with pytest.raises(Transient, match="waits for midnight Pacific time"):
        yt.publish(outgoing())
    assert len(youtube.requests) == asked  # nothing sent: it would only spend a try
    assert youtube.videos == []


def test_each_upload_is_counted_against_the_channels_quota_of_the_pacific_day(youtube):
    yt = adapter(youtube)
    yt.publish(outgoing(images=[THUMB]))
    assert yt.channel.settings["quota"] == {"day": pacific_day().isoformat(), "used": 1650}


def test_midnight_pacific_is_counted_from_the_moment_given():
    # 2026-12-03 23:00 PST is 2026-12-04 07:00 UTC: an hour to go
    assert seconds_to_reset(datetime(2026, 12, 4, 7, 0, tzinfo=UTC)) == 3600
    # in summer (PDT, UTC-7) midnight is 07:00 UTC
    assert seconds_to_reset(datetime(2026, 7, 1, 6, 30, tzinfo=UTC)) == 1800


def test_a_rate_limit_carries_youtubes_retry_after(youtube):
    youtube.fail_next(1, 429, retry_after=42)
    with pytest.raises(Transient, match="rateLimitExceeded") as caught:
        adapter(youtube).publish(outgoing())
    assert caught.value.retry_after == 42
    assert youtube.videos == []


@pytest.mark.parametrize("reason, said", [
    ("uploadLimitExceeded", "uploaded as many videos as YouTube allows"),
    ("forbidden", "HTTP 403 forbidden"),
])
def test_refusals_are_permanent_with_youtubes_reason(youtube, reason, said):
    youtube.fail_next(1, 400 if reason == "uploadLimitExceeded" else 403, message=reason)
    with pytest.raises(Permanent, match=said) as caught:
        adapter(youtube).publish(outgoing())
    assert not isinstance(caught.value, NeedsReconnect)
    assert youtube.videos == []


def test_a_title_youtube_refuses_is_permanent_with_its_message(youtube):
    with pytest.raises(Permanent, match="invalidTitle"):
        adapter(youtube).publish(outgoing(text="", campaign_title=" "))


def test_an_expired_token_is_renewed_by_google_auth_and_kept_encrypted_on_the_channel(youtube):
    token, refresh = youtube.issue_token(), youtube.issue_refresh_token()
    channel = channel_for(youtube, token)
    channel.set_refresh_token(refresh)
    youtube.expire(token)

    YouTubeAdapter(channel, timeout=TIMEOUT).publish(outgoing())

    assert len(youtube.videos) == 1
    assert channel.get_secret() not in ("", token)
    assert token not in channel.secret_encrypted and channel.get_secret() not in \
        channel.secret_encrypted
    assert channel.token_expires_at > datetime.now(UTC) + timedelta(minutes=50)


def test_a_revoked_grant_needs_reconnect_with_googles_reason(youtube):
    token, refresh = youtube.issue_token(), youtube.issue_refresh_token()
    channel = channel_for(youtube, token)
    channel.set_refresh_token(refresh)
    youtube.revoke_everything()

    with pytest.raises(NeedsReconnect, match="invalid_grant"):
        YouTubeAdapter(channel, timeout=TIMEOUT).publish(outgoing())
    assert youtube.videos == []


def test_a_token_without_refresh_that_youtube_refuses_needs_reconnect(youtube):
    token = youtube.issue_token()
    youtube.expire(token)
    with pytest.raises(NeedsReconnect, match="reconnect the channel"):
        adapter(youtube, token).publish(outgoing())


def test_check_access_asks_the_channels_record_without_uploading(youtube):
    token = youtube.issue_token()
    assert adapter(youtube, token).check_access() is True
    youtube.revoke_everything()
    with pytest.raises(NeedsReconnect):
        adapter(youtube, token).check_access()
    assert youtube.videos == []


# -- unknown outcomes -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["accept_then_hang", "accept_then_drop"])
def test_a_lost_answer_to_the_last_chunk_is_resolved_by_asking_the_upload_session(youtube,
                                                                                  fault):
    getattr(youtube, fault)(1)
    published = adapter(youtube).publish(outgoing())

    [video] = youtube.videos
    assert published.remote_id == video["id"]  # the session said: complete, here it is


def test_an_upload_that_cannot_be_asked_is_unknown_and_find_sees_it(youtube, monkeypatch):
    monkeypatch.setattr(adapter_module, "RESUMES", 0)
    youtube.accept_then_hang(1)
    post = outgoing()
    with pytest.raises(Unknown, match="may have been published"):
        adapter(youtube).publish(post)

    found = adapter(youtube).find(post, since=since())
    [video] = youtube.videos
    assert found is not None and found.remote_id == video["id"]


def test_find_is_none_for_a_post_never_sent(youtube):
    youtube.add_video("Another video", "Something else")
    assert adapter(youtube).find(outgoing(), since=since()) is None


def test_find_ignores_the_same_video_uploaded_before_the_send(youtube):
    post = outgoing()
    youtube.add_video("Autumn blend is here", post.text,
                      published_at=datetime.now(UTC) - timedelta(days=2))
    assert adapter(youtube).find(post, since=since()) is None


def test_find_that_cannot_ask_youtube_is_unknown(youtube):
    youtube.fail_next(1, 503)
    with pytest.raises(Unknown, match="Could not ask YouTube"):
        adapter(youtube).find(outgoing(), since=since())


# -- results --------------------------------------------------------------------------------------


def test_a_videos_views_likes_and_comments_are_read_fifty_at_a_time(youtube):
    yt = adapter(youtube)
    first = yt.publish(outgoing()).remote_id
    second = yt.publish(outgoing("Second video")).remote_id
    youtube.set_counts(first, views=120, likes=7, comments=2)
    before = youtube.count("GET", "/youtube/v3/videos")

    counts = yt.metrics([first, second, "gone0000000"])

    assert counts[first].views == 120 and counts[first].likes == 7
    assert counts[first].replies == 2 and counts[first].reposts is None
    assert counts[second].views == 0 and "gone0000000" not in counts
    assert youtube.count("GET", "/youtube/v3/videos") == before + 1  # one call for all
    assert yt.metrics_batch == 50


def test_the_channels_subscribers_are_its_followers(youtube):
    youtube.subscribers[CHANNEL_ID] = 1230
    assert adapter(youtube).followers() == 1230


# -- rules ----------------------------------------------------------------------------------------


def _problems(**draft) -> list[str]:
    return networks.get("youtube").problems(networks.PostDraft(**draft))


def test_youtube_rules_want_one_video_and_take_one_image_as_its_thumbnail():
    assert _problems(copy="x", videos=1, video_files=["clip.mp4"]) == []
    assert _problems(copy="x", videos=1, video_files=["clip.mp4"], images=["a thumb"],
                     image_files=["thumb.jpg"]) == []
    for without_video in ({"copy": "A text-only post"},
                          {"copy": "An image", "images": ["alt"], "image_files": ["a.jpg"]}):
        [problem] = _problems(**without_video)
        assert problem.startswith("YouTube needs a video in every post")
        assert "send this post to another channel" in problem
    assert "at most 1 video" in " ".join(_problems(copy="x", videos=2,
                                                   video_files=["a.mp4", "b.mp4"]))


def test_youtube_counts_the_description_in_bytes_and_the_title_in_characters():
    video = {"videos": 1, "video_files": ["clip.mp4"]}
    assert _problems(copy="é" * 2500, **video) == []  # 5,000 bytes
    [problem] = _problems(copy="é" * 2501, **video)
    assert "5,000 bytes of description" in problem and "has 5002" in problem
    assert _problems(copy="x", options={"youtube": {"title": "t" * 100}}, **video) == []
    [problem] = _problems(copy="x", options={"youtube": {"title": "t" * 101}}, **video)
    assert problem == "YouTube allows 100 characters in “Video title”; this has 101. Shorten it."


def test_the_posts_chosen_title_is_the_videos_title_and_find_looks_for_it(youtube):
    post = outgoing(options={"title": "Our autumn blend, roasted"})
    adapter(youtube).publish(post)
    [video] = youtube.videos
    assert video["title"] == "Our autumn blend, roasted"
    assert adapter(youtube).find(post, since=since()).remote_id == video["id"]


@pytest.mark.django_db
def test_an_approved_post_goes_out_once_with_its_title_and_the_channels_privacy(
        world, youtube, http):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns.models import Channel
    from campaigns.publishing import transitions, worker
    from campaigns.publishing.models import Delivery, State
    from campaigns.publishing.transitions import Outcome
    from tenants.models import Role
    from tests.factories import CampaignFactory, PostFactory, approve
    from tests.forms import form_fields

    channel = _youtube_channel(world, youtube)
    # the channel's form asks for YouTube's own settings
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    url = f"/admin/snippets/campaigns/channel/edit/{channel.pk}/"
    html = manager.get(url).content.decode()
    assert "Privacy of new videos" in html and "Made for kids" in html
    fields = form_fields(html, "w-editor-form" if 'id="w-editor-form"' in html else None)
    fields["network_settings-youtube-privacy"] = ["unlisted"]
    fields["network"] = ["youtube"]
    assert manager.post(url, fields).status_code == 302

    page = CampaignFactory(brand=world.acme, title="Roasts", posts=[PostFactory(
        copy="How we roast\nA day at the roastery.", channels=[channel],
        network_options={"youtube": {"title": "A day at the roastery"}},
        publish_at=timezone.now() + timedelta(hours=1))])
    (delivery,) = approve(page, brand=world.acme)
    with schema_context(world.acme.client.schema_name):
        name = default_storage.save("yt-tests/roast.mp4", ContentFile(LONG.data))
        assert Channel.objects.get(pk=channel.pk).settings["privacy"] == "unlisted"
    try:
        Delivery.objects.filter(pk=delivery.pk).update(
            content={**delivery.content, "videos": [{"file": name, "description": "Roast"}]},
            next_attempt_at=timezone.now())
        claims = transitions.claim_due()
        assert [worker.deliver(pk, claim) for pk, claim in claims] == [Outcome.PUBLISHED]
        assert [worker.deliver(pk, claim) for pk, claim in claims] == [Outcome.STALE]
    finally:
        with schema_context(world.acme.client.schema_name):
            default_storage.delete(name)

    [video] = youtube.videos
    assert (video["title"], video["privacy"], video["data"]) == (
        "A day at the roastery", "unlisted", LONG.data)
    assert video["description"] == "How we roast\nA day at the roastery."
    delivery.refresh_from_db()
    assert delivery.state == State.PUBLISHED and delivery.remote_id == video["id"]
    assert delivery.remote_url == f"https://www.youtube.com/watch?v={video['id']}"
    with schema_context(world.acme.client.schema_name):
        spent = Channel.objects.get(pk=channel.pk).settings["quota"]
    assert spent == {"day": pacific_day().isoformat(), "used": 1600}


# -- the OAuth provider ---------------------------------------------------------------------------


def consent(fake: FakeYouTube, decision: str = "allow", verifier: str = "v" * 50):
    redirect_uri = "http://acme.agency.localhost:8000/admin/channels/connect/callback/"
    url = provider.authorization_url(redirect_uri=redirect_uri, state="st4te",
                                     code_verifier=verifier)
    split = urlsplit(url)
    assert url.startswith(fake.url + "/o/oauth2/v2/auth?")
    query = {k: v[0] for k, v in parse_qs(split.query).items()}
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert set(query["scope"].split()) == set(provider.scopes)
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Allow" in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    answer = requests.post(fake.url + "/o/oauth2/v2/auth/decide",
                           data={**fields, "decision": decision}, allow_redirects=False,
                           timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()}, redirect_uri


def test_consent_exchange_and_the_channels_to_pick(youtube):
    query, redirect_uri = consent(youtube)
    assert query["state"] == "st4te"

    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri,
                               code_verifier="v" * 50)
    assert tokens.access_token and tokens.refresh_token
    assert timedelta(minutes=55) < tokens.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    assert set(tokens.scopes.split()) == set(provider.scopes)

    [account] = provider.accounts(tokens)
    assert (account.id, account.name, account.handle) == (CHANNEL_ID, "Acme Coffee",
                                                          "@acmecoffee")
    assert account.settings == {"uploads_playlist": "UU" + CHANNEL_ID[2:]}


def test_a_wrong_code_verifier_is_refused(youtube):
    query, redirect_uri = consent(youtube)
    with pytest.raises(ConnectionError_, match="invalid_grant"):
        provider.exchange(code=query["code"], redirect_uri=redirect_uri,
                          code_verifier="w" * 50)


def test_denied_consent_comes_back_as_access_denied_with_the_state(youtube):
    query, _ = consent(youtube, decision="deny")
    assert query == {"error": "access_denied", "state": "st4te"}


def test_without_an_app_configured_the_provider_says_what_to_set(youtube, settings):
    settings.OAUTH_CLIENTS = {}
    assert not provider.configured()
    with pytest.raises(ConnectionError_, match="OAUTH_YOUTUBE_CLIENT_ID"):
        provider.exchange(code="x", redirect_uri="http://x/", code_verifier="v" * 50)


def test_refresh_gives_a_new_token_and_keeps_the_refresh_token(youtube):
    query, redirect_uri = consent(youtube)
    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri,
                               code_verifier="v" * 50)
    channel = channel_for(youtube, tokens.access_token)
    channel.set_refresh_token(tokens.refresh_token)

    fresh = provider.refresh(channel)
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token == tokens.refresh_token


def test_a_refused_refresh_token_is_a_connection_error_with_googles_reason(youtube):
    channel = channel_for(youtube)
    channel.set_refresh_token("1//not-a-real-one")
    with pytest.raises(ConnectionError_, match="invalid_grant"):
        provider.refresh(channel)


def test_revoke_ends_the_grant_at_google(youtube):
    token, refresh = youtube.issue_token(), youtube.issue_refresh_token()
    channel = channel_for(youtube, token)
    channel.set_refresh_token(refresh)
    assert provider.revoke(channel) is True
    assert youtube.revoked == [refresh]
    with pytest.raises(NeedsReconnect):
        YouTubeAdapter(channel, timeout=TIMEOUT).check_access()


def test_the_consent_page_refuses_an_unknown_app(youtube):
    page = requests.get(youtube.url + "/o/oauth2/v2/auth?" + urlencode(
        {"client_id": "nope", "redirect_uri": "http://x/", "response_type": "code"}), timeout=5)
    assert page.status_code == 400 and "invalid_client" in page.text


# -- the daily quota, ahead of the posts' time ------------------------------------------------


def _youtube_channel(world, fake: FakeYouTube, **settings):
    from django.utils import timezone
    from django_tenants.utils import schema_context

    channel = ChannelFactory(brand=world.acme, name="Acme on YouTube", network="youtube",
                             handle="@acmecoffee", secret=fake.issue_token())
    with schema_context(world.acme.client.schema_name):
        channel.account_id = CHANNEL_ID
        channel.connected_at = timezone.now()
        channel.settings = {"uploads_playlist": "UU" + CHANNEL_ID[2:], **settings}
        channel.save()
    return channel


def _next_pacific_noon() -> datetime:
    """Noon, Pacific time, two days from now: a day of its own, whatever the hour now."""
    from zoneinfo import ZoneInfo

    day = datetime.now(ZoneInfo("America/Los_Angeles")).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("America/Los_Angeles"))


@pytest.mark.django_db
def test_a_post_that_would_exceed_its_days_quota_is_refused_at_approval_with_the_reason(
        world, youtube, settings, http, django_capture_on_commit_callbacks):
    from django.core import mail
    from django_tenants.utils import schema_context

    from campaigns.publishing.models import Delivery, State
    from tenants.models import Role
    from tests.factories import DeliveryFactory

    settings.YOUTUBE_DAILY_QUOTA = 3300  # two uploads (1,600 each) a day
    channel = _youtube_channel(world, youtube)
    noon = _next_pacific_noon()
    mail.outbox.clear()
    made = []
    for hour, copy in enumerate(["Morning pour", "Lunch roast", "Evening brew"]):
        with django_capture_on_commit_callbacks(execute=True):
            made.append(DeliveryFactory(brand=world.acme, channel=channel, copy=copy,
                                        publish_at=noon + timedelta(hours=hour)))
    # a post on the next day has a quota of its own
    with django_capture_on_commit_callbacks(execute=True):
        made.append(DeliveryFactory(brand=world.acme, channel=channel, copy="Next day",
                                    publish_at=noon + timedelta(days=1)))

    states = {d.content["text"]: Delivery.objects.get(pk=d.pk) for d in made}
    assert [states[t].state for t in ("Morning pour", "Lunch roast", "Next day")] == \
        [State.SCHEDULED] * 3
    refused = states["Evening brew"]
    assert refused.state == State.FAILED  # days before its time
    assert "daily quota would be used up" in refused.error
    assert "3,300 units a day" in refused.error and "earlier posts take 3,200" in refused.error
    assert "Move this post to another day" in refused.error
    assert youtube.requests == []  # nothing was asked of YouTube for it
    # the team is told now, and the queue shows why
    (email,) = mail.outbox
    assert email.subject == "Not published: “Evening brew” on Acme on YouTube"
    assert "Move this post to another day" in email.body
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    with schema_context(world.acme.client.schema_name):
        detail = manager.get(f"/admin/publishing/{refused.pk}/").content.decode()
    assert "Move this post to another day" in detail


@pytest.mark.django_db
def test_another_networks_delivery_event_runs_no_youtube_quota_query(
        world, youtube, django_capture_on_commit_callbacks):
    """``delivery_changed`` carries the delivery's network and channel, so the quota plan passes
    over a Mastodon post without asking the database about it; a YouTube post is planned."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.publishing import transitions
    from tests.factories import DeliveryFactory

    toots = ChannelFactory(brand=world.acme, name="Acme on Mastodon", network="mastodon",
                           handle="@acme@social.example", endpoint="https://social.example")
    uploads = _youtube_channel(world, youtube)
    heard = []

    def listen(sender, **kwargs):
        heard.append(kwargs)

    def committed(channel, copy) -> list[str]:
        """The SQL run once the delivery's creation commits (the receivers' queries)."""
        with django_capture_on_commit_callbacks() as callbacks:
            delivery = DeliveryFactory(brand=world.acme, channel=channel, copy=copy,
                                       publish_at=_next_pacific_noon())
        with CaptureQueriesContext(connection) as ran:
            for callback in callbacks:
                callback()
        return delivery, [q["sql"] for q in ran.captured_queries]

    transitions.delivery_changed.connect(listen)
    try:
        toot, toot_sql = committed(toots, "Fresh beans today")
        upload, upload_sql = committed(uploads, "Watch the roast")
    finally:
        transitions.delivery_changed.disconnect(listen)
    assert not [sql for sql in toot_sql if "'youtube'" in sql]  # no quota plan query for it
    assert [sql for sql in upload_sql if "'youtube'" in sql]  # the YouTube post is planned
    told = {(h["delivery_id"], h["kind"]): h for h in heard}
    assert told[toot.pk, "created"]["network"] == "mastodon"
    assert told[toot.pk, "created"]["channel_id"] == toots.pk
    assert told[toot.pk, "created"]["client_id"] == world.acme.client.pk
    assert told[upload.pk, "created"]["network"] == "youtube"


@pytest.mark.django_db
def test_the_hourly_check_refuses_a_post_the_quota_spent_today_leaves_no_room_for(
        world, youtube, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from campaigns.publishing import connected
    from campaigns.publishing.models import Delivery, State
    from tests.factories import DeliveryFactory

    channel = _youtube_channel(world, youtube)
    soon = timezone.now() + timedelta(minutes=30)
    if pacific_day(soon) != pacific_day():
        pytest.skip("half an hour before midnight Pacific: the post would be on another day")
    delivery = DeliveryFactory(brand=world.acme, channel=channel, copy="Later today",
                               publish_at=soon)
    assert Delivery.objects.get(pk=delivery.pk).state == State.SCHEDULED
    from django_tenants.utils import schema_context

    with schema_context(world.acme.client.schema_name):
        channel.settings = {**channel.settings,
                            "quota": {"day": pacific_day().isoformat(), "used": 9000}}
        channel.save()

    with django_capture_on_commit_callbacks(execute=True):
        connected.tokens_check_all()

    delivery.refresh_from_db()
    assert delivery.state == State.FAILED
    # 9,000 spent before, and the access check's own unit
    assert "what was spent today and the channel's earlier posts take 9,001" in delivery.error
    assert youtube.count("GET", "/youtube/v3/channels") == 1  # the access check itself
    assert youtube.videos == []


# -- preview --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_youtube_preview_shows_the_player_the_title_and_the_folded_description(world):
    from django.test import RequestFactory
    from django_tenants.utils import schema_context

    from campaigns.models import CampaignPage
    from tenants.models import Role
    from tests.factories import CampaignFactory, ImageFactory, PostFactory

    channel = ChannelFactory(brand=world.acme, name="Acme on YouTube", network="youtube",
                             handle="@acmecoffee")
    thumb = ImageFactory(brand=world.acme, title="Thumb")
    page = CampaignFactory(brand=world.acme, title="Roasts", author=world.acme.users[Role.EDITOR],
                           posts=[PostFactory(copy="How we roast\nA day at the roastery.",
                                              channels=[channel], image=thumb),
                                  PostFactory(copy="Second film\nThe cupping.",
                                              channels=[channel],
                                              network_options={"youtube": {
                                                  "title": "Cupping at Acme, in 3 minutes"}})])
    with schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        request = RequestFactory(HTTP_HOST=world.acme.host).get("/")
        request.user = world.acme.users[Role.EDITOR]
        response = draft.serve_preview(request, "youtube")
        response.render()
    html = response.content.decode()

    assert html.count('class="card card--youtube"') == 2
    assert '<p class="card__yt-title">How we roast</p>' in html
    # a post's chosen title is the one the card shows, as the upload will have it
    assert '<p class="card__yt-title">Cupping at Acme, in 3 minutes</p>' in html
    assert "A day at the roastery." in html[html.index("<summary>Description</summary>"):]
    player = html[html.index('<div class="card__player">'):]
    assert "<img" in player.split("</div>")[0]  # the image is the video's thumbnail
    assert "No video: YouTube needs one" in player  # and the post has no video yet


def test_a_later_try_of_the_same_post_goes_on_with_its_upload_session_not_from_zero(
        youtube, monkeypatch):
    monkeypatch.setattr(adapter_module, "RESUMES", 0)  # this try gives up at the break
    youtube.break_upload(chunk=2, after=300_000)
    channel = channel_for(youtube)
    post = outgoing(videos=[LONG])
    with pytest.raises(Transient, match="the upload"):
        YouTubeAdapter(channel, timeout=TIMEOUT).publish(post)
    assert youtube.videos == [] and post.idempotency_key in channel.settings["uploads"]
    kept = channel.settings["uploads"][post.idempotency_key]["uri"]
    assert "upload_id" not in kept  # the session's address is kept encrypted

    published = YouTubeAdapter(channel, timeout=TIMEOUT).publish(post)  # the worker's next try

    [video] = youtube.videos
    assert published.remote_id == video["id"] and video["data"] == LONG.data
    assert youtube.count("POST", "/upload/youtube/v3/videos") == 1  # one session, not two
    assert [start for start, _ in youtube.chunks] == [0, CHUNK_SIZE, CHUNK_SIZE + 300_000]
    assert channel.settings["uploads"] == {}  # done: forgotten
    assert used_today(channel) == 1600  # one upload's units


def test_a_kept_session_youtube_has_forgotten_starts_the_upload_again(youtube, monkeypatch):
    channel = channel_for(youtube)
    post = outgoing()
    adapter_module.keep_session(channel, post.idempotency_key,
                                youtube.url + "/upload/youtube/v3/videos?uploadType=resumable"
                                "&upload_id=gone", len(SMALL.data))
    with pytest.raises(Transient, match="session expired"):
        YouTubeAdapter(channel, timeout=TIMEOUT).publish(post)
    YouTubeAdapter(channel, timeout=TIMEOUT).publish(post)
    assert len(youtube.videos) == 1
