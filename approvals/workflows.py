"""What happens when a campaign's approval workflow finishes (WAGTAIL_FINISH_WORKFLOW_ACTION)."""

from __future__ import annotations

import hashlib
import json

from django.db import transaction

from campaigns.revisions import read_revision


def content_hash(content: dict) -> str:
    """SHA-256 of a revision's content in canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def publish_approved_revision(workflow_state, user=None):
    """Publish the revision the last task approved (not whatever is latest), and record it.

    Wagtail's default publishes the latest revision with the approver's own page permissions;
    here the approvers (a sensitivity reviewer, a client with a review link) do not publish pages,
    the workflow does, and it publishes exactly what they saw."""
    from approvals.models import ApprovalRecord

    revision = workflow_state.current_task_state.revision
    ApprovalRecord.objects.create(revision=revision, content_hash=content_hash(revision.content),
                                  workflow_state_id=workflow_state.pk)
    revision.publish(user=user, skip_permission_checks=True)
    # The outbox is built from the page as just published from this revision.
    from campaigns.publishing.outbox import schedule_approved

    page = type(revision.content_object).objects.get(pk=revision.object_id).specific
    if hasattr(page, "posts"):
        schedule_approved(page, revision, user=user)


def earlier_steps_current(workflow_state, task, revision) -> bool:
    """Were all the workflow's steps before ``task`` approved on ``revision`` in this run?

    Wagtail's "Resubmit" resumes at the step that sent the campaign back; after an edit, the
    steps before it (the sensitivity review) approved older content, so they must run again."""
    from wagtail.models import TaskState, WorkflowTask

    order = dict(WorkflowTask.objects.filter(workflow=workflow_state.workflow)
                 .values_list("task_id", "sort_order"))
    before = [task_id for task_id, position in order.items()
              if position < order.get(task.pk, 0)]
    approved = set(TaskState.objects.filter(
        workflow_state=workflow_state, revision=revision, status=TaskState.STATUS_APPROVED,
        task_id__in=before).values_list("task_id", flat=True))
    return approved == set(before)


def approval_due_at(revision, settings=None):
    """When the campaign's approval is due: the brand's lead time before its first post."""
    from datetime import timedelta

    from approvals.models import ApprovalSettings

    first = read_revision(revision).first_post_at
    if first is None:
        return None
    settings = settings or ApprovalSettings.load()
    return first - timedelta(hours=settings.due_hours_before_first_post)
