"""Acknowledging what people share: from an item with a photo or video, staff ask the author's
permission with a saved reply (sent once, in the thread, on the fake network), record the answer
(or the author's "#yes" is recognised), and with permission start a draft campaign crediting
the author, which goes through the brand's approval workflow. Without permission: no button,
and the server refuses."""

from __future__ import annotations

import html
import re

import pytest

from campaigns.conversations import tasks
from campaigns.conversations.models import ConversationSettings, Item, Reply, ShareRequest
from campaigns.models import CampaignPage
from campaigns.publishing import adapters
from campaigns.services import campaign_submit
from campaigns.status import CampaignStatus, status_of
from tenants.models import Role
from tests.conversations.conftest import in_brand, publish

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def _text(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.content.decode())

ASK = "May we share your photo on our page, crediting you? Reply #yes to agree."
PHOTO = "https://elsewhere.example/media/1.jpg"


def _saved_replies(schema: str) -> None:
    with in_brand(schema):
        brand = ConversationSettings.load()
        brand.saved_replies = f"Thanks: Thank you!\n\nAsk to share: {ASK}"
        brand.save()


def _photo_reply(n, *, media: bool = True) -> tuple[dict, Item]:
    """Someone answers Acme's toot with a photo; polled into the inbox (its media as the
    network gives them)."""
    (toot,) = publish(n.schema, [n.on_mastodon])
    said = n.mastodon.add_reply("Look at my latte art with your beans!", media=media,
                                in_reply_to_id=toot.remote_id, display_name="Bob Barista")
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
        if media:  # as the adapter reads them (tested below): stored with the item
            item.media = [{"url": PHOTO, "kind": "image", "alt": "latte art"}]
            item.save(update_fields=["media"])
    return said, item


def _ours(n, status_id: str) -> list[dict]:
    return [p for p in n.mastodon.posts if p["in_reply_to_id"] == status_id]


def test_each_network_gives_the_items_photos_and_videos(networks):
    n = networks
    (toot,) = publish(n.schema, [n.on_mastodon])
    (sky,) = publish(n.schema, [n.on_bluesky])
    n.mastodon.add_reply("Mine!", media=True, in_reply_to_id=toot.remote_id)
    n.mastodon.add_reply("No photo", in_reply_to_id=toot.remote_id)
    n.bluesky.add_reply("Mine too!", media=True, parent_uri=sky.remote_id)
    with in_brand(n.schema):
        toots = adapters.for_channel(n.on_mastodon, timeout=5).notifications("").items
        skeets = adapters.for_channel(n.on_bluesky, timeout=5).notifications("").items
    assert [i.media for i in toots] == [({"url": PHOTO, "kind": "image", "alt": ""},), ()]
    (skeet,) = skeets
    (image,) = skeet.media
    assert image["kind"] == "image" and re.fullmatch(
        r"https://cdn\.bsky\.app/img/feed_fullsize/plain/did:plc:\w+/\w+@jpeg", image["url"])


def test_asking_sends_the_saved_reply_once_and_records_who_asked(world, http, networks):
    n = networks
    _saved_replies(n.schema)
    said, item = _photo_reply(n)
    editor = world.acme.users[Role.EDITOR]
    admin = http(world.acme.host, user=editor)
    page = _text(admin.get(f"/admin/inbox/{item.pk}/"))
    assert "Ask to share</button>" in page and f'href="{PHOTO}"' in page
    key = re.search(r'name="key" value="(\w+)"', page.split("data-share")[1]).group(1)
    form = {"do": "ask", "saved": "1", "key": key}
    answer = admin.post(f"/admin/inbox/{item.pk}/share/", form, follow=True)
    assert "Reply sent on Acme on Mastodon" in _text(answer)
    admin.post(f"/admin/inbox/{item.pk}/share/", form)  # the same form again: nothing new
    again = admin.post(f"/admin/inbox/{item.pk}/share/", {**form, "key": "x" * 32},
                       follow=True)
    assert "Permission was already asked" in _text(again)
    assert [p["text"] for p in _ours(n, said["id"])] == [ASK]
    with in_brand(n.schema):
        share = ShareRequest.objects.get()
        assert Reply.objects.count() == 1
    assert (share.status, share.asked_by_id, share.keyword) == ("asked", editor.pk, "#yes")
    assert share.reply.state == "sent" and share.asked_at is not None
    page = _text(admin.get(f"/admin/inbox/{item.pk}/"))
    assert 'data-share-status="asked"' in page and "They said yes</button>" in page
    assert "Start a draft post" not in page  # no permission yet: not offered


