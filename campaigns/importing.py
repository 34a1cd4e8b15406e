"""Posts imported from a CSV file into a new draft campaign: all rows or none.

Every row is checked as the editor and the sensitivity review would check it (its time in the
brand's zone, its channels, its link and image, each network's rules, the linter's error-level
findings with the brand's own words); problems are reported per row and column, in spreadsheet
numbering (the headings are row 1). Only a file without any problem becomes a campaign, through
``campaigns.services.campaign_draft_create``, in one transaction.

The studio layer: it uses both the network rules (campaigns) and the linter (approvals).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from wagtail.images import get_image_model

from approvals.linting import brand_ruleset
from approvals.sensitivity import lint
from campaigns import networks, services, slots
from campaigns.models import Channel, Post
from tenants.models import current_zone

MAX_BYTES = 1024 * 1024
MAX_ROWS = 200  # a 500-post import took ~50 s here: past a web worker's 30 s timeout
# (column, required, what it holds): the format, as the import page and the template show it.
COLUMNS = (
    ("date", True, "The day, as YYYY-MM-DD (2026-10-14)."),
    ("time", True, "The time of day in the brand's time zone, 24-hour HH:MM (09:30)."),
    ("channels", True, "The channels' names as on the Channels screen (or their numbers), "
                       "separated by ; when more than one."),
    ("copy", True, "The text of the post. May be empty if the post has an image."),
    ("link", False, "A web address added after the copy (https://…)."),
    ("first_comment", False, "Posted as the first reply, where the network allows it."),
    ("image", False, "An image already in the brand's image library: its exact title or "
                     "its number."),
    ("alt_text", False, "What the image shows, for people who use screen readers (needed "
                        "with an image)."),
)
REQUIRED = [name for name, required, _ in COLUMNS if required]
KNOWN = [name for name, _, _ in COLUMNS]
ALIASES = {"alt": "alt_text", "alt_text": "alt_text", "first_comment": "first_comment",
           "comment": "first_comment", "channel": "channels", "text": "copy", "url": "link",
           "image_reference": "image"}
SAVE_AS = ("Save it from your spreadsheet as CSV UTF-8 (Excel: File → Save As → “CSV UTF-8”; "
           "Google Sheets: File → Download → Comma-separated values).")


class FileProblem(Exception):
    """The file as a whole cannot be read: the message says why and what to do."""


@dataclass
class RowProblem:
    row: int  # as the spreadsheet numbers it: the headings are row 1
    column: str  # a column's name, or "" for the row as a whole
    message: str


@dataclass
class ImportResult:
    campaign: object | None = None
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0

    @property
    def broken_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row})


def _column_name(heading: str) -> str:
    name = re.sub(r"[\s\-/]+", "_", heading.strip().lower()).strip("_")
    return ALIASES.get(name, name)


def read_rows(data: bytes, name: str = "") -> list[tuple[int, dict[str, str]]]:
    """(row number, {column: value}) for each non-empty row of the CSV ``data``. Raises
    FileProblem when the file is not a readable CSV file with the required columns."""
    if name and not name.lower().endswith((".csv", ".txt")):
        raise FileProblem(f"“{name}” is not a CSV file. {SAVE_AS}")
    if len(data) > MAX_BYTES:
        raise FileProblem(f"The file is {len(data) / 1048576:.1f} MB; the limit is "
                          f"{MAX_BYTES // 1048576} MB ({MAX_ROWS} posts). Split it into several "
                          "files.")
    if not data.strip():
        raise FileProblem("The file is empty. Download the template, fill in one post a row and "
                          "upload it.")
    if b"\x00" in data[:4096] or data[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
        raise FileProblem(f"This is not a CSV file (it looks like a spreadsheet or another "
                          f"binary file). {SAVE_AS}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FileProblem(f"The file is not UTF-8 text (first unreadable character on line "
                          f"{line}). {SAVE_AS}") from None
    first_line = text.splitlines()[0] if text.splitlines() else ""
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headings = next(reader)
    except (StopIteration, csv.Error):
        raise FileProblem("The file has no headings row. Start from the template.") from None
    columns = [_column_name(h) for h in headings]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise FileProblem(
            f"The file has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}. "
            f"The first row must name the columns: {', '.join(REQUIRED)} (required) and "
            f"{', '.join(c for c in KNOWN if c not in REQUIRED)} (optional). Start from the "
            "template.")
    unknown = [h for h, c in zip(headings, columns, strict=True) if c not in KNOWN and h.strip()]
    if unknown:
        raise FileProblem(f"Unknown column{'s' if len(unknown) > 1 else ''}: "
                          f"{', '.join(unknown)}. Use only {', '.join(KNOWN)}, or remove the "
                          "column so nothing in it is lost unnoticed.")
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise FileProblem(f"The column {repeated[0]} appears twice: keep one.")
    rows = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if any(cell.strip() for cell in cells[len(columns):]):
                rows.append((number, {"__extra__": "1"}))
                continue
            rows.append((number, {c: (cells[i] if i < len(cells) else "")
                                  for i, c in enumerate(columns) if c}))
            if len(rows) > MAX_ROWS:
                raise FileProblem(f"The file has more than {MAX_ROWS} posts; a campaign takes "
                                  f"at most {MAX_ROWS}. Split it into several files.")
    except csv.Error as exc:
        raise FileProblem(f"The file is not valid CSV near row {reader.line_num}: {exc}. "
                          f"{SAVE_AS}") from None
    if not rows:
        raise FileProblem("The file has headings but no posts. Add one post a row under them.")
    return rows


def _when(row: dict, zone, now) -> tuple[dt.datetime | None, list[tuple[str, str]]]:
    date_text, time_text = row.get("date", "").strip(), row.get("time", "").strip()
    problems = []
    try:
        day = dt.date.fromisoformat(date_text)
    except ValueError:
        day = None
        problems.append(("date", f"“{date_text}” is not a date: write it as YYYY-MM-DD, e.g. "
                                 "2026-10-14." if date_text else
                                 "No date: write it as YYYY-MM-DD, e.g. 2026-10-14."))
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::00)?", time_text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        problems.append(("time", f"“{time_text}” is not a time: write it as HH:MM on the 24-hour "
                                 "clock, e.g. 09:30 or 17:45." if time_text else
                                 "No time: write it as HH:MM, e.g. 09:30."))
        return None, problems
    if day is None:
        return None, problems
    naive = dt.datetime.combine(day, dt.time(int(match[1]), int(match[2])))
    if not slots.exists(naive, zone):
        return None, [("time", f"{naive:%H:%M} on {day:%-d %B} does not exist or happens twice "
                               f"in {zone.key} (the clocks change): pick another time.")]
    moment = naive.replace(tzinfo=zone)
    if moment <= now:
        return None, [("date", f"{moment:%-d %B %Y, %H:%M} has passed: give a time in the "
                               "future.")]
    return moment, problems


def _channels(text: str, by_name: dict, by_id: dict) -> tuple[list[Channel], list[str]]:
    chosen, problems = [], []
    names = [part.strip() for part in re.split(r"[;,|]", text) if part.strip()]
    if not names:
        return [], ["No channel: name at least one of the brand's channels."]
    for name in names:
        channel = by_name.get(name.casefold()) or (by_id.get(int(name)) if name.isdigit()
                                                   else None)
        if channel is None:
            offered = ", ".join(sorted(c.name for c in by_id.values() if c.active))
            problems.append(f"“{name}” is not one of this brand's channels. Use the name as on "
                            f"the Channels screen: {offered or 'add a channel first'}.")
        elif not channel.active:
            problems.append(f"{channel.name} is switched off: switch it on, or choose another "
                            "channel.")
        elif channel not in chosen:
            chosen.append(channel)
    return chosen, problems


def _image(text: str, images_by_title: dict, images_by_id: dict):
    text = text.strip()
    if not text:
        return None, None
    if text.isdigit() and int(text) in images_by_id:  # a number: the image's id
        return images_by_id[int(text)], None
    found = images_by_title.get(text.lower(), [])
    if len(found) == 1:
        return found[0], None
    if len(found) > 1:
        return None, (f"{len(found)} images are called “{text}”: give the number of the one you "
                      f"mean ({', '.join(str(i.pk) for i in found)}).")
    return None, (f"No image “{text}” in the brand's image library: upload it there first "
                  "(Images → Add an image), then use its title or number.")


def check_rows(rows: list[tuple[int, dict[str, str]]]) -> tuple[list[dict], list[RowProblem]]:
    """The posts of ``rows`` in the API's form (``campaign_draft_create``'s ``posts``), and every
    problem found in them."""
    zone, now = current_zone(), timezone.now()
    channels = list(Channel.objects.all())
    by_id = {c.pk: c for c in channels}
    by_name = {c.name.casefold(): c for c in channels}
    wanted = {r.get("image", "").strip() for _, r in rows} - {""}
    images_by_id, images_by_title = {}, {}
    if wanted:
        numbers = {int(w) for w in wanted if w.isdigit()}
        for image in (get_image_model().objects.annotate(lowered=Lower("title"))
                      .filter(Q(pk__in=numbers) | Q(lowered__in={w.lower() for w in wanted}))
                      .only("id", "title")):
            images_by_id[image.pk] = image
            images_by_title.setdefault(image.title.lower(), []).append(image)
    rules = brand_ruleset()
    url_ok = URLValidator(schemes=["http", "https"])
    posts, problems = [], []
    for number, row in rows:
        found: list[tuple[str, str]] = []
        if "__extra__" in row:
            problems.append(RowProblem(number, "", "This row has more cells than there are "
                                                   "columns: a comma inside a text needs the "
                                                   "text in double quotes."))
            continue
        when, time_problems = _when(row, zone, now)
        found += time_problems
        chosen, channel_problems = _channels(row.get("channels", ""), by_name, by_id)
        found += [("channels", p) for p in channel_problems]
        link = row.get("link", "").strip()
        if link:
            try:
                url_ok(link)
            except ValidationError:
                found.append(("link", f"“{link[:80]}” is not a web address: write it in full, "
                                      "e.g. https://example.com/page."))
            if len(link) > Post._meta.get_field("link").max_length:
                found.append(("link", f"The link is {len(link)} characters; the limit is "
                                      f"{Post._meta.get_field('link').max_length}. Use a shorter "
                                      "address."))
        image, image_problem = _image(row.get("image", ""), images_by_title, images_by_id)
        if image_problem:
            found.append(("image", image_problem))
        alt = row.get("alt_text", "").strip()
        if alt and not row.get("image", "").strip():
            found.append(("alt_text", "Alt text without an image: name the image in the image "
                                      "column, or leave the alt text empty."))
        copy = row.get("copy", "")
        draft = networks.PostDraft(copy=copy, link=link, images=[alt] if image else [])
        for channel in chosen:
            for problem in channel.rules.problems(draft, channel):
                column = "alt_text" if ("alt text" in problem) else \
                    "image" if "image" in problem.lower() else "copy"
                found.append((column, f"On {channel.name}: {problem}"))
        for column, text in (("copy", copy), ("alt_text", alt if image else "")):
            for finding in lint(text, field=column, rules=rules):
                if finding.severity != "error":
                    continue
                tip = (f" Try: {', '.join(finding.suggestions[:3])}."
                       if finding.suggestions else "")
                word = finding.match or text[finding.start:finding.end]
                said = finding.message if word in finding.message else \
                    f"“{word}”: {finding.message}"
                found.append((column, f"Sensitivity check: {said}{tip}"))
        problems += [RowProblem(number, column, message) for column, message in found]
        posts.append({
            "copy": copy, "link": link, "first_comment": row.get("first_comment", "").strip(),
            "publish_at": when, "channels": [c.pk for c in chosen],
            "media": [{"image": image.pk, "alt_text": alt}] if image else [],
        })
    return posts, problems


def import_campaign(*, title: str, data: bytes, name: str, user) -> ImportResult:
    """A new draft campaign called ``title`` with one post per row of the CSV ``data``, or, if
    anything is wrong, nothing at all and every problem found. Raises FileProblem for a file
    that cannot be read as the format says."""
    rows = read_rows(data, name)
    result = ImportResult(rows=len(rows))
    title = title.strip()
    if not title:
        result.problems.append(RowProblem(0, "title", "Give the new campaign a title."))
    posts, problems = check_rows(rows)
    result.problems += problems
    if result.problems:
        return result
    try:
        with transaction.atomic():
            result.campaign = services.campaign_draft_create(
                data={"title": title, "posts": posts}, user=user)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            match = re.match(r"posts\[(\d+)\]\.?(\w*)", key)
            row = rows[int(match[1])][0] if match else 0
            column = (match[2] if match else key).replace("non_field_errors", "")
            result.problems += [RowProblem(row, column, m) for m in messages]
    return result


def template_csv(channel_names: list[str]) -> str:
    """The downloadable template: the headings and two example posts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(KNOWN)
    names = channel_names or ["Your channel's name"]
    soon = (timezone.now() + dt.timedelta(days=7)).astimezone(current_zone()).date()
    writer.writerow([soon.isoformat(), "09:00", names[0],
                     "Our autumn blend is back, roasted in small batches.",
                     "https://example.com/autumn", "", "", ""])
    writer.writerow([(soon + dt.timedelta(days=1)).isoformat(), "17:30", "; ".join(names[:2]),
                     "Behind the counter: meet the team that roasts your coffee.", "",
                     "Which blend should we bring back next?", "", ""])
    return out.getvalue()
