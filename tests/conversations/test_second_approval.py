"""A second person's approval before replies on the brand's chosen topics go out: a reply
matching the brand's words or the classifier's categories waits ("awaiting second approval"),
its writer cannot approve it, another member approves it (then it is sent once, on the fake
network) or returns it with a note (never sent). The inbox list, the item page and the API
show the state."""

from __future__ import annotations

import html
import re

import pytest
from django.core.exceptions import ValidationError

from campaigns.conversations import tasks
from campaigns.conversations.models import ConversationSettings, Item, Reply
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.conversations.conftest import in_brand, publish

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def _text(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.content.decode())

URL = "/api/v1/conversations/"


def _topics(schema: str, *, words: str = "refund\nlegal action", categories: str = "") -> None:
    with in_brand(schema):
        brand = ConversationSettings.load()
        brand.second_approval_words, brand.second_approval_categories = words, categories
        brand.full_clean()
        brand.save()


def _question(n, text: str = "Do you ship to Norway?") -> tuple[dict, Item]:
    (toot,) = publish(n.schema, [n.on_mastodon])
    said = n.mastodon.add_reply(text, in_reply_to_id=toot.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        return said, Item.objects.get(remote_id=said["id"])


def _ours(n, said) -> list[dict]:
    return [p for p in n.mastodon.posts if p["in_reply_to_id"] == said["id"]]


def test_the_writer_cannot_approve_another_member_can_and_it_goes_once(world, http, networks):
    n = networks
    _topics(n.schema)
    said, item = _question(n)
    writer = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    form = {"text": "Sorry! We will REFUND you today.", "key": "r" * 32}
    sent = _text(writer.post(f"/admin/inbox/{item.pk}/reply/", form, follow=True))
    assert "waits for a second member's approval" in sent and "“refund” in the reply" in sent
    writer.post(f"/admin/inbox/{item.pk}/reply/", form)  # the same form again: one row
    assert _ours(n, said) == []
    with in_brand(n.schema):
        reply = Reply.objects.get()
    assert reply.state == "awaiting_approval"
    listing = _text(writer.get("/admin/inbox/"))
    assert "Reply awaiting second approval" in listing
    page = _text(writer.get(f"/admin/inbox/{item.pk}/"))
    assert "Another member must approve it before it goes" in page
    assert "Approve and send</button>" not in page  # not offered to the writer
    refused = _text(writer.post(f"/admin/inbox/{item.pk}/replies/{reply.pk}/review/",
                          {"do": "approve"}, follow=True))
    assert "Another member must approve or return this reply: you wrote it." in refused
    assert _ours(n, said) == []

    second = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    assert "Approve and send</button>" in _text(second.get(f"/admin/inbox/{item.pk}/"))
    approved = _text(second.post(f"/admin/inbox/{item.pk}/replies/{reply.pk}/review/",
                           {"do": "approve"}, follow=True))
    assert "Reply sent on Acme on Mastodon" in approved
    again = _text(second.post(f"/admin/inbox/{item.pk}/replies/{reply.pk}/review/",
                        {"do": "approve"}, follow=True))
    assert "not awaiting approval: it was already approved" in again
    tasks.poll_conversations()
    assert [p["text"] for p in _ours(n, said)] == ["Sorry! We will REFUND you today."]
    with in_brand(n.schema):
        reply.refresh_from_db()
        item.refresh_from_db()
    assert reply.state == "sent" and reply.reviewed_by_id == world.acme.users[
        Role.ACCOUNT_MANAGER].pk
    assert item.state == "waiting" and "Reply awaiting" not in _text(writer.get(
        "/admin/inbox/"))


def test_returned_with_a_note_it_is_never_sent(world, http, networks):
    n = networks
    _topics(n.schema, words="", categories="complaint")
    said, item = _question(n, "Your coffee arrived cold and the bag was torn, not happy")
    assert "complaint" in item.categories
    writer = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    writer.post(f"/admin/inbox/{item.pk}/reply/", {"text": "Oh no, sorry!", "key": "c" * 32})
    with in_brand(n.schema):
        reply = Reply.objects.get()
    assert reply.state == "awaiting_approval"
    assert reply.approval_reason == "the item is classified complaint"
    second = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    url = f"/admin/inbox/{item.pk}/replies/{reply.pk}/review/"
    empty = _text(second.post(url, {"do": "return", "note": " "}, follow=True))
    assert "Say why it is returned" in empty
    second.post(url, {"do": "return", "note": "Offer a replacement bag, please."})
    approved_late = _text(second.post(url, {"do": "approve"}, follow=True))
    assert "it was already returned" in approved_late
    tasks.poll_conversations()
    assert _ours(n, said) == []
    with in_brand(n.schema):
        reply.refresh_from_db()
    assert (reply.state, reply.review_note) == ("returned", "Offer a replacement bag, please.")
    page = _text(writer.get(f"/admin/inbox/{item.pk}/"))
    assert "Returned by" in page and "Offer a replacement bag, please." in page


def test_a_reply_off_the_topics_goes_at_once(world, http, networks):
    n = networks
    _topics(n.schema)
    said, item = _question(n)
    writer = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    writer.post(f"/admin/inbox/{item.pk}/reply/", {"text": "Yes, we do!", "key": "o" * 32})
    assert [p["text"] for p in _ours(n, said)] == ["Yes, we do!"]
    # "refund" in what they said puts the answer on the topic too (whole words only).
    said, item = _question(n, "Can I get a refund?")
    writer.post(f"/admin/inbox/{item.pk}/reply/", {"text": "Sure, DM us.", "key": "p" * 32})
    assert _ours(n, said) == []


def test_an_unknown_category_is_refused_clearly(networks):
    with pytest.raises(ValidationError, match="Not a category or action of the classifier: "
                                              "grumpy"):
        _topics(networks.schema, categories="complaint\ngrumpy")


def test_the_api_shows_the_state_and_refuses_the_writers_own_approval(world, networks):
    n = networks
    _topics(n.schema)
    said, item = _question(n)
    writer = ApiClient(world.acme.host, make_key(world.acme, role=Role.EDITOR))
    first = writer.send("POST", f"{URL}{item.pk}/replies/", {"text": "A refund is on its way."},
                        **{"Idempotency-Key": "w-1"})
    assert first.status_code == 202, first.content
    body = first.json()
    assert body["state"] == "awaiting_approval" and "refund" in body["approval_reason"]
    listed = writer.send("GET", f"{URL}?state=new").json()["results"]
    assert [(row["id"], row["awaiting_approval"]) for row in listed] == [(item.pk, True)]
    own = writer.send("POST", f"{URL}{item.pk}/approve/", {"reply": body["id"]})
    assert own.status_code == 409 and "you wrote it" in own.json()["detail"]
    bad = writer.send("POST", f"{URL}{item.pk}/approve/", {"reply": 999999})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "reply"
    assert _ours(n, said) == []

    second = ApiClient(world.acme.host, make_key(world.acme))
    no_note = second.send("POST", f"{URL}{item.pk}/return/", {"reply": body["id"]})
    assert no_note.status_code == 400
    approved = second.send("POST", f"{URL}{item.pk}/approve/", {"reply": body["id"]})
    assert approved.status_code == 201 and approved.json()["state"] == "sent"
    assert approved.json()["reviewed_by_id"] == world.acme.users[Role.ACCOUNT_MANAGER].pk
    again = second.send("POST", f"{URL}{item.pk}/approve/", {"reply": body["id"]})
    assert again.status_code == 409
    assert [p["text"] for p in _ours(n, said)] == ["A refund is on its way."]
    detail = second.send("GET", f"{URL}{item.pk}/").json()
    assert detail["awaiting_approval"] is False and detail["replies"][0]["state"] == "sent"
    assert re.match(r"“refund” in the reply", detail["replies"][0]["approval_reason"])
