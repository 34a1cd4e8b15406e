from django.core.management.base import BaseCommand

from agency.demo.data import DEMO_PASSWORD, STAFF, seed_demo
from agency.demo.fakes import load_all
from tenants.links import client_base_url, portal_base_url


class Command(BaseCommand):
    help = "Create the demo: two client brands, staff of every role, a few campaigns."

    def handle(self, *args, **options):
        clients = seed_demo(stdout=self.stdout)
        self.stdout.write("")
        self.stdout.write(f"Portal:  {portal_base_url()}/")
        for client in clients:
            self.stdout.write(f"{client.name + ':':<18} {client_base_url(client)}/admin/")
        self.stdout.write(f"\nDemo sign-ins (password for all: {DEMO_PASSWORD}):")
        for email, _first, _last, roles, agency_admin in STAFF:
            where = ", ".join(f"{role.label} at {slug}" for slug, role in roles.items())
            extra = " (agency admin: creates clients)" if agency_admin else ""
            self.stdout.write(f"  {email:<20} {where}{extra}")
        self.stdout.write("\nSandbox networks (bin/demo runs them): in a brand's Channels, "
                          "“Connect account”.")
        for fake in load_all().values():
            hint = " (Mastodon: give it as your server)" if fake.name == "mastodon" else ""
            self.stdout.write(f"  {fake.name:<20} {fake.url}{hint}")
