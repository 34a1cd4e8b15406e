"""The brand's approval workflow: how it is set up, and what approving a campaign does."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from wagtail.models import Workflow, WorkflowPage, WorkflowTask

from approvals.models import (
    ApprovalRecord,
    ApprovalSettings,
    ClientApprovalTask,
    SensitivityReviewTask,
)
from campaigns.models import CampaignIndexPage
from campaigns.revisions import read_revision
from campaigns.signals import campaign_approved
from tenants.models import Client, Role
from tenants.provisioning import register_brand_step

WORKFLOW_NAME = "Campaign approval"


def approval_workflow_create(client: Client, groups: dict[str, Group]) -> None:
    """In a new brand (a step of ``tenants.provisioning``): the default approval workflow, a
    sensitivity review by the brand's reviewers, then the client's approval through review
    links, on every campaign under the index."""
    review = SensitivityReviewTask.objects.create(name="Sensitivity review")
    review.groups.set([groups[Role.SENSITIVITY_REVIEWER]])
    client_approval = ClientApprovalTask.objects.create(name="Client approval")
    workflow = Workflow.objects.create(name=WORKFLOW_NAME, active=True)
    WorkflowTask.objects.create(workflow=workflow, task=review, sort_order=0)
    WorkflowTask.objects.create(workflow=workflow, task=client_approval, sort_order=1)
    WorkflowPage.objects.create(workflow=workflow, page=CampaignIndexPage.objects.get())


def register() -> None:
    """Called once from ``ApprovalsConfig.ready``."""
    register_brand_step(approval_workflow_create, order=50)


def content_hash(content: dict) -> str:
    """SHA-256 of a revision's content in canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def approve_revision(revision, *, user=None, workflow_state=None) -> None:
    """Record ``revision`` as approved, publish exactly it, and tell who builds on approval.

    The one way a campaign becomes approved: the workflow's finish action below, the demo data
    and tests all come through here."""
    ApprovalRecord.objects.create(revision=revision, content_hash=content_hash(revision.content),
                                  workflow_state_id=getattr(workflow_state, "pk", None))
    revision.publish(user=user, skip_permission_checks=True)
    page = type(revision.content_object).objects.get(pk=revision.object_id).specific
    campaign_approved.send(sender=type(page), page=page, revision=revision, user=user)


def approval_lead_time(settings=None):
    """How long before a campaign's first post the client's approval is due (the brand's
    setting), as a timedelta."""
    settings = settings or ApprovalSettings.load()
    return timedelta(hours=settings.due_hours_before_first_post)


def approval_due_at(revision, settings=None):
    """When the campaign's approval is due: the brand's lead time before its first post."""
    first = read_revision(revision).first_post_at
    if first is None:
        return None
    return first - approval_lead_time(settings)
