"""The studio speaks the agency's language: campaign words for statuses and emails, no slug or
SEO fields, and the slug made from the title (unique), so an abandoned autosaved draft never
blocks a title."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils.text import slugify
from django_tenants.utils import schema_context

from approvals.forms import CHECKLIST
from approvals.models import ApproverContact
from approvals.workflows import approve_revision
from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
from tenants.models import Role
from tests.factories import CampaignFactory
from tests.forms import form_fields

# Wagtail's words that must not reach agency staff about a campaign.
CMS_WORDS = re.compile(r"\b(page|pages|moderation|rejected|workflow|live|slug|SEO)\b", re.I)

pytestmark = pytest.mark.django_db

ADD = "/admin/pages/add/campaigns/campaignpage/{index}/"


@pytest.fixture
def index(world):
    with schema_context(world.acme.client.schema_name):
        return CampaignIndexPage.objects.get()


def _create_form(editor, index, title) -> dict:
    """What the browser posts for a new campaign titled ``title`` (Wagtail's script fills a slug
    field, where the form has one, from the title)."""
    html = editor.get(ADD.format(index=index.pk)).content.decode()
    form = {name: values if len(values) > 1 else values[0]
            for name, values in form_fields(html, "page-edit-form").items()}
    form["title"] = title
    if "slug" in form:
        form["slug"] = slugify(title)
    return form


def test_the_campaign_form_has_a_title_and_no_slug_seo_or_promote_tab(world, http, index):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor.get(ADD.format(index=index.pk)).content.decode()
    fields = form_fields(html, "page-edit-form")
    assert "title" in fields
    assert not {"slug", "seo_title", "search_description", "go_live_at"} & set(fields)
    for cms_word in ("Promote", "The page title as you'd like it to be seen by the public",
                     "Page title", "For search engines"):
        assert cms_word not in html
    assert "The campaign’s name, as your team and the client see it." in html


def test_an_abandoned_autosaved_draft_does_not_block_its_title(world, http, index):
    """Wagtail's autosave creates the campaign as a draft in the background (a JSON request);
    the person leaves; the next campaign with the same title is saved, with a slug of its own."""
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    autosaved = editor.post(ADD.format(index=index.pk), _create_form(editor, index, "Spring sale"),
                            HTTP_ACCEPT="application/json")
    assert autosaved.status_code == 200 and autosaved.json()["success"], autosaved.content

    again = editor.post(ADD.format(index=index.pk), _create_form(editor, index, "Spring sale"))
    assert again.status_code == 302, again.content.decode()[:3000]
    with schema_context(world.acme.client.schema_name):
        slugs = sorted(CampaignPage.objects.filter(title="Spring sale")
                       .values_list("slug", flat=True))
    assert slugs == ["spring-sale", "spring-sale-2"]


@pytest.fixture
def submitted(world, index, settings):
    """A campaign the editor submitted for review (its sensitivity review is next); Wagtail's
    emails sent with their HTML part too."""
    settings.WAGTAILADMIN_NOTIFICATION_USE_HTML = True
    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        ApproverContact.objects.create(name="Jo Client", email="jo@acme.example")
        channel = Channel.objects.create(name="Words box", network="sandbox", handle="@w")
        page = CampaignFactory(title="Harvest <fair>", author=editor, posts=[
            Post(copy="Our harvest blend is here", channels=[channel],
                 publish_at=dt.datetime(2027, 9, 1, 8, tzinfo=dt.UTC))])
        mail.outbox.clear()
        page.get_workflow().start(page, editor)
    return page


def _decide(world, page, action, user, **data):
    with schema_context(world.acme.client.schema_name):
        task_state = CampaignPage.objects.get(pk=page.pk).current_workflow_task_state
        task_state.task.specific.on_action(task_state, user, action, **data)


def _mail_to(user):
    return [m for m in mail.outbox if m.to == [user.email]]


def _words(text: str) -> str:
    """An email's own words: without addresses, or the footer Wagtail adds to every email."""
    return re.sub(r"https?://\S+", "", text.split("Edit your notification preferences")[0])


def _parts(message) -> tuple[str, str, str]:
    html = next(body for body, kind in message.alternatives if kind == "text/html")
    return message.subject, message.body, html


def test_reviewers_are_asked_in_campaign_words(world, submitted):
    [message] = _mail_to(world.acme.users[Role.SENSITIVITY_REVIEWER])
    subject, text, html = _parts(message)
    assert subject == "“Harvest <fair>” is waiting for your sensitivity review"
    assert "The campaign “Harvest <fair>” is in review and waits for your sensitivity review." \
        in text
    assert "The campaign “Harvest &lt;fair&gt;” is in review" in html
    assert f"/admin/pages/{submitted.pk}/edit/" in text
    for part in (subject, text):
        assert not CMS_WORDS.search(_words(part)), part


