"""Background work that runs inside one client's schema.

django-q2's tables live in the public schema and its workers start there. ``enqueue_in_client``
records the schema with the job and ``run_in_client`` enters it before calling the function, so a
task never reads or writes another brand's data. Enqueued on commit: a job never runs before the
data it needs is visible, and never for a transaction that rolled back.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import connection, transaction
from django.utils.module_loading import import_string
from django_q.tasks import async_task
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Client

logger = logging.getLogger(__name__)


def _dotted(func) -> str:
    if isinstance(func, str):
        return func
    return f"{func.__module__}.{func.__qualname__}"


def enqueue_in_client(func, *args, schema_name: str | None = None, task_name: str | None = None,
                      **kwargs) -> None:
    """Run ``func(*args, **kwargs)`` on a worker inside ``schema_name`` (default: the active
    client's schema) once the current transaction commits."""
    schema = schema_name or connection.schema_name
    if schema == get_public_schema_name():
        raise ValueError("enqueue_in_client needs a client schema; the public schema has none.")
    dotted = _dotted(func)
    options = {"task_name": task_name} if task_name else {}
    transaction.on_commit(partial(
        async_task, "tenants.tasks.run_in_client", schema, dotted, list(args), kwargs,
        group=schema, **options))


def run_in_client(schema_name: str, dotted: str, args: list, kwargs: dict):
    """Worker side: enter the client's schema, run the function, always leave the schema."""
    if not Client.objects.filter(schema_name=schema_name, archived_at__isnull=True).exists():
        logger.warning("skipped %s: client schema %s is gone or archived", dotted, schema_name)
        return None
    with schema_context(schema_name):
        return import_string(dotted)(*args, **kwargs)


def for_each_brand(job: str, func, *args, include_archived: bool = False,
                   **kwargs) -> dict[str, object]:
    """Run ``func(client, *args, **kwargs)`` inside every active brand's schema (archived ones
    too with ``include_archived``), in turn.

    The one way periodic jobs visit brands: a brand whose run raises is logged (with ``job``
    and the brand) and skipped, and the others still run. Returns each brand's result by schema
    name (brands that failed are left out)."""
    results = {}
    clients = Client.objects.brands() if include_archived else Client.objects.active()
    for client in clients.order_by("schema_name"):
        try:
            with schema_context(client.schema_name):
                results[client.schema_name] = func(client, *args, **kwargs)
        except Exception:  # noqa: BLE001 - one brand's failure must not stop the others
            logger.exception("%s failed in %s; the other brands go on", job, client.schema_name)
    return results
