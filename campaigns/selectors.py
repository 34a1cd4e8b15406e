"""Reads about campaigns inside the active client schema."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.models import Revision, WorkflowState

from campaigns.models import CampaignPage

# A scheduled campaign still unpublished this long after its time has failed to go out.
OVERDUE_AFTER = timedelta(minutes=5)


def campaign_status_counts() -> dict[str, int]:
    """Counts for the portal card of the active client: drafts, in review, scheduled, failed."""
    now = timezone.now()
    page_type = ContentType.objects.get_for_model(CampaignPage)
    in_review_ids = set(
        WorkflowState.objects.active()
        .filter(content_type=page_type)
        .values_list("object_id", flat=True)
    )
    scheduled = Revision.objects.filter(
        content_type=page_type, approved_go_live_at__isnull=False
    )
    return {
        "drafts": CampaignPage.objects.filter(live=False)
        .exclude(pk__in=[int(pk) for pk in in_review_ids]).count(),
        "in_review": len(in_review_ids),
        "scheduled": scheduled.filter(approved_go_live_at__gt=now).count(),
        "failed": scheduled.filter(approved_go_live_at__lte=now - OVERDUE_AFTER).count(),
    }


def client_status_counts(client) -> dict[str, int]:
    with schema_context(client.schema_name):
        return campaign_status_counts()
