"""Review-link and calendar-feed tokens never reach a log line, in whichever form the path was
sent: without its trailing slash (the redirect line), with ``%2F`` or other percent-encoding,
with a query string, in a Referer. Checked on Django's own handler in process, and on the lines
of real servers: ``runserver`` (django.server) and gunicorn's access log."""

from __future__ import annotations

import http.client
import io
import logging
import secrets
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.logging import JsonFormatter, PlainFormatter, redact_secret_paths
from tenants.models import LoginFailure, Role
from tests.conftest import ROOT, HostClient, child_env, free_port, wait_for_port
from tests.factories import CampaignFactory

HOST = "acme.agency.localhost"


def _forms(review: str, feed: str) -> list[tuple[str, str, dict]]:
    """(method, request target as sent, headers) for every form a token's path may take."""
    return [
        ("GET", f"/review/{review}/", {}),
        ("GET", f"/review/{review}", {}),  # APPEND_SLASH answers with a redirect
        ("GET", f"/review/{review}%2F", {}),
        ("GET", f"/review%2F{review}/", {}),
        ("GET", f"/r%65view/{review}/", {}),
        ("GET", f"/review/{review}/?utm_source=newsletter", {}),
        ("GET", f"/review/{review}?utm_source=newsletter", {}),
        ("GET", f"/review/{review}/images/1/", {}),
        ("GET", f"/review/{review}%2Fimages%2F1%2F", {}),
        ("POST", f"/review/{review}/opened/", {}),  # no CSRF token: refused and logged
        ("GET", "/admin/", {"Referer": f"http://{HOST}/review/{review}/"}),
        ("GET", f"/calendar/{feed}.ics", {}),
        ("GET", f"/calendar/{feed}.ics?x=1", {}),
        ("GET", f"/calendar/{feed}%2Eics", {}),
        ("GET", f"/calendar%2F{feed}.ics", {}),
        ("GET", f"/calendar/{feed}", {}),
        ("GET", f"/calendar/{feed}/", {}),
    ]


@pytest.mark.parametrize("line", [
    '"GET {} HTTP/1.1" 200 512', "Not Found: {}", "<WSGIRequest: GET '{}'>",
    "127.0.0.1 - - [03/Dec/2026] \"GET {} HTTP/1.1\" 301 0 \"-\" \"curl\"",
    "http://acme.agency.localhost:8000{}", "/login/?next={}",
])
def test_every_form_of_a_secret_path_is_redacted(line):
    token = secrets.token_urlsafe(32)
    for _method, target, headers in _forms(token, token):
        for written in (target, target.replace("/", "%2F"), *headers.values()):
            if token in written:
                text = redact_secret_paths(line.format(written))
                assert token not in text and "[redacted]" in text, text


def test_the_studios_own_paths_and_other_text_are_left_alone():
    for text in ['"GET /admin/calendar/feeds/3/revoke/ HTTP/1.1" 302 0',
                 '"GET /admin/sensitivity/review/12/ HTTP/1.1" 200 9',
                 "GET /api/v1/review-links/?cursor=abc 200", "GET /api/v1/calendar/?start=x",
                 "Disk 100% full", "calendar of reviews"]:
        assert redact_secret_paths(text) == text


def test_a_decoded_newline_cannot_forge_a_line():
    text = redact_secret_paths(f"GET /review/{'t' * 43}%0Aforged-entry HTTP/1.1")
    assert "\n" not in text and "t" * 43 not in text


@dataclass
class SecretsInPaths:
    review: str  # a review link's token
    feed: str  # a calendar feed's token
    unknown: str  # a review token that matches no link


@pytest.fixture
def secrets_in_paths(world, django_db_blocker):
    """A committed review link (closed: its task is gone) and calendar feed on acme; yields
    their tokens and an unknown review token."""
    from approvals.links import token_hash
    from approvals.models import ApproverContact, ReviewLink
    from campaigns.models import CalendarFeed, CampaignPage
    from campaigns.services import calendar_feed_issue

    tag = uuid.uuid4().hex[:6]
    review = secrets.token_urlsafe(32)
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        page = CampaignFactory(title=f"Log check {tag}", author=world.acme.users[Role.EDITOR])
        revision = page.latest_revision
        approver = ApproverContact.objects.create(name="Log Check", email=f"log-{tag}@a.example")
        ReviewLink.objects.create(token_hash=token_hash(review), task_state_id=0,
                                  revision=revision, approver=approver,
                                  expires_at=timezone.now() + timedelta(days=1))
        feed, token = calendar_feed_issue(label=f"Log check {tag}", user=None)
    started = timezone.now()
    yield SecretsInPaths(review=review, feed=token, unknown=secrets.token_urlsafe(32))
    with django_db_blocker.unblock():
        # the servers' unknown tokens were counted (committed) against 127.0.0.1: later tests
        # from the same address must start from zero
        LoginFailure.objects.filter(username__startswith="review-link@", at__gte=started).delete()
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        ReviewLink.objects.filter(approver=approver).delete()
        approver.delete()
        CalendarFeed.objects.filter(pk=feed.pk).delete()
        CampaignPage.objects.get(pk=page.pk).delete()


