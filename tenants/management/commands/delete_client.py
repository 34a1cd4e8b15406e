from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Client
from tenants.services import client_delete


class Command(BaseCommand):
    help = "Delete a client for good: schema, media, roles and memberships. Asks for confirmation."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--confirm", metavar="SLUG",
                            help="repeat the short name to confirm without a prompt")

    def handle(self, *args, **options):
        client = Client.objects.brands().filter(slug=options["slug"]).first()
        if client is None:
            raise CommandError(f"No client with the short name “{options['slug']}”.")
        confirm = options["confirm"]
        if confirm is None:
            if not options.get("interactive", True) or not self.stdin_is_tty():
                raise CommandError("Deleting needs confirmation: pass --confirm "
                                   f"{client.slug}.")
            confirm = input(f"This deletes {client.name} and all its content. Type "
                            f"“{client.slug}” to confirm: ")
        try:
            client_delete(client=client, actor=None, confirm_slug=confirm)
        except ValidationError as error:
            raise CommandError(error.message_dict["confirm_slug"][0]) from None
        self.stdout.write(f"{client.name} was deleted.")

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin.isatty()
