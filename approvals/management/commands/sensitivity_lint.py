"""Run the sensitivity linter from the command line.

    python manage.py sensitivity_lint --jsonl < posts.txt         # one JSON array per line
    python manage.py sensitivity_lint "Our insanely good roast"    # readable findings
    python manage.py sensitivity_lint --field alt_text --jsonl < alts.txt
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from approvals.sensitivity import default_rules, lint
from approvals.sensitivity.engine import FIELDS


class Command(BaseCommand):
    help = "Check text for what a sensitivity reviewer would raise (copy or alt text)."

    def add_arguments(self, parser):
        parser.add_argument("text", nargs="*", help="Text to check (else read from stdin).")
        parser.add_argument("--jsonl", action="store_true",
                            help="Read one text per line on stdin; print one JSON array of "
                                 "findings per line (start/end are character offsets).")
        parser.add_argument("--field", choices=FIELDS, default="copy",
                            help="What the text is: a post's copy (default) or an image's alt "
                                 "text (adds the alt-text checks).")

    def handle(self, *args, **options):
        if options["jsonl"]:
            if options["text"]:
                raise CommandError("--jsonl reads stdin; give no text arguments with it.")
            self._jsonl(options["field"])
            return
        texts = [" ".join(options["text"])] if options["text"] else sys.stdin.read().splitlines()
        self.stdout.write(f"rules version {default_rules().version}")
        for text in texts:
            findings = lint(text, field=options["field"])
            if not findings:
                self.stdout.write(self.style.SUCCESS(f"ok: {text}"))
            for f in findings:
                self.stdout.write(f"{f.severity}: {f.start}-{f.end} {f.rule} [{f.category}] "
                                  f"{f.message} Try: {', '.join(f.suggestions) or '-'}")

    def _jsonl(self, field_name: str) -> None:
        out = self.stdout
        for line in sys.stdin:
            text = line.rstrip("\n").rstrip("\r")
            findings = [f.as_dict() for f in lint(text, field=field_name)]
            out.write(json.dumps(findings, ensure_ascii=False))
            out.flush()
