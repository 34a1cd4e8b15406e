"""The Mastodon and Bluesky adapters, with their real client libraries, against local servers
that answer as the networks do: what arrives on the network, and what staff are told when it
does not."""

from __future__ import annotations

import itertools
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from agency.demo.fakes import TID_ALPHABET, FakeBluesky, FakeMastodon, closed_port_url
from campaigns.publishing.adapters import (
    Image,
    Outgoing,
    Permanent,
    Transient,
    Unknown,
    Video,
)
from campaigns.publishing.adapters.bluesky import BlueskyAdapter, forget_sessions, tid
from campaigns.publishing.adapters.mastodon import MastodonAdapter
from tests.factories import ChannelFactory

# atproto's upload_blob hands httpx the image as data=bytes
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

TOKEN = "mastodon-access-token"
PASSWORD = "abcd-efgh-ijkl-mnop"
TIMEOUT = 0.5  # seconds: the hang cases wait this long, not more
_ids = itertools.count(1001)

CAT = Image(data=b"\x89PNG\r\n\x1a\n" + b"cat" * 50, mime_type="image/png", name="cat.png",
            alt="A ginger cat asleep on a keyboard")
DOG = Image(data=b"\xff\xd8\xff\xe0" + b"dog" * 50, mime_type="image/jpeg", name="dog.jpg",
            alt="A dog catching a frisbee — mid-air, ears flying 🐕")
CLIP = Video(data=b"\x00\x00\x00\x18ftypmp42" + b"clip" * 60, mime_type="video/mp4",
             name="clip.mp4", description="A barista pours a leaf into a flat white")


