"""Status and stop of the embedded PostgreSQL (used when DATABASE_URL is unset)."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agency.database import embedded_server, embedded_stop


class Command(BaseCommand):
    help = "Show or stop the embedded PostgreSQL server under the data folder."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args, **options):
        if os.environ.get("DATABASE_URL"):
            raise CommandError("DATABASE_URL is set: this installation does not use the "
                               "embedded server.")

        pgdata = settings.DATA_DIR / "pgdata"
        server = embedded_server(pgdata)
        if options["action"] == "status":
            self.stdout.write(f"running: pid {server.get_pid()}, data in {pgdata}, "
                              f"socket {server.get_postmaster_info().socket_dir}")
            return
        from django.db import connections

        connections.close_all()
        embedded_stop(pgdata)
        self.stdout.write("stopped")
