"""Unpublishing or deleting a campaign cancels what has not gone out."""

from django.db.models.signals import pre_delete
from wagtail.signals import page_unpublished


def _cancel(page_id: int, reason: str, user=None) -> None:
    from campaigns.publishing.transitions import cancel_page

    cancel_page(page_id, reason, user)


def on_unpublished(sender, instance, **kwargs):
    _cancel(instance.pk, "The campaign was unpublished.", kwargs.get("user"))


def on_deleted(sender, instance, **kwargs):
    _cancel(instance.pk, "The campaign was deleted.")


def connect() -> None:
    from campaigns.models import CampaignPage

    page_unpublished.connect(on_unpublished, sender=CampaignPage,
                             dispatch_uid="publishing_cancel_unpublished")
    pre_delete.connect(on_deleted, sender=CampaignPage, dispatch_uid="publishing_cancel_deleted")
