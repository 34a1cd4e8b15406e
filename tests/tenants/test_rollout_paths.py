"""The rollout's two ways of applying a plan in a brand: Django's executor per brand
(``precompute=False``) and the model states computed once per plan, each brand running only the
operations' SQL (the default). Same schemas, same failure handling; the states once per plan.

Runs on committed data (the workers are other processes), on four clients made here and
deleted at the end, with the bench-only app ``bench.scale_app`` pending (tests.tenants.schemas).
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.db.migrations.operations import AddField

from tenants.provisioning import template_schema
from tenants.rollout import rollout
from tests.tenants.schemas import (
    TABLE,
    applied,
    has_column,
    has_score,
    has_score_index,
    in_schema,
    keys_to_public,
    scale_app_back_to_0001,
    scale_app_forget,
    scale_clients,
    schema_snapshot,
    sql_rows,
)

BOTH = {"0001_initial", "0002_scalenote_score"}


@pytest.fixture(scope="module")
def brands(django_db_setup, django_db_blocker):
    """Four fresh clients, then scale_app installed and migrated in the template only."""
    with scale_clients("Paths", 4, None, django_db_blocker) as schemas:
        yield schemas


def _at_0001(schemas: list[str]) -> None:
    """Every one of ``schemas`` with scale_app at 0001: 0002 pending."""
    rollout(schemas=schemas, parallel=1)
    connection.set_schema_to_public()
    for schema in schemas:
        scale_app_back_to_0001(schema)


def test_both_paths_leave_identical_schemas(brands, django_db_blocker):
    old, new = brands[:2], brands[2:]
    with django_db_blocker.unblock():
        for schema in brands:
            scale_app_forget(schema)  # 0001 and 0002 pending: a table, a column, an index, a key
        before = schema_snapshot(brands[0])
        for schemas, precompute in ((old, False), (new, True)):
            result = rollout(schemas=schemas, parallel=2, precompute=precompute)
            connection.set_schema_to_public()
            assert (result.todo, sorted(result.migrated), result.failed) == (2, sorted(schemas), [])
        snapshots = {schema: schema_snapshot(schema) for schema in brands}
    reference = snapshots[old[0]]
    assert reference != before
    for schema in brands:
        assert applied(schema) == BOTH
        assert has_score(schema) and has_score_index(schema)
        assert keys_to_public(schema) == []  # dropped in the brand, kept in the template
        for part in ("columns", "indexes", "constraints", "migrations"):
            assert snapshots[schema][part] == reference[part], (schema, part)
    assert keys_to_public(template_schema()) == [(TABLE, "auth_user")]


@pytest.mark.parametrize("precompute", [True, False], ids=["precomputed", "executor"])
def test_a_failing_brand_is_rolled_back_and_listed(brands, django_db_blocker, precompute):
    """0002 adds score, then author_id: a brand that has an author_id already fails at the second
    operation, after the first ran. Nothing of 0002 stays there; the other brands migrate."""
    bad = brands[1]
    with django_db_blocker.unblock():
        _at_0001(brands)
        sql_rows(f'ALTER TABLE "{bad}".{TABLE} ADD COLUMN author_id integer')
        try:
            result = rollout(schemas=brands, parallel=2, precompute=precompute)
            connection.set_schema_to_public()
            assert result.todo == 4
            assert sorted(result.migrated) == sorted(s for s in brands if s != bad)
            assert [schema for schema, _ in result.failed] == [bad]
            assert "author_id" in result.failed[0][1]
            assert "already exists" in result.failed[0][1]
            for schema in result.migrated:
                assert applied(schema) == BOTH
                assert has_score(schema) and has_score_index(schema)
            assert applied(bad) == {"0001_initial"}
            assert not has_score(bad) and not has_score_index(bad)  # the first operation undone
            assert has_column(bad, "author_id")  # ours, untouched
        finally:
            sql_rows(f'ALTER TABLE "{bad}".{TABLE} DROP COLUMN IF EXISTS author_id')
            connection.set_schema_to_public()


def test_states_are_computed_once_per_plan_not_per_brand(brands, django_db_blocker):
    """0002 has two AddField operations: their state_forwards runs twice per rollout with
    precomputed states, however many brands, and twice per brand through the executor."""
    original = AddField.state_forwards

    def scale_calls(spy) -> int:
        return sum(1 for call in spy.call_args_list if call.args[0].model_name_lower == "scalenote")

    counts = {}
    with django_db_blocker.unblock():
        for schemas, precompute in ((brands[:1], True), (brands, True), (brands, False)):
            _at_0001(brands)
            with mock.patch.object(AddField, "state_forwards", autospec=True,
                                   side_effect=original) as spy:
                # parallel=1: every brand in this process, where the spy sees it.
                result = rollout(schemas=schemas, parallel=1, precompute=precompute)
            connection.set_schema_to_public()
            assert (sorted(result.migrated), result.failed) == (sorted(schemas), [])
            counts[len(schemas), precompute] = scale_calls(spy)
    assert counts == {(1, True): 2, (4, True): 2, (4, False): 8}


def test_a_run_python_step_finds_its_models_rendered(django_db_setup, django_db_blocker):
    """RunPython re-renders a delayed from-state's models (clear_delayed_apps_cache): the plan
    does that once, so a brand finds them rendered and keeps them (here, a RunPython migration of
    the template's with the fewest dependants, as if it and they were pending)."""
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import RunPython

    from tenants.rollout import _Plan, applied_in

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        graph = MigrationLoader(None, ignore_no_migrations=True).graph
        reference = frozenset(applied_in(template_schema())) & frozenset(graph.nodes)
        candidates = [key for key in reference
                      if any(isinstance(op, RunPython) for op in graph.nodes[key].operations)]
        key = min(candidates, key=lambda k: (len(graph.backwards_plan(k)), k))
        missing = frozenset(graph.backwards_plan(key)) & reference
        plan = _Plan(reference, missing)
    steps = [(operation, before) for _, operations in plan.steps
             for operation, _, before, _ in operations if isinstance(operation, RunPython)]
    assert steps
    for _, before in steps:
        rendered = before.__dict__.get("apps")
        assert rendered is not None and not before.is_delayed
        before.clear_delayed_apps_cache()  # what RunPython.database_forwards does first
        assert before.__dict__.get("apps") is rendered


def _score_column(schema: str) -> tuple[bool, bool, bool]:
    """(NOT NULL, has a database default, PostgreSQL keeps a 'missing' value) of score."""
    return sql_rows("""
        SELECT a.attnotnull, a.atthasdef, a.atthasmissing FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %s AND c.relname = %s AND a.attname = 'score'""", [schema, TABLE])[0]


@pytest.mark.parametrize("fill_max_bytes", [8 * 2**20, -1], ids=["filled", "fast-default"])
def test_a_new_column_with_a_default_reaches_the_rows_already_there(
        brands, django_db_blocker, fill_max_bytes):
    """0002's score (IntegerField, default 0, NOT NULL) in a brand whose notes exist: every
    note has 0, the column is NOT NULL with no database default, on either way of adding it.
    A small table is filled (ADD COLUMN without a default, UPDATE, SET NOT NULL: PostgreSQL's
    ADD COLUMN ... DEFAULT reads all of pg_index, every brand's indexes); a larger one keeps
    PostgreSQL's fast default (no UPDATE of its rows)."""
    from django.test.utils import CaptureQueriesContext

    schema = brands[0]
    with django_db_blocker.unblock():
        _at_0001(brands)
        sql_rows(in_schema("INSERT INTO {}.scale_app_scalenote (title) "
                           "SELECT 'note ' || i FROM generate_series(1, 3) i", schema))
        with (mock.patch("tenants.rollout.FILL_MAX_BYTES", fill_max_bytes),
              CaptureQueriesContext(connection) as queries):
            result = rollout(schemas=[schema], parallel=1)  # in this process: queries seen
        connection.set_schema_to_public()
        assert (result.migrated, result.failed) == ([schema], [])
        assert sql_rows(in_schema("SELECT title, score FROM {}.scale_app_scalenote ORDER BY id",
                                  schema)) == [("note 1", 0), ("note 2", 0), ("note 3", 0)]
        not_null, has_default, missing = _score_column(schema)
        sql_rows(in_schema("DELETE FROM {}.scale_app_scalenote", schema))
    assert not_null and not has_default
    statements = [q["sql"] for q in queries.captured_queries]
    filled = any(s.startswith('UPDATE "scale_app_scalenote" SET "score"') for s in statements)
    assert filled == (fill_max_bytes > 0)
    assert missing == (fill_max_bytes < 0)  # the fast default's stored value, or none
