"""Classify comments the way the brand inbox will: hide, escalate, reply or nothing.

    python manage.py moderation_classify --jsonl < comments.txt     # one JSON object per line
    python manage.py moderation_classify "damn good coffee"         # readable verdicts
    python manage.py moderation_classify --trusted --hide-word "brand x" --jsonl < comments.jsonl

With --jsonl each stdin line is a comment: plain text, or a JSON object with a "text" string
(other keys are ignored). Each answer is {"action", "categories", "reason"}; a line that cannot be
read is reported on stderr with its number, answered with {"error": ...} so lines stay in step,
and the rest go on (the exit status is then 1).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from campaigns.conversations.moderation import ACTIONS, classify, default_rules


class Command(BaseCommand):
    help = "Classify comments for moderation: hide, escalate, reply or none, with the reason."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("text", nargs="*", help="Comments to classify (one per argument).")
        parser.add_argument("--jsonl", action="store_true",
                            help="Read one comment per stdin line (plain text or a JSON object "
                                 "with \"text\"); print one JSON object per line.")
        parser.add_argument("--trusted", action="store_true",
                            help="The author is trusted: never hidden automatically.")
        for action in ACTIONS:
            parser.add_argument(f"--{action}-word", action="append", default=[],
                                dest=f"{action}_words", metavar="WORD",
                                help=f"A brand word that means {action} (repeat for more).")

    def handle(self, *args, **options):
        brand_words = {a: options[f"{a}_words"] for a in ACTIONS if options[f"{a}_words"]}
        settings = {"brand_words": brand_words, "trusted": options["trusted"]}
        if options["jsonl"]:
            if options["text"]:
                raise CommandError("--jsonl reads comments from stdin; give no text arguments "
                                   "with it.")
            # (call_command may pass stdin=, as Django's createsuperuser takes it.)
            if not self._jsonl(options.get("stdin") or sys.stdin, settings):
                sys.exit(1)
            return
        if not options["text"]:
            raise CommandError("Give the comments to classify as arguments, or use --jsonl and "
                               "send them on stdin, one per line.")
        self.stdout.write(f"rules version {default_rules().version}")
        for text in options["text"]:
            verdict = classify(text, **settings)
            self.stdout.write(f"{verdict.action}: {text}\n    {verdict.reason}")

    def _jsonl(self, lines, settings: dict) -> bool:
        ok = True
        for number, line in enumerate(lines, 1):
            text, problem = _comment(line.rstrip("\r\n"))
            if problem:
                ok = False
                message = f"line {number}: {problem}"
                self.stderr.write(message)
                self.stdout.write(json.dumps({"error": message}, ensure_ascii=False))
            else:
                self.stdout.write(json.dumps(classify(text, **settings).as_dict(),
                                             ensure_ascii=False))
            self.stdout.flush()
        return ok


def _comment(line: str) -> tuple[str, str]:
    """The comment on one input line, or what is wrong with the line."""
    if not line.strip():
        return "", "empty line; send one comment per line"
    if not line.lstrip().startswith("{"):
        return line, ""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        return "", (f"not valid JSON ({error.msg} at column {error.colno}); send plain text or "
                    f"a JSON object with a \"text\" string")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return "", "the JSON object has no \"text\" string; send {\"text\": \"the comment\"}"
    return data["text"], ""
