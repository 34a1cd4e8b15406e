"""Client reports emailed on a schedule: monthly on day N (the month before) or after each
campaign ends, with the PDF attached, exactly once per period, announced to integrators as the
``report.ready`` webhook event; and the schedules' page, its bad input and its brand."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context
from pypdf import PdfReader

from campaigns.results.collection import collect_round
from campaigns.results.models import ReportSchedule, ReportSent
from campaigns.results.tasks import send_scheduled_reports
from tenants.models import Client, Role
from tests.results.conftest import in_brand, publish
from tests.webhooks.conftest import Receiver, make_endpoint
from tests.webhooks.conftest import send_due as send_webhooks

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def _last_month_day(zone) -> dt.datetime:
    first = timezone.now().astimezone(zone).replace(day=1, hour=12, minute=0, second=0,
                                                    microsecond=0)
    return (first - dt.timedelta(days=10)).replace(hour=12)


@pytest.fixture
def last_month(world, networks):
    """A campaign of Acme's that went out on Mastodon last month, counted."""
    n = networks
    zone = zoneinfo.ZoneInfo(world.acme.client.time_zone)
    deliveries = publish(n.schema, [n.on_mastodon], posts=2, title="Autumn blend",
                         when=_last_month_day(zone))
    for delivery in deliveries:
        n.mastodon.set_counts(delivery.remote_id, favourites=11, reblogs=3, replies=1)
    n.mastodon.followers_count = 300
    with in_brand(n.schema):
        collect_round(Client.objects.get(schema_name=n.schema), now=timezone.now())
    return n, deliveries, zone


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return " ".join(" ".join(p.extract_text().split())
                    for p in PdfReader(io.BytesIO(content)).pages)


def test_the_monthly_report_is_emailed_once_with_its_pdf_and_announced(world, last_month):
    n, deliveries, zone = last_month
    receiver = Receiver()
    try:
        endpoint, secret = make_endpoint(world.acme, receiver.url, ("report.ready",))
        receiver.secret = secret
        with schema_context(n.schema):
            ReportSchedule.objects.create(kind=ReportSchedule.MONTHLY, day=1,
                                          recipients=["cfo@acme.example", "ceo@acme.example"])
        mail.outbox.clear()
        assert send_scheduled_reports()[n.schema] == 1
        assert send_scheduled_reports()[n.schema] == 0  # the next run: already sent
        sent = [m for m in mail.outbox if "Monthly report" in m.subject]
        assert len(sent) == 1
        message = sent[0]
        month = _last_month_day(zone)
        assert message.subject == (f"Monthly report: {month:%B %Y} · {world.acme.client.name}")
        assert sorted(message.to) == ["ceo@acme.example", "cfo@acme.example"]
        assert "Interactions: 30" in message.body  # 2 x (11 + 3 + 1)
        (name, content, kind), = message.attachments
        assert kind == "application/pdf" and name.endswith(f"month-{month:%Y-%m}.pdf")
        text = _pdf_text(content)
        assert "Interactions 30" in text and "Autumn blend: post 1 #Spring" in text
        assert world.acme.client.name in text
        with schema_context(n.schema):
            record = ReportSent.objects.get()
            assert record.period == f"month-{month:%Y-%m}"
            assert sorted(record.recipients) == ["ceo@acme.example", "cfo@acme.example"]
        assert send_webhooks(n.schema)
        (payload,) = receiver.payloads
        assert payload["event"] == "report.ready" and receiver.verified == [True]
        assert payload["data"]["month"] == f"{month:%Y-%m}"
        assert (payload["data"]["interactions"], payload["data"]["posts"],
                payload["data"]["recipients"]) == (30, 2, 2)
    finally:
        receiver.close()


def test_a_monthly_report_waits_for_its_day(world, last_month):
    n, deliveries, zone = last_month
    today = timezone.now().astimezone(zone).day
    if today == 28:
        pytest.skip("day 28 is the latest a schedule can name")
    with schema_context(n.schema):
        ReportSchedule.objects.create(kind=ReportSchedule.MONTHLY, day=max(today + 1, 2),
                                      recipients=["cfo@acme.example"])
    mail.outbox.clear()
    assert send_scheduled_reports()[n.schema] == 0 and mail.outbox == []


