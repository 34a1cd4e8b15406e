"""Client reports sent by email on a schedule (``ReportSchedule``), with the PDF attached, once
per schedule and period: the period is recorded (``ReportSent``, unique per schedule and period)
in the same transaction that sends, so a second run, or a job django-q2 delivers twice, finds
it and sends nothing; a send that fails leaves no record, and the next run tries again.

A sent report is announced as ``report_ready`` (the ``report.ready`` webhook event)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns.publishing.models import Delivery, State
from campaigns.results import reports
from campaigns.results.models import PostResult, ReportSchedule, ReportSent
from tenants.emails import one_line, text_part
from tenants.links import client_base_url
from tenants.models import current_zone

logger = logging.getLogger(__name__)

# A campaign's report goes out this long after its last post, so its first days are counted.
CAMPAIGN_REPORT_AFTER = timedelta(days=1)
TERMINAL = (State.PUBLISHED, State.FAILED, State.CANCELLED)

# Sent after a scheduled report went out: sender=ReportSent, sent=, report=.
report_ready = Signal()


def due_scopes(schedule: ReportSchedule, now: datetime) -> list[tuple[str, reports.Scope]]:
    """The periods of ``schedule`` whose report is due at ``now``: (period, scope)."""
    zone = current_zone()
    if schedule.kind == ReportSchedule.MONTHLY:
        today = now.astimezone(zone).date()
        if today.day < schedule.day:
            return []
        last = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # the month before
        return [(f"month-{last:%Y-%m}", reports.Scope.of_month(last.year, last.month))]
    # After each campaign ends: every delivery done, the last out a day ago, and that after the
    # schedule was made (making a schedule does not send the brand's whole history).
    ended = (PostResult.objects.values("page_id").annotate(last=Max("published_at"))
             .filter(last__lte=now - CAMPAIGN_REPORT_AFTER, last__gte=schedule.created_at))
    page_ids = [row["page_id"] for row in ended]
    busy = set(Delivery.objects.filter(schema_name=_schema(), page_id__in=page_ids)
               .exclude(state__in=TERMINAL).values_list("page_id", flat=True))
    return [(f"campaign-{page_id}", reports.Scope.campaign(page_id))
            for page_id in sorted(page_ids) if page_id not in busy]


def _schema() -> str:
    from django.db import connection

    return connection.schema_name


def send_due(client, *, now: datetime | None = None) -> int:
    """Send every due report of the active brand's schedules; how many went out."""
    now = now or timezone.now()
    sent = 0
    for schedule in ReportSchedule.objects.filter(active=True).exclude(recipients=[]):
        done = set(schedule.sent.values_list("period", flat=True))
        for period, scope in due_scopes(schedule, now):
            if period not in done and _send_one(client, schedule, period, scope, now):
                sent += 1
    return sent


def _send_one(client, schedule, period: str, scope: reports.Scope, now: datetime) -> bool:
    try:
        report = reports.build(scope, now=now)
    except reports.ReportNotFound:  # the campaign was deleted since
        return False
    try:
        with transaction.atomic():
            record = ReportSent.objects.create(schedule=schedule, period=period,
                                               title=report.title,
                                               recipients=list(schedule.recipients), sent_at=now)
            _email(client, report, list(schedule.recipients))
    except IntegrityError:  # another run recorded this period meanwhile: it sent it
        return False
    except Exception:  # noqa: BLE001 - logged; no record kept, so the next run tries again
        logger.exception("The %s report of %s could not be sent; trying again next run",
                         period, client.schema_name)
        return False
    report_ready.send(sender=ReportSent, sent=record, report=report)
    return True


def _email(client, report: reports.Report, to: list[str]) -> None:
    context = {"client": client, "report": report, "agency_name": settings.AGENCY_NAME,
               "base_url": client_base_url(client)}
    message = EmailMultiAlternatives(
        subject=one_line(f"{report.title} · {client.name}"),
        body=text_part("results/email/report.txt", context),
        from_email=formataddr((one_line(f"{client.name} via {settings.AGENCY_NAME}"),
                               settings.DEFAULT_FROM_EMAIL)),
        to=to, headers={"X-Agency-Client": client.slug})
    message.attach_alternative(render_to_string("results/email/report.html", context),
                               "text/html")
    message.attach(f"{report.filename}.pdf", reports.pdf(report), "application/pdf")
    message.send()
