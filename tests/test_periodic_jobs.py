"""Periodic jobs: declared once (settings.PERIODIC_JOBS), kept in django-q2 by the code, and each
brand's run isolated from the others' failures."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django_q.models import Schedule

from agency import schedules
from approvals import tasks as approval_tasks
from tenants.tasks import for_each_brand

pytestmark = pytest.mark.django_db


def _periodic() -> dict[str, tuple]:
    return {s.name: (s.func, s.schedule_type, s.minutes)
            for s in Schedule.objects.exclude(schedule_type=Schedule.ONCE)}


def test_migrate_leaves_exactly_the_declared_jobs_in_the_queue(world, settings):
    expected = {name: (spec["func"], schedules.EVERY[spec["every"]], spec.get("minutes"))
                for name, spec in settings.PERIODIC_JOBS.items()}
    assert _periodic() == expected
    assert schedules.sync() == {"created": [], "updated": [], "removed": []}  # nothing to do


def test_a_release_that_changes_adds_and_drops_jobs_is_followed(world, settings):
    Schedule.objects.create(name="webhook:brand_x:7:1", func="tenants.tasks.run_in_client",
                            schedule_type=Schedule.ONCE)  # a follow-up: not a periodic job
    Schedule.objects.create(name="someone else's", func="othertool.jobs.tick",
                            schedule_type=Schedule.HOURLY)
    settings.PERIODIC_JOBS = {
        "approval reminders": {"func": "approvals.tasks.review_reminders", "every": "minutes",
                               "minutes": 5},
        "nightly digest": {"func": "approvals.tasks.review_reminders", "every": "daily"},
    }
    changes = schedules.sync()
    assert changes["created"] == ["nightly digest"]
    assert changes["updated"] == ["approval reminders"]
    assert sorted(changes["removed"]) == ["client reports", "connected account tokens",
                                          "conversations polling",
                                          "results collection", "webhook log pruning"]
    periodic = _periodic()
    assert periodic["approval reminders"][2] == 5
    assert "webhook log pruning" not in periodic
    assert "someone else's" in periodic  # not ours: left alone
    assert Schedule.objects.filter(name="webhook:brand_x:7:1").exists()


@pytest.mark.parametrize("spec, message", [
    ({"func": "approvals.tasks.review_reminders", "every": "fortnightly"}, "'every' must be"),
    ({"func": "approvals.tasks.review_reminders", "every": "minutes"}, "give 'minutes'"),
    ({"func": "os.system", "every": "daily"}, "'func' must be a dotted path"),
])
def test_a_wrong_declaration_says_what_to_fix(settings, spec, message):
    settings.PERIODIC_JOBS = {"broken": spec}
    with pytest.raises(ValueError, match=message):
        schedules.sync()


def test_one_brand_failing_does_not_stop_the_others(world, monkeypatch, caplog):
    visited = []

    def reminders(client):
        visited.append(client.slug)
        if client.slug == "acme":
            raise RuntimeError("acme's approval settings are broken")
        return {"reminded": 1, "backups_asked": 0, "deadlines_missed": 0}

    monkeypatch.setattr(approval_tasks, "brand_review_reminders", reminders)
    with caplog.at_level(logging.ERROR, logger="tenants.tasks"):
        totals = approval_tasks.review_reminders()
    assert {"acme", "globex"} <= set(visited)
    assert totals["reminded"] == len(visited) - 1  # every brand but acme
    schema = world.acme.client.schema_name
    assert any(f"review reminders failed in {schema}" in r.getMessage() for r in caplog.records)
    assert connection.schema_name == "public"


def test_each_brand_runs_inside_its_own_schema(world):
    seen = for_each_brand("schema check", lambda client: connection.schema_name)
    assert seen[world.acme.client.schema_name] == world.acme.client.schema_name
    assert seen[world.globex.client.schema_name] == world.globex.client.schema_name
    assert connection.schema_name == "public"