def outgoing(text="Autumn sale starts today", **extra) -> Outgoing:
    extra.setdefault("delivery_id", next(_ids))
    extra.setdefault("created_at_us", time.time_ns() // 1000)
    return Outgoing(idempotency_key=f"delivery-{extra['delivery_id']}", text=text,
                    campaign_title="Autumn", **extra)


@pytest.fixture
def mastodon():
    with FakeMastodon(token=TOKEN, username="acme", hang_seconds=3) as fake:
        yield fake


@pytest.fixture
def bluesky():
    forget_sessions()
    with FakeBluesky(handle="acme.test", password=PASSWORD, hang_seconds=3) as fake:
        yield fake
    forget_sessions()


def mastodon_adapter(endpoint: str, token: str = TOKEN, timeout: float = TIMEOUT):
    channel = ChannelFactory.build(name="Acme on Mastodon", network="mastodon",
                                   handle="@acme@127.0.0.1", endpoint=endpoint, secret=token)
    return MastodonAdapter(channel, timeout=timeout)


def bluesky_adapter(endpoint: str, password: str = PASSWORD, timeout: float = TIMEOUT):
    channel = ChannelFactory.build(name="Acme on Bluesky", network="bluesky",
                                   handle="@acme.test", endpoint=endpoint, secret=password)
    return BlueskyAdapter(channel, timeout=timeout)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


# -- Mastodon ---------------------------------------------------------------------------------


def test_mastodon_post_arrives_with_its_images_alt_texts_and_first_comment(mastodon):
    post = outgoing("Our autumn range is in 🍂 https://shop.example/autumn?ref=social #Autumn",
                    images=[CAT, DOG], first_comment="Sizes S to XXL, free returns.")

    published = mastodon_adapter(mastodon.url).publish(post)

    main, comment = mastodon.posts
    assert main["text"] == post.text
    assert [m["description"] for m in main["media"]] == [CAT.alt, DOG.alt]
    assert [(m["file_name"], m["mime_type"]) for m in main["media"]] == \
        [("cat.png", "image/png"), ("dog.jpg", "image/jpeg")]
    assert published.remote_id == main["id"]
    assert published.url == main["url"]
    assert comment["text"] == "Sizes S to XXL, free returns."
    assert comment["in_reply_to_id"] == main["id"]
    assert mastodon.count("POST", "/api/v2/media") == 2
    assert mastodon.count("GET", "/api/v1/instance") == 0  # no version probe


def test_mastodon_video_is_uploaded_waited_for_and_attached_with_its_description(
        mastodon, monkeypatch):
    from campaigns.publishing.adapters import mastodon as module

    monkeypatch.setattr(module, "PROCESSING_POLL", 0.01)
    mastodon.video_processing_polls = 2  # answered 202 without a url, processed two polls later
    post = outgoing("Latte art, slowly", videos=[CLIP])

    mastodon_adapter(mastodon.url).publish(post)

    [main] = mastodon.posts
    assert [(m["description"], m["file_name"], m["mime_type"]) for m in main["media"]] == [
        (CLIP.description, "clip.mp4", "video/mp4")]
    assert mastodon.count("GET", "/api/v1/media/") == 2  # asked until it was processed
    assert mastodon_adapter(mastodon.url).find(post, since=since()) is not None


def test_mastodon_video_still_processing_after_the_wait_is_transient(mastodon, monkeypatch):
    from campaigns.publishing.adapters import mastodon as module

    monkeypatch.setattr(module, "PROCESSING_POLL", 0.01)
    monkeypatch.setattr(module, "PROCESSING_WAIT", 0.05)
    mastodon.video_processing_polls = 10_000

    with pytest.raises(Transient, match="still processing the video"):
        mastodon_adapter(mastodon.url).publish(outgoing("Never ready", videos=[CLIP]))
    assert mastodon.posts == []  # nothing posted without its video


def test_mastodon_repeat_with_the_same_key_makes_no_second_post(mastodon):
    adapter = mastodon_adapter(mastodon.url)
    post = outgoing("Only once, please", first_comment="And the comment once too")

    first = adapter.publish(post)
    second = adapter.publish(post)

    assert second == first
    assert [p["text"] for p in mastodon.posts] == ["Only once, please", "And the comment once too"]
    assert mastodon.created_per_key[post.idempotency_key] == 1
    assert mastodon.duplicates() == {}


def test_mastodon_rate_limit_is_transient_with_the_wait_from_retry_after(mastodon):
    mastodon.fail_next(status=429, retry_after=30)

    with pytest.raises(Transient) as caught:
        mastodon_adapter(mastodon.url).publish(outgoing())

    assert caught.value.retry_after == pytest.approx(30, abs=1)
    assert "rate limiting" in caught.value.message
    assert mastodon.posts == []


def test_mastodon_rate_limit_without_retry_after_waits_for_the_reset_time(mastodon):
    mastodon.retry_after_header = False  # as real Mastodon: only X-RateLimit-Reset
    mastodon.fail_next(status=429, retry_after=120)

    with pytest.raises(Transient) as caught:
        mastodon_adapter(mastodon.url).publish(outgoing())

    assert caught.value.retry_after == pytest.approx(120, abs=2)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_mastodon_server_error_on_the_status_is_an_unknown_outcome(mastodon, status):
    """A 5xx (a proxy's 502/504 too) may come after Mastodon made the status: it is not
    retried blindly; ``find`` decides, and a resend carries the same Idempotency-Key."""
    adapter = mastodon_adapter(mastodon.url)
    post = outgoing(images=[CAT])
    mastodon.fail_next(status=status, path="/api/v1/statuses")

    with pytest.raises(Unknown) as caught:
        adapter.publish(post)

    assert f"HTTP {status}" in caught.value.message
    assert adapter.find(post, since=datetime.now(UTC)) is None  # this fake made nothing
    adapter.publish(post)
    assert [p["text"] for p in mastodon.posts] == [post.text]


def test_a_mastodon_server_error_before_the_status_is_transient(mastodon):
    adapter = mastodon_adapter(mastodon.url)
    mastodon.fail_next(status=503, retry_after=12, path="/api/v2/media")

    with pytest.raises(Transient) as caught:
        adapter.publish(outgoing(images=[CAT]))

    assert "HTTP 503" in caught.value.message and caught.value.retry_after == 12
    assert mastodon.posts == []


def test_mastodon_answers_whether_it_still_takes_the_token_without_posting(mastodon):
    from campaigns.publishing.adapters import NeedsReconnect

    assert mastodon_adapter(mastodon.url).check_access() is True
    mastodon.revoke_all()  # the account's password changed
    with pytest.raises(NeedsReconnect, match="reconnect"):
        mastodon_adapter(mastodon.url).check_access()
    assert mastodon.posts == []


def test_mastodon_bad_token_is_permanent_with_mastodons_reason(mastodon):
    with pytest.raises(Permanent) as caught:
        mastodon_adapter(mastodon.url, token="revoked-token").publish(outgoing(images=[CAT]))

    assert "The access token is invalid" in caught.value.message
    assert mastodon.posts == [] and mastodon.media == {}


def test_mastodon_refused_content_is_permanent_with_mastodons_message(mastodon):
    with pytest.raises(Permanent) as caught:
        mastodon_adapter(mastodon.url).publish(outgoing("Too long. " * 60))

    assert "Validation failed: Text character limit of 500 exceeded" in caught.value.message
    assert mastodon.posts == []


@pytest.mark.parametrize("fault", ["hang", "drop"])
def test_mastodon_accepted_without_answer_is_unknown_and_find_sees_it(mastodon, fault):
    adapter = mastodon_adapter(mastodon.url)
    post = outgoing("Doors open at 9 & coffee's on us\n\nhttps://shop.example/open #Opening",
                    images=[CAT])
    getattr(mastodon, f"accept_then_{fault}")(1)
    sent_at = since()

    started = time.monotonic()
    with pytest.raises(Unknown):
        adapter.publish(post)
    assert time.monotonic() - started < 2  # the adapter's timeout, not the server's hang

    (status,) = mastodon.posts  # it is on Mastodon all the same
    found = adapter.find(post, since=sent_at)
    assert found is not None
    assert (found.remote_id, found.url) == (status["id"], status["url"])


def test_mastodon_find_is_none_for_a_post_never_sent(mastodon):
    adapter = mastodon_adapter(mastodon.url)
    post = outgoing("The winter range is here")
    mastodon.add_status("The winter range is here",  # the same words, last year
                        created_at=datetime.now(UTC) - timedelta(days=365))
    adapter.publish(outgoing("Something else entirely"))

    assert adapter.find(post, since=since()) is None


def test_mastodon_find_tells_image_posts_apart_by_their_descriptions(mastodon):
    adapter = mastodon_adapter(mastodon.url)
    cat_only = outgoing("", images=[CAT])
    published = adapter.publish(cat_only)

    assert adapter.find(cat_only, since=since()) == published
    assert adapter.find(outgoing("", images=[DOG]), since=since()) is None


def test_mastodon_unreachable_server_is_transient_and_find_cannot_tell():
    adapter = mastodon_adapter(closed_port_url())

    with pytest.raises(Transient) as caught:
        adapter.publish(outgoing())
    assert "Could not reach Mastodon" in caught.value.message
    with pytest.raises(Unknown):
        adapter.find(outgoing(), since=since())


def test_mastodon_slow_image_upload_is_transient_as_nothing_was_posted(mastodon):
    mastodon.latency = 1.5

    with pytest.raises(Transient):
        mastodon_adapter(mastodon.url).publish(outgoing(images=[CAT]))

    assert mastodon.posts == []


def test_mastodon_failed_first_comment_does_not_fail_the_post(mastodon, caplog):
    post = outgoing("The post itself", first_comment="A comment far too long. " * 40)

    with caplog.at_level(logging.WARNING, logger="campaigns.publishing.adapters.mastodon"):
        published = mastodon_adapter(mastodon.url).publish(post)

    assert [p["text"] for p in mastodon.posts] == ["The post itself"]
    assert published.remote_id == mastodon.posts[0]["id"]
    assert "Text character limit of 500 exceeded" in caplog.text


# -- Bluesky ----------------------------------------------------------------------------------


def _untid(key: str) -> int:
    value = 0
    for char in key:
        value = value * 32 + TID_ALPHABET.index(char)
    return value


def test_record_key_is_the_delivery_time_and_id_as_a_tid():
    key = tid(1_732_000_000_123_456, 1234)

    assert len(key) == 13 and key[0] in "234567abcdefghij"
    assert _untid(key) == (1_732_000_000_123_456 << 10) | (1234 % 1024)
    assert tid(1_732_000_000_123_457, 1) > tid(1_732_000_000_123_456, 1023)  # sorts by time


def test_bluesky_post_arrives_with_alt_texts_facets_at_byte_offsets_and_comment(bluesky):
    text = "Ready? 🍂🎉 Shop the drop https://shop.example/autumn?ref=bsky #AutumnDrop"
    post = outgoing(text, images=[CAT, DOG], first_comment="Free returns on everything.")

    published = bluesky_adapter(bluesky.url).publish(post)

    main, comment = bluesky.posts
    assert main["text"] == text
    assert [image["alt"] for image in main["images"]] == [CAT.alt, DOG.alt]
    assert [image["mime_type"] for image in main["images"]] == ["image/png", "image/jpeg"]
    encoded = text.encode()
    facets = {encoded[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode(): f["features"][0]
              for f in main["facets"]}
    assert facets == {
        "https://shop.example/autumn?ref=bsky": {"$type": "app.bsky.richtext.facet#link",
                                                 "uri": "https://shop.example/autumn?ref=bsky"},
        "#AutumnDrop": {"$type": "app.bsky.richtext.facet#tag", "tag": "AutumnDrop"},
    }
    link = next(f for f in main["facets"] if "uri" in f["features"][0])
    assert link["index"]["byteStart"] == len("Ready? 🍂🎉 Shop the drop ".encode())  # not chars
    rkey = tid(post.created_at_us, post.delivery_id)
    assert main["rkey"] == rkey
    assert published.remote_id == main["uri"] == f"at://{bluesky.did}/app.bsky.feed.post/{rkey}"
    assert published.url == f"https://bsky.app/profile/acme.test/post/{rkey}"
    assert comment["text"] == "Free returns on everything."
    assert comment["reply"]["root"]["uri"] == main["uri"]
    assert comment["reply"]["parent"] == comment["reply"]["root"]
    assert comment["reply"]["root"]["cid"] == main["cid"]


def test_bluesky_video_arrives_as_a_video_embed_with_its_description(bluesky):
    bluesky_adapter(bluesky.url).publish(outgoing("Latte art, slowly", videos=[CLIP]))

    [main] = bluesky.posts
    assert main["video"]["alt"] == CLIP.description
    assert main["video"]["mime_type"] == "video/mp4"
    assert bluesky.blobs[main["video"]["cid"]]["data"] == CLIP.data
    assert main["images"] == []


def test_bluesky_refuses_a_video_with_images_before_sending(bluesky):
    with pytest.raises(Permanent, match="one video, without images"):
        bluesky_adapter(bluesky.url).publish(outgoing("Both", videos=[CLIP], images=[CAT]))
    assert bluesky.posts == [] and bluesky.blobs == {}


@pytest.mark.parametrize("duplicate_status", [500, 409, 400])
def test_bluesky_repeat_under_the_same_record_key_makes_no_second_post(bluesky, duplicate_status):
    bluesky.duplicate_rkey_status = duplicate_status
    adapter = bluesky_adapter(bluesky.url)
    post = outgoing("Only once on Bluesky", first_comment="And one comment")

    first = adapter.publish(post)
    second = adapter.publish(post)

    assert second == first
    assert [p["text"] for p in bluesky.posts] == ["Only once on Bluesky", "And one comment"]
    assert bluesky.create_attempts[tid(post.created_at_us, post.delivery_id)] == 2
    assert bluesky.duplicates() == {}
    assert bluesky.count("POST", "createSession") == 1  # the session is kept


def test_bluesky_another_post_under_our_record_key_is_permanent(bluesky):
    adapter = bluesky_adapter(bluesky.url)
    post = outgoing("First words")
    adapter.publish(post)

    with pytest.raises(Permanent) as caught:
        adapter.publish(outgoing("Other words", created_at_us=post.created_at_us,
                                 delivery_id=post.delivery_id))
    assert "another post under the record key" in caught.value.message


@pytest.mark.parametrize("retry_after_header", [True, False])
def test_bluesky_rate_limit_is_transient_with_the_wait(bluesky, retry_after_header):
    bluesky.retry_after_header = retry_after_header  # without: only the ratelimit-reset time
    bluesky.fail_next(status=429, retry_after=40)

    with pytest.raises(Transient) as caught:
        bluesky_adapter(bluesky.url).publish(outgoing())

    assert caught.value.retry_after == pytest.approx(40, abs=2)
    assert "rate limiting" in caught.value.message
    assert bluesky.posts == []


@pytest.mark.parametrize("path", ["createSession", "uploadBlob", "createRecord"])
def test_bluesky_server_error_is_transient_and_the_next_try_posts(bluesky, path):
    adapter = bluesky_adapter(bluesky.url)
    post = outgoing(images=[CAT])
    bluesky.fail_next(status=500, path=path)

    with pytest.raises(Transient) as caught:
        adapter.publish(post)

    assert "HTTP 500" in caught.value.message
    assert bluesky.posts == []
    adapter.publish(post)
    assert [p["text"] for p in bluesky.posts] == [post.text]


def test_bluesky_error_without_a_message_is_named_by_its_error(bluesky):
    bluesky.fail_next(status=502, message="", path="createRecord")

    with pytest.raises(Transient) as caught:
        bluesky_adapter(bluesky.url).publish(outgoing())

    assert "HTTP 502: UpstreamFailure" in caught.value.message


def test_bluesky_wrong_app_password_is_permanent_with_blueskys_reason(bluesky):
    with pytest.raises(Permanent) as caught:
        bluesky_adapter(bluesky.url, password="wrong-pass-word").publish(outgoing())

    assert "Invalid identifier or password" in caught.value.message
    assert "acme.test" in caught.value.message
    assert bluesky.posts == []


def test_bluesky_refused_content_is_permanent_with_the_servers_message(bluesky):
    with pytest.raises(Permanent) as caught:
        bluesky_adapter(bluesky.url).publish(outgoing("🍂" * 301))  # 301 graphemes, 1204 bytes

    assert "Record/text must not be longer than 300 graphemes" in caught.value.message
    assert bluesky.posts == []


@pytest.mark.parametrize("fault", ["hang", "drop"])
def test_bluesky_accepted_without_answer_is_unknown_and_find_sees_it(bluesky, fault):
    adapter = bluesky_adapter(bluesky.url)
    post = outgoing("Doors open at 9 🚪 https://shop.example/open #Opening", images=[DOG])
    getattr(bluesky, f"accept_then_{fault}")(1)

    started = time.monotonic()
    with pytest.raises(Unknown):
        adapter.publish(post)
    assert time.monotonic() - started < 2

    (record,) = bluesky.posts
    found = adapter.find(post, since=since())
    assert found is not None
    assert found.remote_id == record["uri"]
    assert found.url.endswith("/post/" + record["rkey"])


@pytest.mark.parametrize("missing_status", [400, 404])
def test_bluesky_find_is_none_for_a_post_never_sent(bluesky, missing_status):
    bluesky.missing_record_status = missing_status
    adapter = bluesky_adapter(bluesky.url)
    adapter.publish(outgoing("Something else entirely"))

    assert adapter.find(outgoing("Never sent"), since=since()) is None


def test_bluesky_unreachable_server_is_transient_and_find_cannot_tell():
    forget_sessions()
    adapter = bluesky_adapter(closed_port_url())

    with pytest.raises(Transient) as caught:
        adapter.publish(outgoing())
    assert "Could not reach Bluesky" in caught.value.message
    with pytest.raises(Unknown):
        adapter.find(outgoing(), since=since())


def test_bluesky_slow_server_before_the_post_is_transient(bluesky):
    bluesky.latency = 1.5

    with pytest.raises(Transient) as caught:
        bluesky_adapter(bluesky.url).publish(outgoing(images=[CAT]))

    assert "nothing was posted" in caught.value.message
    assert bluesky.posts == []


def test_bluesky_refused_kept_session_logs_in_again(bluesky):
    adapter = bluesky_adapter(bluesky.url)
    adapter.publish(outgoing("Before"))
    bluesky.revoke_sessions()

    adapter.publish(outgoing("After"))

    assert [p["text"] for p in bluesky.posts] == ["Before", "After"]
    assert bluesky.count("POST", "createSession") == 2


def test_bluesky_failed_first_comment_does_not_fail_the_post(bluesky, caplog):
    post = outgoing("The post itself", first_comment="🍂" * 301)

    with caplog.at_level(logging.WARNING, logger="campaigns.publishing.adapters.bluesky"):
        published = bluesky_adapter(bluesky.url).publish(post)

    assert [p["text"] for p in bluesky.posts] == ["The post itself"]
    assert published.remote_id == bluesky.posts[0]["uri"]
    assert "must not be longer than 300 graphemes" in caplog.text
