"""Where the database comes from: DATABASE_URL when set, else an embedded PostgreSQL."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from agency.database import database_url
from tests.conftest import ROOT

PROBE = ("from django.db import connection as c; k = c.cursor(); "
         "k.execute('SHOW data_directory'); print(k.fetchone()[0]); "
         "k.execute('SELECT current_database()'); print(k.fetchone()[0]); "
         "k.execute('SHOW server_version'); print(k.fetchone()[0])")


def _run(env_extra: dict, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"DJANGO_SETTINGS_MODULE": "agency.settings.test", **env_extra})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_without_database_url_an_embedded_postgresql_starts_in_the_data_folder(tmp_path):
    data = tmp_path / "data"
    result = _run({"AGENCY_DATA_DIR": str(data)}, "shell", "-c", PROBE)
    try:
        assert result.returncode == 0, result.stderr
        data_directory, database, version = result.stdout.strip().splitlines()[-3:]
        assert data_directory == str(data / "pgdata")
        assert database == "agency"
        assert int(version.split(".")[0]) >= 14
    finally:
        stopped = _run({"AGENCY_DATA_DIR": str(data)}, "embedded_db", "stop")
    assert "stopped" in stopped.stdout, stopped.stderr


@pytest.mark.django_db
def test_with_database_url_that_server_is_used_and_nothing_is_embedded(tmp_path):
    settings = {**connection.settings_dict, "NAME": "postgres"}
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        server_data = cursor.fetchone()[0]
    data = tmp_path / "unused"
    result = _run({"DATABASE_URL": database_url(settings), "AGENCY_DATA_DIR": str(data)},
                  "shell", "-c", PROBE)
    assert result.returncode == 0, result.stderr
    data_directory, database, _ = result.stdout.strip().splitlines()[-3:]
    assert (data_directory, database) == (server_data, "postgres")
    assert not (data / "pgdata").exists()
