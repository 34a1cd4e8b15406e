"""Periodic approval work, across every brand: reminders before review links expire or the
approval is due, backup approvers asked when the main ones have not answered, and the team told
when a campaign misses its approval deadline (its posts stay held). Timings are each brand's
"Approval deadlines" settings.

Declared in ``settings.PERIODIC_JOBS`` (every 15 minutes). Each run visits every active brand's
schema (``tenants.tasks.for_each_brand``: a brand that fails does not stop the others); the
per-brand work is two indexed queries, so a run over hundreds of brands stays in seconds.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from approvals.links import issue_links, send_reminder
from approvals.models import (
    ApprovalSettings,
    ApproverContact,
    ClientApprovalTask,
    DeadlineMiss,
    LinkStatus,
    ReviewLink,
)
from approvals.workflows import approval_due_at
from tenants.emails import send_client_email
from tenants.models import Membership, Role
from tenants.tasks import for_each_brand

logger = logging.getLogger(__name__)



def review_reminders() -> dict[str, int]:
    """Periodic (every 15 minutes): ``brand_review_reminders`` in every active brand."""
    totals = {"reminded": 0, "backups_asked": 0, "deadlines_missed": 0}
    for done in for_each_brand("review reminders", brand_review_reminders).values():
        for key, value in done.items():
            totals[key] += value
    if any(totals.values()):
        logger.info("review reminders: %(reminded)s reminded, %(backups_asked)s backups asked, "
                    "%(deadlines_missed)s deadlines missed", totals)
    return totals


def brand_review_reminders(client, now=None) -> dict[str, int]:
    """Inside ``client``'s schema, by the brand's approval settings: remind approvers whose link
    expires, or whose campaign's approval is due, soon; ask backup approvers when no main one
    answered; and tell the team about campaigns not approved by their deadline."""
    from django.db import transaction
    from wagtail.models import TaskState

    now = now or timezone.now()
    settings = ApprovalSettings.load()
    soon = now + timedelta(hours=settings.remind_hours_before)
    dues = {}  # revision id -> approval due time: many links share a revision

    def due_of(revision):
        if revision.pk not in dues:
            dues[revision.pk] = approval_due_at(revision, settings)
        return dues[revision.pk]

    # Links that still take a decision (not superseded by an edit, nor of a finished step).
    open_links = ReviewLink.objects.in_status(*LinkStatus.usable(), now=now)
    reminded = 0
    for link in open_links.filter(reminded_at__isnull=True, approver__active=True) \
            .select_related("approver", "revision"):
        due = due_of(link.revision)
        if link.expires_at > soon and (due is None or due > soon):
            continue
        with transaction.atomic():
            if ReviewLink.objects.filter(pk=link.pk, reminded_at__isnull=True).update(
                    reminded_at=now):
                transaction.on_commit(lambda link=link: send_reminder(client, link))
                reminded += 1
    asked = 0
    backups = list(ApproverContact.objects.filter(active=True, backup=True))
    waiting = TaskState.objects.filter(status=TaskState.STATUS_IN_PROGRESS) \
        .select_related("revision")
    for task_state in waiting if backups else []:
        task = task_state.task.specific
        if not isinstance(task, ClientApprovalTask):
            continue
        due = due_of(task_state.revision)
        late = task_state.started_at <= now - timedelta(hours=settings.backup_after_hours)
        if not (late or (due is not None and due <= soon)):
            continue
        links = ReviewLink.objects.filter(task_state_id=task_state.pk)
        if links.filter(approver__backup=True).exists() or \
                links.in_status(LinkStatus.DECIDED, now=now).exists():
            continue
        with transaction.atomic():
            issue_links(task_state, task, approvers=backups)
        asked += len(backups)
    return {"reminded": reminded, "backups_asked": asked,
            "deadlines_missed": deadlines_missed(client, now, settings)}


def deadlines_missed(client, now, settings) -> int:
    """Campaigns still in approval after their approval was due: record it once per run of the
    workflow, log it in the campaign's history and email the brand's managers and the person who
    submitted it. Their posts stay held: only an approved revision is ever scheduled."""
    from django.db import IntegrityError, transaction
    from wagtail.log_actions import log
    from wagtail.models import WorkflowState

    missed = 0
    states = (WorkflowState.objects.filter(status=WorkflowState.STATUS_IN_PROGRESS)
              .exclude(pk__in=DeadlineMiss.objects.values("workflow_state_id"))
              .select_related("current_task_state__revision", "requested_by"))
    for state in states:
        task_state = state.current_task_state
        if task_state is None:
            continue
        due = approval_due_at(task_state.revision, settings)
        if due is None or due > now:
            continue
        page = task_state.revision.content_object
        try:
            with transaction.atomic():
                DeadlineMiss.objects.create(workflow_state_id=state.pk, page_id=page.pk,
                                            due_at=due, noticed_at=now)
                log(instance=page, action="approvals.deadline_missed",
                    revision=task_state.revision,
                    data={"due_at": due.isoformat(), "step": task_state.task.name})
                recipients = _team_emails(client, state.requested_by)
                transaction.on_commit(lambda page=page, due=due, step=task_state.task.name,
                                      to=recipients: _send_missed(client, page, due, step, to))
        except IntegrityError:
            continue  # another run noticed it first
        missed += 1
    return missed


def _team_emails(client, requester) -> list[str]:
    emails = set(Membership.objects.filter(
        client=client, role__in=[Role.AGENCY_ADMIN, Role.ACCOUNT_MANAGER])
        .values_list("user__email", flat=True))
    if requester is not None and requester.email:
        emails.add(requester.email)
    return sorted(e for e in emails if e)


def _send_missed(client, page, due, step, to) -> None:
    if to:
        send_client_email(client=client, to=to,
                          subject=f"Not approved in time: “{page.title}” is held",
                          template="approvals/email/deadline_missed",
                          context={"title": page.title, "due_at": due, "step": step,
                                   "page_id": page.pk})
