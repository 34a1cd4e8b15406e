"""The composer's server side: the editor's data for it (channels, network rules, lead time read
through the approvals hook), the lead-time warning on closed posts, and images uploaded into a
post with their alt text (static/campaigns/composer.js; the browser tests drive it)."""

import datetime as dt
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.images.models import Image

from approvals.models import ApprovalSettings
from campaigns import editor, networks
from campaigns.models import Post
from tenants.models import Role
from tests.factories import CampaignFactory
from tests.images import png_bytes

pytestmark = pytest.mark.django_db

UPLOAD = "/admin/campaigns/post-image/"


def _lead(hours: int) -> None:
    settings = ApprovalSettings.load()
    settings.due_hours_before_first_post = hours
    settings.save()


def _composer(html: str) -> dict:
    found = re.search(r'<script id="posts-composer" type="application/json">(.*?)</script>', html,
                      re.S)
    assert found, "the editor carries no composer data"
    return json.loads(found.group(1))


def test_the_editor_gives_the_composer_the_channels_rules_and_the_brands_lead_time(
        world, http, acme_kit):
    with schema_context(world.acme.client.schema_name):
        _lead(36)
        page = CampaignFactory(title="Composer data")
    editor_client = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = editor_client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    data = _composer(html)
    masto = acme_kit.masto
    assert data["channels"][str(masto.pk)] == {"name": "Acme Masto", "handle": "@acme@m.ex",
                                               "network": "mastodon"}
    assert data["networks"]["bluesky"] == {"label": "Bluesky", "max_length": 300,
                                           "count": "graphemes", "max_images": 4}
    assert data["networks"]["mastodon"]["count"] == "mastodon"
    assert data["lead_hours"] == 36
    assert data["flag_past"] is True  # a draft: a time gone by is flagged
    assert data["zone"] == "Europe/London"
    assert data["upload_url"] == UPLOAD
    assert 'src="/static/campaigns/composer.js"' in html or "campaigns/composer." in html


def test_without_an_approval_app_there_is_no_lead_time_and_no_warning(monkeypatch):
    monkeypatch.setattr(editor.hooks, "get_hooks", lambda name: [])
    assert editor.approval_lead_time() is None
    now = timezone.now()
    assert editor.deadline_warning(now + dt.timedelta(hours=1), None, now) == ""


def test_the_lead_time_comes_from_the_brands_approval_settings(world):
    with schema_context(world.acme.client.schema_name):
        _lead(12)
        assert editor.approval_lead_time() == dt.timedelta(hours=12)


def test_deadline_warnings_say_what_is_wrong_and_what_to_do():
    now = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
    lead = dt.timedelta(hours=48)
    with timezone.override("Europe/London"):
        assert editor.deadline_warning(now + dt.timedelta(hours=48), lead, now) == ""
        assert editor.deadline_warning(now + dt.timedelta(days=9), lead, now) == ""
        assert editor.deadline_warning(None, lead, now) == ""
        assert editor.deadline_warning(now - dt.timedelta(minutes=1), lead, now) == (
            "This time has passed: choose a later one.")
        # in a published campaign, a time gone by is a post that went out
        assert editor.deadline_warning(now - dt.timedelta(minutes=1), lead, now,
                                       past=False) == ""
        assert "lead time" in editor.deadline_warning(now + dt.timedelta(hours=1), lead, now,
                                                      past=False)
        assert editor.deadline_warning(now + dt.timedelta(hours=47), lead, now) == (
            "Inside the client's approval lead time: approval is due 48 hours before the first "
            "post, so this one needed it by Thu 3 Dec 2026, 09:00. Move it after Sat 5 Dec 2026, "
            "10:00, or agree a quicker approval with the client.")


def test_closed_posts_inside_the_lead_time_are_flagged(world, http, acme_kit):
    sky = acme_kit.sky
    now = timezone.now()
    with schema_context(world.acme.client.schema_name):
        _lead(48)
        page = CampaignFactory(title="Lead time", posts=[
            Post(copy=f"Post {n}", channels=[sky], publish_at=now + dt.timedelta(hours=hours))
            for n, hours in enumerate([5, 24 * 10, 47, 24 * 30], start=1)])
    html = http(world.acme.host, user=world.acme.users[Role.EDITOR]).get(
        f"/admin/pages/{page.pk}/edit/").content.decode()
    rows = html.split("data-post-closed>")[1:]
    flagged = ["data-post-deadline" in row.split("post-closed__copy")[0] for row in rows]
    assert flagged == [True, False, True, False]
    assert "Inside the client&#x27;s approval lead time: approval is due 48 hours" in html


