"""A campaign's status: one definition and one name for each state, for the admin, the portal,
the API, webhooks, commands and tasks alike.

A campaign's status follows from its page and its active approval run (Wagtail's
``WorkflowState``, in progress or waiting for changes), in this order:

- in review: an approval run is in progress (the sensitivity review or the client's approval);
- changes requested: a reviewer or the client sent it back; the run waits for a resubmission;
- approved: no run is active and what is live is the latest revision;
- draft: anything else (never submitted, withdrawn, or edited since its approval).

``BY_APPROVAL_RUN`` and ``APPROVED_WHEN`` say that once. ``campaign_status`` reads them in
Python (for one campaign in hand), ``with_status`` and ``has_status`` in SQL (to list, count
and filter campaigns in the database), so they cannot drift apart. The values are the API's
(``status`` of ``/api/v1/campaigns/``, webhooks' ``data.status``); the labels are what every
screen shows."""

from __future__ import annotations

from django.db.models import (
    Case,
    CharField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from wagtail.models import WorkflowState

from campaigns.models import CampaignPage


class CampaignStatus(TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"


# The definition. An active approval run decides first, by its own status...
BY_APPROVAL_RUN = {
    WorkflowState.STATUS_IN_PROGRESS: CampaignStatus.IN_REVIEW,
    WorkflowState.STATUS_NEEDS_CHANGES: CampaignStatus.CHANGES_REQUESTED,
}
# ...without one, the page is approved when what is live is its latest revision (these
# CampaignPage fields have these values), and a draft otherwise.
APPROVED_WHEN = {"live": True, "has_unpublished_changes": False}

# Where the editor may still change posts (the calendar's "Move"): any other status means
# reviewers or the client are looking at, or agreed to, exactly this content.
OPEN_FOR_EDITS = frozenset({CampaignStatus.DRAFT, CampaignStatus.CHANGES_REQUESTED})


def campaign_status(*, live: bool, has_unpublished_changes: bool,
                    workflow_status: str | None) -> CampaignStatus:
    """The status of a campaign from its page's fields and the status of its approval run
    (``WorkflowState.status``; None without one)."""
    if workflow_status in BY_APPROVAL_RUN:
        return BY_APPROVAL_RUN[workflow_status]
    page = {"live": live, "has_unpublished_changes": has_unpublished_changes}
    if all(page[name] == value for name, value in APPROVED_WHEN.items()):
        return CampaignStatus.APPROVED
    return CampaignStatus.DRAFT


def status_of(page) -> CampaignStatus:
    """The status of one campaign page (one query: its active approval run)."""
    state = page.current_workflow_state
    return campaign_status(live=page.live, has_unpublished_changes=page.has_unpublished_changes,
                           workflow_status=state.status if state is not None else None)


def _campaign_runs() -> QuerySet:
    """Approval runs (``WorkflowState``) of campaigns. The content type goes by its natural key,
    not by id: django-tenants clears ContentType's cache whenever a request sets the tenant, so
    ``get_for_model`` would cost a query on every request."""
    return WorkflowState.objects.filter(content_type__app_label=CampaignPage._meta.app_label,
                                        content_type__model=CampaignPage._meta.model_name)


def approval_runs(status: CampaignStatus) -> QuerySet:
    """The approval runs that put their campaigns in ``status`` (in review or changes
    requested); a run's ``object_id`` is its campaign's id."""
    return _campaign_runs().filter(
        status__in=[run for run, result in BY_APPROVAL_RUN.items() if result == status])


def _active_run() -> QuerySet:
    """The approval run that decides the status of the campaign ``OuterRef("pk")``."""
    return _campaign_runs().filter(status__in=list(BY_APPROVAL_RUN),
                                   object_id=Cast(OuterRef("pk"), CharField()))


def with_status(pages: QuerySet) -> QuerySet:
    """``pages`` (campaign pages) with their ``status``, to read or count by in the database
    (one subquery per row read), and ``workflow_status`` (the deciding run's), which
    ``has_status`` filters on."""
    by_run = Case(*[When(status=run, then=Value(result.value))
                    for run, result in BY_APPROVAL_RUN.items()], output_field=CharField())
    by_page = Case(When(**APPROVED_WHEN, then=Value(CampaignStatus.APPROVED.value)),
                   default=Value(CampaignStatus.DRAFT.value), output_field=CharField())
    return pages.annotate(
        workflow_status=Subquery(_active_run().values("status")[:1]),
        status=Coalesce(Subquery(_active_run().annotate(result=by_run).values("result")[:1]),
                        by_page, output_field=CharField()))


def has_status(status: CampaignStatus | str) -> Q:
    """A filter on ``with_status(pages)`` for campaigns in ``status``: the same definition as
    ``status``, written so that PostgreSQL checks each part on its own table (and stops at a
    page of results) instead of computing every campaign's status first."""
    status = CampaignStatus(status)
    runs = [run for run, result in BY_APPROVAL_RUN.items() if result == status]
    if runs:
        return Q(workflow_status__in=runs)
    approved = Q(**APPROVED_WHEN)
    return Q(workflow_status__isnull=True) & (
        approved if status == CampaignStatus.APPROVED else ~approved)
