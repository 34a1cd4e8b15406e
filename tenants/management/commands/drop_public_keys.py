"""Take out of every brand the foreign keys to public tables that brands made before
``tenants.clone`` stopped copying them carry (53 a brand, each with two triggers on a public table).
Once per installation; each brand in its own short transaction; safe to run again."""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from tenants.clone import public_foreign_keys_drop
from tenants.rollout import client_schemas


class Command(BaseCommand):
    help = "Drop brands' foreign keys to public tables (made by releases before they did without)."

    def handle(self, *args, **options):
        connection.set_schema_to_public()
        brands = dropped = 0
        for schema in client_schemas():
            with transaction.atomic():
                count = public_foreign_keys_drop(schema)
            brands += bool(count)
            dropped += count
        self.stdout.write(f"Dropped {dropped} foreign keys to public tables in {brands} brands.")
