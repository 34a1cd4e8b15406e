from django.core.management.base import BaseCommand, CommandError

from tenants.models import Client
from tenants.services import client_archive, client_restore


class Command(BaseCommand):
    help = "Archive a client (closes its host, keeps its data) or, with --restore, reopen it."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--restore", action="store_true")

    def handle(self, *args, **options):
        client = Client.objects.brands().filter(slug=options["slug"]).first()
        if client is None:
            raise CommandError(f"No client with the short name “{options['slug']}”.")
        if options["restore"]:
            client_restore(client=client, actor=None)
            self.stdout.write(f"{client.name} is open again.")
        else:
            client_archive(client=client, actor=None)
            self.stdout.write(f"{client.name} is archived; restore it with --restore.")
