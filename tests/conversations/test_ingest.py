"""Gathering the conversation: replies and mentions polled from the fake networks' notifications
through the real adapters, client libraries and the real periodic task."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.conversations import tasks
from campaigns.conversations.models import Item, ModerationAction, PollCursor, What
from tests.conversations.conftest import in_brand, publish

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def _items(schema):
    with in_brand(schema):
        return list(Item.objects.order_by("created_at", "id"))


def test_replies_on_both_networks_reach_the_inbox_linked_to_their_post(networks):
    n = networks
    deliveries = {d.network: d for d in publish(n.schema, [n.on_mastodon, n.on_bluesky])}
    toot, sky = deliveries["mastodon"], deliveries["bluesky"]
    first = n.mastodon.add_reply("Is the spring blend decaf?", in_reply_to_id=toot.remote_id,
                                 author="carol@social.example", display_name="Carol")
    n.mastodon.add_reply("nested: me too, is it?", in_reply_to_id=first["id"],
                         author="dan@social.example")
    n.bluesky.add_reply("Love the new roast!", parent_uri=sky.remote_id,
                        author="erin.example.com", media=True)
    n.bluesky.add_reply("hey @acme.test look at this", reason="mention",
                        author="fay.example.com")

    done = tasks.poll_conversations()  # the periodic job, in every brand
    assert done[n.schema]["taken"] == 4 and done[n.schema]["failed"] == []

    items = {i.text: i for i in _items(n.schema)}
    decaf = items["@acme Is the spring blend decaf?"]
    assert decaf.author_handle == "@carol@social.example" and decaf.author_name == "Carol"
    assert decaf.delivery_id == toot.pk and decaf.campaign_title == "Spring launch"
    assert decaf.thread_root == toot.remote_id and decaf.kind == "reply"
    nested = items["@acme nested: me too, is it?"]
    assert nested.delivery_id == toot.pk and nested.thread_root == toot.remote_id
    roast = items["Love the new roast!"]
    assert roast.delivery_id == sky.pk and roast.has_media and roast.thread_root == sky.remote_id
    assert roast.action == "none" and not roast.hidden
    mention = items["hey @acme.test look at this"]
    assert mention.kind == "mention" and mention.delivery_id is None
    assert decaf.action == "reply" and decaf.state == "new"

    # Nothing is taken twice: another poll finds nothing new.
    assert tasks.poll_conversations()[n.schema]["taken"] == 0
    assert len(_items(n.schema)) == 4
    n.mastodon.add_reply("one more thing", in_reply_to_id=toot.remote_id)
    assert tasks.poll_conversations()[n.schema]["taken"] == 1


def test_a_rate_limit_slows_that_channel_and_loses_nothing(networks):
    n = networks
    deliveries = {d.network: d for d in publish(n.schema, [n.on_mastodon, n.on_bluesky])}
    n.mastodon.add_reply("first", in_reply_to_id=deliveries["mastodon"].remote_id)
    n.bluesky.add_reply("sky first", parent_uri=deliveries["bluesky"].remote_id)
    n.mastodon.fail_next(1, status=429, retry_after=120, path="/api/v1/notifications")

    done = tasks.poll_conversations()[n.schema]
    assert done["deferred"] == [n.on_mastodon.pk] and done["failed"] == []
    assert [i.text for i in _items(n.schema)] == ["sky first"]  # Bluesky went on
    with in_brand(n.schema):
        cursor = PollCursor.objects.get(channel_id=n.on_mastodon.pk)
    assert cursor.deferred_until is not None and "rate limiting" in cursor.error
    assert cursor.cursor == ""  # nothing stored, the cursor did not move

    asked = n.mastodon.count("GET", "/api/v1/notifications")
    tasks.poll_conversations()  # still waiting: Mastodon is not asked again
    assert n.mastodon.count("GET", "/api/v1/notifications") == asked

    with in_brand(n.schema):
        PollCursor.objects.filter(pk=cursor.pk).update(deferred_until=None)
    assert tasks.poll_conversations()[n.schema]["taken"] == 1
    assert sorted(i.text for i in _items(n.schema)) == ["@acme first", "sky first"]


def test_a_failing_page_keeps_the_cursor_so_the_next_poll_takes_it(networks):
    n = networks
    (toot,) = publish(n.schema, [n.on_mastodon])
    for number in range(45):  # more than one page of 40
        n.mastodon.add_reply(f"reply {number}", in_reply_to_id=toot.remote_id)
    n.mastodon.fail_next(1, status=503, path="/api/v1/notifications")
    tasks.poll_conversations()
    assert _items(n.schema) == []
    with in_brand(n.schema):
        PollCursor.objects.update(deferred_until=None)
    assert tasks.poll_conversations()[n.schema]["taken"] == 45
    texts = [i.text for i in _items(n.schema)]
    assert len(set(texts)) == 45


def test_abuse_is_hidden_on_bluesky_flagged_on_mastodon_and_undone_in_one_click(networks):
    n = networks
    deliveries = {d.network: d for d in publish(n.schema, [n.on_mastodon, n.on_bluesky])}
    abuse = "You are all worthless idiots, go kill yourselves"
    sky = n.bluesky.add_reply(abuse, parent_uri=deliveries["bluesky"].remote_id)
    n.mastodon.add_reply(abuse, in_reply_to_id=deliveries["mastodon"].remote_id)
    n.bluesky.add_reply("This roast is overpriced and bland, honestly disappointing.",
                        parent_uri=deliveries["bluesky"].remote_id)
    tasks.poll_conversations()

    items = {i.network + ":" + i.text: i for i in _items(n.schema)}
    hidden = items["bluesky:" + abuse]
    assert hidden.action == "hide" and hidden.hidden and hidden.hidden_by_us
    assert n.bluesky.hidden_replies(deliveries["bluesky"].remote_id) == [sky["uri"]]
    flagged = items["mastodon:@acme " + abuse]
    assert flagged.action == "hide" and flagged.flagged and not flagged.hidden
    criticism = items["bluesky:This roast is overpriced and bland, honestly disappointing."]
    assert criticism.action == "reply" and not criticism.hidden and not criticism.flagged

    from campaigns.conversations import actions

    with in_brand(n.schema):
        hide = ModerationAction.objects.get(item=hidden, what=What.HIDE)
        assert hide.automatic and hide.reason
        actions.undo(hide, None)
        hidden.refresh_from_db()
        hide.refresh_from_db()
    assert not hidden.hidden and hide.undone_at is not None
    assert n.bluesky.hidden_replies(deliveries["bluesky"].remote_id) == []


def test_a_person_at_risk_is_pinned_never_hidden_and_on_call_people_are_emailed(
        networks, on_call):
    n = networks
    (sky,) = publish(n.schema, [n.on_bluesky])
    mail.outbox.clear()
    n.bluesky.add_reply("I don't want to live anymore, nothing matters",
                        parent_uri=sky.remote_id, author="gil.example.com")
    tasks.poll_conversations()
    (item,) = _items(n.schema)
    assert item.action == "escalate" and item.pinned and not item.hidden and not item.flagged
    assert n.bluesky.hidden_replies(sky.remote_id) == []
    (email,) = mail.outbox
    assert sorted(email.to) == ["lead@acme.test", "oncall@acme.test"]
    assert "at risk" in email.subject and "116 123" in email.body
    assert "@gil.example.com" in email.body
    with in_brand(n.schema):
        kinds = set(ModerationAction.objects.filter(item=item).values_list("what", flat=True))
    assert kinds == {What.PIN, What.NOTIFY}


def test_the_brands_words_and_trusted_authors_change_what_is_done(networks):
    n = networks
    (sky,) = publish(n.schema, [n.on_bluesky])
    from campaigns.conversations.models import ConversationSettings

    with in_brand(n.schema):
        brand = ConversationSettings.load()
        brand.hide_words = "rival roast"
        brand.trusted_authors = "@partner.example.com"
        brand.save()
    n.bluesky.add_reply("Everyone should buy Rival Roast instead", parent_uri=sky.remote_id)
    n.bluesky.add_reply("you are a pathetic idiot and a loser", parent_uri=sky.remote_id,
                        author="partner.example.com")
    tasks.poll_conversations()
    items = {i.text: i for i in _items(n.schema)}
    rival = items["Everyone should buy Rival Roast instead"]
    assert rival.action == "hide" and rival.hidden
    trusted = items["you are a pathetic idiot and a loser"]
    assert trusted.action != "hide" and not trusted.hidden and not trusted.flagged
    assert n.bluesky.hidden_replies(sky.remote_id) == [rival.remote_id]


def test_a_bluesky_rate_limit_waits_for_its_reset(networks):
    n = networks
    (sky,) = publish(n.schema, [n.on_bluesky])
    n.bluesky.add_reply("hello there", parent_uri=sky.remote_id)
    n.bluesky.fail_next(1, status=429, retry_after=90, path="listNotifications")
    assert tasks.poll_conversations()[n.schema]["deferred"] == [n.on_bluesky.pk]
    with in_brand(n.schema):
        cursor = PollCursor.objects.get(channel_id=n.on_bluesky.pk)
    # The network's Retry-After (90 s), not the default wait (5 minutes).
    assert 30 < (cursor.deferred_until - timezone.now()).total_seconds() <= 90
    assert cursor.cursor == "" and _items(n.schema) == []
    with in_brand(n.schema):
        PollCursor.objects.filter(pk=cursor.pk).update(deferred_until=None)
    assert tasks.poll_conversations()[n.schema]["taken"] == 1