def test_a_campaign_report_goes_out_once_after_the_campaign_ends(world, networks):
    n = networks
    with schema_context(n.schema):
        schedule = ReportSchedule.objects.create(kind=ReportSchedule.CAMPAIGN_END,
                                                 recipients=["cfo@acme.example"])
        ReportSchedule.objects.filter(pk=schedule.pk).update(
            created_at=timezone.now() - dt.timedelta(days=5))
    ended = publish(n.schema, [n.on_mastodon], posts=1, title="Ended launch",
                    when=timezone.now() - dt.timedelta(days=2))
    publish(n.schema, [n.on_mastodon], posts=1, title="Fresh launch",
            when=timezone.now() - dt.timedelta(hours=2))  # ended, but not a day ago
    with in_brand(n.schema):
        collect_round(Client.objects.get(schema_name=n.schema), now=timezone.now())
    mail.outbox.clear()
    send_scheduled_reports()
    send_scheduled_reports()
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [f"Campaign report: Ended launch · {world.acme.client.name}"]
    assert "Ended launch: post 1" in _pdf_text(mail.outbox[0].attachments[0][1])
    with schema_context(n.schema):
        assert list(ReportSent.objects.values_list("period", flat=True)) == [
            f"campaign-{ended[0].page_id}"]


def test_the_schedules_page_refuses_bad_addresses_and_keeps_to_its_brand(world, http):
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    refused = manager.post("/admin/results/report-schedules/", {
        "action": "add", "kind": "monthly", "day": "3",
        "recipients": "cfo@acme.example\nnot-an-address", "active": "on"})
    assert refused.status_code == 200
    assert "Not an email address: not-an-address" in refused.content.decode()
    too_late = manager.post("/admin/results/report-schedules/", {
        "action": "add", "kind": "monthly", "day": "31", "recipients": "cfo@acme.example"})
    assert "less than or equal to 28" in too_late.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert not ReportSchedule.objects.exists()
    saved = manager.post("/admin/results/report-schedules/", {
        "action": "add", "kind": "monthly", "day": "3",
        "recipients": "cfo@acme.example, ceo@acme.example", "active": "on"})
    assert saved.status_code == 302
    with schema_context(world.acme.client.schema_name):
        schedule = ReportSchedule.objects.get()
        assert schedule.recipients == ["cfo@acme.example", "ceo@acme.example"]
    # Globex's manager neither sees nor changes Acme's schedule; an editor has no page
    globex = http(world.globex.host, world.globex.users[Role.ACCOUNT_MANAGER])
    assert b"cfo@acme.example" not in globex.get("/admin/results/report-schedules/").content
    globex.post("/admin/results/report-schedules/", {"action": "remove",
                                                     "schedule": schedule.pk})
    with schema_context(world.acme.client.schema_name):
        assert ReportSchedule.objects.filter(pk=schedule.pk).exists()
    editor = http(world.acme.host, world.acme.users[Role.EDITOR])
    assert editor.get("/admin/results/report-schedules/").status_code in (302, 403)


def test_the_client_reports_job_runs_from_django_q2s_schedule(world, last_month):
    """The job is kept in django-q2 (hourly) and runs through django-q2's task machinery."""
    from django_q.models import Schedule
    from django_q.tasks import async_task

    from agency import schedules

    n, deliveries, zone = last_month
    schedules.sync()
    job = Schedule.objects.get(name="client reports")
    assert (job.func, job.schedule_type) == ("campaigns.results.tasks.send_scheduled_reports",
                                             Schedule.HOURLY)
    with schema_context(n.schema):
        ReportSchedule.objects.create(kind=ReportSchedule.MONTHLY, day=1,
                                      recipients=["cfo@acme.example"])
    mail.outbox.clear()
    async_task(job.func, sync=True)
    async_task(job.func, sync=True)
    assert [m.to for m in mail.outbox] == [["cfo@acme.example"]]
