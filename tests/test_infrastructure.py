"""Cache keys, media files, logs and emails are per client; links use the brand's own host."""

import io
import json
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tenants.utils import schema_context

from tenants.emails import send_client_email
from tests.conftest import ROOT, run_production

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("alias", ["default", "renditions"])
def test_every_cache_alias_keeps_brands_apart(world, alias):
    cache = caches[alias]
    key = f"site-root-paths-{uuid.uuid4()}"
    with schema_context(world.acme.client.schema_name):
        cache.set(key, "acme-value")
    with schema_context(world.globex.client.schema_name):
        assert cache.get(key) is None
        cache.set(key, "globex-value")
    with schema_context(world.acme.client.schema_name):
        assert cache.get(key) == "acme-value"


def test_uploads_land_in_the_brands_own_folder(world):
    with schema_context(world.acme.client.schema_name):
        name = default_storage.save("original_images/logo.png", ContentFile(b"acme"))
        path = Path(default_storage.path(name))
        url = default_storage.url(name)
    assert path.is_relative_to(Path(settings.MEDIA_ROOT) / "brand_acme")
    assert url.startswith("/media/brand_acme/")
    with schema_context(world.globex.client.schema_name):
        assert not default_storage.exists(name)


def test_log_lines_are_json_and_name_the_brand(world):
    from agency.logging import JsonFormatter, TenantFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TenantFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.tenant_log")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with schema_context(world.globex.client.schema_name):
            logger.info("published", extra={"delivery": 7})
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["tenant"] == "brand_globex"
    assert entry["message"] == "published" and entry["delivery"] == 7


def test_client_email_links_point_at_the_brands_own_host(world):
    client = world.globex.client
    send_client_email(client=client, to=["approver@example.com"], subject="Hello",
                      template="tenants/email/member_invite",
                      context={"user": world.outsider, "role_label": "Editor",
                               "invited_by": world.agency_admin, "set_password_url": "",
                               "portal_url": "http://agency.localhost"})
    message = mail.outbox[-1]
    assert "http://globex.agency.localhost/admin/" in message.body
    assert "acme" not in message.body
    assert message.extra_headers["X-Agency-Client"] == "globex"
    assert message.from_email.startswith("Globex Outdoors via")


def test_a_brand_name_with_a_line_break_still_gets_its_email_sent(world):
    """Found by the API contract run: a brand named through the API with a line break in it
    made every email to its people fail (a header may not hold a newline)."""
    client = world.globex.client
    client.name = "Globex\nOutdoors\r\x85"
    send_client_email(client=client, to=["approver@example.com"],
                      subject=f"You have been added to {client.name}",
                      template="tenants/email/member_invite",
                      context={"user": world.outsider, "role_label": "Editor",
                               "invited_by": world.agency_admin, "set_password_url": "",
                               "portal_url": "http://agency.localhost"})
    message = mail.outbox[-1]
    assert message.subject == "You have been added to Globex Outdoors"
    assert message.from_email.startswith("Globex Outdoors via")


def test_wagtails_own_email_links_follow_the_active_brand(world):
    """Wagtail builds links from WAGTAILADMIN_BASE_URL; ours resolves per active schema."""
    from wagtail.admin.utils import get_admin_base_url

    with schema_context(world.acme.client.schema_name):
        assert str(get_admin_base_url()) == "http://acme.agency.localhost"
    with schema_context(world.globex.client.schema_name):
        assert str(get_admin_base_url()) == "http://globex.agency.localhost"
    assert str(get_admin_base_url()) == "http://agency.localhost"


def test_member_invite_email_uses_the_brand_host_and_a_one_time_password_link(world, http):
    admin = http(user=world.agency_admin)
    response = admin.post("/clients/globex/members/add/", {
        "email": "New.Person@Example.com", "first_name": "New", "last_name": "Person",
        "role": "editor"})
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.to == ["new.person@example.com"]
    assert "http://globex.agency.localhost/admin/" in message.body
    assert "http://agency.localhost/password/set/" in message.body


def test_deploy_checks_pass_with_production_settings(tmp_path):
    result = run_production(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "agency.settings.production",
           "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_portal_pages_carry_a_strict_content_security_policy(world, http):
    response = http().get("/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert b"<script" not in response.content and b"style=" not in response.content


def test_calendar_feed_tokens_never_reach_the_logs():
    from agency.logging import TenantFilter

    record = logging.makeLogRecord({"msg": '"GET %s HTTP/1.1" 200 512',
                                    "args": ("/calendar/Zk3v9Q_abcdefghijklmnopqrstu.ics",)})
    TenantFilter().filter(record)
    assert record.getMessage() == '"GET /calendar/[redacted].ics HTTP/1.1" 200 512'
