"""Provisioning takes no lock on public tables that another provision or a sign-in waits for,
and leaves no trigger on them. Runs on committed data: the first provision stays open in a
thread (its own connection) while the second runs here under a lock timeout, which turns any
wait on the first one's locks into an error."""

from __future__ import annotations

import threading
import uuid
from unittest import mock

from django.db import connection, connections

from tenants import provisioning
from tenants.models import Client
from tenants.services import client_delete, client_provision


def _triggers_on_public_tables() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = ANY(ARRAY["
                       "'public.auth_user', 'public.auth_group', 'public.auth_permission', "
                       "'public.django_content_type']::regclass[])")
        return cursor.fetchone()[0]


def test_two_provisions_at_once_do_not_wait_for_each_other(world, django_db_blocker):
    tag = uuid.uuid4().hex[:6]
    first, second = f"lock-{tag}-a", f"lock-{tag}-b"
    inside, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def hold_open(client, groups):
        """A last brand step: the first provision waits here, its transaction open."""
        if client.slug == first:
            inside.set()
            release.wait(60)

    def provision_first():
        try:
            outcome["first"] = client_provision(name="Held open", slug=first)
        except Exception as error:  # noqa: BLE001 - asserted below
            outcome["first"] = error
        finally:
            inside.set()
            connections.close_all()

    step = {"tests.hold_open": provisioning.SetupStep("hold_open", hold_open, 10_000)}
    with django_db_blocker.unblock(), mock.patch.dict(provisioning._BRAND_STEPS, step):
        triggers_before = _triggers_on_public_tables()
        thread = threading.Thread(target=provision_first)
        thread.start()
        try:
            assert inside.wait(120), "the first provision never reached its last step"
            assert "first" not in outcome, outcome.get("first")
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '5s'")
            try:
                # Fails with "canceling statement due to lock timeout" if it waits on the first.
                client = client_provision(name="Alongside", slug=second)
                with connection.cursor() as cursor:  # a sign-in writes the account's row
                    cursor.execute("UPDATE auth_user SET last_login = now() WHERE id = %s",
                                   [world.outsider.pk])
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
            assert Client.objects.filter(slug=second).exists()
            release.set()
            thread.join(120)
            assert isinstance(outcome.get("first"), Client), outcome.get("first")
            assert _triggers_on_public_tables() == triggers_before
        finally:
            release.set()
            thread.join(120)
            connection.set_schema_to_public()
            for slug in (first, second):
                for leftover in Client.objects.filter(slug=slug):
                    client_delete(client=leftover, actor=None, confirm_slug=slug)
            connection.set_schema_to_public()
    assert client.schema_name == f"brand_lock_{tag}_b"