def test_without_permission_no_draft_is_offered_or_made(world, http, networks):
    n = networks
    _saved_replies(n.schema)
    _, item = _photo_reply(n)
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    refused = admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "draft"}, follow=True)
    assert "No open request for this item" in _text(refused)
    admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "ask", "saved": "1", "key": "k" * 32})
    refused = admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "draft"}, follow=True)
    assert "Without the author's permission" in _text(refused)
    admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "declined"})
    page = _text(admin.get(f"/admin/inbox/{item.pk}/"))
    assert 'data-share-status="declined"' in page and "Start a draft post" not in page
    refused = admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "draft"}, follow=True)
    assert "No open request for this item" in _text(refused)
    with in_brand(n.schema):
        assert not CampaignPage.objects.filter(title__startswith="Shared by").exists()
        assert ShareRequest.objects.get().page_id is None


def test_an_item_without_a_photo_or_video_cannot_be_asked_for(world, http, networks):
    n = networks
    _saved_replies(n.schema)
    said, item = _photo_reply(n, media=False)
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    assert "Ask to share</button>" not in _text(admin.get(f"/admin/inbox/{item.pk}/"))
    refused = admin.post(f"/admin/inbox/{item.pk}/share/",
                         {"do": "ask", "saved": "1", "key": "n" * 32}, follow=True)
    assert "only a reply or mention with a photo or video" in _text(refused)
    assert _ours(n, said["id"]) == []
    with in_brand(n.schema):
        assert not ShareRequest.objects.exists() and not Reply.objects.exists()


def test_with_permission_one_click_starts_one_credited_draft_for_review(world, http, networks):
    n = networks
    _saved_replies(n.schema)
    said, item = _photo_reply(n)
    editor = world.acme.users[Role.EDITOR]
    admin = http(world.acme.host, user=editor)
    admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "ask", "saved": "1", "key": "g" * 32})
    admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "granted"})
    page = _text(admin.get(f"/admin/inbox/{item.pk}/"))
    assert "Start a draft post crediting @bob@elsewhere.example</button>" in page
    started = admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "draft"})
    assert started.status_code == 302 and "/admin/pages/" in started["Location"]
    admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "draft"})  # a second click: the same
    with in_brand(n.schema):
        (campaign,) = CampaignPage.objects.filter(title__startswith="Shared by")
        share = ShareRequest.objects.get()
        latest = campaign.get_latest_revision_as_object()
        (post,) = latest.posts.all()
        assert campaign.title == "Shared by @bob@elsewhere.example"
        assert share.page_id == campaign.pk and share.draft_by_id == editor.pk
        assert share.answered_by_id == editor.pk and share.status == "granted"
        assert "@bob@elsewhere.example" in post.copy and post.link == said["url"]
        assert [c.pk for c in post.channels.all()] == [n.on_mastodon.pk]
        assert "Bob Barista (@bob@elsewhere.example)" in latest.story
        assert f'href="{said["url"]}"' in latest.story and f'href="{PHOTO}"' in latest.story
        assert status_of(campaign) == CampaignStatus.DRAFT and not campaign.live
        # The normal approval workflow: submitted, it waits for the sensitivity review.
        campaign_submit(campaign=campaign, user=editor)
        campaign.refresh_from_db()
        assert status_of(campaign) == CampaignStatus.IN_REVIEW
    assert f"/admin/pages/{campaign.pk}/edit/" in _text(admin.get(
        f"/admin/inbox/{item.pk}/"))


def test_the_authors_yes_in_the_thread_is_recognised(world, http, networks):
    n = networks
    _saved_replies(n.schema)
    said, item = _photo_reply(n)
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "ask", "saved": "1", "key": "y" * 32})
    (ours,) = _ours(n, said["id"])
    n.mastodon.add_reply("Someone else says #yes", in_reply_to_id=ours["id"],
                         author="eve@elsewhere.example")  # not the author: not an answer
    tasks.poll_conversations()
    with in_brand(n.schema):
        assert ShareRequest.objects.get().status == "asked"
    n.mastodon.add_reply("Sure, #YES go ahead!", in_reply_to_id=ours["id"])
    tasks.poll_conversations()
    with in_brand(n.schema):
        share = ShareRequest.objects.get()
        answer = Item.objects.get(text__contains="go ahead")
    assert share.status == "granted" and share.answered_by is None
    assert share.answer_item_id == answer.pk
    page = _text(admin.get(f"/admin/inbox/{item.pk}/"))
    assert "recognised from" in page and "Start a draft post" in page


def test_the_request_shows_in_the_api(world, http, networks):
    from tests.api.conftest import ApiClient, make_key

    n = networks
    _saved_replies(n.schema)
    _, item = _photo_reply(n)
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    admin.post(f"/admin/inbox/{item.pk}/share/", {"do": "ask", "saved": "1", "key": "a" * 32})
    api = ApiClient(world.acme.host, make_key(world.acme))
    detail = api.send("GET", f"/api/v1/conversations/{item.pk}/").json()
    assert detail["media"] == [{"url": PHOTO, "kind": "image", "alt": "latte art"}]
    (share,) = detail["share_requests"]
    assert share["status"] == "asked" and share["keyword"] == "#yes"
    assert share["reply_id"] == detail["replies"][0]["id"] and share["campaign_id"] is None
