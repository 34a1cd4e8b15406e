"""Background work of outbound webhooks (run inside the brand's schema by
``tenants.tasks.run_in_client``)."""

from __future__ import annotations


def webhook_send(delivery_id: int) -> str:
    """One attempt of a delivery, if one is due (a repeated run does nothing)."""
    from agency.webhooks.services import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id)


def webhook_logs_prune() -> dict[str, int]:
    """Daily (public schema): every brand's webhook log trimmed to ``WEBHOOKS_LOG_DAYS``, and
    its rolled secrets forgotten once their overlap is over."""
    import logging

    from django_tenants.utils import schema_context

    from agency.webhooks.services import log_prune, secrets_forget_expired
    from tenants.models import Client

    logger = logging.getLogger(__name__)
    removed = {}
    for schema in Client.objects.brands().values_list("schema_name", flat=True):
        try:
            with schema_context(schema):
                secrets_forget_expired()
                if count := log_prune():
                    removed[schema] = count
        except Exception:  # noqa: BLE001 - one brand's failure must not stop the others
            logger.exception("webhook log pruning failed in %s", schema)
    if removed:
        logger.info("webhook logs pruned: %s deliveries in %s brands", sum(removed.values()),
                    len(removed))
    return removed
