"""The whole approval journey in chromium: the editor submits, the linter flags, the reviewer
waives and approves, the client (on a phone) requests a change, the editor fixes it and
resubmits, the reviewer and the client approve the new revision, and the campaign is approved."""

from __future__ import annotations

import datetime as dt
import email
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from approvals.models import ApprovalRecord, ApproverContact, ReviewLink
from campaigns.models import CampaignPage
from tenants.models import Role
from tests.agency.browser import FAILURE_DIR, TIMEOUT_MS, brand_url, sign_in
from tests.conftest import PASSWORD
from tests.factories import CampaignFactory, ChannelFactory, PostFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@dataclass
class Journey:
    page: object  # the campaign, written by Acme's editor
    approver: object  # Acme's one approver contact
    tag: str  # in the names of the journey's campaign, channel and approver


@pytest.fixture
def journey(world, django_db_blocker):
    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        approver = ApproverContact.objects.create(name="Jo Client",
                                                  email=f"jo-{tag}@acme.example")
        channel = ChannelFactory(name=f"Box {tag}", handle="@acme")
        page = CampaignFactory(title=f"Summer blend {tag}", goal="Launch the summer blend",
                               author=world.acme.users[Role.EDITOR], posts=[PostFactory(
                                   copy="Our summer blend is no bullshit, just coffee",
                                   channels=[channel],
                                   publish_at=dt.datetime(2027, 6, 1, 8, tzinfo=dt.UTC))])
    connection.set_schema_to_public()
    yield Journey(page=page, approver=approver, tag=tag)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        ReviewLink.objects.filter(approver=approver).delete()
        ApprovalRecord.objects.filter(revision__object_id=str(page.pk)).delete()
        CampaignPage.objects.get(pk=page.pk).delete()
        channel.delete()
        approver.delete()
    connection.set_schema_to_public()


def _person(browser, port, user, **options):
    context = browser.new_context(locale="en-GB", **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, port, user.get_username(), PASSWORD)
    return context, page


def _review_link(mail_dir: Path, to: str, seen: set[str]) -> str:
    """The newest review address sent to ``to`` that the test has not used yet."""
    for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        for raw in path.read_text().split("\n" + "-" * 79 + "\n"):
            if f"To: {to}" not in raw:
                continue
            message = email.message_from_string(raw.strip())
            body = message.get_payload(0).get_payload(decode=True).decode() \
                if message.is_multipart() else message.get_payload()
            match = re.search(r"(/review/[\w-]+/)", body)
            if match and match.group(1) not in seen:
                seen.add(match.group(1))
                return match.group(1)
    raise AssertionError(f"no new review link was emailed to {to}")


def _open_review(page, edit_url: str) -> None:
    """From the campaign's editor, through the header's actions menu, to its review page."""
    page.goto(edit_url)
    page.locator("header").get_by_role("button", name=re.compile("Actions|More")).first.click()
    page.get_by_role("link", name="Sensitivity review").click()
    expect(page.get_by_role("heading", name="Sensitivity review")).to_be_visible()


def _approve_with_checklist(page) -> None:
    for box in page.locator(".review-check input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approved.")).to_be_visible()


def _submit(page, label: str) -> None:
    """The footer's main button: the editor's next action."""
    page.locator("footer").get_by_role("button", name=label, exact=True).click()


def test_the_whole_approval_journey(browser, world, live_server_url, live_server_mail_dir,
                                    journey, django_db_blocker):
    port, campaign = live_server_url, journey.page
    edit = brand_url("acme", port, f"/admin/pages/{campaign.pk}/edit/")
    seen: set[str] = set()
    editor_ctx, editor = _person(browser, port, world.acme.users[Role.EDITOR])
    reviewer_ctx, reviewer = _person(browser, port, world.acme.users[Role.SENSITIVITY_REVIEWER])
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, locale="en-GB")
    client = phone.new_page()
    try:
        # 1. The editor submits; the linter has flagged the post beside it.
        editor.goto(edit)
        expect(editor.locator("[data-post-closed] [data-post-lint]")).to_contain_text(
            "Must fix · Profanity")
        _submit(editor, "Submit for review")
        expect(editor.get_by_text(re.compile("submitted for review\\."))).to_be_visible()

        # 2. The reviewer waives the finding with a reason, ticks the checklist, approves.
        _open_review(reviewer, edit)
        expect(reviewer.get_by_role("heading", name="Post 1")).to_be_visible()
        expect(reviewer.get_by_role("button", name="Approve")).to_be_disabled()
        reviewer.get_by_label("Why this can stand").fill(
            "Quoting our founder's catchphrase; the client signed it off.")
        reviewer.get_by_role("button", name="Waive this finding").click()
        expect(reviewer.get_by_text("Waived by")).to_be_visible()
        _approve_with_checklist(reviewer)

        # 3. The client, on a phone, asks for a change on post 1.
        client.goto(brand_url("acme", port, _review_link(live_server_mail_dir,
                                                         journey.approver.email, seen)))
        expect(client.get_by_text("no bullshit, just coffee")).to_be_visible()
        client.get_by_role("radio", name="Request changes").check()
        client.get_by_label("Comment on post 1 (optional)").fill("Please, no swearing.")
        client.get_by_role("button", name="Send my decision").click()
        expect(client.get_by_role("heading", name="Thank you, Jo Client")).to_be_visible()

        # 4. The editor sees the comment, fixes the post and resubmits.
        editor.goto(brand_url("acme", port, "/admin/"))
        expect(editor.get_by_text("Post 1: Please, no swearing.")).to_be_visible()
        editor.goto(edit)
        expect(editor.locator("[data-post-closed]").first).to_contain_text(
            "Asked to change: Please, no swearing.")
        editor.get_by_role("button", name="Edit post").click()
        editor.locator("#id_posts-0-copy").fill("Our summer blend: bright, smooth coffee")
        expect(editor.locator("#inline_child_posts-0 [data-post-lint]")).to_be_empty()
        _submit(editor, "Resubmit for review")
        # the text changed since the sensitivity review, so the approval starts from there
        expect(editor.get_by_text(re.compile("approval starts again with the sensitivity "
                                             "review"))).to_be_visible()

        # 5. The new revision goes through the sensitivity review again: nothing to waive now.
        _open_review(reviewer, edit)
        expect(reviewer.get_by_text("The linter found nothing to raise")).to_be_visible()
        _approve_with_checklist(reviewer)

        # 6. The client approves the new revision through a new link.
        client.goto(brand_url("acme", port, _review_link(live_server_mail_dir,
                                                         journey.approver.email, seen)))
        expect(client.get_by_text("bright, smooth coffee")).to_be_visible()
        client.get_by_role("radio", name="Approve the campaign").check()
        client.get_by_role("button", name="Send my decision").click()
        expect(client.get_by_text("You approved")).to_be_visible()
    except Exception:
        FAILURE_DIR.mkdir(parents=True, exist_ok=True)
        for name, shown in (("editor", editor), ("reviewer", reviewer), ("client", client)):
            shown.screenshot(path=str(FAILURE_DIR / f"journey-{name}.png"), full_page=True)
        raise
    finally:
        for context in (editor_ctx, reviewer_ctx, phone):
            context.close()

    # 7. Approved: exactly the revision the client saw is published and recorded.
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(pk=campaign.pk)
        record = ApprovalRecord.objects.get(revision__object_id=str(campaign.pk))
        assert page.live and record.revision_id == page.live_revision_id
        [post] = page.live_revision.as_object().posts.all()
        assert post.copy == "Our summer blend: bright, smooth coffee"
    connection.set_schema_to_public()
