from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.links import client_base_url
from tenants.services import SYSTEM
from tenants.transfer import client_import


class Command(BaseCommand):
    help = ("Create a client brand from an archive written by export_client, under its own "
            "short name or --slug. All of it or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--slug", help="a new short name (the schema and host follow it)")

    def handle(self, *args, **options):
        try:
            # Whoever runs the command runs the platform: the archive's roles are restored as
            # they were (SYSTEM is held to no rule of who may grant what).
            client = client_import(path=options["file"], slug=options["slug"], actor=SYSTEM)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{client.name} was imported as “{client.slug}”: "
                          f"{client_base_url(client)}/admin/")
