"""What a brand's export keeps of publishing (``tenants.transfer.register_record``): its outbox
deliveries, as a record only; they are never imported (see ``tenants.transfer``)."""

from __future__ import annotations

from campaigns.publishing.models import Delivery
from tenants.models import Client
from tenants.transfer import register_record


def deliveries_record(client: Client) -> list[dict]:
    return list(Delivery.objects.filter(client=client).values(
        "page_id", "revision_id", "post_id", "channel_id", "network", "campaign_title",
        "publish_at", "state", "idempotency_key", "remote_id", "remote_url", "published_at"))


def register() -> None:
    """Called once from ``PublishingConfig.ready``."""
    register_record("deliveries", deliveries_record)
