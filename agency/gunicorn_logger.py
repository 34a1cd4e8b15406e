"""Gunicorn's own lines (access log, error log) with secret paths redacted, as Django's lines
are (agency.logging). Gunicorn picks this class up from gunicorn.conf.py."""

from gunicorn.glogging import Logger

from agency.logging import SecretPathFilter, redact_secret_paths


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # The error log's records, and whatever else writes through gunicorn's handlers (an
        # ASGI worker's access lines, for one).
        for target in [self.error_log, *self.error_log.handlers, *self.access_log.handlers]:
            if not any(isinstance(f, SecretPathFilter) for f in target.filters):
                target.addFilter(SecretPathFilter())

    def atoms(self, resp, req, environ, request_time):
        # Every atom an access-log format may name: the request line, path, query, Referer,
        # any request header or environ value.
        return {name: redact_secret_paths(value) if isinstance(value, str) else value
                for name, value in super().atoms(resp, req, environ, request_time).items()}
