"""X in the inbox: mentions and replies polled through the real periodic task and the X adapter
(tweepy) from the local X (agency/demo/fakes/x.py), which answers as X's API v2 reference says
(``/2/users/:id/mentions`` with ``since_id``, ``PUT /2/tweets/:id/hidden``, ``POST /2/tweets``
with ``reply.in_reply_to_tweet_id``, rate limits with ``x-rate-limit-reset``)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from agency.demo.fakes.x import FakeX
from campaigns.conversations import tasks
from campaigns.conversations.models import Item, PollCursor, Reply
from tenants.models import Role
from tests.conversations.conftest import in_brand, items_by_text, publish
from tests.conversations.test_meta_comments import ABUSE, AT_RISK, CRITICISM
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

USER = "1500000000000000001"


@pytest.fixture
def x(world, settings):
    with FakeX(client_id="x-app", client_secret="x-secret", user_id=USER,
               hang_seconds=2) as fake:
        settings.NETWORK_BASE_URLS = {"x_api": fake.url, "x_www": fake.url}
        settings.OAUTH_CLIENTS = {"x": {"client_id": "x-app", "client_secret": "x-secret"}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        fake.channel = ChannelFactory(
            brand=world.acme, name="Acme on X", network="x", handle="@acmecoffee",
            account_id=USER, secret=fake.issue_token(), settings={"username": "acmecoffee"},
            token_expires_at=timezone.now() + timedelta(hours=2))
        fake.schema = world.acme.client.schema_name
        yield fake


def test_x_mentions_and_replies_arrive_once_linked_to_their_post(x):
    (post,) = publish(x.schema, [x.channel])
    question = x.add_mention("@acmecoffee is the spring blend decaf?", username="carol",
                             name="Carol", in_reply_to=post.remote_id)
    x.add_mention("@acmecoffee @carol me too!", username="dan", in_reply_to=question["id"])
    x.add_mention("Loving the new cups from @acmecoffee", username="erin")
    x.add_mention("not about Acme at all", username="fay")

    done = tasks.poll_conversations()[x.schema]
    assert done["taken"] == 3 and done["failed"] == [] and done["deferred"] == []
    items = items_by_text(x.schema)
    decaf = items["@acmecoffee is the spring blend decaf?"]
    assert decaf.kind == "reply" and decaf.author_handle == "@carol"
    assert decaf.delivery_id == post.pk and decaf.thread_root == post.remote_id
    nested = items["@acmecoffee @carol me too!"]
    assert nested.in_reply_to == question["id"] and nested.delivery_id == post.pk
    cups = items["Loving the new cups from @acmecoffee"]
    assert cups.kind == "mention" and cups.delivery_id is None

    assert tasks.poll_conversations()[x.schema]["taken"] == 0
    with in_brand(x.schema):
        cursor = PollCursor.objects.get(channel_id=x.channel.pk)
    assert x.count("GET", "/mentions") == 2
    x.add_mention("@acmecoffee one more", username="gil", in_reply_to=post.remote_id)
    assert tasks.poll_conversations()[x.schema]["taken"] == 1
    assert cursor.cursor  # polls ask only for what is newer (since_id)


def test_x_abuse_is_hidden_criticism_stays_a_person_at_risk_is_never_hidden(x, on_call):
    (post,) = publish(x.schema, [x.channel])
    abuse = x.add_mention(f"@acmecoffee {ABUSE}", username="troll", in_reply_to=post.remote_id)
    blunt = x.add_mention(f"@acmecoffee {CRITICISM}", username="eve",
                          in_reply_to=post.remote_id)
    risk = x.add_mention(f"@acmecoffee {AT_RISK}", username="gil", in_reply_to=post.remote_id)
    elsewhere = x.add_mention(f"@acmecoffee {ABUSE}!", username="troll2")  # not our thread
    tasks.poll_conversations()
    items = items_by_text(x.schema)
    assert items[f"@acmecoffee {ABUSE}"].hidden and x.post(abuse["id"])["hidden"] is True
    assert not items[f"@acmecoffee {CRITICISM}"].hidden and not x.post(blunt["id"])["hidden"]
    escalated = items[f"@acmecoffee {AT_RISK}"]
    assert escalated.pinned and not escalated.hidden and not x.post(risk["id"])["hidden"]
    # A mention outside the brand's conversations cannot be hidden on X: flagged for staff.
    outside = items[f"@acmecoffee {ABUSE}!"]
    assert outside.flagged and not outside.hidden and not x.post(elsewhere["id"])["hidden"]


def test_an_x_rate_limit_waits_until_the_reset(x):
    (post,) = publish(x.schema, [x.channel])
    x.add_mention("@acmecoffee hello", in_reply_to=post.remote_id)
    x.fail_next(1, status=429, retry_after=300, path="/mentions")
    done = tasks.poll_conversations()[x.schema]
    assert done["deferred"] == [x.channel.pk] and done["failed"] == []
    with in_brand(x.schema):
        cursor = PollCursor.objects.get(channel_id=x.channel.pk)
        assert not Item.objects.exists()
    waited = (cursor.deferred_until - timezone.now()).total_seconds()
    assert 240 <= waited <= 310 and cursor.cursor == ""
    with in_brand(x.schema):
        PollCursor.objects.filter(pk=cursor.pk).update(deferred_until=None)
    assert tasks.poll_conversations()[x.schema]["taken"] == 1


def test_an_x_reply_goes_out_in_the_thread_once_despite_a_timeout(world, http, x, settings):
    settings.CONVERSATIONS = {**settings.CONVERSATIONS, "TIMEOUT_SECONDS": 0.5}
    (post,) = publish(x.schema, [x.channel])
    question = x.add_mention("@acmecoffee do you ship to Norway?", in_reply_to=post.remote_id)
    tasks.poll_conversations()
    with in_brand(x.schema):
        item = Item.objects.get()
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    x.accept_then_hang(1)  # the reply is made; its answer comes too late
    form = {"text": "Yes, 3-5 days.", "key": "x" * 32}
    admin.post(f"/admin/inbox/{item.pk}/reply/", form)
    with in_brand(x.schema):
        assert Reply.objects.get().state == "unconfirmed"
    time.sleep(0.1)
    tasks.poll_conversations()  # the re-check finds the reply on the account's timeline
    ours = [p for p in x.posts if p["in_reply_to"] == question["id"]
            and p["author_id"] == USER]
    assert len(ours) == 1 and ours[0]["text"] == "Yes, 3-5 days."
    with in_brand(x.schema):
        reply = Reply.objects.get()
    assert reply.state == "sent" and reply.remote_id == ours[0]["id"]
