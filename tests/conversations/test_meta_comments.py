"""Facebook Page comments, Instagram comments and Threads replies in the inbox: polled through the
real periodic task and the real adapters from the local Meta (agency/demo/fakes/meta.py), which
answers as Meta's references say (``/{post}/comments`` with ``filter=stream``, Instagram's
top-level comments with their ``replies``, Threads' ``/conversation``; hiding with
``is_hidden`` / ``hide`` / ``manage_reply``; Graph's rate-limit errors). What a brand's people
see: each comment once, under its post; abuse hidden on the network, criticism left visible,
a person at risk never hidden; a reply in the thread exactly once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from agency.demo.fakes.meta import FakeMeta
from campaigns.conversations import actions, tasks
from campaigns.conversations.models import Item, ModerationAction, PollCursor, Reply, What
from tenants.models import Role
from tests.conversations.conftest import in_brand, publish
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

PAGE, IG_USER, THREADS_USER = "20001", "17841400000000001", "30001"
ABUSE = "You are all worthless idiots, go kill yourselves"
CRITICISM = "This roast is overpriced and bland, honestly disappointing."
AT_RISK = "I don't want to live anymore, nothing matters"


@dataclass
class Meta:
    schema: str
    fake: FakeMeta
    facebook: object
    instagram: object
    threads: object


@pytest.fixture
def meta(world, settings):
    acme = world.acme
    with FakeMeta(app_id="meta-app", app_secret="meta-secret", hang_seconds=2) as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(
            ("facebook_graph", "facebook_www", "threads_graph", "threads_www"), fake.url)
        yield Meta(
            schema=acme.client.schema_name, fake=fake,
            facebook=ChannelFactory(brand=acme, name="Acme on Facebook", network="facebook",
                                    handle="Acme Coffee", account_id=PAGE,
                                    secret=fake.page_token(PAGE)),
            instagram=ChannelFactory(brand=acme, name="Acme on Instagram", network="instagram",
                                     handle="@acmecoffee", account_id=IG_USER,
                                     secret=fake.page_token(PAGE), settings={"page_id": PAGE}),
            threads=ChannelFactory(brand=acme, name="Acme on Threads", network="threads",
                                   handle="@acme.coffee", account_id=THREADS_USER,
                                   secret=fake.threads_token()))


def _items(schema, **where):
    with in_brand(schema):
        return list(Item.objects.filter(**where).order_by("created_at", "id"))


def _by_text(schema, **where) -> dict[str, Item]:
    return {item.text: item for item in _items(schema, **where)}


# -- Facebook ---------------------------------------------------------------------------------


def test_facebook_comments_reach_the_inbox_once_under_their_post(meta):
    (post,) = publish(meta.schema, [meta.facebook])
    first = meta.fake.add_comment(post.remote_id, "Is the spring blend decaf?",
                                  author="Carol Example", media=True)
    meta.fake.add_comment(first["id"], "Same question here", author="Dan Example")
    meta.fake.add_comment(post.remote_id, "Thanks, we love it!", author_id=PAGE)  # the Page

    done = tasks.poll_conversations()[meta.schema]
    assert done["taken"] == 2 and done["failed"] == [] and done["deferred"] == []
    items = _by_text(meta.schema)
    assert set(items) == {"Is the spring blend decaf?", "Same question here"}
    decaf = items["Is the spring blend decaf?"]
    assert decaf.network == "facebook" and decaf.author_name == "Carol Example"
    assert decaf.delivery_id == post.pk and decaf.campaign_title == "Spring launch"
    assert decaf.thread_root == post.remote_id and decaf.in_reply_to == post.remote_id
    assert decaf.has_media and decaf.action == "reply"
    nested = items["Same question here"]
    assert nested.in_reply_to == first["id"] and nested.delivery_id == post.pk

    # Polled again: nothing twice; a new comment: just that one.
    assert tasks.poll_conversations()[meta.schema]["taken"] == 0
    meta.fake.add_comment(post.remote_id, "One more thing")
    assert tasks.poll_conversations()[meta.schema]["taken"] == 1
    assert len(_items(meta.schema)) == 3


def test_facebook_abuse_is_hidden_on_the_page_criticism_stays_and_undo_shows_it(meta):
    (post,) = publish(meta.schema, [meta.facebook])
    abuse = meta.fake.add_comment(post.remote_id, ABUSE, author="Troll")
    blunt = meta.fake.add_comment(post.remote_id, CRITICISM, author="Eve Example")
    tasks.poll_conversations()

    items = _by_text(meta.schema)
    hidden = items[ABUSE]
    assert hidden.action == "hide" and hidden.hidden and hidden.hidden_by_us
    assert not hidden.flagged
    assert meta.fake.comment(abuse["id"])["hidden"] is True  # hidden on Facebook
    criticism = items[CRITICISM]
    assert criticism.action == "reply" and not criticism.hidden and not criticism.flagged
    assert meta.fake.comment(blunt["id"])["hidden"] is False

    with in_brand(meta.schema):
        hide = ModerationAction.objects.get(item=hidden, what=What.HIDE)
        assert hide.automatic and hide.reason
        actions.undo(hide, None)
        hidden.refresh_from_db()
    assert not hidden.hidden
    assert meta.fake.comment(abuse["id"])["hidden"] is False


def test_facebook_a_person_at_risk_is_pinned_and_never_hidden(meta, on_call):
    (post,) = publish(meta.schema, [meta.facebook])
    comment = meta.fake.add_comment(post.remote_id, AT_RISK, author="Gil Example")
    tasks.poll_conversations()
    (item,) = _items(meta.schema)
    assert item.action == "escalate" and item.pinned and not item.hidden and not item.flagged
    assert meta.fake.comment(comment["id"])["hidden"] is False


def test_facebook_reply_goes_out_under_the_comment_once_despite_a_timeout(
        world, http, meta, settings):
    settings.CONVERSATIONS = {**settings.CONVERSATIONS, "TIMEOUT_SECONDS": 0.5}
    (post,) = publish(meta.schema, [meta.facebook])
    question = meta.fake.add_comment(post.remote_id, "Do you ship to Norway?")
    tasks.poll_conversations()
    (item,) = _items(meta.schema)
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    meta.fake.accept_then_hang(1)  # the comment is made; its answer comes too late
    form = {"text": "Yes, we do: 3-5 days.", "key": "f" * 32}
    admin.post(f"/admin/inbox/{item.pk}/reply/", form)
    with in_brand(meta.schema):
        assert Reply.objects.get().state == "unconfirmed"
    admin.post(f"/admin/inbox/{item.pk}/reply/", form)  # a second click: the same key
    tasks.poll_conversations()  # and the poll's re-check
    ours = meta.fake.replies_as_brand()
    assert [(c["parent"], c["message"]) for c in ours] == [
        (question["id"], "Yes, we do: 3-5 days.")]
    with in_brand(meta.schema):
        reply = Reply.objects.get()
        item.refresh_from_db()
    assert reply.state == "sent" and reply.remote_id == ours[0]["id"]
    assert item.state == "waiting"
    # The brand's own reply is not taken into the inbox by the next poll.
    assert tasks.poll_conversations()[meta.schema]["taken"] == 0


def test_a_graph_rate_limit_slows_that_channel_and_loses_nothing(meta):
    (post,) = publish(meta.schema, [meta.facebook])
    meta.fake.add_comment(post.remote_id, "first")
    meta.fake.graph_error_next(4, "(#4) Application request limit reached",
                               path="/comments", regain_minutes=7)
    before = timezone.now()
    done = tasks.poll_conversations()[meta.schema]
    assert done["deferred"] == [meta.facebook.pk] and done["failed"] == []
    assert _items(meta.schema) == []
    with in_brand(meta.schema):
        cursor = PollCursor.objects.get(channel_id=meta.facebook.pk)
    assert cursor.cursor == "" and "limiting" in cursor.error
    waited = (cursor.deferred_until - before).total_seconds()
    assert 7 * 60 - 5 <= waited <= 7 * 60 + 60  # the wait Meta named (minutes)

    asked = meta.fake.count("GET", "/comments")
    tasks.poll_conversations()  # still waiting: Meta is not asked again
    assert meta.fake.count("GET", "/comments") == asked
    with in_brand(meta.schema):
        PollCursor.objects.filter(pk=cursor.pk).update(deferred_until=None)
    assert tasks.poll_conversations()[meta.schema]["taken"] == 1


# -- Instagram --------------------------------------------------------------------------------


def test_instagram_comments_and_replies_once_abuse_hidden_and_a_reply_once(world, http, meta):
    media = meta.fake.add("ig_media", IG_USER, "Autumn blend is back")
    question = meta.fake.add_comment(media["id"], "Where can I buy it?", author="carol")
    meta.fake.add_comment(question["id"], "In the shop on Main St", author="dan")
    abuse = meta.fake.add_comment(media["id"], ABUSE, author="troll")
    meta.fake.add_comment(media["id"], CRITICISM, author="eve")

    assert tasks.poll_conversations()[meta.schema]["taken"] == 4
    assert tasks.poll_conversations()[meta.schema]["taken"] == 0
    items = _by_text(meta.schema, network="instagram")
    where = items["Where can I buy it?"]
    assert where.author_handle == "@carol" and where.thread_root == media["id"]
    assert items["In the shop on Main St"].in_reply_to == question["id"]
    assert items[ABUSE].hidden and meta.fake.comment(abuse["id"])["hidden"] is True
    assert not items[CRITICISM].hidden and not items[CRITICISM].flagged

    # A reply to the nested comment goes under the top-level one (Instagram nests one level),
    # once, even when sent twice.
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    nested = items["In the shop on Main St"]
    form = {"text": "Thanks Dan!", "key": "i" * 32}
    admin.post(f"/admin/inbox/{nested.pk}/reply/", form)
    with in_brand(meta.schema):
        Reply.objects.update(state="unconfirmed")  # as if the answer had been lost
    tasks.poll_conversations()  # the re-check sends it again with the same key
    ours = meta.fake.replies_as_brand()
    assert [(c["parent"], c["message"]) for c in ours] == [(question["id"], "Thanks Dan!")]
    with in_brand(meta.schema):
        assert Reply.objects.get().state == "sent"


# -- Threads ----------------------------------------------------------------------------------


def test_threads_replies_once_top_level_abuse_hidden_nested_abuse_flagged(meta):
    (thread,) = publish(meta.schema, [meta.threads])
    question = meta.fake.add_thread_reply(thread.remote_id, "Is it vegan?", username="carol")
    nested = meta.fake.add_thread_reply(question["id"], ABUSE, username="troll")
    top = meta.fake.add_thread_reply(thread.remote_id, ABUSE + "!", username="troll2")
    meta.fake.add_thread_reply(thread.remote_id, CRITICISM, username="eve")

    assert tasks.poll_conversations()[meta.schema]["taken"] == 4
    assert tasks.poll_conversations()[meta.schema]["taken"] == 0
    items = _by_text(meta.schema, network="threads")
    vegan = items["Is it vegan?"]
    assert vegan.author_handle == "@carol" and vegan.delivery_id == thread.pk
    assert vegan.thread_root == thread.remote_id
    assert items[ABUSE].in_reply_to == question["id"] and items[ABUSE].thread_root == \
        thread.remote_id

    hidden = items[ABUSE + "!"]
    assert hidden.hidden and meta.fake.objects[top["id"]]["hide_status"] == "HIDDEN"
    # Threads hides only top-level replies: the nested one is flagged for staff.
    flagged = items[ABUSE]
    assert flagged.flagged and not flagged.hidden
    assert meta.fake.objects[nested["id"]]["hide_status"] == "NOT_HUSHED"
    assert not items[CRITICISM].hidden and not items[CRITICISM].flagged


def test_threads_reply_is_published_in_the_thread_once(world, http, meta):
    (thread,) = publish(meta.schema, [meta.threads])
    question = meta.fake.add_thread_reply(thread.remote_id, "Is it vegan?", username="carol")
    tasks.poll_conversations()
    (item,) = _items(meta.schema)
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    form = {"text": "Yes, fully vegan.", "key": "t" * 32}
    admin.post(f"/admin/inbox/{item.pk}/reply/", form)
    with in_brand(meta.schema):
        Reply.objects.update(state="unconfirmed")  # as if the answer had been lost
    tasks.poll_conversations()
    ours = [r for r in meta.fake.threads_replies() if r["text"] == "Yes, fully vegan."]
    assert len(ours) == 1 and ours[0]["reply_to_id"] == question["id"]
    with in_brand(meta.schema):
        reply = Reply.objects.get()
    assert reply.state == "sent" and reply.remote_id == ours[0]["id"]
    assert tasks.poll_conversations()[meta.schema]["taken"] == 0  # our reply is not an item
