"""Every periodic job of the platform, kept in django-q2 by the code.

The jobs are declared once, in ``settings.PERIODIC_JOBS`` (name -> the function's dotted path
and how often). ``sync()`` makes django-q2's schedules equal to that list: it creates or updates
each declared job and removes repeating schedules of the project's own functions that are no
longer declared. ``manage.py migrate`` calls it after migrating the public schema, so a release
that adds, changes or drops a job needs no data migration.

One-off schedules (a webhook's follow-up attempt, made by the code that needs it) are not
periodic jobs and are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_q.models import Schedule

# Repeating schedules of functions in these packages belong to the platform: sync() owns them.
OWN_PACKAGES = ("agency.", "tenants.", "campaigns.", "approvals.")
EVERY = {"minutes": Schedule.MINUTES, "hourly": Schedule.HOURLY, "daily": Schedule.DAILY,
         "weekly": Schedule.WEEKLY}


@dataclass(frozen=True)
class Job:
    name: str
    func: str
    every: str  # "minutes" (with ``minutes``), "hourly", "daily" or "weekly"
    minutes: int | None = None

    @classmethod
    def from_setting(cls, name: str, spec: dict) -> Job:
        every = spec.get("every", "")
        if every not in EVERY:
            raise ValueError(f"PERIODIC_JOBS[{name!r}]: 'every' must be one of "
                             f"{', '.join(EVERY)}, not {every!r}.")
        minutes = spec.get("minutes")
        if (every == "minutes") != bool(minutes):
            raise ValueError(f"PERIODIC_JOBS[{name!r}]: give 'minutes' with every='minutes', "
                             "and only then.")
        if not str(spec.get("func", "")).startswith(OWN_PACKAGES):
            raise ValueError(f"PERIODIC_JOBS[{name!r}]: 'func' must be a dotted path in one of "
                             f"{', '.join(p.rstrip('.') for p in OWN_PACKAGES)}.")
        return cls(name=name, func=spec["func"], every=every, minutes=minutes)


def declared() -> list[Job]:
    return [Job.from_setting(name, spec) for name, spec in settings.PERIODIC_JOBS.items()]


@transaction.atomic
def sync() -> dict[str, list[str]]:
    """Make django-q2's repeating schedules match ``settings.PERIODIC_JOBS`` (public schema).
    Returns the names created, updated and removed."""
    jobs = declared()
    changes: dict[str, list[str]] = {"created": [], "updated": [], "removed": []}
    for job in jobs:
        wanted = {"func": job.func, "schedule_type": EVERY[job.every], "minutes": job.minutes,
                  "repeats": -1, "args": None, "kwargs": None}
        schedule = Schedule.objects.select_for_update().filter(name=job.name).first()
        if schedule is None:
            Schedule.objects.create(name=job.name, **wanted)
            changes["created"].append(job.name)
        elif any(getattr(schedule, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(schedule, field, value)
            schedule.save()
            changes["updated"].append(job.name)
    stale = (Schedule.objects.exclude(schedule_type=Schedule.ONCE)
             .exclude(name__in=[job.name for job in jobs]))
    for schedule in stale:
        if schedule.func.startswith(OWN_PACKAGES):
            changes["removed"].append(schedule.name or schedule.func)
            schedule.delete()
    return changes
