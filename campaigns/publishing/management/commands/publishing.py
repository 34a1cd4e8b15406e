"""Operate the publishing engine: queue, pause/resume, drain, replay, crisis holds.

    manage.py publishing queue [--brand acme]
    manage.py publishing pause --brand acme [--channel 3] [--reason "..."]
    manage.py publishing resume [--brand acme] [--channel 3]      (no brand: undo a drain)
    manage.py publishing drain [--timeout 120]
    manage.py publishing replay [--brand acme] [--state failed|unconfirmed] [--since DATE|--all]
    manage.py publishing hold --reason "..." (--tag T | --word W | --everything) [--brand acme]
    manage.py publishing holds
    manage.py publishing release HOLD_ID [--delivery ID ...]
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.publishing import operations
from campaigns.publishing.models import CrisisHold, State
from tenants.models import Client


class Command(BaseCommand):
    help = "See and steer the publishing queue across brands."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        queue = sub.add_parser("queue", help="Counts per brand and state, next due time.")
        queue.add_argument("--brand")
        for name in ("pause", "resume"):
            p = sub.add_parser(name, help=f"{name.title()} a brand or one of its channels.")
            p.add_argument("--brand")
            p.add_argument("--channel", type=int)
            if name == "pause":
                p.add_argument("--reason", default="")
        drain = sub.add_parser("drain", help="Pause everything and wait until nothing is sent.")
        drain.add_argument("--timeout", type=float, default=120.0)
        replay = sub.add_parser("replay", help="Send failed posts again (or re-check "
                                               "unconfirmed ones).")
        replay.add_argument("--brand")
        replay.add_argument("--state", default=State.FAILED,
                            choices=[State.FAILED, State.UNCONFIRMED])
        replay.add_argument("--since", help="Only posts due on or after this date (YYYY-MM-DD); "
                                            "default: the last 24 hours.")
        replay.add_argument("--all", action="store_true", help="Every such post, however old.")
        hold = sub.add_parser("hold", help="Crisis hold: stop matching scheduled posts.")
        hold.add_argument("--reason", required=True)
        what = hold.add_mutually_exclusive_group(required=True)
        what.add_argument("--tag")
        what.add_argument("--word")
        what.add_argument("--everything", action="store_true")
        hold.add_argument("--brand")
        sub.add_parser("holds", help="List crisis holds and what they hold.")
        release = sub.add_parser("release", help="Release a hold (all) or some of its posts.")
        release.add_argument("hold_id", type=int)
        release.add_argument("--delivery", type=int, action="append")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action}")(**options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

    def _brand(self, slug):
        if not slug:
            return None
        client = Client.objects.brands().filter(slug=slug).first()
        if client is None:
            raise CommandError(f"No brand “{slug}”. `manage.py publishing queue` lists them.")
        return client

    def do_queue(self, brand=None, **_):
        rows = operations.queue_summary(self._brand(brand))
        columns = ["scheduled", "held", "claimed", "unconfirmed", "failed", "published",
                   "cancelled"]
        self.stdout.write(f"{'brand':<24}" + "".join(f"{c:>12}" for c in columns)
                          + "  next due")
        for row in rows:
            due = row["next_due"].isoformat(timespec="seconds") if row["next_due"] else "-"
            self.stdout.write(f"{row['brand']:<24}" + "".join(f"{row[c]:>12}" for c in columns)
                              + f"  {due}")
        if not rows:
            self.stdout.write("The queue is empty.")

    def do_pause(self, brand=None, channel=None, reason="", **_):
        if not brand:
            raise CommandError("Name the brand (--brand); `drain` pauses everything.")
        operations.pause(client=self._brand(brand), channel_id=channel, reason=reason)
        self.stdout.write(f"Paused {brand}" + (f" channel {channel}" if channel else "") + ".")

    def do_resume(self, brand=None, channel=None, **_):
        count = operations.resume(client=self._brand(brand), channel_id=channel)
        self.stdout.write("Resumed." if count else "Nothing was paused there.")

    def do_drain(self, timeout=120.0, **_):
        left = operations.drain(timeout=timeout)
        if left:
            raise CommandError(f"Paused, but {left} posts are still being sent after "
                               f"{timeout:g} s.")
        self.stdout.write("Drained: everything is paused and nothing is being sent. "
                          "`manage.py publishing resume` starts again.")

    def do_replay(self, brand=None, state=State.FAILED, since=None, all=False, **_):  # noqa: A002
        when = None if all else timezone.now() - dt.timedelta(hours=24)
        if since:
            try:
                when = dt.datetime.combine(dt.date.fromisoformat(since), dt.time(),
                                           tzinfo=dt.UTC)
            except ValueError as exc:
                raise CommandError("--since takes a date such as 2026-12-01.") from exc
        count = operations.replay(client=self._brand(brand), state=state, since=when)
        self.stdout.write(f"Replayed {count} {state} posts.")

    def do_hold(self, reason, tag=None, word=None, everything=False, brand=None, **_):
        hold, count = operations.hold_create(reason=reason, tag=tag or "", word=word or "",
                                             everything=everything, client=self._brand(brand))
        self.stdout.write(f"Hold {hold.pk} ({hold.describe()}): {count} posts held.")

    def do_holds(self, **_):
        for hold in CrisisHold.objects.select_related("client"):
            state = (f"released {hold.released_at:%Y-%m-%d %H:%M}" if hold.released_at
                     else "active")
            count = hold.deliveries.filter(state=State.SCHEDULED).count()
            self.stdout.write(f"{hold.pk:>5}  {state:<24} {count:>5} held  {hold.describe()}: "
                              f"{hold.reason}")

    def do_release(self, hold_id, delivery=None, **_):
        hold = CrisisHold.objects.filter(pk=hold_id).first()
        if hold is None:
            raise CommandError(f"No hold {hold_id}. `manage.py publishing holds` lists them.")
        count = operations.hold_release(hold, delivery_ids=delivery)
        self.stdout.write(f"Released {count} posts at {timezone.now():%H:%M:%S}.")
