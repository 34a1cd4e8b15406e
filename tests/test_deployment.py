"""Production deployment: media on S3-compatible storage per brand, email through a provider,
`check --deploy` with the production settings (bin/production-smoke runs the whole recipe)."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import pytest
from django.core.files.images import ImageFile
from django.core.files.storage import default_storage
from django_tenants.utils import schema_context
from PIL import Image as PILImage

from tenants.models import Role
from tests.conftest import BUCKET, run_production


def _png() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _keys(client) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.mark.django_db
def test_a_brands_upload_lands_under_its_schema_prefix_and_only_its_members_read_it(
        world, http, s3_media):
    from wagtail.images import get_image_model

    png = _png()
    with schema_context(world.acme.client.schema_name):
        image = get_image_model().objects.create(
            title="Team photo", file=ImageFile(io.BytesIO(png), name="team.png"))
        name = image.file.name
        url = image.file.url
        rendition = image.get_rendition("width-20")  # read back from the bucket, resized, stored
        rendition_name = rendition.file.name
    assert name == "original_images/team.png"
    keys = _keys(s3_media)
    assert f"media/brand_acme/{name}" in keys
    assert f"media/brand_acme/{rendition_name}" in keys
    assert not any(key.startswith("media/brand_globex/") for key in keys)
    # The URL in pages is the brand host's own, never the bucket's.
    assert url == f"/media/brand_acme/{name}"

    # A member of the brand is sent to a short-lived signed URL for the object.
    response = http(world.acme.host, user=world.acme.users[Role.EDITOR]).get(url)
    assert response.status_code == 302
    signed = response["Location"]
    assert f"/{BUCKET}/media/brand_acme/{name}" in signed and "X-Amz-Signature=" in signed
    assert "X-Amz-Expires=120" in signed
    assert response["Cache-Control"] == "private, max-age=60"
    with urllib.request.urlopen(signed, timeout=10) as body:  # noqa: S310 - local moto server
        assert body.read() == png
        assert body.headers["Content-Type"] == "image/png"
    # The bucket itself is private: the same key without a signature is refused.
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(signed.split("?")[0], timeout=10)  # noqa: S310

    # Another brand's member, on their own host, cannot reach it: not by its path ...
    globex = http(world.globex.host, user=world.globex.users[Role.ACCOUNT_MANAGER])
    assert globex.get(url).status_code == 404
    # ... nor by naming the same file under their own prefix (it is another key), nor by climbing.
    own = globex.get(f"/media/brand_globex/{name}")
    assert own.status_code == 302 and "/media/brand_globex/" in own["Location"]
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(own["Location"], timeout=10)  # noqa: S310
    assert missing.value.code in (403, 404)  # no such key: never acme's bytes
    assert globex.get(f"/media/brand_globex/../brand_acme/{name}").status_code == 404
    with schema_context(world.globex.client.schema_name):
        assert not default_storage.exists(name)
        assert default_storage.listdir("original_images") == ([], [])
    # Someone who is no member of acme gets nothing on acme's host either.
    assert http(world.acme.host, user=world.outsider).get(url).status_code == 404
    other_brands_manager = world.globex.users[Role.ACCOUNT_MANAGER]
    assert http(world.acme.host, user=other_brands_manager).get(url).status_code == 404


@pytest.mark.django_db
def test_two_uploads_with_one_name_never_overwrite_each_other(world, s3_media):
    with schema_context(world.acme.client.schema_name):
        first = default_storage.save("documents/brief.pdf", io.BytesIO(b"first"))
        second = default_storage.save("documents/brief.pdf", io.BytesIO(b"second"))
        assert first != second
        assert default_storage.open(first).read() == b"first"
    assert {f"media/brand_acme/{first}", f"media/brand_acme/{second}"} <= _keys(s3_media)


@pytest.mark.django_db
def test_documents_are_offered_as_downloads_from_the_bucket(world, http, s3_media):
    with schema_context(world.acme.client.schema_name):
        name = default_storage.save("documents/notes.html", io.BytesIO(b"<script>x</script>"))
    response = http(world.acme.host, user=world.acme.users[Role.EDITOR]).get(
        f"/media/brand_acme/{name}")
    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=10) as body:  # noqa: S310
        assert body.headers["Content-Disposition"].startswith("attachment;")


SHOW_MAIL = """
import json
from django.conf import settings
from django.core.mail import get_connection
backend = get_connection()
print(json.dumps({"backend": settings.EMAIL_BACKEND, "class": type(backend).__module__,
                  "token": getattr(backend, "server_token", None),
                  "api_key": getattr(backend, "api_key", None)}))
