"""Moving posts on the content calendar in a real browser: dragged to another day, or with the
date box from the keyboard; an approved post the brand does not let staff move stays put, and
the calendar says why."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from approvals.models import ApprovalRecord
from approvals.workflows import approve_revision
from campaigns.models import CampaignPage, Channel, Post, PublishingSettings
from campaigns.publishing.models import Delivery
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.factories import CampaignFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def committed(world, django_db_blocker):
    """A draft campaign (a post on Wednesday 10 February 2027, 09:00) and an approved one (a post
    in ten days, in the outbox), committed for the test server; the brand does not let staff
    move approved posts. Removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    editor = world.acme.users[Role.EDITOR]
    soon = (timezone.now() + dt.timedelta(days=10)).replace(hour=11, minute=0, second=0,
                                                            microsecond=0)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = Channel.objects.create(name=f"Drag {tag}", network="sandbox", handle="@drag")
        draft = CampaignFactory(title=f"Drag draft {tag}", author=editor, posts=[
            Post(copy=f"Drag me {tag}", channels=[channel],
                 publish_at=dt.datetime(2027, 2, 10, 9, tzinfo=dt.UTC))])  # London: UTC
        approved = CampaignFactory(title=f"Drag approved {tag}", author=editor, posts=[
            Post(copy=f"Approved {tag}", channels=[channel], publish_at=soon)])
        approve_revision(approved.latest_revision, user=editor)
        settings = PublishingSettings.load()
        settings.staff_may_move_approved_posts = False
        settings.save()
    connection.set_schema_to_public()
    yield {"draft": draft, "approved": approved, "tag": tag, "soon": soon}
    with django_db_blocker.unblock():
        Delivery.objects.filter(client=world.acme.client,
                                page_id__in=[draft.pk, approved.pk]).delete()
        with schema_context(world.acme.client.schema_name):
            ApprovalRecord.objects.filter(revision__object_id=str(approved.pk)).delete()
            for pk in (draft.pk, approved.pk):
                CampaignPage.objects.get(pk=pk).delete()
            channel.delete()
    connection.set_schema_to_public()


def _cell(page, day: dt.date):
    return page.locator(f'td[data-date="{day:%Y-%m-%d}"]')


def test_a_draft_post_is_dragged_to_another_day_and_moved_again_from_the_keyboard(
        page, signed_in, world, live_server_url, committed):
    signed_in(world.acme.users[Role.EDITOR])
    draft = committed["draft"]
    page.goto(brand_url("acme", live_server_url, "/admin/calendar/?view=week&week=2027-02-10"))
    entry = page.locator(f'.entry[data-campaign="{draft.pk}"]')
    expect(entry).to_have_count(1)
    expect(_cell(page, dt.date(2027, 2, 10))).to_contain_text(f"Drag me {committed['tag']}")
    expect(entry.get_by_role("listitem")).to_have_text(f"Drag {committed['tag']}: Draft")

    with page.expect_navigation():
        entry.locator(".copy").drag_to(_cell(page, dt.date(2027, 2, 12)))
    expect(page.get_by_text(f"Moved post 1 of “{draft.title}” to 12 February.")).to_be_visible()
    expect(_cell(page, dt.date(2027, 2, 12)).locator(f'.entry[data-campaign="{draft.pk}"]')
           ).to_contain_text("09:00")
    expect(_cell(page, dt.date(2027, 2, 10))).not_to_contain_text(f"Drag me {committed['tag']}")

    # The campaign itself has the new date
    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{draft.pk}/edit/"))
    expect(page.locator(".post-closed__meta")).to_contain_text("Fri 12 Feb 2027, 09:00")

    # Without a mouse: the date box and the Move button
    page.goto(brand_url("acme", live_server_url, "/admin/calendar/?view=week&week=2027-02-10"))
    page.get_by_label(f"New day for post 1 of {draft.title}").fill("2027-02-09")
    with page.expect_navigation():
        page.locator(f'.entry[data-campaign="{draft.pk}"]').get_by_role(
            "button", name="Move").press("Enter")
    expect(page.get_by_text(f"Moved post 1 of “{draft.title}” to 9 February.")).to_be_visible()
    expect(_cell(page, dt.date(2027, 2, 9))).to_contain_text(f"Drag me {committed['tag']}")


def _times(django_db_blocker, page_id: int) -> list[dt.datetime]:
    """When the outbox sends the campaign's posts."""
    with django_db_blocker.unblock():
        return list(Delivery.objects.filter(page_id=page_id).order_by("id")
                    .values_list("publish_at", flat=True))


def test_dragging_an_approved_post_the_brand_keeps_in_place_is_refused_with_the_reason(
        page, signed_in, world, live_server_url, committed, django_db_blocker):
    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    approved, soon = committed["approved"], committed["soon"]
    day = soon.astimezone(dt.UTC).date()  # December: London keeps UTC
    page.goto(brand_url("acme", live_server_url, f"/admin/calendar/?view=week&week={day}"))
    entry = page.locator(f'.entry[data-campaign="{approved.pk}"]')
    expect(entry.get_by_role("listitem")).to_have_text(f"Drag {committed['tag']}: Scheduled")
    other = day - dt.timedelta(days=1) if day.weekday() else day + dt.timedelta(days=1)
    before = _times(django_db_blocker, approved.pk)
    assert before == [soon]

    entry.locator(".copy").drag_to(_cell(page, other))
    expect(page.locator("#calendar-move-status")).to_contain_text(
        "Not moved: Moving an approved post needs the client's approval")
    page.reload()
    expect(_cell(page, day).locator(f'.entry[data-campaign="{approved.pk}"]')).to_have_count(1)
    expect(_cell(page, other)).not_to_contain_text(f"Approved {committed['tag']}")
    assert _times(django_db_blocker, approved.pk) == before
