"""X: the adapter and the OAuth provider through tweepy against a local X
(agency/demo/fakes/x.py) that answers as X's API v2 reference says: what arrives on the account,
and what staff are told when it does not."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from agency.demo.fakes.x import FakeX
from campaigns import connections, networks
from campaigns.connections import ConnectionError_
from campaigns.networks import PostDraft
from campaigns.providers.x import provider
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
from campaigns.publishing.adapters import x as adapter_module
from campaigns.publishing.adapters.x import XAdapter
from tests.factories import ChannelFactory

USER = "1500000000000000001"
TIMEOUT = 0.5
REDIRECT = "http://acme.agency.localhost:8000/admin/channels/connect/callback/"
_ids = itertools.count(9001)

CAT = Image(data=b"\x89PNG\r\n\x1a\n" + b"cat" * 50, mime_type="image/png", name="cat.png",
            alt="A ginger cat asleep on a keyboard")
DOG = Image(data=b"\xff\xd8\xff\xe0" + b"dog" * 50, mime_type="image/jpeg", name="dog.jpg",
            alt="A dog catching a frisbee, ears flying")
CLIP = Video(data=b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4, mime_type="video/mp4",
             name="clip.mp4", description="A barista pours a leaf into a flat white")


def outgoing(text="Autumn sale starts today", **extra) -> Outgoing:
    extra.setdefault("delivery_id", next(_ids))
    return Outgoing(idempotency_key=f"delivery-{extra['delivery_id']}", text=text, **extra)


@pytest.fixture
def x(settings):
    with FakeX(client_id="x-app", client_secret="x-secret", user_id=USER,
               hang_seconds=3) as fake:
        settings.NETWORK_BASE_URLS = {"x_api": fake.url, "x_www": fake.url}
        settings.OAUTH_CLIENTS = {"x": {"client_id": "x-app", "client_secret": "x-secret"}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        yield fake


def channel_for(fake: FakeX, token: str | None = None, *, refresh: str = "",
                expires_in: timedelta = timedelta(hours=2)):
    channel = ChannelFactory.build(name="Acme on X", network="x", handle="@acmecoffee",
                                   secret=token if token is not None else fake.issue_token())
    channel.account_id = USER
    channel.settings = {"username": "acmecoffee"}
    channel.token_expires_at = timezone.now() + expires_in
    if refresh:
        channel.set_refresh_token(refresh)
    return channel


def adapter(fake: FakeX, token: str | None = None, **extra) -> XAdapter:
    return XAdapter(channel_for(fake, token, **extra), timeout=TIMEOUT)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


# -- publishing ---------------------------------------------------------------------------------


def test_text_post_goes_out_and_its_id_and_address_are_recorded(x):
    published = for_channel(channel_for(x), timeout=TIMEOUT).publish(outgoing())

    [post] = x.posts
    assert post["text"] == "Autumn sale starts today" and post["author_id"] == USER
    assert published.remote_id == post["id"]
    assert published.url == f"https://x.com/acmecoffee/status/{post['id']}"


def test_images_are_uploaded_in_chunks_with_their_alt_texts_in_order(x, monkeypatch):
    monkeypatch.setattr(adapter_module, "CHUNK_BYTES", 64)  # several APPENDs per image
    adapter(x).publish(outgoing("Two friends", images=[CAT, DOG]))

    [post] = x.posts
    media = [x.media[m] for m in post["media_ids"]]
    assert [m["data"] for m in media] == [CAT.data, DOG.data]
    assert [m["alt"] for m in media] == [CAT.alt, DOG.alt]
    assert [m["category"] for m in media] == ["tweet_image", "tweet_image"]
    assert all(len(m["segments"]) > 1 for m in media)


def test_video_is_uploaded_in_chunks_and_its_processing_awaited(x, monkeypatch):
    monkeypatch.setattr(adapter_module, "CHUNK_BYTES", 400)
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    x.video_processing_polls = 3

    adapter(x).publish(outgoing("Latte art", videos=[CLIP]))

    [post] = x.posts
    [media] = [x.media[m] for m in post["media_ids"]]
    assert media["data"] == CLIP.data and len(media["segments"]) == 3
    assert media["category"] == "amplify_video"
    assert media["processing"]["state"] == "succeeded"
    assert x.count("GET", "/2/media/upload") == 3


def test_video_x_cannot_process_is_refused_with_xs_reason(x, monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    x.video_processing_polls, x.fail_processing = 1, True

    with pytest.raises(Permanent, match="UnsupportedMedia"):
        adapter(x).publish(outgoing("Latte art", videos=[CLIP]))
    assert x.posts == []


def test_video_still_processing_after_the_wait_is_transient_and_nothing_is_posted(
        x, monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    monkeypatch.setattr(adapter_module, "PROCESSING_WAIT", 0.1)
    x.video_processing_polls = 10_000

    with pytest.raises(Transient, match="still processing"):
        adapter(x).publish(outgoing("Latte art", videos=[CLIP]))
    assert x.posts == []


def test_images_and_a_video_together_are_refused_before_anything_is_sent(x):
    with pytest.raises(Permanent, match="images and a video"):
        adapter(x).publish(outgoing("Both", images=[CAT], videos=[CLIP]))
    assert x.requests == []


def test_first_comment_is_a_reply_to_the_new_post(x):
    published = adapter(x).publish(outgoing("New blend", first_comment="Shop: acme.test"))

    post, reply = x.posts
    assert post["id"] == published.remote_id
    assert reply["in_reply_to"] == post["id"] and reply["text"] == "Shop: acme.test"


def test_failed_first_comment_does_not_fail_the_post(x, caplog, monkeypatch):
    made = x._create

    def refuse_replies(data):  # X is down for the reply only
        if (data.get("reply") or {}).get("in_reply_to_tweet_id"):
            return x._problem(503, "Service Unavailable", "Service Unavailable")
        return made(data)

    monkeypatch.setattr(x, "_create", refuse_replies)
    published = adapter(x).publish(outgoing("New blend", first_comment="Shop now"))

    assert [p["id"] for p in x.posts] == [published.remote_id]
    assert "first comment" in caplog.text


# -- errors -------------------------------------------------------------------------------------


def test_a_rate_limit_waits_until_xs_reset_time(x):
    x.fail_next(1, status=429, retry_after=600, path="/2/tweets")

    before = time.time()
    with pytest.raises(Transient, match="limiting") as caught:
        adapter(x).publish(outgoing())
    assert 590 - (time.time() - before) <= caught.value.retry_after <= 601
    assert x.posts == []


def test_a_duplicate_post_is_refused_with_xs_reason(x):
    adapter(x).publish(outgoing("Same again"))
    with pytest.raises(Permanent, match="duplicate content"):
        adapter(x).publish(outgoing("Same again"))
    assert len(x.posts) == 1


def test_too_long_text_is_refused_with_xs_reason(x):
    with pytest.raises(Permanent, match="too long"):
        adapter(x).publish(outgoing("日本語" * 50))  # 150 characters, 300 weighted
    assert x.posts == []


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_on_the_post_is_an_unknown_outcome(x, status):
    x.fail_next(1, status=status, path="/2/tweets")
    with pytest.raises(Unknown, match=f"HTTP {status}"):
        adapter(x).publish(outgoing())


def test_server_error_during_an_upload_is_transient(x):
    x.fail_next(1, status=503, path="/2/media/upload")
    with pytest.raises(Transient, match="HTTP 503"):
        adapter(x).publish(outgoing("Cat", images=[CAT]))
    assert x.posts == []


def test_an_expired_token_is_refreshed_once_and_the_post_goes_out(x):
    refresh = x.issue_refresh_token()
    token = x.issue_token()
    x.expire(token)  # X stopped taking it before its recorded expiry
    channel = channel_for(x, token, refresh=refresh)

    XAdapter(channel, timeout=TIMEOUT).publish(outgoing())

    assert len(x.posts) == 1 and x.refreshes == 1
    assert channel.get_secret() != token
    assert channel.get_refresh_token() != refresh  # X replaces it at every refresh


def test_a_token_that_expires_within_minutes_is_refreshed_before_sending(x):
    refresh = x.issue_refresh_token()
    channel = channel_for(x, refresh=refresh, expires_in=timedelta(minutes=2))

    XAdapter(channel, timeout=TIMEOUT).publish(outgoing())

    assert x.refreshes == 1 and len(x.posts) == 1
    assert channel.token_expires_at - timezone.now() > timedelta(hours=1)
    assert x.count("POST", "/2/oauth2/token") == 1
    assert [p for m, p in x.requests if m == "POST"].index("/2/oauth2/token") == 0


def test_a_refused_refresh_needs_reconnect_and_nothing_is_posted(x):
    token = x.issue_token()
    x.expire(token)
    channel = channel_for(x, token, refresh="not-a-real-one")

    with pytest.raises(NeedsReconnect, match="token was invalid.*reconnect"):
        XAdapter(channel, timeout=TIMEOUT).publish(outgoing())
    assert x.posts == []


def test_an_expired_token_without_refresh_needs_reconnect(x):
    token = x.issue_token()
    x.expire(token)
    with pytest.raises(NeedsReconnect, match="no refresh token"):
        adapter(x, token).publish(outgoing())


def test_x_answers_whether_it_still_takes_the_token_without_posting(x):
    token = x.issue_token()
    assert adapter(x, token).check_access() is True
    x.expire(token)
    with pytest.raises(NeedsReconnect, match="Unauthorized"):
        adapter(x, token).check_access()
    assert x.posts == []


# -- did it go out? -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["accept_then_hang", "accept_then_drop"])
def test_accepted_without_answer_is_unknown_and_find_sees_it(x, fault):
    getattr(x, fault)(1)
    post = outgoing("Harvest & roast <2026> at https://acme.example/harvest", images=[CAT])

    with pytest.raises(Unknown):
        adapter(x).publish(post)
    [made] = x.posts

    found = adapter(x).find(post, since=since())
    assert found is not None and found.remote_id == made["id"]
    assert found.url == f"https://x.com/acmecoffee/status/{made['id']}"


def test_find_is_none_for_a_post_never_sent(x):
    x.add_post("Something else entirely")
    assert adapter(x).find(outgoing("Never sent"), since=since()) is None


def test_find_ignores_the_same_text_posted_before_the_send(x):
    x.add_post("Good morning", created_at=datetime.now(UTC) - timedelta(days=2))
    assert adapter(x).find(outgoing("Good morning"), since=since()) is None


def test_find_reads_past_the_first_page(x, monkeypatch):
    monkeypatch.setattr(adapter_module, "PAGE_SIZE", 5)
    adapter(x).publish(outgoing("The one we look for"))
    for number in range(12):
        x.add_post(f"Later post {number}")
    found = adapter(x).find(outgoing("The one we look for"), since=since())
    assert found is not None and found.remote_id == x.posts[0]["id"]


def test_find_that_cannot_ask_x_is_unknown(x):
    x.fail_next(1, status=503, path="/tweets")
    with pytest.raises(Unknown, match="Could not ask X"):
        adapter(x).find(outgoing(), since=since())


# -- rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, weighted", [
    ("Plain words", 11),
    ("東京", 4),
    ("☕ and 👩🏽‍💻", 9),
    ("Read https://acme.example/a-very-long-path-that-is-longer-than-23", 5 + 23),
    ("cafe\u0301", 4),
    ("🇯🇵1️⃣", 4),
])
def test_x_counts_as_x_does(text, weighted):
    assert networks.get("x").length(text) == weighted


def test_x_rules_say_what_is_wrong():
    x_rules = networks.get("x")
    too_long = x_rules.problems(PostDraft(copy="日本語" * 50))
    assert too_long == ["X allows 280 characters (links count 23, emoji and wide characters 2); "
                        "this post has 300. Shorten it by 20."]
    both = x_rules.problems(PostDraft(copy="Hi", images=["A cat"], videos=1))
    assert any("images and a video" in p for p in both)
    five = x_rules.problems(PostDraft(copy="Hi", images=["a", "b", "c", "d", "e"]))
    assert any("at most 4 images" in p for p in five)


# -- connecting: the provider -------------------------------------------------------------------


def consent(fake: FakeX, decision: str = "allow") -> tuple[dict, str]:
    """A person's browser on X's consent page: open it, press a button; the redirect's query,
    and the PKCE verifier the studio kept."""
    verifier = secrets.token_urlsafe(48)
    url = provider.authorization_url(redirect_uri=REDIRECT, state="st4te",
                                     code_verifier=verifier)
    parts = urlsplit(url)
    sent = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]
    assert set(sent["scope"].split()) == {"tweet.read", "tweet.write", "users.read",
                                          "offline.access", "media.write"}
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Authorize app" in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    answer = requests.post(fake.url + "/i/oauth2/authorize/decide",
                           data={**fields, "decision": decision}, allow_redirects=False,
                           timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()}, verifier


def test_consent_exchange_and_the_account(x):
    query, verifier = consent(x)
    assert query["state"] == "st4te"

    tokens = provider.exchange(code=query["code"], redirect_uri=REDIRECT, code_verifier=verifier)
    assert tokens.access_token and tokens.refresh_token
    assert timedelta(minutes=119) < tokens.expires_at - datetime.now(UTC) <= timedelta(hours=2)
    assert "offline.access" in tokens.scopes.split()

    [account] = provider.accounts(tokens)
    assert (account.id, account.name, account.handle) == (USER, "Acme Coffee", "@acmecoffee")
    assert account.settings == {"username": "acmecoffee"}


def test_a_wrong_pkce_verifier_is_refused_with_xs_reason(x):
    query, _ = consent(x)
    with pytest.raises(ConnectionError_, match="authorization code was invalid"):
        provider.exchange(code=query["code"], redirect_uri=REDIRECT,
                          code_verifier=secrets.token_urlsafe(48))


def test_denied_consent_comes_back_as_access_denied_with_the_state(x):
    query, _ = consent(x, decision="deny")
    assert query == {"error": "access_denied", "state": "st4te"}


def test_a_wrong_client_secret_is_refused_saying_so(x, settings):
    query, verifier = consent(x)
    settings.OAUTH_CLIENTS = {"x": {"client_id": "x-app", "client_secret": "wrong"}}
    with pytest.raises(ConnectionError_, match="unauthorized_client"):
        provider.exchange(code=query["code"], redirect_uri=REDIRECT, code_verifier=verifier)


def test_without_an_app_configured_the_provider_says_what_to_set(x, settings):
    settings.OAUTH_CLIENTS = {}
    with pytest.raises(ConnectionError_, match="OAUTH_X_CLIENT_ID"):
        provider.exchange(code="x", redirect_uri=REDIRECT, code_verifier="v")


def test_refresh_replaces_both_tokens_and_the_old_refresh_token_stops_working(x):
    query, verifier = consent(x)
    tokens = provider.exchange(code=query["code"], redirect_uri=REDIRECT, code_verifier=verifier)
    channel = channel_for(x, tokens.access_token, refresh=tokens.refresh_token)

    fresh = provider.refresh(channel)
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token and fresh.refresh_token != tokens.refresh_token
    with pytest.raises(ConnectionError_, match="token was invalid"):
        provider.refresh(channel)  # the old refresh token was spent


def test_revoke_makes_the_token_stop_working(x):
    token = x.issue_token()
    assert provider.revoke(channel_for(x, token)) is True
    assert x.revoked == [token]
    with pytest.raises(NeedsReconnect):
        adapter(x, token).publish(outgoing())


def test_the_provider_is_registered_under_the_networks_name():
    assert connections.get("x") is provider
    assert networks.get("x").connected and provider.refresh_ahead < timedelta(hours=2)


def test_the_demo_sandbox_runs_x_on_its_port_with_an_app_that_connects(settings):
    import json

    from agency.demo.fakes import demo_env, load_all

    sandbox = load_all()["x"]
    env = demo_env()
    assert sandbox.port == 9105
    urls = json.loads(env["NETWORK_BASE_URLS"])
    assert urls["x_api"] == urls["x_www"] == "http://127.0.0.1:9105"
    with sandbox.make() as fake:  # on a free port here
        settings.NETWORK_BASE_URLS = {"x_api": fake.url, "x_www": fake.url}
        settings.OAUTH_CLIENTS = {"x": {"client_id": env["OAUTH_X_CLIENT_ID"],
                                        "client_secret": env["OAUTH_X_CLIENT_SECRET"]}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        query, verifier = consent(fake)
        tokens = provider.exchange(code=query["code"], redirect_uri=REDIRECT,
                                   code_verifier=verifier)
        assert [a.handle for a in provider.accounts(tokens)] == ["@acmecoffee"]


def test_no_token_reaches_a_log_line_even_at_debug(x, caplog, monkeypatch):
    """tweepy writes each request's headers at DEBUG (the bearer token among them): its logger
    is kept above DEBUG, whatever the root logger's level."""
    caplog.set_level(logging.DEBUG)
    # Another library may have quietened urllib3 for the whole process (pinterest-api-sdk's
    # Configuration sets it to WARNING): here every logger that could carry a request speaks.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".")[0] in ("urllib3", "requests"):
            monkeypatch.setattr(logger, "disabled", False)
            monkeypatch.setattr(logger, "level", logging.NOTSET)
    refresh = x.issue_refresh_token()
    token = x.issue_token()
    x.expire(token)
    channel = channel_for(x, token, refresh=refresh)

    XAdapter(channel, timeout=TIMEOUT).publish(outgoing("Logged quietly", images=[CAT]))

    assert len(x.posts) == 1 and caplog.records  # there were debug lines (urllib3's)
    for secret in (token, refresh, channel.get_secret(), channel.get_refresh_token()):
        assert secret not in caplog.text