def _tokens(found: SecretsInPaths) -> list[str]:
    return [found.review, found.feed, found.unknown]


@contextmanager
def _console_output(formatter):
    """What Django's configured console handler (its filter, the given formatter) writes."""
    handler = next(h for h in logging.getLogger("django").handlers if h.name == "console")
    stream, previous = io.StringIO(), handler.formatter
    old_stream = handler.setStream(stream)
    handler.setFormatter(formatter)
    try:
        yield stream
    finally:
        handler.setStream(old_stream)
        handler.setFormatter(previous)


@pytest.mark.django_db
@pytest.mark.parametrize("formatter", [
    JsonFormatter(), PlainFormatter("%(asctime)s %(levelname)s [%(tenant)s] %(name)s: %(message)s"),
], ids=["json", "plain"])
def test_django_request_lines_carry_no_token(world, secrets_in_paths, formatter):
    from urllib.parse import unquote

    client = HostClient(HOST, enforce_csrf_checks=True, raise_request_exception=False)
    with _console_output(formatter) as stream:
        for review in (secrets_in_paths.review, secrets_in_paths.unknown):
            for method, target, headers in _forms(review, secrets_in_paths.feed):
                path, _, query = target.partition("?")
                # the test client sends paths decoded, as a WSGI server hands them to Django
                getattr(client, method.lower())(unquote(path), QUERY_STRING=query,
                                                headers=headers)
        logging.getLogger("django.request").warning(
            "Oops: %s", f"/review/{secrets_in_paths.review}", extra={
                "path": f"/calendar/{secrets_in_paths.feed}.ics",
                "request": client.get(f"/review/{secrets_in_paths.review}/").wsgi_request})
    written = stream.getvalue()
    for token in _tokens(secrets_in_paths):
        assert token not in written, written
    assert "Not Found: /review/[redacted]" in written  # the lines were written, redacted
    assert "Gone: /review/[redacted]/" in written
    assert "Forbidden (CSRF cookie not set.): /review/[redacted]/opened/" in written


def _server_log(command: list[str], port: int, found: SecretsInPaths, **env) -> str:
    proc = subprocess.Popen(command, cwd=ROOT, env=child_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, proc)
        for review in (found.review, found.unknown):
            for method, target, headers in _forms(review, found.feed):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                connection.request(method, target, headers={"Host": HOST, **headers})
                connection.getresponse().read()
                connection.close()
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode()
    return output


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_runserver_lines_carry_no_token(world, secrets_in_paths, log_format):
    port = free_port()
    output = _server_log([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}",
                          "--noreload", "--skip-checks"], port, secrets_in_paths,
                         LOG_FORMAT=log_format, LOG_LEVEL="INFO")
    for token in _tokens(secrets_in_paths):
        assert token not in output, output
    assert output.count("/review/[redacted]") >= 20, output[-3000:]
    assert output.count("/calendar/[redacted]") >= 10, output[-3000:]


def test_gunicorn_access_lines_carry_no_token(world, secrets_in_paths):
    port = free_port()
    output = _server_log([sys.executable, "-m", "gunicorn", "agency.wsgi", "--workers", "1",
                          "--bind", f"127.0.0.1:{port}", "--access-logfile", "-",
                          "--error-logfile", "-", "--access-logformat",
                          '%(h)s "%(r)s" %(s)s %(U)s?%(q)s "%(f)s" %({raw_uri}e)s'],
                         port, secrets_in_paths, LOG_LEVEL="INFO")
    for token in _tokens(secrets_in_paths):
        assert token not in output, output
    access = [line for line in output.splitlines() if line.startswith("127.0.0.1 ")]
    assert len(access) == 2 * len(_forms("x", "y")), output[-3000:]
    assert sum("/review/[redacted]" in line for line in access) >= 20
