from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.links import client_base_url
from tenants.services import client_provision


class Command(BaseCommand):
    help = "Create one client brand (schema cloned from the template, host, roles, workflow)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="short name, e.g. acme (becomes acme.<base domain>)")
        parser.add_argument("--name", required=True)
        parser.add_argument("--time-zone", default="Europe/London")
        parser.add_argument("--colour", default="#2F5D62")

    def handle(self, *args, **options):
        try:
            client = client_provision(name=options["name"], slug=options["slug"],
                                      time_zone=options["time_zone"],
                                      brand_colour=options["colour"])
        except ValidationError as error:
            messages = (m for ms in error.message_dict.values() for m in ms)
            raise CommandError("; ".join(messages)) from None
        self.stdout.write(f"{client.name} is ready at {client_base_url(client)}/admin/")
