"""The campaign editor lists posts closed and opens one at a time; closed posts are saved as they
were, and what they carry back from the browser is checked like anything typed."""

import datetime as dt
import json
import re
from dataclasses import dataclass

import pytest
from django_tenants.utils import schema_context
from wagtail.test.utils.form_data import nested_form_data, streamfield

from campaigns.models import CampaignPage
from tenants.models import Role
from tests.factories import CampaignFactory, PostFactory
from tests.forms import form_fields

pytestmark = pytest.mark.django_db


@dataclass
class EditorCampaign:
    page: object
    masto: object
    sky: object
    image: object


@pytest.fixture
def campaign(world, acme_kit) -> EditorCampaign:
    masto, sky, image = acme_kit.masto, acme_kit.sky, acme_kit.image
    page = CampaignFactory(brand=world.acme, title="Editor test",
                           author=world.acme.users[Role.EDITOR], posts=[
        PostFactory(copy="Fresh roast ☕", link="https://acme.example/roast",
                    first_comment="Tell us your favourite",
                    publish_at=dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC), channels=[masto, sky],
                    image=image, alt_text="A blue cup of coffee"),
        # 25 October 2026, 00:30 UTC is 01:30 in London twice over (clocks go back at 02:00 BST)
        PostFactory(copy="Clocks go back tonight",
                    publish_at=dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC), channels=[sky]),
        PostFactory(copy="No time, no channel")])
    return EditorCampaign(page=page, masto=masto, sky=sky, image=image)


def _posts(world, page):
    with schema_context(world.acme.client.schema_name):
        latest = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        return [{"copy": p.copy, "link": p.link, "first_comment": p.first_comment,
                 "publish_at": p.publish_at, "channels": sorted(c.name for c in p.channels.all()),
                 "media": [(b.block_type, b.value["image"].pk, b.value["alt_text"])
                           for b in p.media]}
                for p in latest.posts.all()]


def _revisions(world, page):
    with schema_context(world.acme.client.schema_name):
        return CampaignPage.objects.get(pk=page.pk).revisions.count()


def _edit(world, http, page):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    return editor, html


def _summary(fields, index):
    return json.loads(fields[f"posts-{index}-summary"][0])


def test_posts_are_listed_closed_with_time_channels_text_and_images(world, http, campaign):
    _, html = _edit(world, http, campaign.page)
    assert html.count("data-post-closed") == 3
    assert "Thu 1 Oct 2026, 09:00" in html  # 08:00 UTC is 09:00 in London in October
    assert "Acme Masto, Acme Sky" in html and "Fresh roast ☕" in html
    assert re.search(r'<img[^>]+alt="A blue cup of coffee"', html)
    assert "No time yet" in html and "No channel yet" in html
    # only the template for a new post carries a media editor, not every post
    assert html.count('data-controller="w-block"') == 1


