"""A campaign's review details (the editor's status side panel, "View details") in campaign
words: submitted for review, each step under way, approved or with changes requested, withdrawn;
the approved version; never Wagtail's page, moderation, workflow, live or rejected."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from tenants.models import Role
from tests.factories import CampaignFactory, pass_sensitivity_review, submit

pytestmark = pytest.mark.django_db

CMS_WORDS = re.compile(r"\b(page|pages|moderation|workflow|live|rejected|published)\b", re.I)


def _dialog_text(html: str) -> str:
    start = html.index('id="workflow-status-dialog"')
    dialog = html[start:html.index("Every review of this campaign", start) + 40]
    labels = " ".join(re.findall(r'(?:aria-label|title)="([^"]*)"', dialog))
    dialog = re.sub(r"<(script|style|template)\b.*?</\1>", " ", dialog, flags=re.S)
    dialog = dialog.replace("workflow-status-dialog", "")  # the dialog's own id, not words
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dialog)) + " " + labels


def test_the_review_details_of_a_campaign_speak_of_its_review(world, http):
    editor, reviewer = world.acme.users[Role.EDITOR], world.acme.users[Role.SENSITIVITY_REVIEWER]
    with schema_context(world.acme.client.schema_name):
        page = CampaignFactory(title="Details in words", author=editor)
        submit(page, editor)
    client = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    text = _dialog_text(client.get(f"/admin/pages/{page.pk}/edit/").content.decode())
    assert "Submitted for review by" in text
    assert "Sensitivity review : under way" in text or "Sensitivity review: under way" in text
    assert "Approved: its posts are scheduled" in text
    assert CMS_WORDS.findall(text) == [], text

    with schema_context(world.acme.client.schema_name):
        pass_sensitivity_review(page, reviewer, action="reject", comment="Softer words, please")
    text = _dialog_text(client.get(f"/admin/pages/{page.pk}/edit/").content.decode())
    assert "Changes requested by" in text and "“Softer words, please”" in text
    assert CMS_WORDS.findall(text) == [], text
