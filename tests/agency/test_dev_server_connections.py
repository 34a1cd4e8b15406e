"""Django's development server (bin/demo's web process) serves each request on a thread of its
own that ends without closing its database connection: with persistent connections, a run of
the whole suite found its test server holding 63 idle connections, and PostgreSQL then refused
clients. That process opens and closes one per request; every other keeps its own."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings

from tests.conftest import ROOT, child_env

SHOW = ("import sys, django; sys.argv = ['manage.py', {command!r}]; django.setup(); "
        "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])")


def _conn_max_age(command: str) -> int:
    done = subprocess.run([sys.executable, "-c", SHOW.format(command=command)], cwd=ROOT,
                          env={k: v for k, v in child_env().items() if k != "DB_CONN_MAX_AGE"},
                          capture_output=True, text=True,
                          timeout=60, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def test_only_the_development_server_gives_up_persistent_connections():
    assert _conn_max_age("runserver") == 0
    assert _conn_max_age("qcluster") == 60
    assert _conn_max_age("dispatcher") == 60
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] >= 60  # the test process keeps its own
