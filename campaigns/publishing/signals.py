"""Approval builds a campaign's outbox; unpublishing or deleting it cancels what has not gone
out."""

from django.db.models.signals import pre_delete
from wagtail.signals import page_unpublished

from campaigns.models import CampaignPage
from campaigns.publishing.outbox import schedule_approved
from campaigns.publishing.transitions import cancel_page
from campaigns.signals import campaign_approved


def _cancel(page_id: int, reason: str, user=None) -> None:
    cancel_page(page_id, reason, user)


def on_approved(sender, page, revision, user=None, **kwargs):
    """The campaign's revision was approved and published: its posts join the outbox."""
    if hasattr(page, "posts"):
        schedule_approved(page, revision, user=user)


def on_unpublished(sender, instance, **kwargs):
    _cancel(instance.pk, "The campaign was unpublished.", kwargs.get("user"))


def on_deleted(sender, instance, **kwargs):
    _cancel(instance.pk, "The campaign was deleted.")


def connect() -> None:
    campaign_approved.connect(on_approved, dispatch_uid="publishing_schedule_approved")
    page_unpublished.connect(on_unpublished, sender=CampaignPage,
                             dispatch_uid="publishing_cancel_unpublished")
    pre_delete.connect(on_deleted, sender=CampaignPage, dispatch_uid="publishing_cancel_deleted")