"""


def test_anymail_from_the_environment_picks_the_providers_backend(tmp_path):
    result = run_production(tmp_path, SHOW_MAIL, ANYMAIL_PROVIDER="postmark",
                         ANYMAIL_POSTMARK_SERVER_TOKEN="pm-token-123")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["backend"] == "anymail.backends.postmark.EmailBackend"
    assert shown["class"] == "anymail.backends.postmark" and shown["token"] == "pm-token-123"

    result = run_production(tmp_path, SHOW_MAIL, ANYMAIL_PROVIDER="Mailgun",
                         ANYMAIL_MAILGUN_API_KEY="mg-key-456")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["class"] == "anymail.backends.mailgun" and shown["api_key"] == "mg-key-456"


def test_without_a_provider_production_mails_through_smtp(tmp_path):
    result = run_production(tmp_path, SHOW_MAIL, EMAIL_HOST="smtp.example.com")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["backend"] == "django.core.mail.backends.smtp.EmailBackend"


def test_an_unknown_provider_stops_production_with_a_clear_message(tmp_path):
    result = run_production(tmp_path, SHOW_MAIL, ANYMAIL_PROVIDER="pigeon")
    assert result.returncode != 0
    assert "ANYMAIL_PROVIDER='pigeon' is not a django-anymail backend" in result.stderr


def test_deploy_checks_pass_with_s3_media_and_a_mail_provider(tmp_path):
    result = run_production(tmp_path, ANYMAIL_PROVIDER="sendgrid", ANYMAIL_SENDGRID_API_KEY="sg",
                         AWS_STORAGE_BUCKET_NAME="agency-media",
                         AWS_S3_ENDPOINT_URL="https://s3.eu-central-1.example.net")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_with_s3_media_use_the_tenant_storage_and_allow_its_images(tmp_path):
    code = ("import json; from django.conf import settings; from csp.utils import build_policy; "
            "from django.core.files.storage import default_storage as s; "
            "print(json.dumps({'storage': type(s._wrapped if s._wrapped else s._setup() or "
            "s._wrapped).__name__, 'csp': build_policy(), "
            "'static': settings.STORAGES['staticfiles']['BACKEND']}))")
    result = run_production(tmp_path, code, AWS_STORAGE_BUCKET_NAME="agency-media",
                         AWS_S3_ENDPOINT_URL="https://objects.example.net")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["storage"] == "TenantS3Storage"
    assert "img-src 'self' data: https://objects.example.net" in shown["csp"]
    assert "media-src 'self' https://objects.example.net" in shown["csp"]
    assert shown["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_deleting_a_brand_removes_its_objects_from_the_bucket_and_no_other(s3_media):
    from agency.storage import schema_media_delete

    client = s3_media
    for key in ("media/brand_gone/original_images/a.png", "media/brand_gone/images/a.max.png",
                "media/brand_stays/original_images/b.png"):
        client.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert schema_media_delete("brand_gone") == 2
    left = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="media/brand_")
            .get("Contents", [])}
    assert not {key for key in left if key.startswith("media/brand_gone/")}
    assert "media/brand_stays/original_images/b.png" in left
