"""Videos through the API: uploaded to the brand's library (only real MP4, M4V, MOV or WebM),
attached to posts with their description, checked against each network's rules, and read back
with the campaign."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from tenants.models import Role
from tests.factories import ChannelFactory
from tests.images import png_bytes

pytestmark = pytest.mark.django_db

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200
WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 200


def _upload(client, name: str, data: bytes, content_type="video/mp4", **extra):
    return client.post("/api/v1/videos/", {
        "file": SimpleUploadedFile(name, data, content_type=content_type), **extra})


def _channel(world, network: str):
    return ChannelFactory(brand=world.acme, name=f"Acme {network}", network=network,
                          handle="@acme", endpoint="https://example.com/x")


def test_a_video_is_uploaded_attached_to_a_post_and_read_back(world, api):
    client = api()
    uploaded = _upload(client, "pour.mp4", MP4, title="The pour")
    assert uploaded.status_code == 201, uploaded.content
    video = uploaded.json()
    assert video["title"] == "The pour" and video["file_size"] == len(MP4)
    assert uploaded["Location"] == f"/api/v1/videos/{video['id']}/"
    assert [v["id"] for v in client.send("GET", "/api/v1/videos/").json()["results"]] == [
        video["id"]]
    assert _upload(client, "loop.webm", WEBM, "video/webm").status_code == 201

    sandbox = _channel(world, "webhook")
    created = client.send("POST", "/api/v1/campaigns/", {
        "title": "Latte art", "posts": [{
            "copy": "Watch the pour", "channels": [sandbox.pk],
            "media": [{"video": video["id"], "description": "Milk poured into a flat white"}]}]})
    assert created.status_code == 201, created.content
    [post] = created.json()["posts"]
    assert post["media"] == [{"video": video["id"],
                              "description": "Milk poured into a flat white"}]
    read = client.send("GET", created["Location"]).json()
    assert read["posts"][0]["media"] == post["media"]
    from campaigns.models import CampaignPage

    with schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(pk=read["id"]).get_latest_revision_as_object()
        [block] = draft.posts.all()[0].media
        assert block.block_type == "video" and block.value["video"].pk == video["id"]


@pytest.mark.parametrize("name, data, expected", [
    ("clip.mp4", png_bytes(), "is not a .mp4 video inside"),
    ("clip.exe", MP4, "Upload an MP4, M4V, MOV or WebM video"),
    ("clip.webm", MP4, "is not a .webm video inside"),
    ("photo.mp4", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 50, "is not a .mp4 video inside"),
    ("song.mp4", b"\x00\x00\x00\x18ftypM4A " + b"\x00" * 50, "is not a .mp4 video inside"),
])
def test_a_file_that_is_not_the_video_it_claims_is_refused_and_nothing_kept(
        world, api, name, data, expected):
    from wagtail.documents.models import Document

    response = _upload(api(), name, data)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "file" and expected in error["detail"]
    with schema_context(world.acme.client.schema_name):
        assert not Document.objects.exists()


def test_a_video_over_the_size_limit_is_refused_with_the_limit(world, api, settings):
    settings.VIDEO_MAX_MB = 0
    response = _upload(api(), "big.mp4", MP4)
    assert response.status_code == 400
    assert "the limit is 0 MB" in response.json()["errors"][0]["detail"]


def test_media_items_are_checked_for_shape_ownership_and_network_rules(world, api):
    client = api()
    video = _upload(client, "pour.mp4", MP4).json()
    bluesky = _channel(world, "bluesky")

    def create(media, channels=()):
        return client.send("POST", "/api/v1/campaigns/", {
            "title": "Checked", "posts": [{"copy": "Hi", "channels": list(channels),
                                           "media": media}]})

    both = create([{"video": video["id"], "image": 1, "description": "x"}])
    assert both.status_code == 400
    assert "either image" in both.json()["detail"]
    undescribed = create([{"video": video["id"]}])
    assert [e["field"] for e in undescribed.json()["errors"]] == [
        "posts[0].media[0].description"]
    unknown = create([{"video": 999999, "description": "A pour"}])
    assert [e["field"] for e in unknown.json()["errors"]] == ["posts[0].media[0].video"]
    assert "/api/v1/videos/" in unknown.json()["errors"][0]["detail"]

    mov = _upload(client, "pour.mov", b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 100).json()
    refused = create([{"video": mov["id"], "description": "A pour"}], channels=[bluesky.pk])
    assert refused.status_code == 400
    assert "Bluesky takes MP4 videos; video 1 is .mov" in refused.json()["errors"][0]["detail"]
    from campaigns.models import CampaignPage

    with schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title="Checked").exists()


def test_a_document_that_is_not_a_video_is_not_listed_nor_attachable(world, api):
    from django.core.files.base import ContentFile
    from wagtail.documents.models import Document

    with schema_context(world.acme.client.schema_name):
        brief = Document(title="Brief")
        brief.file.save("brief.pdf", ContentFile(b"%PDF-1.4"), save=False)
        brief.save()
    client = api()
    assert client.send("GET", "/api/v1/videos/").json()["results"] == []
    assert client.send("GET", f"/api/v1/videos/{brief.pk}/").status_code == 404
    refused = client.send("POST", "/api/v1/campaigns/", {
        "title": "No PDFs", "posts": [{"copy": "Hi", "media": [
            {"video": brief.pk, "description": "Not a video"}]}]})
    assert [e["field"] for e in refused.json()["errors"]] == ["posts[0].media[0].video"]


def test_uploading_needs_the_write_scope(world, api):
    assert _upload(api(scopes=("read",)), "pour.mp4", MP4).status_code == 403
    assert _upload(api(role=Role.SENSITIVITY_REVIEWER), "pour.mp4", MP4).status_code == 403
