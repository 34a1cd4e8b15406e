"""Rolling a migration out to client schemas: only those behind, in parallel worker processes,
each in one transaction; failures listed and left untouched; a re-run resumes; a no-op is cheap.

The pending migration comes from the bench-only app ``bench.scale_app`` (0001 a table, 0002 a
column with its index), installed for this module only. Everything runs on committed data (the
workers are other processes), on clients made here and deleted at the end.
"""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.provisioning import template_schema
from tenants.rollout import rollout
from tests.tenants.schemas import (
    TABLE,
    applied,
    has_score,
    has_score_index,
    keys_to_public,
    scale_clients,
    sql_rows,
    template_to,
)


@pytest.fixture(scope="module")
def scale(django_db_setup, django_db_blocker):
    """Three fresh clients, then scale_app installed (0001 in the template only)."""
    with scale_clients("Rollout", 3, "0001_initial", django_db_blocker) as schemas:
        yield schemas


def test_rollout_resumes_after_a_failure_and_no_op_is_cheap(scale, django_db_blocker):
    a, b, c = scale
    with django_db_blocker.unblock():
        # 1. Every client is behind by 0001: migrated in parallel worker processes.
        result = rollout(schemas=scale, parallel=2)
        connection.set_schema_to_public()
        assert (result.total, result.todo, result.failed) == (3, 3, [])
        assert sorted(result.migrated) == sorted(scale)
        for schema in scale:
            assert applied(schema) == {"0001_initial"}
            assert not has_score(schema)

        # 2. Client b conflicts with 0002 (the column exists already): the others go forward,
        # b is listed with its error and left as it was.
        sql_rows(f'ALTER TABLE "{b}".{TABLE} ADD COLUMN score integer')
        template_to(None)
        connection.set_schema_to_public()
        result = rollout(schemas=scale, parallel=2)
        connection.set_schema_to_public()
        assert result.todo == 3
        assert sorted(result.migrated) == sorted([a, c])
        assert [schema for schema, _ in result.failed] == [b]
        assert "score" in result.failed[0][1] and "already exists" in result.failed[0][1]
        for schema in (a, c):
            assert applied(schema) == {"0001_initial", "0002_scalenote_score"}
            assert has_score(schema) and has_score_index(schema)
            # 0002's key to auth_user stays in the template only (tenants.clone says why).
            assert keys_to_public(schema) == []
        assert keys_to_public(template_schema()) == [(TABLE, "auth_user")]
        assert applied(b) == {"0001_initial"}
        assert has_score(b) and not has_score_index(b)  # untouched: our column, no index

        # 3. Fixed: the re-run picks b only, and finishes.
        sql_rows(f'ALTER TABLE "{b}".{TABLE} DROP COLUMN score')
        result = rollout(schemas=scale, parallel=2)
        connection.set_schema_to_public()
        assert (result.todo, result.migrated, result.failed) == (1, [b], [])
        assert applied(b) == {"0001_initial", "0002_scalenote_score"}
        assert has_score(b) and has_score_index(b)

        # 4. Nothing left: no migration executor, no loader, a handful of queries.
        def refuse(*args, **kwargs):
            raise AssertionError("a no-op rollout built migration machinery")

        with (
            mock.patch("django.db.migrations.executor.MigrationExecutor.__init__", refuse),
            mock.patch("django.db.migrations.loader.MigrationLoader.__init__", refuse),
            CaptureQueriesContext(connection) as queries,
        ):
            result = rollout(schemas=scale, parallel=2)
        assert (result.total, result.todo, result.migrated, result.failed) == (3, 0, [], [])
        assert len(queries) <= 4, [q["sql"][:120] for q in queries]


def test_rollout_lists_a_client_whose_schema_is_gone(scale, django_db_blocker):
    with django_db_blocker.unblock():
        result = rollout(schemas=[*scale, "brand_no_such_schema_here"], parallel=1)
        connection.set_schema_to_public()
    assert ("brand_no_such_schema_here", "schema does not exist") in result.failed


def test_migrate_command_reports_clients_and_exits_non_zero_on_failure(scale, django_db_blocker):
    """The command's client step: failures listed on stderr, CommandError (non-zero exit)."""
    from django.core.management.base import CommandError

    from tenants.management.commands.migrate import Command
    from tenants.rollout import RolloutResult

    failed = RolloutResult(total=2, todo=2, migrated=["brand_x"],
                           failed=[("brand_y", "column already exists")])
    out, err = StringIO(), StringIO()
    command = Command(stdout=out, stderr=err)
    with mock.patch("tenants.management.commands.migrate.rollout", return_value=failed):
        with pytest.raises(CommandError, match="1 client"):
            command.clients_migrate(2, 1)
    assert "brand_y: column already exists" in err.getvalue()
    assert "Migrated 1 of 2 clients; 1 failed." in out.getvalue()
