"""Fixtures for the whole suite: real PostgreSQL (embedded unless DATABASE_URL), two brands with
staff of every role committed once per session, and clients that speak to a given host."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.test import override_settings

from agency.database import database_url
from tests.factories import PASSWORD, ClientFactory, MemberFactory, UserFactory  # noqa: F401 - PASSWORD

ROOT = Path(__file__).resolve().parent.parent
PORTAL = settings.AGENCY_BASE_DOMAIN


def brand_host(slug: str) -> str:
    return f"{slug}.{settings.AGENCY_BASE_DOMAIN}"


@dataclass
class Brand:
    client: object
    host: str
    users: dict = field(default_factory=dict)  # role -> user


@dataclass
class World:
    acme: Brand
    globex: Brand
    agency_admin: object
    outsider: object


def _user(username: str, **extra):
    return UserFactory(username=username, **extra)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb,
                    django_db_createdb, django_db_modify_db_settings):
    """pytest-django's, except that the test database is always set up: tests that run
    against committed data (a real server, a real worker cluster) carry no django_db mark."""
    from django.test.utils import setup_databases, teardown_databases

    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        config = setup_databases(verbosity=request.config.option.verbose, interactive=False,
                                 aliases={"default"}, keepdb=keepdb)
    yield
    if not keepdb:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=request.config.option.verbose)


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker) -> World:
    """Committed once per session: brands acme and globex, a member of each role in each, an
    agency admin and an account with no membership at all."""
    from tenants.models import Client, Role
    from tenants.provisioning import agency_group

    with django_db_blocker.unblock():
        brands = {}
        for slug, name in [("acme", "Acme Coffee"), ("globex", "Globex Outdoors")]:
            client = Client.objects.filter(slug=slug).first() or ClientFactory(
                name=name, slug=slug, time_zone="Europe/London")
            brand = Brand(client=client, host=brand_host(slug))
            for role in Role:
                brand.users[role] = MemberFactory(
                    client=client, role=role, user__username=f"{role.value}@{slug}.test",
                    user__first_name=role.label, user__last_name=slug).user
            brands[slug] = brand
        admin = _user("boss@agency.test", first_name="Agency", last_name="Boss")
        admin.groups.add(agency_group())
        outsider = _user("nobody@agency.test")
        connection.set_schema_to_public()
        return World(acme=brands["acme"], globex=brands["globex"], agency_admin=admin,
                     outsider=outsider)


@pytest.fixture(autouse=True)
def _public_schema_between_tests():
    """Requests leave the connection on the brand they served; start every test on public."""
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


class HostClient(HttpClient):
    """A Django test client that sends every request to one host (the brand or the portal)."""

    def __init__(self, host: str, **kwargs):
        super().__init__(HTTP_HOST=host, **kwargs)
        self.host = host


@pytest.fixture
def http():
    def make(host: str = PORTAL, user=None, raise_request_exception=True) -> HostClient:
        client = HostClient(host, raise_request_exception=raise_request_exception)
        if user is not None:
            # The shared user objects may carry a password an earlier (rolled back) test set:
            # the session's hash must match the account as stored.
            user.refresh_from_db(fields=["password"])
            client.force_login(user)
        return client

    return make


# --- processes that need committed data: a real web server and a real worker cluster --------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "agency.settings.test",
           "DATABASE_URL": database_url(connection.settings_dict), **extra}
    return env


@contextmanager
def manage_processes(*commands: str, env: dict):
    """``manage.py <command>`` processes (e.g. ``qcluster``, ``dispatcher``), each in its own
    session, stderr piped; stopped after, and whatever they spawned killed with them."""
    procs = [subprocess.Popen([sys.executable, "manage.py", command], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True) for command in commands]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever the process left behind
            except ProcessLookupError:
                pass


def stderr_tail(proc, chars: int = 3000) -> str:
    """Stop ``proc`` and give the end of what it wrote to stderr (for an assertion message)."""
    proc.terminate()
    try:
        return proc.communicate(timeout=10)[1].decode()[-chars:]
    except subprocess.TimeoutExpired:
        return "(no output)"


def run_production(tmp_path, code: str | None = None, **extra) -> subprocess.CompletedProcess:
    """``manage.py check --deploy`` (or ``shell -c code``) under ``agency.settings.production``,
    with what production requires set to stand-ins and ``extra`` on top."""
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "agency.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "-production-like-secret-key-for-the-deploy-check-0123",
        "FIELD_ENCRYPTION_KEYS": "9pF0S3xC2q1y7GZ8d0nQbKfVhRr5o3uTgYwZlXeJcAk=",
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "AGENCY_BASE_DOMAIN": "agency.example.com",
        **extra,
    }
    command = (["shell", "-c", code] if code else
               ["check", "--deploy", "--fail-level", "WARNING"])
    return subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def wait_until(predicate, timeout: float) -> bool:
    """True once ``predicate()`` is, False if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


# --- media on S3-compatible object storage -------------------------------------------------

BUCKET = "agency-media-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    """A local S3-compatible server (moto's server mode) with one empty, private bucket."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint, client
    finally:
        server.stop()


@pytest.fixture
def s3_media(s3_endpoint, monkeypatch):
    """Media on the bucket (agency.storage.TenantS3Storage) for one test; yields boto3's client."""
    endpoint, client = s3_endpoint
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with override_settings(
        STORAGES={"default": {"BACKEND": "agency.storage.TenantS3Storage"},
                  "staticfiles": {"BACKEND":
                                  "django.contrib.staticfiles.storage.StaticFilesStorage"}},
        AWS_STORAGE_BUCKET_NAME=BUCKET, AWS_S3_ENDPOINT_URL=endpoint,
        AWS_S3_REGION_NAME="us-east-1", AWS_LOCATION="media", AWS_QUERYSTRING_EXPIRE=120,
    ):
        yield client


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listened on {port} within {timeout}s")


@pytest.fixture(scope="session")
def live_server_mail_dir(tmp_path_factory) -> Path:
    """Where the test server process writes the email it sends (one file per message)."""
    return tmp_path_factory.mktemp("live-server-mail")


@pytest.fixture(scope="session")
def live_server_url(world, django_db_blocker, live_server_mail_dir):
    """A real `manage.py runserver` on the test database; returns 'http://<portal>:<port>'."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
         "--skip-checks", "--insecure"],  # --insecure: serve static files with DEBUG off
        cwd=ROOT, env=child_env(AGENCY_PORT=str(port),
                                AGENCY_TEST_MAIL_DIR=str(live_server_mail_dir)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
