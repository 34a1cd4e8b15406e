"""A campaign revision's stored content is read in one place (``campaigns.revisions``): what an
editor typed comes back from it, older stored shapes still read, and nothing else in the project
takes revision JSON apart by hand."""

import datetime as dt
import json

import pytest
from django_tenants.utils import schema_context
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield

from campaigns.models import CampaignIndexPage, CampaignPage
from campaigns.revisions import RevisionImage, read_content, read_revision
from tenants.models import Role


def _form(title, posts):
    channels = [post.pop("channels") for post in posts]
    data = nested_form_data({
        "title": title, "slug": "read-back", "goal": "", "audience": "", "key_message": "",
        "story": rich_text(""), "starts_on": "", "ends_on": "", "tags": "",
        "posts": inline_formset(posts),
    })
    for number, ids in enumerate(channels):
        data[f"posts-{number}-channels"] = ids
    return data


@pytest.mark.django_db
def test_a_campaign_saved_in_the_editor_reads_back_as_typed(world, http, acme_kit):
    masto, sky, image = acme_kit["masto"], acme_kit["sky"], acme_kit["image"]
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.post(f"/admin/pages/add/campaigns/campaignpage/{index.pk}/", _form(
        "Read back", [
            {"copy": "Winter blend is here", "link": "https://acme.example/winter",
             "first_comment": "Which cup is yours?", "publish_at": "2026-12-01 09:00",
             "channels": [masto.pk, sky.pk],
             "media": streamfield([("image", {"image": image.pk, "alt_text": "A steaming cup"}),
                                   ("image", {"image": image.pk, "alt_text": "The same cup"})])},
            {"copy": "Not scheduled yet", "link": "", "first_comment": "", "publish_at": "",
             "channels": [], "media": streamfield([])},
        ]))
    assert response.status_code == 302, response.content.decode()[:2000]

    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(title="Read back")
        content = read_revision(page.get_latest_revision())
        saved = [post.pk for post in page.get_latest_revision_as_object().posts.all()]

    assert content.title == "Read back"
    first, second = content.posts
    assert (first.copy, first.link, first.first_comment) == (
        "Winter blend is here", "https://acme.example/winter", "Which cup is yours?")
    assert first.channel_ids == (masto.pk, sky.pk)
    # 09:00 in London in December is 09:00 UTC
    assert first.publish_at == dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    assert first.images == (RevisionImage(image.pk, "A steaming cup"),
                            RevisionImage(image.pk, "The same cup"))
    assert (second.copy, second.publish_at, second.channel_ids, second.images) == (
        "Not scheduled yet", None, (), ())
    assert [first.pk, second.pk] == saved
    assert content.first_post_at == first.publish_at
    assert content.image_ids == {image.pk}


def test_older_stored_shapes_still_read():
    media = [{"type": "image", "value": {"image": 7, "alt_text": "A cup"}, "id": "a"},
             {"type": "video", "value": {"video": 3, "description": "Pouring"}, "id": "b"},
             {"type": "image", "value": None, "id": "c"}, "not a block"]
    content = read_content({"title": "Old", "posts": [
        {"copy": "Media as JSON text", "media": json.dumps(media),
         "publish_at": "2026-05-02T08:00:00Z", "channels": [2]},
        {"copy": None, "media": "", "publish_at": None},  # keys present but empty
        {},  # nothing at all
    ]})
    text, empty, bare = content.posts
    assert text.images == (RevisionImage(7, "A cup"), RevisionImage(None, ""))
    assert text.image_ids == {7}
    assert text.publish_at == dt.datetime(2026, 5, 2, 8, tzinfo=dt.UTC)
    for post in (empty, bare):
        assert (post.pk, post.copy, post.link, post.first_comment, post.channel_ids,
                post.publish_at, post.images) == (None, "", "", "", (), None, ())
    assert content.first_post_at == text.publish_at
    assert read_content(None).posts == read_content({}).posts == ()
    assert read_content({"posts": [{"media": media}]}).image_ids == {7}

