"""``migrate`` for a schema-per-client database: public, then the template, then every client.

Replaces django-tenants' ``migrate`` (this app is listed before it). The template schema is migrated
before any client, so a client provisioned mid-rollout is cloned from an up-to-date template.
Clients are then rolled forward by ``tenants.rollout``: only those whose migration records lag
behind the template's (found with one query), in ``--parallel`` worker processes, each client in
one transaction. Failures are listed at the end and the command exits non-zero; running it again
picks up the clients still behind.
"""

from django.core.management.base import CommandError
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.utils import get_public_schema_name

from agency import schedules
from tenants.progress import ProgressBar
from tenants.provisioning import (
    role_permissions_sync,
    template_migrate,
    template_schema,
    wagtail_groups_remove,
)
from tenants.public import public_tenant_ensure
from tenants.rollout import default_parallel, rollout, unapplied_in
from tenants.spares import spares_fill


class Command(MigrateSchemasCommand):
    help = ("Migrate the public schema, the client template schema, then every client schema "
            "that is behind (in parallel: --parallel N).")

    def handle(self, *args, **options):
        targeted = options.get("schema_name") or options.get("shared") or options.get("tenant")
        special = any(options.get(flag) for flag in (
            "app_label", "fake", "fake_initial", "plan", "prune", "check_unapplied"))
        if targeted or special or options.get("executor"):
            return super().handle(*args, **options)
        verbosity = options.get("verbosity", 1)
        connection.set_schema_to_public()
        if unapplied_in(get_public_schema_name()):
            super().handle(*args, **{**options, "shared": True, "tenant": False})
        elif verbosity:
            self.stdout.write("Public schema: no migrations to apply")
        public_tenant_ensure()
        changed = schedules.sync()
        if verbosity and any(changed.values()):
            self.stdout.write("Periodic jobs: " + "; ".join(
                f"{what} {', '.join(names)}" for what, names in changed.items() if names))
        if verbosity:
            self.stdout.write("Migrating the client template schema")
        template_migrate(verbosity=verbosity)
        self.clients_migrate(options.get("parallel") or default_parallel(), verbosity)
        role_permissions_sync()
        wagtail_groups_remove()  # in case a brand's migrations made them again
        # Spare brand schemas copied from an older template go; new ones are made in their place.
        if spares_fill(make=False)["dropped"]:
            spares_fill()

    def clients_migrate(self, parallel: int, verbosity: int) -> None:
        bar = None

        def on_start(todo: int, total: int) -> None:
            nonlocal bar
            if verbosity:
                self.stdout.write(f"Clients: {total}, behind {template_schema()}: {todo}"
                                  + (f" (migrating with {parallel} workers)" if todo else ""))
                self.stdout.flush()
            if todo and verbosity:
                bar = ProgressBar(todo, label="Migrating clients", stream=self.stderr._out)

        def progress(done: int, todo: int, note: str) -> None:
            if bar is not None:
                bar.advance(note=note)

        result = rollout(parallel=parallel, on_start=on_start, progress=progress)
        if verbosity and result.todo:
            self.stdout.write(f"Migrated {len(result.migrated)} of {result.todo} clients; "
                              f"{len(result.failed)} failed.")
        if result.failed:
            self.stderr.write("These clients were NOT migrated (each left as it was before):")
            for schema, error in sorted(result.failed):
                self.stderr.write(f"  {schema}: {error}")
            raise CommandError(f"{len(result.failed)} client(s) failed to migrate. Fix the cause "
                               "and run `manage.py migrate` again: it resumes with the clients "
                               "still behind.")
