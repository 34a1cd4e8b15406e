"""Structured logs that name the client (schema) each line was written for."""

import json
import logging
import re

from django.db import connection

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "tenant", "host"}


# Secret tokens that travel in URL paths (calendar feeds, review links) never reach a log line.
SECRET_PATHS = re.compile(r"(/calendar/|/review/)[\w-]{16,}(\.ics|/)")


class TenantFilter(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        if "/calendar/" in message or "/review/" in message:
            record.msg, record.args = SECRET_PATHS.sub(r"\1[redacted]\2", message), ()
        record.tenant = getattr(connection, "schema_name", "-") or "-"
        tenant = getattr(connection, "tenant", None)
        record.host = getattr(tenant, "domain_url", None) or ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, tenant, message and any extra fields."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "tenant": getattr(record, "tenant", "-"),
            "message": record.getMessage(),
        }
        if getattr(record, "host", ""):
            entry["host"] = record.host
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                try:
                    json.dumps(value)
                except TypeError:
                    value = repr(value)
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
