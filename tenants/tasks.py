"""Background work that runs inside one client's schema.

django-q2's tables live in the public schema and its workers start there. ``enqueue_in_client``
records the schema with the job and ``run_in_client`` enters it before calling the function, so a
task never reads or writes another brand's data. Enqueued on commit: a job never runs before the
data it needs is visible, and never for a transaction that rolled back.

A PostgreSQL backend keeps the catalog entries of every relation it has touched: a worker that
visits every brand holds hundreds of relations per brand (measured in docs/scale-out.md). Both
ways into a brand here (``run_in_client``, ``for_each_brand``) go through ``in_client_schema``,
which closes the worker's connection, once outside any transaction, after it has served
``settings.TENANT_CONNECTION_MAX_SCHEMAS`` different schemas; the next query opens a fresh one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from django.conf import settings
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


@contextmanager
def in_client_schema(schema_name: str) -> Iterator[None]:
    """``schema_context(schema_name)``, counting the schemas this database connection has served;
    at ``TENANT_CONNECTION_MAX_SCHEMAS`` (0: never) the connection is closed on the way out."""
    try:
        with schema_context(schema_name):
            yield
    finally:
        _schema_served(schema_name)


def _schema_served(schema_name: str) -> None:
    limit = getattr(settings, "TENANT_CONNECTION_MAX_SCHEMAS", 0)
    raw = connection.connection
    if not limit or raw is None:
        return
    served = getattr(connection, "_schemas_served", None)
    if served is None or served[0] is not raw:  # a new connection since: count afresh
        served = connection._schemas_served = (raw, set())
    served[1].add(schema_name)
    if len(served[1]) >= limit and not connection.in_atomic_block:
        logger.debug("closing the database connection after %d schemas", len(served[1]))
        connection.close()
        connection._schemas_served = None


def run_in_client(schema_name: str, dotted: str, args: list, kwargs: dict):
    """Worker side: enter the client's schema, run the function, always leave the schema."""
    if not Client.objects.filter(schema_name=schema_name, archived_at__isnull=True).exists():
        logger.warning("skipped %s: client schema %s is gone or archived", dotted, schema_name)
        return None
    with in_client_schema(schema_name):
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
            with in_client_schema(client.schema_name):
                results[client.schema_name] = func(client, *args, **kwargs)
        except Exception:  # noqa: BLE001 - one brand's failure must not stop the others
            logger.exception("%s failed in %s; the other brands go on", job, client.schema_name)
    return results
