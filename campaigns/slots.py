"""A channel's posting slots ("Mon-Fri 09:00, 17:30") and the next free one.

A channel keeps its slots as text, one rule a line, in the brand's time zone::

    Mon-Fri 09:00, 17:30
    Sat, Sun 11:00

``parse`` reads that text (or says, per line, what is wrong and how to write it) and
``next_free`` finds the first slot after a moment that no other post takes. Which posts take a
time is the caller's to say (``campaigns.selectors.next_free_slot`` reads them across campaigns).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {name: number for number, name in enumerate(DAYS)}
DAY_NAMES.update({"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
                  "saturday": 5, "sunday": 6, "tues": 1, "thur": 3, "thurs": 3})
EVERY_DAY = ("daily", "every day", "mon-sun")
HOW = "Write one rule a line, days then times, e.g. “Mon-Fri 09:00, 17:30” or “Sat 11:00”."
TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
LINE_RE = re.compile(r"^(?P<days>.*?)\s*(?P<times>\d{1,2}:\d{2}(?:\s*[,;]?\s*\d{1,2}:\d{2})*)$")
HORIZON_DAYS = 92


@dataclass(frozen=True)
class Slot:
    weekday: int  # Monday 0 ... Sunday 6
    time: dt.time


def _days(text: str, number: int, line: str) -> set[int]:
    text = text.strip().lower().rstrip(":")
    if text in EVERY_DAY:
        return set(range(7))
    found: set[int] = set()
    for part in re.split(r"\s*,\s*|\s+and\s+|\s+", text):
        if not part:
            continue
        ends = [end.strip() for end in re.split(r"\s*[-–]\s*", part)]
        unknown = [end for end in ends if end not in DAY_NAMES]
        if unknown or len(ends) > 2:
            name = unknown[0] if unknown else part
            raise ValidationError(f"Line {number} (“{line}”): “{name}” is not a day. Write Mon, "
                                  f"Tue, Wed, Thu, Fri, Sat or Sun, or a range like Mon-Fri.")
        first, last = DAY_NAMES[ends[0]], DAY_NAMES[ends[-1]]
        day = first
        found.add(day)
        while day != last:  # a range may wrap round the week: Fri-Mon
            day = (day + 1) % 7
            found.add(day)
    return found


def parse(text: str) -> list[Slot]:
    """The slots ``text`` describes, sorted by weekday and time. Raises ValidationError naming
    the line at fault and how to write it."""
    slots: set[Slot] = set()
    lines = [line.strip() for line in re.split(r"[\n;]", text or "")]
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        match = LINE_RE.match(line)
        if match is None:
            raise ValidationError(f"Line {number} (“{line}”) has no time. {HOW}")
        if not match["days"].strip():
            raise ValidationError(f"Line {number} (“{line}”) has no days. {HOW}")
        days = _days(match["days"], number, line)
        for hours, minutes in TIME_RE.findall(match["times"]):
            if int(hours) > 23 or int(minutes) > 59:
                raise ValidationError(f"Line {number} (“{line}”): {hours}:{minutes} is not a "
                                      "time of day. Use 24-hour times from 00:00 to 23:59.")
            slots.update(Slot(day, dt.time(int(hours), int(minutes))) for day in days)
    return sorted(slots, key=lambda s: (s.weekday, s.time))


def describe(slots: Iterable[Slot]) -> str:
    """``slots`` in the form ``parse`` reads, one line per set of days with the same times."""
    by_day: dict[int, list[dt.time]] = {}
    for slot in slots:
        by_day.setdefault(slot.weekday, []).append(slot.time)
    lines: list[tuple[list[int], list[dt.time]]] = []
    for day in sorted(by_day):
        times = sorted(by_day[day])
        if lines and lines[-1][1] == times and lines[-1][0][-1] == day - 1:
            lines[-1][0].append(day)
        else:
            lines.append(([day], times))
    out = []
    for days, times in lines:
        name = DAYS[days[0]].title() if len(days) == 1 else \
            f"{DAYS[days[0]].title()}-{DAYS[days[-1]].title()}"
        out.append(f"{name} {', '.join(f'{t:%H:%M}' for t in times)}")
    return "\n".join(out)


def exists(naive: dt.datetime, zone: ZoneInfo) -> bool:
    """Whether ``naive`` happens exactly once in ``zone`` (not skipped or repeated at a
    daylight-saving change)."""
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    return first.utcoffset() == second.utcoffset()


def minute(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC to the minute: how two posts' times are compared."""
    return moment.astimezone(dt.UTC).replace(second=0, microsecond=0)


def next_free(slot_sets: list[list[Slot]], *, after: dt.datetime, zone: ZoneInfo,
              taken: set[dt.datetime], horizon_days: int = HORIZON_DAYS) -> dt.datetime | None:
    """The first time after ``after`` that is a slot of every list in ``slot_sets`` (one list per
    channel with slots) and not in ``taken`` (times, as ``minute`` gives them, when another post
    already goes to one of the channels). None if there is none within ``horizon_days``."""
    if not slot_sets or not all(slot_sets):
        return None
    start = after.astimezone(zone).date()
    for offset in range(horizon_days + 1):
        day = start + dt.timedelta(days=offset)
        times = None
        for slots in slot_sets:
            mine = {s.time for s in slots if s.weekday == day.weekday()}
            times = mine if times is None else times & mine
        for time in sorted(times or ()):
            naive = dt.datetime.combine(day, time)
            if not exists(naive, zone):
                continue
            moment = naive.replace(tzinfo=zone)
            if moment > after and minute(moment) not in taken:
                return moment
    return None
