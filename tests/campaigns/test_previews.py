"""Previews show each post as each network shows it, for every channel it targets."""

import datetime as dt
import re

import pytest
from django.test import RequestFactory
from django_tenants.utils import schema_context

from campaigns.models import CampaignIndexPage, CampaignPage
from tenants.models import Role
from tests.factories import CampaignFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(world, acme_kit):
    masto, sky, image = acme_kit.masto, acme_kit.sky, acme_kit.image
    return CampaignFactory(brand=world.acme, title="Preview me",
                           author=world.acme.users[Role.EDITOR], posts=[
        PostFactory(copy="Fresh roast ☕", link="https://acme.example/roast",
                    publish_at=dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC), channels=[masto, sky],
                    image=image, alt_text="A blue cup of coffee on a wooden table"),
        PostFactory(copy="x" * 320, channels=[sky]),
        PostFactory(copy="Nowhere")])


def _preview(http, world, page, mode):
    """The preview Wagtail shows for ``mode`` (its preview views call serve_preview on the page
    built from the editor's form; here from the latest revision)."""
    rf = RequestFactory(HTTP_HOST=world.acme.host)
    with schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        request = rf.get("/")
        request.user = world.acme.users[Role.EDITOR]
        response = draft.serve_preview(request, mode)
        response.render()
    return response


def test_each_network_mode_shows_its_cards_only(world, http, campaign):
    html = _preview(http, world, campaign, "mastodon").content.decode()
    assert html.count('class="card card--mastodon"') == 1 and "card--bluesky" not in html
    assert "Fresh roast" in html and "A blue cup of coffee on a wooden table" in html
    assert re.search(r'<img[^>]+alt="A blue cup of coffee on a wooden table"', html)
    html = _preview(http, world, campaign, "bluesky").content.decode()
    assert html.count('class="card card--bluesky"') == 2


def test_a_card_shows_the_problems_the_network_would_refuse(world, http, campaign):
    html = _preview(http, world, campaign, "bluesky").content.decode()
    assert "Bluesky allows 300 characters (emoji count as one); this post has 320." in html


def test_the_all_posts_mode_lists_every_card_and_posts_without_channels(world, http, campaign):
    html = _preview(http, world, campaign, "").content.decode()
    assert html.count('class="card card--') == 3
    assert "Post 3 has no channel yet" in html


def test_view_draft_in_the_admin_serves_the_preview(world, http, campaign):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor.get(f"/admin/pages/{campaign.pk}/view_draft/").content.decode()
    assert html.count('class="card card--') == 3 and "Fresh roast" in html


def test_the_campaigns_index_has_no_preview_and_says_so_instead_of_failing(world, http):
    """The index has no template (brand hosts serve no pages): its previews are refused or not
    found, never a 500 any editor could cause on demand."""
    from tests.forms import form_fields

    editor_user = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        revision = index.save_revision(user=editor_user)
    editor = http(world.acme.host, user=editor_user, raise_request_exception=False)
    edit = editor.get(f"/admin/pages/{index.pk}/edit/").content.decode()
    editor.post(f"/admin/pages/{index.pk}/edit/preview/", form_fields(edit, "page-edit-form"))
    for path in [f"/admin/pages/{index.pk}/view_draft/", f"/admin/pages/{index.pk}/edit/preview/",
                 f"/admin/pages/{index.pk}/revisions/{revision.pk}/view/"]:
        for query in ["", "?mode=x"]:
            response = editor.get(path + query)
            assert response.status_code in {302, 404}, (path + query, response.status_code)
            if response.status_code == 302:
                assert response["Location"] == "/admin/"  # Wagtail's refusal
