"""Background work of outbound webhooks (run inside the brand's schema by
``tenants.tasks.run_in_client``)."""

from __future__ import annotations

import logging

from agency.webhooks.services import delivery_attempt, log_prune, secrets_forget_expired
from tenants.tasks import for_each_brand

logger = logging.getLogger(__name__)


def webhook_send(delivery_id: int) -> str:
    """One attempt of a delivery, if one is due (a repeated run does nothing)."""
    return delivery_attempt(delivery_id=delivery_id)


def webhook_logs_prune() -> dict[str, int]:
    """Daily: every brand's webhook log trimmed to ``WEBHOOKS_LOG_DAYS``, and its rolled
    secrets forgotten once their overlap is over."""
    def prune(client) -> int:
        secrets_forget_expired()
        return log_prune()

    removed = {schema: count for schema, count in
               for_each_brand("webhook log pruning", prune,
                                                   include_archived=True).items() if count}
    if removed:
        logger.info("webhook logs pruned: %s deliveries in %s brands", sum(removed.values()),
                    len(removed))
    return removed
