"""A campaign revision's stored content is read in one place (``campaigns.revisions``): what an
editor typed comes back from it, older stored shapes still read, and nothing else in the project
takes revision JSON apart by hand."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django_tenants.utils import schema_context
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield

from campaigns.models import CampaignIndexPage, CampaignPage
from campaigns.revisions import RevisionImage, read_content, read_revision
from tenants.models import Role

ROOT = Path(__file__).resolve().parents[2]


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
    masto, sky, image = acme_kit.masto, acme_kit.sky, acme_kit.image
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


# Hand-parsing of a revision's stored JSON: its content indexed or read by key, the posts or
# their media decoded, or a post's / block's keys read from the raw dicts.
HAND_PARSING = [
    re.compile(r"revision\.content\s*(\[|\.get\b|or\b)"),
    re.compile(r"\(\s*\w*revision\w*\.content\s+or\b"),
    re.compile(r"""\bcontent\s*(\.get\(\s*|\[\s*)["'](posts|title)["']"""),
    re.compile(r"""\b(post|p)\.get\(\s*["'](copy|link|first_comment|publish_at|channels|media|pk)["']"""),
    re.compile(r"""\bblock\.get\(\s*["'](type|value)["']"""),
    re.compile(r"json\.loads\(\s*(media|posts?|content)\b"),
]
SOURCES = ("agency", "tenants", "campaigns", "approvals")


def _project_sources():
    for part in SOURCES:
        for path in sorted((ROOT / part).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative == "campaigns/revisions.py":
                continue
            yield relative, path.read_text()


def test_no_code_but_the_reader_takes_revision_content_apart():
    found = [f"{relative}:{number}: {line.strip()}"
             for relative, text in _project_sources()
             for number, line in enumerate(text.splitlines(), start=1)
             if any(pattern.search(line) for pattern in HAND_PARSING)]
    assert not found, ("read revisions with campaigns.revisions.read_revision / read_content:\n"
                       + "\n".join(found))


@pytest.mark.parametrize("line", [
    'for post in (revision.content or {}).get("posts", []):',
    'title = link.revision.content["title"]',
    'for post in content.get("posts", []):',
    'when = parse_datetime(post.get("publish_at") or "")',
    'alt = (block.get("value") or {}).get("alt_text")',
    'media = json.loads(media or "[]")',
])
def test_the_guard_recognises_the_hand_parsing_it_replaced(line):
    assert any(pattern.search(line) for pattern in HAND_PARSING)
