"""A new brand from its set-up checklist to a published post, in chromium, each role in its own
browser: the account manager connects a sandbox channel and adds a client approver from the
checklist; the editor drafts a campaign with a post and submits it for review; the sensitivity
reviewer approves with the checklist; the client approves through the emailed link; the
publishing worker sends the post; the calendar shows it Published on its channel, as the
publishing queue does. No page anyone sees on the way speaks the CMS's words."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.models import CampaignIndexPage, CampaignPage
from campaigns.publishing import transitions, worker
from campaigns.publishing.models import Delivery, State
from campaigns.publishing.transitions import Outcome
from tenants.models import Role
from tests.agency.browser import FAILURE_DIR, TIMEOUT_MS, brand_url, sign_in
from tests.approvals.test_journey_browser import (
    _approve_with_checklist,
    _open_review,
    _review_link,
    _submit,
)
from tests.conftest import PASSWORD
from tests.factories import MemberFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

# Wagtail's words that must not reach the people on this path (whole words; the capitalised
# ones as Wagtail writes them, so that "live" in a sentence of ours would still be caught by
# the lower-case patterns below it).
CMS_WORDS = re.compile(
    r"Page title|Promote|\bslug\b|\bSEO\b|\bLive\b|In moderation|\brejected\b|inreview|"
    r"workflow|Page '|Page ‘|Pages created|Search all pages|Locked by|Page visibility",
    re.IGNORECASE)
STEP_MS = max(TIMEOUT_MS, 30_000)  # the machine is shared: generous, still a failure if slow


@dataclass
class Walk:
    client: object  # the new brand
    people: dict  # Role -> its member's account
    approver_email: str
    tag: str


@pytest.fixture
def walk(world, django_db_blocker):
    """A brand just provisioned (committed, so the test server sees it) with an account manager,
    an editor and a sensitivity reviewer; the brand is deleted afterwards (the accounts, named
    by the test's tag, stay: an account's rows are in every brand's schema)."""
    from tenants.services import client_delete, client_provision

    tag = uuid.uuid4().hex[:6]
    slug = f"walk-{tag}"
    with django_db_blocker.unblock():
        client = client_provision(name=f"Walk Fields {tag}", slug=slug, actor=world.agency_admin)
        people = {role: MemberFactory(client=client, role=role,
                                      user__username=f"{role.value}-{tag}@walk.test",
                                      user__first_name=role.label, user__last_name="Walk").user
                  for role in (Role.ACCOUNT_MANAGER, Role.EDITOR, Role.SENSITIVITY_REVIEWER)}
    connection.set_schema_to_public()
    yield Walk(client=client, people=people, approver_email=f"cleo-{tag}@client.test", tag=tag)
    with django_db_blocker.unblock():
        client_delete(client=client, actor=None, confirm_slug=client.slug)
    connection.set_schema_to_public()


def _person(browser, port, user):
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    sign_in(page, port, user.get_username(), PASSWORD)
    return context, page


def _no_cms_words(page) -> None:
    """What the person sees on ``page`` (visible text, open dialogs excluded) has no CMS word."""
    page.wait_for_load_state("domcontentloaded")
    text = page.locator("body").inner_text()
    found = CMS_WORDS.search(text)
    assert not found, (f"{page.url} shows “{found.group(0)}”: "
                       f"…{text[max(0, found.start() - 80):found.end() + 80]}…")


def _step(checklist, label: str):
    return checklist.get_by_role("listitem").filter(has_text=label)


def test_a_new_brand_from_its_checklist_to_a_published_post(
        browser, world, live_server_url, live_server_mail_dir, walk, django_db_blocker):
    port, slug, tag = live_server_url, walk.client.slug, walk.tag
    with django_db_blocker.unblock(), schema_context(walk.client.schema_name):
        index = CampaignIndexPage.objects.get()
    connection.set_schema_to_public()
    when = (timezone.now() + dt.timedelta(days=2)).replace(minute=30, second=0, microsecond=0)
    title, channel_name = f"Spring greens {tag}", f"Walk sandbox {tag}"

    contexts, pages = [], {}
    for role, user in walk.people.items():
        context, page = _person(browser, port, user)
        contexts.append(context)
        pages[role] = page
    client_ctx = browser.new_context(locale="en-GB")
    client_ctx.set_default_timeout(STEP_MS)
    contexts.append(client_ctx)
    client = pages["client"] = client_ctx.new_page()
    manager, editor, reviewer = (pages[Role.ACCOUNT_MANAGER], pages[Role.EDITOR],
                                 pages[Role.SENSITIVITY_REVIEWER])
    try:
        # 1. The account manager: the brand's checklist, a sandbox channel, a client approver.
        manager.goto(brand_url(slug, port, "/admin/"))
        checklist = manager.get_by_role("region", name=re.compile("^Set up Walk Fields"))
        expect(checklist).to_contain_text("1 of 4 done")  # the team is in
        expect(_step(checklist, "Invite the team")).to_contain_text("Done")
        _no_cms_words(manager)
        checklist.get_by_role("link", name="Connect a channel").click()
        manager.get_by_role("textbox", name="Name").fill(channel_name)
        manager.get_by_role("combobox", name="Network").select_option(label="Sandbox")
        manager.get_by_role("textbox", name="Handle").fill("@walk")
        _no_cms_words(manager)
        manager.get_by_role("button", name="Save").first.click()
        expect(manager.locator(".messages")).to_contain_text(channel_name)
        _no_cms_words(manager)

        manager.goto(brand_url(slug, port, "/admin/"))
        expect(_step(checklist, "Connect a channel")).to_contain_text("Done")
        checklist.get_by_role("link", name="Add client approvers").click()
        manager.get_by_role("textbox", name="Name").fill("Cleo Client")
        manager.get_by_role("textbox", name="Email").fill(walk.approver_email)
        _no_cms_words(manager)
        manager.get_by_role("button", name="Save").first.click()
        expect(manager.locator(".messages")).to_contain_text("Cleo Client")
        manager.goto(brand_url(slug, port, "/admin/"))
        expect(checklist).to_contain_text("3 of 4 done")
        expect(_step(checklist, "Add client approvers")).to_contain_text("Done")

        # 2. The editor drafts a campaign with one post on the channel and submits it.
        editor.goto(brand_url(slug, port, "/admin/"))
        _no_cms_words(editor)
        editor.goto(brand_url(slug, port,
                              f"/admin/pages/add/campaigns/campaignpage/{index.pk}/"))
        _no_cms_words(editor)
        editor.locator("#id_title").fill(title)
        editor.locator("#id_goal").fill("Launch the spring greens")
        editor.locator("#id_audience").fill("Home cooks")
        editor.get_by_role("button", name="Add post").click()
        editor.locator("#id_posts-0-copy").fill("Spring greens are in: crisp, local, fresh.")
        editor.get_by_label(channel_name).first.check()
        local = when.astimezone(ZoneInfo(walk.client.time_zone))  # the brand's time
        editor.locator("#id_posts-0-publish_at").fill(f"{local:%Y-%m-%d %H:%M}")
        editor.get_by_role("button", name="Save draft").click()
        expect(editor.get_by_text(f"Campaign “{title}” saved as a draft.")).to_be_visible()
        _no_cms_words(editor)
        _submit(editor, "Submit for review")
        expect(editor.get_by_text(f"Campaign “{title}” submitted for review.")).to_be_visible()
        _no_cms_words(editor)
        with django_db_blocker.unblock(), schema_context(walk.client.schema_name):
            campaign = CampaignPage.objects.get(title=title)
        connection.set_schema_to_public()
        edit = brand_url(slug, port, f"/admin/pages/{campaign.pk}/edit/")
        editor.goto(edit)
        expect(editor.get_by_text("This campaign is waiting for its Sensitivity review."))\
            .to_be_visible()
        _no_cms_words(editor)

        # 3. The sensitivity reviewer approves with the checklist on the review page.
        reviewer.goto(edit)
        _no_cms_words(reviewer)
        _open_review(reviewer, edit)
        _no_cms_words(reviewer)
        _approve_with_checklist(reviewer)
        _no_cms_words(reviewer)

        # 4. The client approves through the link emailed to them.
        client.goto(brand_url(slug, port, _review_link(live_server_mail_dir,
                                                       walk.approver_email, set())))
        expect(client.get_by_text("Spring greens are in")).to_be_visible()
        _no_cms_words(client)
        client.get_by_role("radio", name="Approve the campaign").check()
        client.get_by_role("button", name="Send my decision").click()
        expect(client.get_by_text("You approved")).to_be_visible()
        _no_cms_words(client)

        # 5. Its time comes: the dispatcher claims the post and the worker sends it.
        with django_db_blocker.unblock():
            deliveries = Delivery.objects.filter(client=walk.client, page_id=campaign.pk)
            assert [(d.channel_name, d.state) for d in deliveries] == [
                (channel_name, State.SCHEDULED)]
            deliveries.update(next_attempt_at=timezone.now())
            claims = transitions.claim_due()
            assert [worker.deliver(pk, claim) for pk, claim in claims] == [Outcome.PUBLISHED]
        connection.set_schema_to_public()

        # 6. The calendar shows it Published on its channel, as the publishing queue does.
        for person in (manager, editor):
            person.goto(brand_url(slug, port, f"/admin/calendar/?month={local:%Y-%m}"))
            entry = person.locator(f'.entry[data-campaign="{campaign.pk}"]')
            expect(entry.locator(".channel-states li")).to_have_text(
                f"{channel_name}: Published")
            _no_cms_words(person)
        manager.goto(brand_url(slug, port, "/admin/publishing/?state=published"))
        row = manager.locator("tbody tr").filter(has_text=title)
        expect(row).to_contain_text(channel_name)
        expect(row).to_contain_text("Published")
        _no_cms_words(manager)
        editor.goto(edit)
        expect(editor.locator("body")).to_contain_text("Campaign status: Approved")
        _no_cms_words(editor)
    except Exception:
        FAILURE_DIR.mkdir(parents=True, exist_ok=True)
        for name, shown in pages.items():
            shown.screenshot(path=str(FAILURE_DIR / f"walk-{name}.png"), full_page=True)
        raise
    finally:
        for context in contexts:
            context.close()