# -- results --------------------------------------------------------------------------------------


def test_counts_of_published_posts_and_followers_are_read_from_x(x):
    first = adapter(x).publish(outgoing("Counted"))
    second = adapter(x).publish(outgoing("Counted too"))
    x.set_counts(first.remote_id, like_count=7, retweet_count=2, reply_count=1, quote_count=1,
                 bookmark_count=3, impression_count=420)
    x.followers_count = 1234

    counts = adapter(x).metrics([first.remote_id, second.remote_id, "1999999999999999999"])

    assert set(counts) == {first.remote_id, second.remote_id}  # a post X no longer has: left out
    one = counts[first.remote_id]
    assert (one.likes, one.reposts, one.replies, one.quotes, one.saves, one.impressions) == (
        7, 2, 1, 1, 3, 420)
    assert counts[second.remote_id].likes == 0
    assert adapter(x).followers() == 1234


def test_counts_when_x_limits_requests_wait_for_its_reset(x):
    x.fail_next(1, status=429, retry_after=120, path="/2/tweets")
    with pytest.raises(Transient) as caught:
        adapter(x).metrics(["1"])
    assert 100 < caught.value.retry_after <= 121


def test_a_duplicate_refusal_of_this_deliverys_own_earlier_post_is_that_post(x):
    """X's timeline can lag behind a post just made, so a resend after an unknown outcome may
    meet X's duplicate refusal: the delivery's own post is then recognised, not failed."""
    made = int(datetime.now(UTC).timestamp() * 1_000_000)
    post = outgoing("Only once, please", created_at_us=made)
    first = adapter(x).publish(post)

    again = adapter(x).publish(post)

    assert again.remote_id == first.remote_id and len(x.posts) == 1


def test_a_duplicate_of_an_older_post_is_still_refused_with_xs_reason(x):
    x.add_post("Good morning", created_at=datetime.now(UTC) - timedelta(days=2))
    made = int(datetime.now(UTC).timestamp() * 1_000_000)
    with pytest.raises(Permanent, match="duplicate content"):
        adapter(x).publish(outgoing("Good morning", created_at_us=made))
    assert len(x.posts) == 1
