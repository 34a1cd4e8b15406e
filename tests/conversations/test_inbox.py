"""The inbox in the brand's admin: the list (pinned first, filters, search, keyset paging), an
item's handling (assign, state, notes, undo), replies as the brand sent exactly once, and tenant
isolation of every inbox URL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from campaigns.conversations import tasks
from campaigns.conversations.models import Item, ModerationAction, Reply, What
from tenants.models import Role
from tests.conversations.conftest import in_brand, publish
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def _make_items(channel, count: int, *, start=None, **extra) -> list[Item]:
    start = start or timezone.now() - dt.timedelta(days=1)
    return Item.objects.bulk_create([
        Item(channel=channel, network=channel.network, remote_id=f"r-{channel.pk}-{n}",
             author_handle=f"@person{n}", text=f"message number {n}",
             created_at=start + dt.timedelta(minutes=n), **extra) for n in range(count)])


def _ids(response) -> list[int]:
    return [int(i) for i in re.findall(rb'data-item="(\d+)"', response.content)]


def test_the_list_shows_pinned_first_then_newest_and_pages_by_keyset(world, http, networks):
    n = networks
    with in_brand(n.schema):
        items = _make_items(n.on_mastodon, 120)
        pinned = items[3]
        Item.objects.filter(pk=pinned.pk).update(pinned=True, action="escalate")
    admin = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    first = admin.get("/admin/inbox/")
    assert first.status_code == 200
    ids = _ids(first)
    assert ids[0] == pinned.pk and len(ids) == 50
    assert ids[1:4] == [items[119].pk, items[118].pk, items[117].pk]
    seen = list(ids)
    url = re.search(rb'href="(\?[^"]*after=[^"]+)"', first.content).group(1).decode()
    while url:
        page = admin.get("/admin/inbox/" + url.replace("&amp;", "&"))
        seen += _ids(page)
        found = re.search(rb'href="(\?[^"]*after=[^"]+)"', page.content)
        url = found.group(1).decode() if found else ""
    assert len(seen) == 120 and len(set(seen)) == 120  # every item once, none repeated


def test_filters_and_search(world, http, networks):
    n = networks
    with in_brand(n.schema):
        _make_items(n.on_mastodon, 3)
        (sky,) = _make_items(n.on_bluesky, 1, action="hide")
        Item.objects.filter(pk=sky.pk).update(text="buy cheap followers now", state="done")
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    assert len(_ids(admin.get(f"/admin/inbox/?channel={n.on_mastodon.pk}"))) == 3
    assert _ids(admin.get("/admin/inbox/?state=done")) == [sky.pk]
    assert _ids(admin.get("/admin/inbox/")) != [] and sky.pk not in _ids(
        admin.get("/admin/inbox/"))  # open items by default
    assert _ids(admin.get("/admin/inbox/?state=all&action=hide")) == [sky.pk]
    assert _ids(admin.get("/admin/inbox/?state=all&q=cheap+followers")) == [sky.pk]
    assert len(_ids(admin.get("/admin/inbox/?q=%40person1"))) == 1
    assert _ids(admin.get("/admin/inbox/?assignee=me")) == []


def test_the_channel_filter_offers_every_network_the_inbox_reads(world, http, networks):
    n = networks
    on_x = ChannelFactory(brand=world.acme, name="Acme on X", network="x", handle="@acme")
    with in_brand(n.schema):
        _make_items(on_x, 2)
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    inbox = admin.get("/admin/inbox/").content.decode()
    assert f'<option value="{on_x.pk}"' in inbox and "Acme on X" in inbox
    assert f'<option value="{n.sandbox.pk}"' not in inbox  # a sandbox has no conversation
    assert len(_ids(admin.get(f"/admin/inbox/?channel={on_x.pk}"))) == 2


def test_staff_assign_change_state_note_and_undo(world, http, networks):
    n = networks
    (sky,) = publish(n.schema, [n.on_bluesky])
    n.bluesky.add_reply("you are a pathetic idiot and a loser", parent_uri=sky.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
        hide = ModerationAction.objects.get(item=item, what=What.HIDE)
    assert item.hidden and n.bluesky.hidden_replies(sky.remote_id) == [item.remote_id]
    manager = world.acme.users[Role.ACCOUNT_MANAGER]
    editor = world.acme.users[Role.EDITOR]
    admin = http(world.acme.host, user=manager)
    page = admin.get(f"/admin/inbox/{item.pk}/")
    assert b"Hidden on the network" in page.content and item.reason.encode() in page.content

    url = f"/admin/inbox/{item.pk}/change/"
    admin.post(url, {"do": "assign", "assignee": editor.pk})
    admin.post(url, {"do": "note", "text": "Looks like a repeat troll."})
    admin.post(url, {"do": "undo", "action": hide.pk})
    refused = admin.post(url, {"do": "assign",
                               "assignee": world.globex.users[Role.EDITOR].pk}, follow=True)
    assert b"Choose a member of this brand" in refused.content
    with in_brand(n.schema):
        item.refresh_from_db()
        hide.refresh_from_db()
        assert item.notes.get().text == "Looks like a repeat troll."
    assert item.assignee == editor and item.state == "assigned"
    assert not item.hidden and hide.undone_at is not None and hide.undone_by == manager
    assert n.bluesky.hidden_replies(sky.remote_id) == []
    admin.post(url, {"do": "state", "state": "done"})
    with in_brand(n.schema):
        assert Item.objects.get(pk=item.pk).state == "done"


def test_mastodon_authors_can_be_muted_and_unmuted_from_the_inbox(world, http, networks):
    n = networks
    (toot,) = publish(n.schema, [n.on_mastodon])
    status = n.mastodon.add_reply("spam spam", in_reply_to_id=toot.remote_id,
                                  author="troll@bad.example")
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
    admin = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    admin.post(f"/admin/inbox/{item.pk}/change/", {"do": "mute"})
    assert n.mastodon.muted == {status["account"]["id"]}
    with in_brand(n.schema):
        mute = ModerationAction.objects.get(item=item, what=What.MUTE)
    admin.post(f"/admin/inbox/{item.pk}/change/", {"do": "undo", "action": mute.pk})
    assert n.mastodon.muted == set()


def test_a_reply_goes_out_in_the_thread_exactly_once_despite_a_timeout_after_send(
        world, http, networks, settings):
    settings.CONVERSATIONS = {**settings.CONVERSATIONS, "TIMEOUT_SECONDS": 0.5}
    n = networks
    (toot,) = publish(n.schema, [n.on_mastodon])
    question = n.mastodon.add_reply("Do you ship to Norway?", in_reply_to_id=toot.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    n.mastodon.accept_then_hang(1)  # the status is made; its answer comes too late
    form = {"text": "Yes, we do: 3-5 days.", "key": "a" * 32}
    answer = admin.post(f"/admin/inbox/{item.pk}/reply/", form, follow=True)
    assert b"did not confirm" in answer.content
    with in_brand(n.schema):
        reply = Reply.objects.get()
    assert reply.state == "unconfirmed"
    # The same form sent again (a second click) and the poll's re-check: the same key.
    admin.post(f"/admin/inbox/{item.pk}/reply/", form)
    tasks.poll_conversations()
    with in_brand(n.schema):
        reply.refresh_from_db()
        assert Reply.objects.count() == 1
        item.refresh_from_db()
    ours = [p for p in n.mastodon.posts if p["in_reply_to_id"] == question["id"]]
    assert len(ours) == 1 and ours[0]["text"] == "Yes, we do: 3-5 days."
    assert reply.state == "sent" and reply.remote_id == ours[0]["id"]
    assert item.state == "waiting" and item.responded_at is not None


def test_a_bluesky_reply_is_a_reply_in_the_thread(world, http, networks):
    n = networks
    (sky,) = publish(n.schema, [n.on_bluesky])
    n.bluesky.add_reply("When does it come back in stock?", parent_uri=sky.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    n.bluesky.accept_then_hang(1)
    admin.post(f"/admin/inbox/{item.pk}/reply/", {"text": "Next Monday!", "key": "b" * 32})
    tasks.poll_conversations()  # the unknown outcome is sent again under the same record key
    replies = [p for p in n.bluesky.posts if p["text"] == "Next Monday!"]
    assert len(replies) == 1
    assert replies[0]["reply"]["parent"]["uri"] == item.remote_id
    assert replies[0]["reply"]["root"]["uri"] == sky.remote_id


def test_the_sensitivity_linter_checks_a_reply_before_it_goes(world, http, networks):
    n = networks
    (toot,) = publish(n.schema, [n.on_mastodon])
    n.mastodon.add_reply("Is it good?", in_reply_to_id=toot.remote_id)
    tasks.poll_conversations()
    with in_brand(n.schema):
        item = Item.objects.get()
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    page = admin.post(f"/admin/inbox/{item.pk}/reply/",
                      {"text": "It's insanely good, you'd be crazy to miss it", "key": "c" * 32})
    assert b"sensitivity linter found" in page.content
    assert not [p for p in n.mastodon.posts if p["in_reply_to_id"]]  # nothing sent yet


def test_another_brands_member_reaches_no_inbox_url(world, http, networks):
    """Acme's items, by their real ids, to Globex's members: on Globex's host everything is a
    404 (the item is not in Globex's schema), and on Acme's host they are not let in."""
    n = networks
    with in_brand(n.schema):
        (item,) = _make_items(n.on_mastodon, 1)
        Item.objects.filter(pk=item.pk).update(text="Acme secret complaint")
    urls = ["/admin/inbox/", f"/admin/inbox/{item.pk}/", f"/admin/inbox/{item.pk}/change/",
            f"/admin/inbox/{item.pk}/reply/"]
    outsider = world.globex.users[Role.EDITOR]
    on_globex = http(world.globex.host, user=outsider)
    for url in urls[1:]:
        for method in ("get", "post"):
            response = getattr(on_globex, method)(url, {"do": "note", "text": "x"})
            assert response.status_code in (404, 405), (method, url, response.status_code)
            assert b"Acme secret" not in response.content
    assert b"Acme secret" not in on_globex.get("/admin/inbox/").content
    on_acme = http(world.acme.host, user=outsider)
    for url in urls:
        response = on_acme.get(url)
        assert response.status_code in (302, 403, 404) and b"Acme secret" not in response.content
        assert on_acme.post(url, {"do": "note", "text": "x"}).status_code in (302, 403, 404)
    with in_brand(n.schema):
        assert not item.notes.exists()


def test_the_dashboard_counts_the_inbox_and_a_missed_target_is_emailed_once(
        world, http, networks, on_call):
    from django.core import mail

    from campaigns.conversations.actions import notify_missed_targets

    n = networks
    editor = world.acme.users[Role.EDITOR]
    with in_brand(n.schema):
        old = _make_items(n.on_mastodon, 3, start=timezone.now() - dt.timedelta(hours=9))
        fresh = _make_items(n.on_bluesky, 2, start=timezone.now() - dt.timedelta(minutes=30))
        Item.objects.filter(pk=old[0].pk).update(assignee=editor, state="assigned")
        Item.objects.filter(pk=old[1].pk).update(state="done")
        Item.objects.filter(pk=fresh[0].pk).update(pinned=True, action="escalate")
    home = http(world.acme.host, user=editor).get("/admin/")
    counts = dict(re.findall(rb'data-count="(\w+)">(\d+)<', home.content))
    assert counts == {b"open": b"4", b"new": b"3", b"escalated": b"1", b"overdue": b"2",
                      b"mine": b"1"}

    mail.outbox.clear()
    from tenants.models import Client

    client = Client.objects.get(schema_name=n.schema)
    with in_brand(n.schema):
        assert notify_missed_targets(client) == 2  # the two open ones older than 4 h
        assert notify_missed_targets(client) == 0  # once
    to = sorted(address for message in mail.outbox for address in message.to)
    assert to == sorted([editor.email, "lead@acme.test", "oncall@acme.test"])
    mine = next(m for m in mail.outbox if m.to == [editor.email])
    assert f"/admin/inbox/{old[0].pk}/" in mine.body and "4 h" in mine.body


def test_paging_past_many_pinned_items_reaches_the_others(world, http, networks):
    n = networks
    with in_brand(n.schema):
        items = _make_items(n.on_bluesky, 70)
        Item.objects.filter(pk__in=[i.pk for i in items[:60]]).update(pinned=True)
    admin = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    page = admin.get("/admin/inbox/")
    seen = _ids(page)
    found = re.search(rb'href="(\?[^"]*after=[^"]+)"', page.content)
    second = admin.get("/admin/inbox/" + found.group(1).decode().replace("&amp;", "&"))
    seen += _ids(second)
    assert len(seen) == 70 and len(set(seen)) == 70
    assert seen[:60] == [i.pk for i in reversed(items[:60])]  # pinned, newest first
    assert seen[60:] == [i.pk for i in reversed(items[60:])]


def test_a_saved_reply_fills_the_reply_form(world, http, networks):
    from campaigns.conversations.models import ConversationSettings

    n = networks
    with in_brand(n.schema):
        (item,) = _make_items(n.on_mastodon, 1)
        brand = ConversationSettings.load()
        brand.saved_replies = ("Ask to share: We love your photo! May we share it, crediting "
                               "you?\n\nThanks: Thank you so much!")
        brand.save()
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    page = admin.get(f"/admin/inbox/{item.pk}/")
    assert b">Ask to share</a>" in page.content and b">Thanks</a>" in page.content
    filled = admin.get(f"/admin/inbox/{item.pk}/?saved=0")
    assert re.search(rb'<textarea id="reply-text"[^>]*>We love your photo! May we share it, '
                     rb'crediting you\?</textarea>', filled.content)
    assert re.search(rb'<textarea id="reply-text"[^>]*></textarea>',
                     admin.get(f"/admin/inbox/{item.pk}/?saved=9").content)  # no such one


def test_the_list_makes_the_same_queries_for_a_few_items_or_many(world, http, networks):
    """No query per row (channel, assignee, waiting replies) and no read that grows with the
    inbox: the first page, a filtered page and the next page make as many queries with 400
    items, assigned and with replies awaiting approval, as with 10."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.conversations.models import ReplyState

    n = networks
    manager = world.acme.users[Role.ACCOUNT_MANAGER]
    admin = http(world.acme.host, user=manager)

    def queries() -> list[int]:
        counts = []
        first = admin.get("/admin/inbox/")
        after = re.search(rb'href="(\?[^"]*after=[^"]+)"', first.content)
        for path in ("/admin/inbox/", "/admin/inbox/?state=new&assignee=me",
                     "/admin/inbox/" + (after.group(1).decode().replace("&amp;", "&")
                                        if after else "?after=0~2999-01-01T00:00:00%2B00:00~1")):
            with CaptureQueriesContext(connection) as captured:
                assert admin.get(path).status_code == 200
            counts.append(len(captured.captured_queries))
        return counts

    with in_brand(n.schema):
        _make_items(n.on_mastodon, 10, assignee=manager)
    small = queries()
    with in_brand(n.schema):
        items = _make_items(n.on_bluesky, 390, assignee=manager)
        for item in items[-60:]:
            Reply.objects.create(item=item, text="Thanks!", idempotency_key=f"k{item.pk}",
                                 state=ReplyState.AWAITING_APPROVAL, author=manager)
    page = admin.get("/admin/inbox/").content.decode()
    assert page.count("Reply awaiting second approval") == 50  # the rows show what was read
    assert "Acme on Bluesky" in page and (manager.get_full_name() or manager.email) in page
    assert queries() == small


def test_a_list_page_reads_only_what_it_shows(world, http, networks):
    """The items' statement reads the columns a row shows (not an item's media or classifier
    fields, a channel's tokens, an account's password hash), and a page, its sidebar kept from
    the first, makes at most 14 statements (19 before the list read only what it shows and the
    sidebar was kept: campaigns/sidebar.py)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    n = networks
    manager = world.acme.users[Role.ACCOUNT_MANAGER]
    with in_brand(n.schema):
        _make_items(n.on_mastodon, 60, assignee=manager)
    admin = http(world.acme.host, user=manager)
    admin.get("/admin/inbox/")
    with CaptureQueriesContext(connection) as captured:
        page = admin.get("/admin/inbox/")
    assert len(_ids(page)) == 50
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) <= 14, "\n".join(statements)
    (items,) = [sql for sql in statements if 'FROM "conversations_item"' in sql]
    for unshown in ('"media"', '"categories"', '"reason"', '"secret_encrypted"', '"password"'):
        assert unshown not in items


def test_a_quiet_escalation_reads_as_pinned_for_a_look_and_an_urgent_one_as_escalated(
        world, http, networks):
    n = networks
    with in_brand(n.schema):
        urgent, quiet = _make_items(n.on_mastodon, 2, pinned=True, action="escalate")
        Item.objects.filter(pk=quiet.pk).update(urgent=False, reason="Pinned for a look ...")
    admin = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    page = admin.get("/admin/inbox/").content.decode()
    rows = {int(pk): row for pk, row in re.findall(r'data-item="(\d+)">(.*?)</tr>', page, re.S)}
    assert "Escalated: may be at risk" in rows[urgent.pk]
    assert "Pinned for a look" in rows[quiet.pk] and "Escalated" not in rows[quiet.pk]
    detail = admin.get(f"/admin/inbox/{quiet.pk}/").content.decode()
    assert "nobody was emailed" in detail