def test_a_published_campaigns_past_posts_are_not_flagged_but_its_draft_ones_are(
        world, http, acme_kit):
    now = timezone.now()
    with schema_context(world.acme.client.schema_name):
        pages = {}
        for live in (True, False):
            pages[live] = CampaignFactory(title=f"Past, live={live}", live=live, posts=[
                Post(copy="Went out", channels=[acme_kit.sky],
                     publish_at=now - dt.timedelta(days=3))])
    client = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    published = client.get(f"/admin/pages/{pages[True].pk}/edit/").content.decode()
    draft = client.get(f"/admin/pages/{pages[False].pk}/edit/").content.decode()
    assert "This time has passed" not in published
    assert _composer(published)["flag_past"] is False
    assert "This time has passed: choose a later one." in draft
    # a new campaign (not saved yet, so not published either) flags them too
    new = client.get(f"/admin/pages/add/campaigns/campaignpage/{pages[True].get_parent().pk}/")
    assert _composer(new.content.decode())["flag_past"] is True


def test_an_image_uploaded_into_a_post_joins_the_library_with_its_alt_text(world, http):
    client = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    alt = "A barista pours a flat white"
    response = client.post(UPLOAD, {"alt_text": f"  {alt} ", "file": SimpleUploadedFile(
        "IMG_2041.png", png_bytes((400, 300)), content_type="image/png")})
    assert response.status_code == 200, response.content
    answer = response.json()
    with schema_context(world.acme.client.schema_name):
        image = Image.objects.get(pk=answer["value"]["image"]["id"])
        assert (image.title, image.description) == (alt, alt)
        assert image.uploaded_by_user == world.acme.users[Role.EDITOR]
        # the answer is the post's image block as the media field takes it: alt text filled in
        assert answer["type"] == "image"
        assert answer["value"]["alt_text"] == alt
        assert answer["value"]["image"]["preview"]["url"]
        block = Post._meta.get_field("media").stream_block.child_blocks["image"]
        value = block.value_from_datadict(
            {"p-image": str(image.pk), "p-alt_text": answer["value"]["alt_text"]}, {}, "p")
        assert block.clean(value)["image"] == image
        image.delete()


@pytest.mark.parametrize("data, message", [
    ({"alt_text": "A cup"}, "No image arrived: choose or drop an image file."),
    ({"alt_text": "   ", "file": ("cup.png", png_bytes())},
     "Describe the image in the alt text first, for people who use screen readers."),
    ({"alt_text": "A cup", "file": ("cup.png", b"not an image at all")},
     "Upload a valid image"),
    ({"alt_text": "x" * 256, "file": ("cup.png", png_bytes())},
     "Alt text: Ensure this value has at most 255 characters (it has 256)."),
])
def test_an_upload_without_an_image_or_alt_text_is_refused_saying_what_to_fix(
        world, http, data, message):
    client = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    with schema_context(world.acme.client.schema_name):
        before = Image.objects.count()
    post = dict(data)
    if "file" in post:
        name, content = post["file"]
        post["file"] = SimpleUploadedFile(name, content, content_type="image/png")
    response = client.post(UPLOAD, post)
    assert response.status_code == 400
    assert message in response.json()["error"]
    with schema_context(world.acme.client.schema_name):
        assert Image.objects.count() == before  # nothing half-written


def test_a_role_that_cannot_add_images_is_told_so(world, http):
    client = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    response = client.post(UPLOAD, {"alt_text": "A cup", "file": SimpleUploadedFile(
        "cup.png", png_bytes(), content_type="image/png")})
    assert response.status_code == 403
    assert response.json()["error"] == "Your role cannot add images to this brand's library."


def test_the_rules_the_composer_applies_are_the_networks_own():
    rules = networks.client_rules()
    assert set(rules) == set(networks.NETWORKS)
    for name, network in networks.NETWORKS.items():
        assert rules[name]["max_length"] == network.max_length
        assert rules[name]["count"] == network.count