def test_a_change_request_is_emailed_as_changes_requested_not_rejected(world, submitted):
    reviewer = world.acme.users[Role.SENSITIVITY_REVIEWER]
    _decide(world, submitted, "reject", reviewer, comment="Say where the beans come from.")
    [message] = _mail_to(world.acme.users[Role.EDITOR])
    subject, text, html = _parts(message)
    assert subject == "Changes requested on “Harvest <fair>”"
    assert (f"{reviewer.get_full_name()} requested changes to the campaign “Harvest <fair>” at "
            "its Sensitivity review.") in text
    assert "Their comment: Say where the beans come from." in text
    assert "Make the changes, then submit it for review again:" in text
    assert "requested changes to the campaign “Harvest &lt;fair&gt;”" in html
    for part in (subject, text, html):
        assert "rejected" not in part.lower() and "moderation" not in part.lower()
    assert not CMS_WORDS.search(_words(text)), text


def test_approval_is_emailed_in_campaign_words(world, submitted):
    _decide(world, submitted, "approve", world.acme.users[Role.SENSITIVITY_REVIEWER],
            **dict.fromkeys(CHECKLIST, True))
    _decide(world, submitted, "approve", world.acme.users[Role.ACCOUNT_MANAGER],
            comment="Approved on the phone")
    [message] = _mail_to(world.acme.users[Role.EDITOR])
    subject, text, _ = _parts(message)
    assert subject == "“Harvest <fair>” is approved"
    assert ("The campaign “Harvest <fair>” is approved: its posts are scheduled to go out at "
            "their times.") in text
    assert not CMS_WORDS.search(_words(text)), text


def test_the_list_and_history_show_campaign_statuses(world, http, index, submitted):
    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        approved = CampaignFactory(title="Done deal", author=editor)
        approve_revision(approved.latest_revision, user=editor)
        CampaignFactory(title="Just a draft", author=editor)
    client = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    listing = client.get(f"/admin/pages/{index.pk}/").content.decode()
    tags = re.findall(r"Campaign status:</span>\s*([^<]+?)\s*<", listing)
    assert sorted(tags) == ["Approved", "Draft", "In review"]
    table = listing[listing.index("<table"):listing.index("</table>")]
    assert not re.search(r">\s*(live|in moderation)\s*<", table, re.I)
    history = client.get(f"/admin/pages/{approved.pk}/history/").content.decode()
    assert "Approved version" in history and "Live version" not in history


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_saving_and_submitting_say_campaign_not_page(world, http, index):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    form = _create_form(editor, index, "Autumn <menu>")
    created = editor.post(ADD.format(index=index.pk), form, follow=True)
    [message] = _messages(created)
    assert "Campaign “Autumn &lt;menu&gt;” saved as a draft." in message
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(title="Autumn <menu>")
    edit = f"/admin/pages/{page.pk}/edit/"
    fields = form_fields(editor.get(edit).content.decode(), "page-edit-form")
    saved = editor.post(edit, fields, follow=True)
    assert "Campaign “Autumn &lt;menu&gt;” saved." in _messages(saved)[0]
    submitted = editor.post(edit, {**fields, "action-submit": "1"}, follow=True)
    [message] = _messages(submitted)
    assert "Campaign “Autumn &lt;menu&gt;” submitted for review." in message
    for text in (_messages(created)[0], _messages(saved)[0], message):
        assert not CMS_WORDS.search(re.sub(r"<[^>]+>", " ", text)), text


def test_the_lock_banner_over_a_campaign_in_review_says_whose_turn_it_is(world, http, submitted):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.get(f"/admin/pages/{submitted.pk}/edit/")
    [message] = _messages(response)
    assert message.strip() == ("This campaign is waiting for its Sensitivity review. Only its "
                               "reviewers can change it now.")


def test_messages_about_other_pages_keep_wagtails_words(world, http, index):
    admin = http(world.acme.host, user=world.acme.users[Role.AGENCY_ADMIN])
    edit = f"/admin/pages/{index.pk}/edit/"
    fields = form_fields(admin.get(edit).content.decode(), "page-edit-form")
    saved = admin.post(edit, fields, follow=True)
    assert "has been updated." in _messages(saved)[0]


def _visible_text(html: str) -> str:
    """The page's words (no scripts, templates or tags)."""
    html = re.sub(r"<(script|style|template)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_side_panel_menu_and_dashboard_say_campaign(world, http, submitted):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    edit = editor.get(f"/admin/pages/{submitted.pk}/edit/").content.decode()
    text = _visible_text(edit)
    assert "Campaign status: In review" in text
    assert "Locking: Locked while in review Only its reviewers can change it now." in text
    for cms_words in ("In Moderation", "Locked by workflow", "this page", "Page visibility",
                      "publishing schedule"):
        assert cms_words not in text
    sidebar = re.search(r'id="wagtail-sidebar-props"[^>]*>(.*?)</script>', edit, re.S).group(1)
    assert '"Campaigns"' in sidebar and '"Pages"' not in sidebar

    home = editor.get("/admin/").content.decode()
    assert 'placeholder="Search campaigns…"' in home and "Search all pages" not in home
    assert "Your campaigns in review" in home and "pages and snippets" not in home
    assert not re.search(r"\d+ Pages? created", _visible_text(home))


def test_snippets_share_the_side_panel_and_keep_wagtails_words(world, http):
    """The status side panel is Wagtail's for snippets too: a channel is not a campaign."""
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.get("/admin/snippets/campaigns/channel/add/")
    assert response.status_code == 200
