"""``migrate`` for a schema-per-client database: public, then the template, then every client.

Replaces django-tenants' ``migrate`` (this app is listed before it). The template schema is migrated
before any client, so a client provisioned mid-rollout is cloned from an up-to-date template.
"""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from tenants.provisioning import role_permissions_sync, template_migrate
from tenants.public import public_tenant_ensure


class Command(MigrateSchemasCommand):
    help = "Migrate the public schema, the client template schema, then every client schema."

    def handle(self, *args, **options):
        targeted = options.get("schema_name") or options.get("shared") or options.get("tenant")
        if targeted or options.get("app_label"):
            return super().handle(*args, **options)
        verbosity = options.get("verbosity", 1)
        super().handle(*args, **{**options, "shared": True, "tenant": False})
        public_tenant_ensure()
        if verbosity:
            self.stdout.write("Migrating the client template schema")
        template_migrate(verbosity=verbosity)
        super().handle(*args, **{**options, "shared": False, "tenant": True})
        role_permissions_sync()
