"""The inbox in chromium: staff open it, see an escalated item pinned at the top, assign it and
reply in the thread; an abusive reply shows as hidden with its reason and is shown again in one
click."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.conversations import tasks
from campaigns.publishing.adapters.bluesky import forget_sessions
from campaigns.publishing.models import Delivery
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.results.conftest import PASSWORD, publish

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

AT_RISK = "I can't go on, I want to end my life tonight"
ABUSE = "you are a pathetic idiot and a loser"


@pytest.fixture
def thread_on_bluesky(world, django_db_blocker):
    """A post of Acme on a (fake) Bluesky channel with three replies polled into the inbox,
    committed for the test server; removed afterwards."""
    from agency.demo.fakes import FakeBluesky
    from campaigns.conversations.models import ConversationSettings, Item
    from campaigns.models import CampaignPage, Channel

    forget_sessions()
    schema = world.acme.client.schema_name
    with FakeBluesky(handle="acme.test", password=PASSWORD) as bluesky:
        with django_db_blocker.unblock():
            with schema_context(schema):
                channel = Channel.objects.create(name="Acme on Bluesky (inbox)",
                                                 network="bluesky", handle="@acme.test",
                                                 endpoint=bluesky.url)
                channel.set_secret(PASSWORD)
                channel.save()
                brand = ConversationSettings.load()
                brand.on_call_emails, brand.guidance = "oncall@acme.test", "Call 116 123."
                brand.save()
            (delivery,) = publish(schema, [channel], title="Autumn inbox")
            bluesky.add_reply("Which beans are in the autumn blend?",
                              parent_uri=delivery.remote_id, author="hal.example.com")
            bluesky.add_reply(AT_RISK, parent_uri=delivery.remote_id, author="ivy.example.com")
            bluesky.add_reply(ABUSE, parent_uri=delivery.remote_id, author="jay.example.com")
            tasks.poll_conversations()
        connection.set_schema_to_public()
        yield bluesky, delivery
        with django_db_blocker.unblock():
            Delivery.objects.filter(pk=delivery.pk).delete()
            with schema_context(schema):
                Item.objects.filter(channel=channel).delete()
                CampaignPage.objects.filter(pk=delivery.page_id).delete()
                channel.delete()
                ConversationSettings.objects.update(on_call_emails="", guidance="")
        connection.set_schema_to_public()
    forget_sessions()


def test_staff_handle_an_escalation_and_undo_a_hidden_reply(
        context, page, signed_in, world, live_server_url, thread_on_bluesky):
    bluesky, delivery = thread_on_bluesky
    assert any("at risk" in m.subject for m in mail.outbox)
    editor = world.acme.users[Role.EDITOR]
    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    page.goto(brand_url("acme", live_server_url, "/admin/"))
    page.get_by_role("link", name="Inbox", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Inbox")

    rows = page.locator("tr.inbox-item")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Escalated: may be at risk")
    expect(rows.first).to_contain_text(AT_RISK)
    expect(rows.first.locator(".inbox-clock")).to_contain_text("left")
    expect(page.locator("tr.inbox-item", has_text=ABUSE)).to_contain_text("Hidden")

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("alert").first).to_contain_text("may be at risk")
    expect(page.get_by_role("alert").first).to_contain_text("Call 116 123.")
    page.get_by_label("Assigned to").select_option(label=editor.get_full_name() or editor.email)
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_label("Assigned to")).to_have_value(str(editor.pk))
    expect(page.get_by_label("State")).to_have_value("assigned")
    page.get_by_label("Your reply").fill("We're here for you. Please call 116 123 now.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("[data-reply-state]")).to_contain_text("Sent")
    sent = [p for p in bluesky.posts if p["text"].startswith("We're here for you")]
    assert len(sent) == 1 and sent[0]["reply"]["root"]["uri"] == delivery.remote_id

    page.get_by_role("link", name="← Inbox").click()
    page.locator("tr.inbox-item", has_text=ABUSE).get_by_role("link").click()
    expect(page.locator("[data-moderation]")).to_contain_text("Hidden on the network")
    hidden = page.locator('[data-action="hide"]')
    expect(hidden).to_contain_text("(automatic)")
    assert len(bluesky.hidden_replies(delivery.remote_id)) == 1
    hidden.get_by_role("button", name="Undo").click()
    expect(page.locator('[data-action="hide"]')).to_contain_text("Undone")
    expect(page.locator("[data-moderation]")).not_to_contain_text("Hidden on the network")
    assert bluesky.hidden_replies(delivery.remote_id) == []
