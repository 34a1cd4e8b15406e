"""Structured logs that name the client (schema) each line was written for, with the secret
paths (review links, calendar feeds) and a connected account's authorization code redacted
from every line."""

import json
import logging
import re
from urllib.parse import quote, unquote

from django.db import connection

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "tenant", "host"}

# Secret tokens travel in three public paths: /review/<token>/..., /report/<token>/... (a shared
# client report) and /calendar/<token>.ics. A path starts a word, follows a scheme and host, or
# a query's "=" (next=/review/...), so the studio's own /admin/calendar/,
# /admin/results/report/... and /admin/sensitivity/review/<id>/ are left as they are.
_SECRET_PATH = re.compile(
    r"(?P<before>^|://[^/?#\s]*|[^\w.~!$()*+,;@%-])"
    r"(?P<path>/+(?:review|calendar|report)/+)"
    r"(?P<secret>[^/?#&\s]+?)(?P<ics>\.ics)?(?=[/?#&\s]|$)",
    re.IGNORECASE)
_WORD = re.compile(r"[^\s\"'<>]+")
# A connected account's callback carries the network's authorization code (and our state) in
# its query: /admin/channels/connect/callback/?code=...&state=...
_CALLBACK_SECRET = re.compile(r"(?P<name>[?&](?:code|state)=)[^&#\s]+", re.IGNORECASE)
# What stays readable when a redacted word is written back (the rest is percent-encoded, so a
# decoded newline cannot forge a log line).
_URL_SAFE = "/:?#[]@!$&()*+,;=-._~"


def _redact_word(match: re.Match) -> str:
    word = decoded = match.group()
    # The server writes the path as sent: /review%2F<token>, /r%65view/<token>, %252F ...
    for _ in range(3):
        step = unquote(decoded)
        if step == decoded:
            break
        decoded = step
    callback = "/connect/callback" in decoded.lower()
    if not _SECRET_PATH.search(decoded) and not callback:
        return word
    if callback:
        decoded = _CALLBACK_SECRET.sub(r"\g<name>[redacted]", decoded)
    return quote(_SECRET_PATH.sub(r"\g<before>\g<path>[redacted]\g<ics>", decoded),
                 safe=_URL_SAFE)


def redact_secret_paths(text: str) -> str:
    """``text`` with the token of every review-link, shared-report and calendar-feed path in it
    replaced by ``[redacted]``, in whichever form the path was written (with or without a
    trailing slash, percent-encoded, with a query string, in a full URL)."""
    lowered = text.lower()
    if "review" not in lowered and "calendar" not in lowered and "report" not in lowered \
            and "callback" not in lowered and "%" not in text:
        return text
    return _WORD.sub(_redact_word, text)


class SecretPathFilter(logging.Filter):
    """Redacts secret paths from a record's message and its text fields."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact_secret_paths(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact_secret_paths(value))
        return True


class TenantFilter(SecretPathFilter):
    def filter(self, record):
        super().filter(record)
        record.tenant = getattr(connection, "schema_name", "-") or "-"
        tenant = getattr(connection, "tenant", None)
        record.host = getattr(tenant, "domain_url", None) or ""
        return True


class PlainFormatter(logging.Formatter):
    """The plain (development) line; the whole line is redacted, tracebacks included."""

    def format(self, record):
        return redact_secret_paths(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, tenant, message and any extra fields.
    Every text in it is redacted (an extra ``request`` is written as its repr, which names the
    path)."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "tenant": getattr(record, "tenant", "-"),
            "message": redact_secret_paths(record.getMessage()),
        }
        if getattr(record, "host", ""):
            entry["host"] = record.host
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                try:
                    json.dumps(value)
                except TypeError:
                    value = repr(value)
                entry[key] = redact_secret_paths(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact_secret_paths(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)
