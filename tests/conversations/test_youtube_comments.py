"""YouTube in the inbox: comment threads polled through the real periodic task and the YouTube
adapter (google-api-python-client) from the local YouTube (agency/demo/fakes/youtube.py), which
answers as the Data API v3 reference says (``commentThreads.list`` with
``allThreadsRelatedToChannelId``, ``comments.setModerationStatus``, ``comments.insert`` with a
``parentId``, Google's error bodies and quota)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from agency.demo.fakes.youtube import FakeYouTube
from campaigns.conversations import tasks
from campaigns.conversations.models import Item, PollCursor, Reply
from tenants.models import Role
from tests.conversations.conftest import in_brand, items_by_text
from tests.conversations.test_meta_comments import ABUSE, AT_RISK, CRITICISM
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

CHANNEL_ID = "UCacmeCoffee0000000000a1"


@pytest.fixture
def youtube(world, settings):
    with FakeYouTube(client_id="yt-app", client_secret="yt-secret", hang_seconds=2) as fake:
        settings.NETWORK_BASE_URLS = {"youtube_accounts": fake.url, "youtube_oauth2": fake.url,
                                      "youtube_api": fake.url}
        settings.OAUTH_CLIENTS = {"youtube": {"client_id": "yt-app",
                                              "client_secret": "yt-secret"}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        channel = ChannelFactory(brand=world.acme, name="Acme on YouTube", network="youtube",
                                 handle="@acmecoffee", secret=fake.issue_token())
        fake.schema = world.acme.client.schema_name
        with schema_context(fake.schema):
            channel.account_id = CHANNEL_ID
            channel.settings = {"uploads_playlist": "UU" + CHANNEL_ID[2:]}
            channel.save()
        fake.channel = channel
        yield fake


def test_youtube_comments_and_replies_arrive_once(youtube):
    video = youtube.add_video("Autumn blend", "Roasted in small batches.")
    question = youtube.add_comment(video["id"], "Is it decaf?", author="@carol")
    youtube.add_comment(video["id"], "I want to know too", author="@dan",
                        parent=question["id"])
    assert tasks.poll_conversations()[youtube.schema]["taken"] == 2
    assert tasks.poll_conversations()[youtube.schema]["taken"] == 0
    items = items_by_text(youtube.schema)
    decaf = items["Is it decaf?"]
    assert decaf.network == "youtube" and decaf.author_handle == "@carol"
    assert decaf.thread_root == video["id"] and decaf.in_reply_to == video["id"]
    assert items["I want to know too"].in_reply_to == question["id"]
    youtube.add_comment(video["id"], "one more", author="@erin")
    assert tasks.poll_conversations()[youtube.schema]["taken"] == 1


def test_youtube_abuse_is_held_for_review_criticism_and_risk_stay(youtube, on_call):
    video = youtube.add_video("Autumn blend")
    abuse = youtube.add_comment(video["id"], ABUSE, author="@troll")
    blunt = youtube.add_comment(video["id"], CRITICISM, author="@eve")
    risk = youtube.add_comment(video["id"], AT_RISK, author="@gil")
    tasks.poll_conversations()
    items = items_by_text(youtube.schema)
    assert items[ABUSE].hidden and youtube.comment(abuse["id"])["status"] == "heldForReview"
    assert not items[CRITICISM].hidden and youtube.comment(blunt["id"])["status"] == "published"
    assert items[AT_RISK].pinned and not items[AT_RISK].hidden
    assert youtube.comment(risk["id"])["status"] == "published"


def test_a_youtube_rate_limit_slows_the_channel(youtube):
    video = youtube.add_video("Autumn blend")
    youtube.add_comment(video["id"], "hello")
    youtube.fail_next(1, 403, message="rateLimitExceeded", retry_after=120,
                      path="/commentThreads")
    done = tasks.poll_conversations()[youtube.schema]
    assert done["deferred"] == [youtube.channel.pk] and done["failed"] == []
    with in_brand(youtube.schema):
        cursor = PollCursor.objects.get(channel_id=youtube.channel.pk)
        assert not Item.objects.exists()
        PollCursor.objects.filter(pk=cursor.pk).update(deferred_until=None)
    assert cursor.cursor == "" and cursor.deferred_until is not None
    assert tasks.poll_conversations()[youtube.schema]["taken"] == 1


def test_a_youtube_reply_goes_under_the_top_level_comment_once(world, http, youtube):
    video = youtube.add_video("Autumn blend")
    question = youtube.add_comment(video["id"], "Is it decaf?", author="@carol")
    youtube.add_comment(video["id"], "me too?", author="@dan", parent=question["id"])
    tasks.poll_conversations()
    item = items_by_text(youtube.schema)["me too?"]
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    form = {"text": "It is not decaf, sorry!", "key": "y" * 32}
    admin.post(f"/admin/inbox/{item.pk}/reply/", form)
    with in_brand(youtube.schema):
        Reply.objects.update(state="unconfirmed")  # as if the answer had been lost
    tasks.poll_conversations()  # the re-check finds it in the thread: nothing twice
    ours = [c for c in youtube.comments if c["author_channel"] == CHANNEL_ID]
    assert [(c["parent"], c["text"]) for c in ours] == [(question["id"],
                                                        "It is not decaf, sorry!")]
    with in_brand(youtube.schema):
        reply = Reply.objects.get()
    assert reply.state == "sent" and reply.remote_id == ours[0]["id"]
    assert tasks.poll_conversations()[youtube.schema]["taken"] == 0  # ours is not an item
