"""Approval builds a campaign's outbox; unpublishing or deleting it cancels what has not gone
out."""

from django.db.models.signals import post_delete, pre_delete
from wagtail.signals import page_unpublished

from campaigns.models import CampaignPage, Channel
from campaigns.publishing.models import ReconnectWait
from campaigns.publishing.outbox import schedule_approved
from campaigns.publishing.transitions import cancel_page
from campaigns.signals import campaign_approved
from tenants.models import current_client


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


def on_channel_deleted(sender, instance, **kwargs):
    """A removed channel's posts no longer wait for a reconnection: they fail with "the channel
    was removed" when their time comes, as any removed channel's do."""
    client = current_client()
    if client is not None:
        ReconnectWait.objects.filter(client=client, channel_id=instance.pk).delete()


def connect() -> None:
    campaign_approved.connect(on_approved, dispatch_uid="publishing_schedule_approved")
    page_unpublished.connect(on_unpublished, sender=CampaignPage,
                             dispatch_uid="publishing_cancel_unpublished")
    pre_delete.connect(on_deleted, sender=CampaignPage, dispatch_uid="publishing_cancel_deleted")
    post_delete.connect(on_channel_deleted, sender=Channel,
                        dispatch_uid="publishing_channel_deleted")
