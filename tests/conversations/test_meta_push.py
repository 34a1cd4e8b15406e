"""Meta's signed webhooks (/webhooks/meta on the portal's host): the verification handshake, the
signature check, and a pushed Page or Instagram comment reaching the brand's inbox through the
same path as polling, so nothing is taken twice. Deliveries are built as Meta's webhook
reference shows them (``object``, ``entry[].id`` / ``time`` / ``changes[].field`` / ``value``)
and signed as Meta signs them (HMAC-SHA256 of the raw body with the app secret)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from campaigns.conversations import tasks
from campaigns.conversations.models import Item
from tenants.tasks import run_in_client
from tests.conversations.conftest import in_brand, publish
from tests.conversations.test_meta_comments import ABUSE, IG_USER, PAGE, meta  # noqa: F401

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

SECRET = "meta-app-secret-for-hooks"
VERIFY = "a-verify-token-only-we-know"
URL = "/webhooks/meta"


@pytest.fixture
def hooks(settings):
    settings.META_WEBHOOK = {"VERIFY_TOKEN": VERIFY, "APP_SECRET": SECRET, "MAX_BYTES": 4096}


def _signed(http, payload, *, secret=SECRET, signature=None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {}
    if signature is None:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if signature:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return http().post(URL, body, content_type="application/json", **headers)


def _page_comment(comment_id: str, post_id: str, text: str, *, parent: str = "",
                  author=("7001", "Carol Example")) -> dict:
    return {"object": "page", "entry": [{"id": PAGE, "time": int(time.time()), "changes": [
        {"field": "feed", "value": {
            "from": {"id": author[0], "name": author[1]},
            "post": {"status_type": "added_photos", "is_published": True,
                     "id": post_id, "permalink_url": f"https://www.facebook.com/{post_id}"},
            "message": text, "post_id": post_id, "comment_id": comment_id,
            "created_time": int(time.time()), "item": "comment", "parent_id": parent or post_id,
            "verb": "add"}}]}]}


def test_the_handshake_answers_the_challenge_only_to_our_verify_token(http, hooks, settings):
    asked = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY}
    answer = http().get(URL, asked)
    assert answer.status_code == 200 and answer.content == b"1158201444"
    wrong = http().get(URL, {**asked, "hub.verify_token": "guess"})
    assert wrong.status_code == 403 and b"verify token does not match" in wrong.content
    assert http().get(URL, {**asked, "hub.mode": "unsubscribe"}).status_code == 403
    settings.META_WEBHOOK = {**settings.META_WEBHOOK, "VERIFY_TOKEN": ""}
    assert http().get(URL, asked).status_code == 404  # not set up: nothing to verify


def test_a_pushed_comment_reaches_the_inbox_once_and_a_poll_takes_it_no_more(
        http, hooks, meta, django_capture_on_commit_callbacks):  # noqa: F811
    (post,) = publish(meta.schema, [meta.facebook])
    comment = meta.fake.add_comment(post.remote_id, "Is the spring blend decaf?")
    payload = _page_comment(comment["id"], post.remote_id, "Is the spring blend decaf?")

    with django_capture_on_commit_callbacks() as enqueued:
        answer = _signed(http, payload)
    assert answer.status_code == 200 and answer.json() == {"taken": 1}
    assert len(enqueued) == 1  # the classifier's actions go to a worker
    with in_brand(meta.schema):
        (item,) = Item.objects.all()
    assert item.network == "facebook" and item.delivery_id == post.pk
    assert item.thread_root == post.remote_id and item.author_name == "Carol Example"

    assert _signed(http, payload).json() == {"taken": 0}  # Meta delivers again: nothing new
    assert tasks.poll_conversations()[meta.schema]["taken"] == 0  # the poll sees it: taken
    with in_brand(meta.schema):
        assert Item.objects.count() == 1


def test_a_polled_comment_pushed_later_is_not_taken_again(http, hooks, meta):  # noqa: F811
    (post,) = publish(meta.schema, [meta.facebook])
    comment = meta.fake.add_comment(post.remote_id, "Lovely cups")
    assert tasks.poll_conversations()[meta.schema]["taken"] == 1
    answer = _signed(http, _page_comment(comment["id"], post.remote_id, "Lovely cups"))
    assert answer.json() == {"taken": 0}


def test_pushed_abuse_is_hidden_on_facebook_by_the_worker(
        http, hooks, meta, django_capture_on_commit_callbacks):  # noqa: F811
    (post,) = publish(meta.schema, [meta.facebook])
    comment = meta.fake.add_comment(post.remote_id, ABUSE, author="Troll")
    with django_capture_on_commit_callbacks():
        _signed(http, _page_comment(comment["id"], post.remote_id, ABUSE))
    with in_brand(meta.schema):
        (item,) = Item.objects.all()
    assert item.action == "hide" and not item.hidden  # not yet: that is the worker's
    # What the worker runs for the enqueued task (tenants.tasks.run_in_client):
    run_in_client(meta.schema, "campaigns.conversations.push.act_on", [[item.pk]], {})
    with in_brand(meta.schema):
        item.refresh_from_db()
    assert item.hidden and meta.fake.comment(comment["id"])["hidden"] is True


def test_an_instagram_comment_is_pushed_into_the_instagram_channel(http, hooks, meta):  # noqa: F811
    media = meta.fake.add("ig_media", IG_USER, "Autumn blend")
    comment = meta.fake.add_comment(media["id"], "Where can I buy it?", author="carol")
    payload = {"object": "instagram", "entry": [{"id": IG_USER, "time": int(time.time()),
                                                 "changes": [{"field": "comments", "value": {
                                                     "from": {"id": "9001",
                                                              "username": "carol"},
                                                     "media": {"id": media["id"],
                                                               "media_product_type": "FEED"},
                                                     "id": comment["id"],
                                                     "text": "Where can I buy it?"}}]}]}
    assert _signed(http, payload).json() == {"taken": 1}
    with in_brand(meta.schema):
        (item,) = Item.objects.all()
    assert item.channel_id == meta.instagram.pk and item.author_handle == "@carol"
    assert item.thread_root == media["id"]
    assert tasks.poll_conversations()[meta.schema]["taken"] == 0


def test_bad_missing_or_oversized_deliveries_are_refused_and_nothing_is_taken(
        http, hooks, meta):  # noqa: F811
    (post,) = publish(meta.schema, [meta.facebook])
    payload = _page_comment(f"{post.remote_id}_99", post.remote_id, "hello")
    missing = _signed(http, payload, signature="")
    assert missing.status_code == 403 and b"X-Hub-Signature-256" in missing.content
    forged = _signed(http, payload, secret="not-the-app-secret")
    assert forged.status_code == 403
    body = json.dumps(payload).encode()
    tampered = _signed(http, None, raw=body.replace(b"hello", b"HELLO"),
                       signature="sha256=" + hmac.new(SECRET.encode(), body,
                                                      hashlib.sha256).hexdigest())
    assert tampered.status_code == 403
    big = _signed(http, None, raw=b'{"object": "page", "pad": "' + b"x" * 5000 + b'"}')
    assert big.status_code == 413 and b"larger than 4096 bytes" in big.content
    not_json = _signed(http, None, raw=b"not json")
    assert not_json.status_code == 400
    with in_brand(meta.schema):
        assert Item.objects.count() == 0
    # An account no brand has: accepted (Meta would retry otherwise), nothing taken.
    other = _page_comment("1_2", "1_1", "hi")
    other["entry"][0]["id"] = "99999"
    assert _signed(http, other).json() == {"taken": 0}
