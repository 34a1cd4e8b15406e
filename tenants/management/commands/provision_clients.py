"""Provision many clients from a CSV file (slug,name[,time_zone[,colour]]) with a progress bar."""

import csv

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Client
from tenants.progress import ProgressBar
from tenants.services import client_provision


class Command(BaseCommand):
    help = "Provision many clients from a CSV file: slug,name[,time_zone[,colour]]."

    def add_arguments(self, parser):
        parser.add_argument("csv_file")

    def handle(self, *args, **options):
        try:
            with open(options["csv_file"], newline="", encoding="utf-8") as handle:
                rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
        except OSError as error:
            raise CommandError(f"Cannot read {options['csv_file']}: {error.strerror}.") from None
        if rows and rows[0][0].strip().lower() == "slug":
            rows = rows[1:]
        existing = set(Client.objects.values_list("slug", flat=True))
        bar = ProgressBar(len(rows), label="Provisioning", stream=self.stderr._out)
        failures = []
        for number, row in enumerate(rows, start=1):
            slug = row[0].strip()
            if slug in existing:
                bar.advance(note=f"{slug} exists")
                continue
            fields = {"slug": slug, "name": row[1].strip() if len(row) > 1 else slug}
            if len(row) > 2 and row[2].strip():
                fields["time_zone"] = row[2].strip()
            if len(row) > 3 and row[3].strip():
                fields["brand_colour"] = row[3].strip()
            try:
                client_provision(**fields)
            except ValidationError as error:
                failures.append((number, slug, "; ".join(
                    m for ms in error.message_dict.values() for m in ms)))
            bar.advance(note=slug)
        for number, slug, reason in failures:
            self.stderr.write(f"line {number} ({slug}): {reason}")
        created = len(rows) - len(failures)
        self.stdout.write(f"{created} of {len(rows)} clients ready; {len(failures)} failed.")
        if failures:
            raise CommandError("Some clients were not provisioned; fix the lines above and run "
                               "again (existing clients are skipped).")
