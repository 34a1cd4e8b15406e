"""Uploads: SVG refused, pixel and size limits, formats the networks accept."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context
from PIL import Image as PILImage

from tenants.models import Role
from tests.images import png_bytes

pytestmark = pytest.mark.django_db


def _upload(http, world, name, content, content_type):
    manager = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    return manager.post("/admin/images/add/", {
        "title": name, "collection": 1, "tags": "",
        "file": SimpleUploadedFile(name, content, content_type=content_type)})


def _count(world, title):
    from wagtail.images.models import Image

    with schema_context(world.acme.client.schema_name):
        return Image.objects.filter(title=title).count()


def test_svg_is_refused(world, http):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
    response = _upload(http, world, "logo.svg", svg, "image/svg+xml")
    assert "Not a supported image format" in response.content.decode()
    assert _count(world, "logo.svg") == 0


def test_an_image_over_the_pixel_limit_is_refused(world, http):
    buffer = io.BytesIO()
    PILImage.new("L", (8000, 6000)).save(buffer, format="PNG")  # 48 megapixels
    response = _upload(http, world, "huge.png", buffer.getvalue(), "image/png")
    assert "pixels" in response.content.decode()
    assert _count(world, "huge.png") == 0


def test_a_normal_png_is_accepted_into_the_brands_folder(world, http):
    from wagtail.images.models import Image

    response = _upload(http, world, "fine.png", png_bytes(), "image/png")
    assert response.status_code == 302
    with schema_context(world.acme.client.schema_name):
        image = Image.objects.get(title="fine.png")
        assert "/brand_acme/" in image.file.path
