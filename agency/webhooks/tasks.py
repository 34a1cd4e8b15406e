"""Background work of outbound webhooks (run inside the brand's schema by
``tenants.tasks.run_in_client``)."""

from __future__ import annotations


def webhook_send(delivery_id: int) -> str:
    """One attempt of a delivery, if one is due (a repeated run does nothing)."""
    from agency.webhooks.services import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id)
