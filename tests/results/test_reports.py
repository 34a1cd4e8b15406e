"""Client reports per campaign and per month: the web page in the brand's admin, the PDF (a real
PDF whose text holds the figures) and the CSV, and that another brand reads none of them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo

import pytest
from django.utils import timezone
from pypdf import PdfReader

from campaigns.results.collection import collect_round
from tenants.models import Client, Role
from tests.results.conftest import in_brand, publish_through_review

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


@pytest.fixture
def counted(world, networks, django_capture_on_commit_callbacks):
    """A campaign of two posts on Mastodon and Bluesky, approved by the client through the
    review link, out, and counted once."""
    n = networks
    deliveries = publish_through_review(world, [n.on_mastodon, n.on_bluesky], posts=2,
                                        title="Harvest",
                                        capture=django_capture_on_commit_callbacks)
    for delivery in deliveries:
        if delivery.network == "mastodon":
            n.mastodon.set_counts(delivery.remote_id, favourites=10 * delivery.post_number,
                                  reblogs=2, replies=1)
        else:
            n.bluesky.set_counts(delivery.remote_id, likes=5, reposts=1, replies=0, quotes=1)
    n.mastodon.followers_count, n.bluesky.followers_count = 1000, 500
    with in_brand(n.schema):
        collect_round(Client.objects.get(schema_name=n.schema),
                      now=timezone.now() + dt.timedelta(minutes=16))
    return n, deliveries


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_a_campaign_report_page_names_brand_agency_figures_posts_and_approvals(
        world, http, counted, settings):
    n, deliveries = counted
    page_id = deliveries[0].page_id
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    html = manager.get(f"/admin/results/report/campaign/{page_id}/").content.decode()
    assert "Campaign report: Harvest" in html
    assert world.acme.client.name in html and settings.AGENCY_NAME in html
    assert re.search(r'data-figure="interactions">50<', html)
    assert re.search(r'data-figure="rate">1.67%<', html)
    assert "Harvest: post 2 #Spring" in html  # the posts as they went out
    for delivery in deliveries:  # each with its link on the network
        assert delivery.remote_url and delivery.remote_url in html
    approvals = re.search(r'<table class="listing report-table report-approvals">(.*?)</table>',
                          html, re.S).group(1)
    assert "Client approval" in approvals and "jo@acme.example" in approvals
    assert "Sensitivity" in approvals  # the reviewer's step, with who took it
    assert world.acme.users[Role.SENSITIVITY_REVIEWER].email in approvals or \
        world.acme.users[Role.SENSITIVITY_REVIEWER].get_full_name() in approvals
    assert 'alt="A cup of the harvest roast"' in html and 'src="data:image/' in html
    assert "<svg" in html  # the chart


def test_the_campaign_report_pdf_is_a_pdf_with_the_figures(world, http, counted, settings):
    n, deliveries = counted
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.get(f"/admin/results/report/campaign/{deliveries[0].page_id}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    assert "attachment;" in response["Content-Disposition"]
    text = _pdf_text(response.content)
    assert "Campaign report: Harvest" in text
    assert world.acme.client.name in text and settings.AGENCY_NAME in text
    assert "Interactions 50" in text and "1.67%" in text
    assert "Acme on Mastodon" in text and "Acme on Bluesky" in text
    assert "Harvest: post 1 #Spring" in text and "Approvals on record" in text


def test_the_campaign_report_csv_has_a_row_per_post_and_channel(world, http, counted):
    n, deliveries = counted
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.get(f"/admin/results/report/campaign/{deliveries[0].page_id}/csv/")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 4
    second = next(r for r in rows if r["network"] == "mastodon" and r["post number"] == "2")
    assert second["likes since published"] == "20"
    assert second["reposts since published"] == "2"
    assert second["interactions since published"] == "23"
    assert second["impressions since published"] == ""  # Mastodon gives none
    assert second["followers (last counted)"] == "1000"
    assert second["engagement rate (% of followers)"] == "2.3"
    assert second["link on the network"] == next(
        d.remote_url for d in deliveries if d.network == "mastodon" and d.post_number == 2)
    zone = world.acme.client.time_zone
    assert f"published at ({zone})" in rows[0] and f"counted at ({zone})" in rows[0]


def test_the_monthly_report_covers_the_posts_of_that_month(world, http, counted):
    n, deliveries = counted
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    now = timezone.now().astimezone(zoneinfo.ZoneInfo(world.acme.client.time_zone))
    this_month = manager.get(f"/admin/results/report/month/{now.year}/{now.month}/csv/")
    assert len(list(csv.DictReader(io.StringIO(this_month.content.decode())))) == 4
    a_year_ago = manager.get(f"/admin/results/report/month/{now.year - 1}/{now.month}/")
    assert a_year_ago.status_code == 200
    assert "No post in this report has gone out yet" in a_year_ago.content.decode()
    pdf = manager.get(f"/admin/results/report/month/{now.year}/{now.month}/pdf/")
    assert "Interactions 50" in _pdf_text(pdf.content)
    assert manager.get(f"/admin/results/report/month/{now.year}/13/").status_code == 404


def test_another_brand_reads_no_report(world, http, counted):
    n, deliveries = counted
    page_id = deliveries[0].page_id
    now = timezone.now()
    globex = http(world.globex.host, world.globex.users[Role.ACCOUNT_MANAGER])
    for suffix in ("", "pdf/", "csv/"):
        response = globex.get(f"/admin/results/report/campaign/{page_id}/{suffix}")
        assert response.status_code == 404 and b"Harvest" not in response.content
        month = globex.get(f"/admin/results/report/month/{now.year}/{now.month}/{suffix}")
        assert b"Harvest" not in month.content
    crossing = http(world.acme.host, world.globex.users[Role.ACCOUNT_MANAGER],
                    raise_request_exception=False)
    response = crossing.get(f"/admin/results/report/campaign/{page_id}/pdf/")
    assert response.status_code in (302, 403, 404) and b"%PDF" not in response.content


def test_the_brands_logo_heads_the_report_and_its_pdf(world, http, counted):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.images import png_bytes

    n, deliveries = counted
    acme = world.acme.client
    admin = http(user=world.agency_admin)
    edited = admin.post(f"/clients/{acme.slug}/edit/", {
        "name": acme.name, "time_zone": acme.time_zone, "brand_colour": "#123456",
        "logo": SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")})
    assert edited.status_code == 302
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    report = f"/admin/results/report/campaign/{deliveries[0].page_id}/"
    html = manager.get(report).content.decode()
    assert re.search(r'<img class="report-logo" src="data:image/png;base64,[^"]+" '
                     rf'alt="{acme.name} logo">', html)
    pdf = PdfReader(io.BytesIO(manager.get(report + "pdf/").content))
    assert len(pdf.pages[0].images) >= 1  # the logo (the post's image is further down)
