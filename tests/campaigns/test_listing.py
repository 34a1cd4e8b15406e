"""The list of campaigns (Wagtail's explorer of the brand's campaigns index) in campaign words:
"New campaign", counts in campaigns, no page-type, child-page or site filters, no bulk "Publish"
or "Move", no "Copy" / "Move" / "Sort menu order" on a campaign's menu, nothing about the index
itself (its header actions, status and usage panels)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from campaigns.models import CampaignIndexPage
from tenants.models import Role
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

# What Wagtail's page explorer says that a person managing campaigns should not read.
CMS_WORDS = re.compile(r"\b(child pages?|pages? type|add child|sort menu order|this page|"
                       r"site|moderation|live|slug|move|copy)\b", re.I)


@pytest.fixture
def listed(world):
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        campaigns = [CampaignFactory(title=f"Listed campaign {n}") for n in range(2)]
    return index, campaigns


def _visible_text(html: str) -> str:
    """The screen's words and the labels read out for its controls (no scripts or tags, no
    pagination: "Page 1 of 1" counts result pages, not CMS pages)."""
    labels = " ".join(re.findall(r'(?:aria-label|title|placeholder)="([^"]*)"', html))
    html = re.sub(r"<(script|style|template)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<nav[^>]*aria-label="Pagination".*?</nav>', " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)) + " " + labels


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ACCOUNT_MANAGER, Role.AGENCY_ADMIN])
def test_the_list_of_campaigns_speaks_of_campaigns(world, http, listed, role):
    index, campaigns = listed
    client = http(world.acme.host, user=world.acme.users[role])
    html = client.get(f"/admin/pages/{index.pk}/").content.decode()
    text = _visible_text(html)
    for campaign in campaigns:
        assert campaign.title in text
    assert "1-2 of 2 campaigns" in text
    assert "New campaign" in text
    found = sorted({m.group(0).lower() for m in CMS_WORDS.finditer(text)})
    assert found == [], f"CMS words on the list of campaigns: {found}"
    # the filters a person can use on campaigns, and no other
    assert re.findall(r'w-drilldown#open">\s*([^<]+?)\s*<', html) == [
        "Last saved", "Created by", "Saved by"]
    assert "has_child_pages" not in html and "content_type" not in html


def test_the_new_campaign_button_opens_the_campaign_form(world, http, listed):
    index, _campaigns = listed
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor.get(f"/admin/pages/{index.pk}/").content.decode()
    button = re.search(r'<a href="([^"]+)"[^>]*aria-label="New campaign"', html)
    assert button is not None
    form = editor.get(button.group(1), follow=True)
    assert form.status_code == 200
    assert "The campaign’s name, as your team and the client see it." in form.content.decode()


def test_the_lists_bulk_actions_offer_no_publish_or_move(world, http, listed):
    index, _campaigns = listed
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    html = manager.get(f"/admin/pages/{index.pk}/").content.decode()
    footer = html[html.index("data-bulk-action-footer"):]
    footer = footer[:footer.index("</section>")]
    offered = set(re.findall(r"/admin/bulk/wagtailcore/page/(\w+)/", footer))
    assert offered == {"delete", "unpublish"}
    assert 'data-bulk-action-footer="CAMPAIGN"' in html  # counted as campaigns by listing.js
    assert "campaigns/listing.js" in html


def test_a_campaigns_menu_in_the_list_offers_duplicate_not_copy_or_move(world, http, listed):
    index, campaigns = listed
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    html = manager.get(f"/admin/pages/{index.pk}/").content.decode()
    campaign = campaigns[0]
    with schema_context(world.acme.client.schema_name):
        duplicate = reverse("campaign_duplicate", args=[campaign.pk])
        move = reverse("wagtailadmin_pages:move", args=[campaign.pk])
        copy = reverse("wagtailadmin_pages:copy", args=[campaign.pk])
        edit = reverse("wagtailadmin_pages:edit", args=[campaign.pk])
    assert duplicate in html and edit in html
    assert move not in html and copy not in html
    assert "ordering=ord" not in html

