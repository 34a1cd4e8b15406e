"""The results jobs (``settings.PERIODIC_JOBS``: "results collection", "client reports")."""

from __future__ import annotations

from campaigns.results.collection import collect_round
from campaigns.results.scheduled import send_due
from tenants.tasks import for_each_brand


def collect_results() -> dict[str, dict]:
    """One collection round in every brand (one brand's failure never stops the others).
    Returns, per brand, what the round did."""
    results = for_each_brand("results collection", collect_round)
    return {schema: {"read": report.read, "calls": report.calls, "tracked": report.tracked,
                     "deferred": report.deferred, "failed": report.failed}
            for schema, report in results.items()}


def send_scheduled_reports() -> dict[str, int]:
    """Every brand's due client reports, emailed once per schedule and period (the
    ``client reports`` periodic job). Returns, per brand, how many went out."""
    return for_each_brand("client reports", send_due)
