"""Where the database comes from: ``DATABASE_URL`` when set, else an embedded PostgreSQL.

The embedded server comes from the ``pgserver`` wheel (PostgreSQL binaries inside a Python
package), lives in ``<data dir>/pgdata`` and listens only on a Unix socket. It is started once and
left running (``cleanup_mode=None``) so that the web server, the workers and the test run all share
it; ``python manage.py embedded_db stop`` stops it, and so does stopping ``manage.py runplatform``
(``bin/demo``) unless it is given ``--keep-db``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import dj_database_url

ENGINE = "django_tenants.postgresql_backend"
DEFAULT_DB_NAME = "agency"


def data_dir(base_dir: Path) -> Path:
    """The folder for the embedded database and local media (``AGENCY_DATA_DIR`` overrides)."""
    return Path(os.environ.get("AGENCY_DATA_DIR") or base_dir / "var").resolve()


def embedded_server(pgdata: Path):
    """Start (or attach to) the embedded PostgreSQL in ``pgdata`` and return its handle."""
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp serves as well.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver  # imported lazily: production never loads it

    pgdata.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(pgdata, cleanup_mode=None)


def embedded_stop(pgdata: Path) -> bool:
    """Stop the embedded PostgreSQL in ``pgdata`` (a fast shutdown: open sessions end), waiting
    until it is gone. False if it was not running."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    server = embedded_server(pgdata)  # attaches to the running server
    from pgserver import pg_ctl  # imported lazily, as in embedded_server

    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=server.system_user)
    return True


def embedded_settings(pgdata: Path, name: str = DEFAULT_DB_NAME) -> dict:
    """Django DATABASES entry for the embedded server, creating database ``name`` if missing."""
    server = embedded_server(pgdata)
    uri = urlparse(server.get_uri())
    socket_dir = dict(p.split("=", 1) for p in uri.query.split("&") if "=" in p).get("host")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"Database name {name!r}: use lower-case letters, digits and _.")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
    return {
        "ENGINE": ENGINE,
        "NAME": name,
        "USER": unquote(uri.username or "postgres"),
        "PASSWORD": "",
        "HOST": unquote(socket_dir or ""),
        "PORT": "",
    }


def database_settings(base_dir: Path) -> dict:
    """The default database: ``DATABASE_URL`` if set, else the embedded server."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        config = dj_database_url.parse(url)  # CONN_MAX_AGE: agency.settings.base, for both
        config["ENGINE"] = ENGINE
        return config
    return embedded_settings(data_dir(base_dir) / "pgdata")


def database_url(config: dict) -> str:
    """A DATABASE_URL that points at ``config`` (handy for child processes and tests)."""
    host = config.get("HOST") or ""
    user = config.get("USER") or "postgres"
    password = config.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{config['NAME']}?host={host}"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgresql://{auth}{host}{port}/{config['NAME']}"
