from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Client
from tenants.transfer import TransferError, client_export


class Command(BaseCommand):
    help = ("Export one client brand (schema, public rows, media) to a .tar.gz that "
            "import_client reads on this or another installation.")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file", help="the archive to write, e.g. acme.tar.gz")

    def handle(self, *args, **options):
        client = Client.objects.brands().filter(slug=options["slug"]).first()
        if client is None:
            raise CommandError(f"No client with the short name “{options['slug']}”.")
        path = Path(options["file"])
        if not path.name.endswith((".tar.gz", ".tgz")):
            raise CommandError("Name the archive with .tar.gz at the end.")
        if path.exists():
            raise CommandError(f"{path} exists already; choose another file name.")
        try:
            client_export(client=client, path=path)
        except TransferError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{client.name} was exported to {path} "
                          f"({path.stat().st_size // 1024} KiB).")
