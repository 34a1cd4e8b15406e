"""The conversations polling job (``settings.PERIODIC_JOBS["conversations polling"]``)."""

from __future__ import annotations

from campaigns.conversations.ingest import poll_brand
from tenants.tasks import for_each_brand


def poll_conversations() -> dict[str, dict]:
    """One poll of every brand's channels (one brand's failure never stops the others)."""
    results = for_each_brand("conversations polling", poll_brand)
    return {schema: {"taken": report.taken, "pages": report.pages,
                     "deferred": report.deferred, "failed": report.failed}
            for schema, report in results.items()}
