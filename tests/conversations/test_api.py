"""The inbox through ``/api/v1/conversations/``: the list (pinned first, newest first, filters,
search, cursor pages), an item's detail (thread, notes, moderation with reasons), changing its
state and assignee, notes, undoing an automatic action, replying as the brand exactly once under
a repeated Idempotency-Key; bad input answered with a clear problem; another brand's key gets
nothing; and the ``conversation.*`` webhook events, signed."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from campaigns.conversations import tasks
from campaigns.conversations.models import Item, ModerationAction, Reply, What
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.conversations.conftest import in_brand, publish
from tests.webhooks.conftest import Receiver, make_endpoint, send_due

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

URL = "/api/v1/conversations/"


def _make_items(channel, count: int, *, start=None, **extra) -> list[Item]:
    start = start or timezone.now() - dt.timedelta(days=1)
    return Item.objects.bulk_create([
        Item(channel=channel, network=channel.network, remote_id=f"r-{channel.pk}-{n}",
             author_handle=f"@person{n}", text=f"message number {n}",
             created_at=start + dt.timedelta(minutes=n), **extra) for n in range(count)])


def _api(world, brand=None, **options) -> ApiClient:
    brand = brand or world.acme
    return ApiClient(brand.host, make_key(brand, **options))


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:400]
    return [row["id"] for row in response.json()["results"]]


def _problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.content[:400]
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def test_the_list_is_pinned_first_then_newest_and_every_item_is_paged_once(world, networks):
    n = networks
    with in_brand(n.schema):
        items = _make_items(n.on_mastodon, 120)
        Item.objects.filter(pk=items[3].pk).update(pinned=True, action="escalate")
    api = _api(world, scopes=("read",))
    first = api.send("GET", URL + "?page_size=50")
    ids = _ids(first)
    assert ids[:4] == [items[3].pk, items[119].pk, items[118].pk, items[117].pk]
    row = first.json()["results"][0]
    assert row["pinned"] is True and row["channel_name"] == n.on_mastodon.name
    assert row["created_at"].endswith("Z")
    seen, page = list(ids), first.json()
    while page["next"]:
        address = urlsplit(page["next"])
        page = api.send("GET", f"{address.path}?{address.query}").json()
        seen += [r["id"] for r in page["results"]]
    assert len(seen) == 120 and len(set(seen)) == 120


def test_filters_and_search(world, networks):
    n = networks
    editor = world.acme.users[Role.EDITOR]
    with in_brand(n.schema):
        mastodon = _make_items(n.on_mastodon, 3)
        (sky,) = _make_items(n.on_bluesky, 1, action="hide")
        Item.objects.filter(pk=sky.pk).update(text="buy cheap followers now", state="done",
                                              page_id=4242)
        Item.objects.filter(pk=mastodon[0].pk).update(assignee=editor, state="assigned",
                                                      pinned=True)
    api = _api(world, scopes=("read",))
    assert sorted(_ids(api.send("GET", f"{URL}?channel={n.on_mastodon.pk}"))) == sorted(
        i.pk for i in mastodon)
    assert _ids(api.send("GET", f"{URL}?state=done")) == [sky.pk]
    assert _ids(api.send("GET", f"{URL}?action=hide")) == [sky.pk]
    assert _ids(api.send("GET", f"{URL}?campaign=4242")) == [sky.pk]
    assert _ids(api.send("GET", f"{URL}?q=cheap+followers")) == [sky.pk]
    assert _ids(api.send("GET", f"{URL}?q=%40person1")) == [mastodon[1].pk]
    assert _ids(api.send("GET", f"{URL}?pinned=true")) == [mastodon[0].pk]
    assert len(_ids(api.send("GET", f"{URL}?pinned=false"))) == 3
    assert _ids(api.send("GET", f"{URL}?assignee={editor.pk}")) == [mastodon[0].pk]
    assert len(_ids(api.send("GET", f"{URL}?assignee=none"))) == 3
    assert _ids(api.send("GET", f"{URL}?assignee=me")) == []  # the key is the manager's


def test_bad_input_gets_a_clear_problem_and_changes_nothing(world, networks):
    n = networks
    with in_brand(n.schema):
        (item,) = _make_items(n.on_mastodon, 1)
    api = _api(world)
    for query, field in (("state=open", "state"), ("action=delete", "action"),
                         ("channel=abc", "channel"), ("assignee=someone", "assignee"),
                         ("assignee=", "assignee"), ("pinned=yes", "pinned"),
                         ("page_size=0", "page_size"),
                         ("q=" + "x" * 201, "q")):
        _problem(api.send("GET", f"{URL}?{query}"), 400, field)
    detail = api.send("GET", f"{URL}{item.pk}/")
    etag = detail["ETag"]
    outsider = world.globex.users[Role.EDITOR]
    body = _problem(api.send("PATCH", f"{URL}{item.pk}/", {"assignee": outsider.pk},
                             **{"If-Match": etag}), 400, "assignee")
    assert "member of this brand" in body["detail"]
    _problem(api.send("PATCH", f"{URL}{item.pk}/", {"state": "closed"}, **{"If-Match": etag}),
             400, "state")
    _problem(api.send("PATCH", f"{URL}{item.pk}/", {"assignee": "7"}, **{"If-Match": etag}),
             400, "assignee")
    _problem(api.send("PATCH", f"{URL}{item.pk}/", {}, **{"If-Match": etag}), 400)
    _problem(api.send("POST", f"{URL}{item.pk}/notes/", {"text": "   "}), 400, "text")
    _problem(api.send("POST", f"{URL}{item.pk}/undo/", {"action": 999}), 400, "action")
    _problem(api.send("POST", f"{URL}{item.pk}/replies/", {"text": ""}), 400, "text")
    _problem(api.send("POST", f"{URL}{item.pk}/replies/", {"text": "Hi", "confirm": "yes"}),
             400, "confirm")
    with in_brand(n.schema):
        item.refresh_from_db()
        assert item.assignee_id is None and item.state == "new"
        assert not item.notes.exists() and not Reply.objects.exists()
    assert api.send("GET", f"{URL}{item.pk}/")["ETag"] == etag


def test_detail_change_note_and_undo_of_an_automatic_hide(world, networks):
    n = networks
    (sky,) = publish(n.schema, [n.on_bluesky])
    n.bluesky.add_reply("you are a pathetic idiot and a loser", parent_uri=sky.remote_id)
    n.bluesky.add_reply("Love the new blend!", parent_uri=sky.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get(action="hide")
        other = Item.objects.exclude(pk=item.pk).get()
        hide = ModerationAction.objects.get(item=item, what=What.HIDE)
    assert n.bluesky.hidden_replies(sky.remote_id) == [item.remote_id]
    editor = world.acme.users[Role.EDITOR]
    api = _api(world)

    detail = api.send("GET", f"{URL}{item.pk}/")
    assert detail.status_code == 200
    data = detail.json()
    assert data["hidden"] is True and data["action"] == "hide"
    (moderation,) = data["moderation"]
    assert moderation["what"] == "hide" and moderation["automatic"] is True
    assert moderation["reason"] == item.reason and moderation["undoable"] is True
    assert [t["id"] for t in data["thread"]] == [other.pk]
    assert data["campaign_title"] == "Spring launch"

    change = {"assignee": editor.pk}
    _problem(api.send("PATCH", f"{URL}{item.pk}/", change), 428)
    _problem(api.send("PATCH", f"{URL}{item.pk}/", change, **{"If-Match": '"stale"'}), 412)
    changed = api.send("PATCH", f"{URL}{item.pk}/", change, **{"If-Match": detail["ETag"]})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["assignee_id"], changed.json()["state"]) == (editor.pk, "assigned")
    assert changed["ETag"] != detail["ETag"]
    done = api.send("PATCH", f"{URL}{item.pk}/", {"state": "done", "assignee": None},
                    **{"If-Match": changed["ETag"]})
    assert (done.json()["assignee_id"], done.json()["state"]) == (None, "done")

    note = api.send("POST", f"{URL}{item.pk}/notes/", {"text": "Repeat troll."})
    assert note.status_code == 201 and note.json()["text"] == "Repeat troll."

    undone = api.send("POST", f"{URL}{item.pk}/undo/", {"action": hide.pk})
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"] and undone.json()["undoable"] is False
    assert n.bluesky.hidden_replies(sky.remote_id) == []
    _problem(api.send("POST", f"{URL}{item.pk}/undo/", {"action": hide.pk}), 409)
    after = api.send("GET", f"{URL}{item.pk}/").json()
    assert after["hidden"] is False and [x["text"] for x in after["notes"]] == ["Repeat troll."]
    with in_brand(n.schema):
        hide.refresh_from_db()
        assert hide.undone_by == world.acme.users[Role.ACCOUNT_MANAGER]


def test_a_reply_goes_out_once_under_a_repeated_idempotency_key(world, networks, settings):
    settings.CONVERSATIONS = {**settings.CONVERSATIONS, "TIMEOUT_SECONDS": 0.5}
    n = networks
    (toot,) = publish(n.schema, [n.on_mastodon])
    question = n.mastodon.add_reply("Do you ship to Norway?", in_reply_to_id=toot.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
    api = _api(world)
    n.mastodon.accept_then_hang(1)  # the status is made; its answer comes too late
    body = {"text": "Yes, we do: 3-5 days."}
    first = api.send("POST", f"{URL}{item.pk}/replies/", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 202 and first.json()["state"] == "unconfirmed"
    again = api.send("POST", f"{URL}{item.pk}/replies/", body, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    _problem(api.send("POST", f"{URL}{item.pk}/replies/", {"text": "Other"},
                      **{"Idempotency-Key": "k-1"}), 422)
    tasks.poll_conversations()  # the unknown outcome is sent again under the same key
    ours = [p for p in n.mastodon.posts if p["in_reply_to_id"] == question["id"]]
    assert len(ours) == 1 and ours[0]["text"] == "Yes, we do: 3-5 days."
    detail = api.send("GET", f"{URL}{item.pk}/").json()
    (reply,) = detail["replies"]
    assert reply["state"] == "sent" and reply["remote_id"] == ours[0]["id"]
    assert detail["state"] == "waiting" and detail["responded_at"]

    # A second, new reply is answered 201 once the network confirms it.
    second = api.send("POST", f"{URL}{item.pk}/replies/", {"text": "Anything else?"},
                      **{"Idempotency-Key": "k-2"})
    assert second.status_code == 201 and second.json()["state"] == "sent"
    assert len([p for p in n.mastodon.posts if p["in_reply_to_id"] == question["id"]]) == 2


def test_a_crash_after_the_reply_row_resends_under_the_same_key(world, networks, settings):
    """The first request's answer is lost after the reply row was stored (its idempotency
    record forgotten, as after a 500): the retry with the same Idempotency-Key finds the row
    and sends under its key, so the network has it once."""
    from agency.api.models import IdempotentRequest

    settings.CONVERSATIONS = {**settings.CONVERSATIONS, "TIMEOUT_SECONDS": 0.5}
    n = networks
    (toot,) = publish(n.schema, [n.on_mastodon])
    question = n.mastodon.add_reply("Any vegan options?", in_reply_to_id=toot.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
    api = _api(world)
    n.mastodon.accept_then_hang(1)
    body = {"text": "Yes: all of them."}
    assert api.send("POST", f"{URL}{item.pk}/replies/", body,
                    **{"Idempotency-Key": "crash"}).status_code == 202
    with in_brand(n.schema):
        IdempotentRequest.objects.all().delete()
    retry = api.send("POST", f"{URL}{item.pk}/replies/", body, **{"Idempotency-Key": "crash"})
    assert retry.status_code == 201 and retry.json()["state"] == "sent"
    assert len([p for p in n.mastodon.posts if p["in_reply_to_id"] == question["id"]]) == 1
    with in_brand(n.schema):
        assert Reply.objects.count() == 1


def test_the_sensitivity_linter_stops_a_reply_before_it_goes(world, networks):
    n = networks
    (toot,) = publish(n.schema, [n.on_mastodon])
    n.mastodon.add_reply("Is it good?", in_reply_to_id=toot.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
    api = _api(world)
    body = _problem(api.send("POST", f"{URL}{item.pk}/replies/",
                             {"text": "It's insanely good, you'd be crazy to miss it"}),
                    400, "text")
    assert "sensitivity linter" in body["detail"]
    assert not [p for p in n.mastodon.posts if p["in_reply_to_id"]]  # nothing sent
    with in_brand(n.schema):
        assert not Reply.objects.exists()


def test_another_brands_key_gets_nothing_and_a_read_key_changes_nothing(world, networks):
    n = networks
    with in_brand(n.schema):
        (item,) = _make_items(n.on_mastodon, 1)
        Item.objects.filter(pk=item.pk).update(text="Acme secret complaint")
    globex = _api(world, world.globex)
    assert b"Acme secret" not in globex.send("GET", URL).content
    for method, path, body in (("GET", f"{URL}{item.pk}/", None),
                               ("PATCH", f"{URL}{item.pk}/", {"state": "done"}),
                               ("POST", f"{URL}{item.pk}/notes/", {"text": "x"}),
                               ("POST", f"{URL}{item.pk}/undo/", {"action": 1}),
                               ("POST", f"{URL}{item.pk}/replies/", {"text": "x"})):
        response = globex.send(method, path, body, **{"If-Match": "*"})
        _problem(response, 404)
        assert b"Acme secret" not in response.content
    # Acme's key on Globex's host is not a key there.
    on_globex = ApiClient(world.globex.host, make_key(world.acme))
    assert on_globex.send("GET", f"{URL}{item.pk}/").status_code == 401
    reader = _api(world, scopes=("read",))
    _problem(reader.send("POST", f"{URL}{item.pk}/notes/", {"text": "x"}), 403)
    with in_brand(n.schema):
        item.refresh_from_db()
        assert item.state == "new" and not item.notes.exists()


def test_new_escalated_and_missed_target_items_are_signed_webhook_events(
        world, networks, on_call):
    from campaigns.conversations.actions import notify_missed_targets
    from tenants.models import Client

    n = networks
    receiver = Receiver()
    try:
        _, secret = make_endpoint(world.acme, receiver.url, (
            "conversation.created", "conversation.escalated", "conversation.target_missed"))
        receiver.secret = secret
        (sky,) = publish(n.schema, [n.on_bluesky])
        n.bluesky.add_reply("I don't want to live anymore, nothing matters",
                            parent_uri=sky.remote_id, author="gil.example.com")
        n.bluesky.add_reply("When does it come back in stock?", parent_uri=sky.remote_id)
        tasks.poll_conversations()
        with in_brand(n.schema):
            risk = Item.objects.get(action="escalate")
            question = Item.objects.exclude(pk=risk.pk).get()
        assert send_due(n.schema)
        events = sorted((p["event"], p["data"]["id"]) for p in receiver.payloads)
        assert events == sorted([("conversation.created", risk.pk),
                                 ("conversation.created", question.pk),
                                 ("conversation.escalated", risk.pk)])
        assert receiver.verified == [True, True, True]
        escalated = next(p for p in receiver.payloads if p["event"] == "conversation.escalated")
        assert escalated["data"]["pinned"] is True and escalated["data"]["urgent"] is True
        assert escalated["data"]["author_handle"] == "@gil.example.com"
        for _, raw in receiver.requests:  # nothing of the channel's credentials
            assert n.on_bluesky.get_secret().encode() not in raw

        with in_brand(n.schema):
            Item.objects.filter(pk=question.pk).update(
                created_at=timezone.now() - dt.timedelta(hours=5))
            assert notify_missed_targets(Client.objects.get(schema_name=n.schema)) == 1
        receiver.requests.clear()
        assert send_due(n.schema)
        (missed,) = receiver.payloads
        assert missed["event"] == "conversation.target_missed"
        assert missed["data"]["id"] == question.pk and missed["data"]["target_hours"] == 4
        assert missed["data"]["target_missed_at"]
    finally:
        receiver.close()


def test_a_page_costs_the_same_queries_for_3_or_24_items(world, networks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    n = networks
    editor = world.acme.users[Role.EDITOR]
    with in_brand(n.schema):
        items = _make_items(n.on_mastodon, 30)
        Item.objects.filter(pk__in=[i.pk for i in items[::2]]).update(assignee=editor)
    api = _api(world, scopes=("read",))
    api.send("GET", URL)  # the key's last-used time is written once

    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert len(_ids(api.send("GET", f"{URL}?page_size={size}"))) == size
        return len(captured)

    assert queries(3) == queries(24)
