"""Time zones as people pick them: by region and city, canonical IANA names only.

The tz database's ``zone.tab`` names the zones in use, one per region of each country
("Europe/London", "America/Argentina/Buenos_Aires"). ``zoneinfo.available_timezones()`` adds some
250 old aliases ("GB", "US/Eastern", "Europe/Belfast", "Etc/GMT+5") that no one should pick for a
new brand. A brand that already has an alias keeps it: forms offer its current value too.
"""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo
from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError

UTC = "UTC"
EXAMPLE = "Europe/London"


def _tz_files(name: str) -> list[str]:
    """The text of ``name`` (zone.tab, tzdata.zi) wherever zoneinfo finds zones: the system's
    folders first, then the ``tzdata`` package, as ``zoneinfo.ZoneInfo`` looks them up."""
    texts = []
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / name
        if path.is_file():
            texts.append(path.read_text(encoding="utf-8"))
    try:
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(name)
        if resource.is_file():
            texts.append(resource.read_text(encoding="utf-8"))
    except ModuleNotFoundError:
        pass
    return texts


@functools.cache
def zone_names() -> frozenset[str]:
    """Every zone offered: those of zone.tab this machine can load, and UTC."""
    available = zoneinfo.available_timezones()
    names = {UTC}
    for text in _tz_files("zone.tab")[:1]:  # the first found, as zoneinfo would use
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name = line.split("\t")[2].strip()
                if name in available:
                    names.add(name)
    return frozenset(names)


@functools.cache
def _aliases() -> dict[str, str]:
    """Old name -> the zone it stands for (the database's links, "L target alias")."""
    links: dict[str, str] = {}
    for text in reversed(_tz_files("tzdata.zi")):  # the system's win over the package's
        for line in text.splitlines():
            if line.startswith("L "):
                _, target, alias = line.split()[:3]
                links[alias] = target
    return links


def canonical_of(name: str) -> str | None:
    """The offered zone an old name stands for (follows chains of links), or None."""
    seen = set()
    while name not in zone_names() and name in _aliases() and name not in seen:
        seen.add(name)
        name = _aliases()[name]
    return name if name in zone_names() else None


# The database's region names, as people say them.
REGIONS = {"America": "Americas", "Atlantic": "Atlantic Ocean", "Indian": "Indian Ocean",
           "Pacific": "Pacific Ocean"}


def zone_label(name: str) -> tuple[str, str]:
    """(region, city) as a person reads them: ("Americas", "Argentina – Buenos Aires")."""
    if "/" not in name:
        return ("Other", name)
    region, _, rest = name.partition("/")
    return (REGIONS.get(region, region), rest.replace("_", " ").replace("/", " – "))


def zone_display(name: str) -> str:
    """"Europe > London"; a name outside the list as it is."""
    if name not in zone_names() or "/" not in name:
        return name
    return " > ".join(zone_label(name))


def zone_choices(current: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a select: each region with its cities, sorted, then "Other" (UTC, and
    ``current`` when it is an older name the brand already has)."""
    regions: dict[str, list[tuple[str, str]]] = {}
    for name in zone_names():
        region, city = zone_label(name)
        regions.setdefault(region, []).append((name, city))
    other = regions.pop("Other", [])
    if current and current not in zone_names():
        other.append((current, f"{current} (current setting)"))
    groups = [(region, sorted(cities, key=lambda choice: choice[1]))
              for region, cities in sorted(regions.items())]
    return groups + [("Other", sorted(other, key=lambda choice: choice[1]))]


def validate_zone_choice(value: str, current: str = "") -> None:
    """Refuse anything but an offered zone (or the brand's ``current`` value), saying which
    zone to choose instead."""
    if value in zone_names() or (current and value == current):
        return
    canonical = canonical_of(value)
    if canonical:
        raise ValidationError(
            f"“{value}” is an old name for {canonical}. Choose {canonical} instead.",
            code="alias")
    if value in zoneinfo.available_timezones():
        raise ValidationError(
            f"“{value}” is not one of the time zones offered (only regions and their cities "
            f"are). Choose the city nearest the brand, such as {EXAMPLE}.", code="not_offered")
    raise ValidationError(
        f"“{value}” is not a time zone we know. Choose a region and city, such as "
        f"{EXAMPLE}.", code="invalid_choice")


class TimeZoneField(forms.ChoiceField):
    """A select of regions and cities; ``current`` (an edited brand's zone) stays valid."""

    def __init__(self, *, current: str = "", **kwargs):
        kwargs.setdefault("initial", "Europe/London")
        kwargs.setdefault("label", "Time zone")
        super().__init__(choices=zone_choices(current), **kwargs)
        self.current = current

    def set_current(self, current: str) -> None:
        self.current = current
        self.choices = zone_choices(current)

    def validate(self, value):
        if value in self.empty_values:
            super().validate(value)  # "required"
            return
        validate_zone_choice(value, self.current)
