"""Periodic approval work, across every brand: reminders before review links expire, and the
backup approvers asked when the main ones have not answered.

Scheduled with django-q2 (``manage.py approval_schedule`` creates the schedule; the platform
command does it on start). Each run visits every active brand's schema; the per-brand work is
two indexed queries, so a run over hundreds of brands stays in seconds.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

logger = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(hours=24)  # a reminder goes this long before a link expires
BACKUP_AFTER = timedelta(hours=48)  # no main approver answered this long: ask the backups


def review_reminders() -> dict[str, int]:
    from tenants.models import Client

    totals = {"reminded": 0, "backups_asked": 0}
    for client in Client.objects.exclude(schema_name="public").filter(archived_at__isnull=True):
        with schema_context(client.schema_name):
            done = brand_review_reminders(client)
        for key, value in done.items():
            totals[key] += value
    if any(totals.values()):
        logger.info("review reminders: %(reminded)s reminded, %(backups_asked)s backups asked",
                    totals)
    return totals


def brand_review_reminders(client, now=None) -> dict[str, int]:
    """Inside ``client``'s schema: remind approvers whose link expires within a day, and issue
    links to backup approvers for client approvals no main approver has answered."""
    from django.db import transaction
    from wagtail.models import TaskState

    from approvals.links import issue_links, send_reminder
    from approvals.models import ApproverContact, ClientApprovalTask, ReviewLink

    now = now or timezone.now()
    open_links = ReviewLink.objects.filter(decided_at__isnull=True, revoked_at__isnull=True,
                                           closed_at__isnull=True, expires_at__gt=now)
    reminded = 0
    for link in open_links.filter(reminded_at__isnull=True, expires_at__lte=now + REMIND_BEFORE,
                                  approver__active=True).select_related("approver", "revision"):
        with transaction.atomic():
            if ReviewLink.objects.filter(pk=link.pk, reminded_at__isnull=True).update(
                    reminded_at=now):
                transaction.on_commit(lambda link=link: send_reminder(client, link))
                reminded += 1
    asked = 0
    backups = list(ApproverContact.objects.filter(active=True, backup=True))
    if backups:
        waiting = (TaskState.objects.filter(status=TaskState.STATUS_IN_PROGRESS,
                                            started_at__lte=now - BACKUP_AFTER)
                   .select_related("revision"))
        for task_state in waiting:
            task = task_state.task.specific
            if not isinstance(task, ClientApprovalTask):
                continue
            links = ReviewLink.objects.filter(task_state_id=task_state.pk)
            if links.filter(approver__backup=True).exists() or \
                    links.filter(decided_at__isnull=False).exists():
                continue
            with transaction.atomic():
                issue_links(task_state, task, approvers=backups)
            asked += len(backups)
    return {"reminded": reminded, "backups_asked": asked}