def test_saving_without_opening_a_post_keeps_every_post_as_it_was(world, http, campaign):
    before = _posts(world, campaign.page)
    editor, html = _edit(world, http, campaign.page)
    response = editor.post(f"/admin/pages/{campaign.page.pk}/edit/",
                           form_fields(html, "page-edit-form"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _revisions(world, campaign.page) == 2
    assert _posts(world, campaign.page) == before
    # the post at an hour London has twice keeps its exact moment
    assert before[1]["publish_at"] == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)


def test_an_opened_post_is_saved_with_its_changes_and_the_others_unchanged(world, http,
                                                                           campaign):
    before = _posts(world, campaign.page)
    editor, html = _edit(world, http, campaign.page)
    fields = form_fields(html, "page-edit-form")
    opened = editor.post("/admin/campaigns/post-editor/",
                         {"prefix": "posts-0", "summary": fields["posts-0-summary"][0]})
    assert opened.status_code == 200
    opened_html = opened.content.decode()
    assert "Fresh roast ☕" in opened_html and 'value="2026-10-01 09:00"' in opened_html
    # the browser swaps the closed row for the opened form: its fields replace the summary
    del fields["posts-0-summary"]
    opened_fields = form_fields(f'<form id="f">{opened_html}</form>', "f")
    assert sorted(opened_fields["posts-0-channels"]) == sorted(
        [str(campaign.masto.pk), str(campaign.sky.pk)])
    fields.update(opened_fields)
    # the media editor is drawn by script; these are the fields it posts for the image it shows
    assert f'"image": {{"id": {campaign.image.pk},' in opened_html.replace("&quot;", '"')
    fields.update(nested_form_data({"posts-0-media": streamfield([
        ("image", {"image": campaign.image.pk, "alt_text": "A blue cup of coffee"})])}))
    fields["posts-0-copy"] = ["Fresh roast, now in stores ☕"]
    fields["posts-0-publish_at"] = ["2026-10-02 18:15"]
    fields["posts-0-channels"] = [str(campaign.sky.pk)]
    response = editor.post(f"/admin/pages/{campaign.page.pk}/edit/", fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    after = _posts(world, campaign.page)
    assert after[0] == {**before[0], "copy": "Fresh roast, now in stores ☕",
                        "publish_at": dt.datetime(2026, 10, 2, 17, 15, tzinfo=dt.UTC),
                        "channels": ["Acme Sky"]}
    assert after[1:] == before[1:]


def test_a_closed_post_that_breaks_a_rule_shows_why_and_nothing_is_saved(world, http, campaign):
    editor, html = _edit(world, http, campaign.page)
    fields = form_fields(html, "page-edit-form")
    summary = _summary(fields, 0)
    fields["posts-0-summary"] = [json.dumps({**summary, "copy": "x" * 612})]
    response = editor.post(f"/admin/pages/{campaign.page.pk}/edit/", fields)
    assert response.status_code == 200
    page_html = response.content.decode()
    assert "Post 1 on Acme Masto: Mastodon allows 500 characters; this post has" in page_html
    assert page_html.count("post-closed--errors") == 1
    assert _revisions(world, campaign.page) == 1


@pytest.mark.parametrize("tamper, message", [
    (lambda s: "{not json", "came back from the browser incomplete"),
    (lambda s: json.dumps({**s, "channels": ["999999"]}), "Select a valid choice"),
    (lambda s: json.dumps({**s, "publish_at": "next tuesday"}), "Enter a valid date/time"),
    (lambda s: json.dumps({**s, "media": [{"type": "image", "id": None,
                                           "value": {"image": "1; DROP", "alt_text": ""}}]}),
     "came back from the browser incomplete"),
    (lambda s: json.dumps({**s, "owner": 1}), "came back from the browser incomplete"),
])
def test_a_tampered_summary_is_refused_with_a_clear_error(world, http, campaign, tamper,
                                                          message):
    editor, html = _edit(world, http, campaign.page)
    fields = form_fields(html, "page-edit-form")
    fields["posts-1-summary"] = [tamper(_summary(fields, 1))]
    response = editor.post(f"/admin/pages/{campaign.page.pk}/edit/", fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _revisions(world, campaign.page) == 1


def test_opening_a_post_needs_edit_rights_and_a_readable_summary(world, http, campaign):
    editor, html = _edit(world, http, campaign.page)
    summary = form_fields(html, "page-edit-form")["posts-1-summary"][0]
    assert editor.post("/admin/campaigns/post-editor/",
                       {"prefix": "posts-1", "summary": "[]"}).status_code == 400
    assert editor.post("/admin/campaigns/post-editor/",
                       {"prefix": "x\" onload=", "summary": summary}).status_code == 400
    assert editor.get("/admin/campaigns/post-editor/").status_code == 405
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    assert reviewer.post("/admin/campaigns/post-editor/",
                         {"prefix": "posts-1", "summary": summary}).status_code == 403
    globex_editor = http(world.acme.host, user=world.globex.users[Role.EDITOR])
    response = globex_editor.post("/admin/campaigns/post-editor/",
                                  {"prefix": "posts-1", "summary": summary})
    assert response.status_code in (302, 403)
    assert "Clocks go back" not in response.content.decode()


def test_an_opened_post_shows_its_errors_in_place(world, http, campaign):
    editor, html = _edit(world, http, campaign.page)
    summary = _summary(form_fields(html, "page-edit-form"), 0)
    summary["media"][0]["value"]["alt_text"] = ""
    opened = editor.post("/admin/campaigns/post-editor/",
                         {"prefix": "posts-0", "summary": json.dumps(summary)})
    assert opened.status_code == 200
    assert "This field is required" in opened.content.decode()
