"""Client reports shared as read-only links: as safe as review links. The token is shown once,
opens the report without signing in on the brand's own host only, expires, can be revoked, and
addresses that lead nowhere are rate limited."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import io
import re

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from pypdf import PdfReader

from campaigns.results.collection import collect_round
from campaigns.results.models import ReportShare
from tenants.models import Client, Role
from tests.conftest import HostClient
from tests.results.conftest import in_brand, publish

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


@pytest.fixture
def shared(world, http, networks):
    """A counted campaign of Acme and a link to its report, made by an account manager; gives
    (manager's client, report address, shared address, token)."""
    n = networks
    deliveries = publish(n.schema, [n.on_mastodon], posts=2, title="Harvest")
    for delivery in deliveries:
        n.mastodon.set_counts(delivery.remote_id, favourites=7, reblogs=2, replies=1)
    with in_brand(n.schema):
        collect_round(Client.objects.get(schema_name=n.schema),
                      now=timezone.now() + dt.timedelta(minutes=16))
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    report = f"/admin/results/report/campaign/{deliveries[0].page_id}/"
    made = manager.post(report + "share/", {"days": "30"})
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    page = made.content.decode()
    url = html_lib.unescape(re.search(r'readonly value="([^"]+)"', page).group(1))
    assert url.startswith(f"http://{world.acme.host}") and "/report/" in url
    # shown once: the next visit no longer has it
    assert "readonly value=" not in manager.get(report).content.decode()
    token = url.rstrip("/").rsplit("/", 1)[1]
    return manager, report, f"/report/{token}/", token


def _share(world):
    with schema_context(world.acme.client.schema_name):
        return ReportShare.objects.get()


def test_a_shared_link_opens_the_report_without_signing_in(world, shared, settings):
    manager, report, address, token = shared
    anyone = HostClient(world.acme.host)
    page = anyone.get(address)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Campaign report: Harvest" in text and world.acme.client.name in text
    assert re.search(r'data-figure="interactions">20<', text)  # 2 x (7 + 2 + 1)
    assert page["Cache-Control"] == "no-store, private" and "noindex" in page["X-Robots-Tag"]
    assert page["Referrer-Policy"] == "strict-origin"
    pdf = anyone.get(address + "pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert "Campaign report: Harvest" in " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    rows = anyone.get(address + "csv/").content.decode().splitlines()
    assert len(rows) == 3 and all(",Harvest: post" in row for row in rows[1:])
    with schema_context(world.acme.client.schema_name):
        share = ReportShare.objects.get()
        assert share.token_hash != token and token not in share.token_hash
        assert share.opened_count == 1
    # staff see who made it and how often it was opened
    listed = manager.get(report).content.decode()
    assert re.search(r'<tr data-share="\d+">.*?Active', listed, re.S)


def test_an_expired_link_opens_nothing(world, shared):
    manager, report, address, token = shared
    with schema_context(world.acme.client.schema_name):
        ReportShare.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    for suffix in ("", "pdf/", "csv/"):
        response = HostClient(world.acme.host).get(address + suffix)
        assert response.status_code == 410, suffix
        assert b"has expired" in response.content and b"Harvest" not in response.content


def test_a_revoked_link_opens_nothing(world, http, shared):
    manager, report, address, token = shared
    share = _share(world)
    # an editor may read reports but neither share nor revoke them
    editor = http(world.acme.host, world.acme.users[Role.EDITOR])
    refused = editor.post(report + "revoke/", {"share": share.pk})
    assert refused.status_code in (302, 403) and refused.get("Location", "") != report
    assert editor.post(report + "share/", {"days": "30"}).status_code in (302, 403)
    assert HostClient(world.acme.host).get(address).status_code == 200
    with schema_context(world.acme.client.schema_name):
        assert ReportShare.objects.count() == 1  # the editor made none
    assert manager.post(report + "revoke/", {"share": share.pk}).status_code == 302
    response = HostClient(world.acme.host).get(address)
    assert response.status_code == 410 and b"withdrawn" in response.content
    assert b"Harvest" not in response.content
    assert "Revoked by" in manager.get(report).content.decode()


def test_a_link_opens_on_its_own_brands_host_only(world, http, shared):
    manager, report, address, token = shared
    for suffix in ("", "pdf/", "csv/"):
        response = HostClient(world.globex.host).get(address + suffix)
        assert response.status_code == 404 and b"Harvest" not in response.content
    # Globex's staff cannot make or revoke links to Acme's campaign, nor list them
    globex = http(world.globex.host, world.globex.users[Role.ACCOUNT_MANAGER])
    assert globex.post(report + "share/", {"days": "30"}).status_code == 404
    assert globex.post(report + "revoke/", {"share": _share(world).pk}).status_code == 404
    assert _share(world).revoked_at is None
    with schema_context(world.globex.client.schema_name):
        assert not ReportShare.objects.exists()


def test_a_link_lasts_a_length_offered_and_unknown_tokens_are_rate_limited(
        world, shared, settings):
    manager, report, address, token = shared
    refused = manager.post(report + "share/", {"days": "3650"}, follow=True)
    assert "is not one of them" in refused.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert ReportShare.objects.count() == 1
    settings.REVIEW_FAILURE_LIMIT = 3
    stranger = HostClient(world.acme.host, REMOTE_ADDR="203.0.113.9")
    answers = [stranger.get(f"/report/guess{n}/").status_code for n in range(4)]
    assert answers == [404, 404, 404, 429]
    # the real link still opens from that address
    assert stranger.get(address).status_code == 200


def test_a_shared_links_token_never_reaches_the_logs():
    from agency.logging import redact_secret_paths

    line = '"GET /report/qIr_q3RHezbjHk3KzjVRLKnT3Eqjt-MBktAbCjpiAVI/pdf/ HTTP/1.1" 200'
    assert "qIr_q3RH" not in redact_secret_paths(line)
    staff = '"GET /admin/results/report/campaign/12/pdf/ HTTP/1.1" 200'
    assert redact_secret_paths(staff) == staff
