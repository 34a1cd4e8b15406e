"""The inbox on the portal's client cards: per brand, open conversations (new or assigned) and
escalations still awaiting someone, read in one query per brand."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.conversations.models import Item
from tenants.models import Role
from tests.conversations.conftest import in_brand
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def _items(brand, states: list[tuple[str, bool]]) -> None:
    channel = ChannelFactory(brand=brand, name=f"{brand.client.name} inbox")
    start = timezone.now() - dt.timedelta(hours=2)
    with in_brand(brand.client.schema_name):
        Item.objects.bulk_create([
            Item(channel=channel, network="sandbox", remote_id=f"{channel.pk}-{n}",
                 author_handle=f"@p{n}", text="hello", state=state, pinned=pinned,
                 created_at=start + dt.timedelta(minutes=n))
            for n, (state, pinned) in enumerate(states)])


def _card(page: str, slug: str) -> dict[str, int]:
    card = page.split(f'data-client="{slug}"')[1].split("</li>")[0]
    return {key: int(count) for key, count in re.findall(
        r'data-count="(inbox_\w+)">(\d+)<', card)}


def test_each_card_counts_its_brands_open_conversations_and_escalations(world, http):
    _items(world.acme, [("new", False), ("new", False), ("assigned", False),
                        ("waiting", False), ("done", False), ("new", True), ("done", True),
                        ("waiting", True)])
    _items(world.globex, [("assigned", False)])
    portal = http(user=world.agency_admin)
    with CaptureQueriesContext(connection) as queries:
        page = portal.get("/").content.decode()
    assert _card(page, "acme") == {"inbox_open": 4, "inbox_escalated": 2}
    assert _card(page, "globex") == {"inbox_open": 1, "inbox_escalated": 0}
    assert "Open conversations" in page and "Escalations awaiting" in page
    # One query per brand for the inbox, however many items.
    inbox = [q for q in queries.captured_queries if "conversations_item" in q["sql"]]
    assert len(inbox) == 2, [q["sql"] for q in inbox]


def test_a_member_sees_only_their_brands_counts(world, http):
    _items(world.globex, [("new", True)])
    page = http(user=world.acme.users[Role.EDITOR]).get("/").content.decode()
    assert _card(page, "acme") == {"inbox_open": 0, "inbox_escalated": 0}
    assert 'data-client="globex"' not in page
