"""Request bodies are capped per route before they are read, on a real gunicorn server: a client
that announces 60 MB and sends a few bytes gets its 413 at once, and uploads of an ordinary size
still go through."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django_tenants.utils import schema_context
from PIL import Image

from tenants.models import Role
from tests.conftest import ROOT, brand_host, child_env, free_port, stderr_tail, wait_for_port

SIXTY_MB = 60 * 1024 * 1024


@pytest.fixture(scope="module")
def gunicorn(world, django_db_blocker):
    """``gunicorn agency.wsgi`` (sync workers, as docs/deploy.md runs it) on the test database."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "agency.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}",
         "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=child_env(AGENCY_PORT=str(port)),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for_port(port, proc)
    except RuntimeError:
        pytest.fail(stderr_tail(proc))
    # The first requests load the URL confs, Wagtail and DRF: not what the timings measure.
    for path in ("/healthz", "/api/v1/campaigns/", "/admin/login/"):
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        warm.request("GET", path, headers={"Host": brand_host("acme")})
        warm.getresponse().read()
        warm.close()
    yield port
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)


@pytest.fixture
def committed_key(world, django_db_blocker):
    from agency.api.models import ApiKey
    from agency.api.services import api_key_create

    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        key, raw = api_key_create(name=f"Limits {uuid.uuid4().hex[:6]}",
                                  scopes=["read", "write"],
                                  user=world.acme.users[Role.ACCOUNT_MANAGER])
    yield raw
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        from wagtail.images import get_image_model

        get_image_model().objects.filter(title="Noise over the JSON cap").delete()
        ApiKey.objects.filter(pk=key.pk).delete()


def announce(port: int, host: str, path: str, headers: dict, sent: bytes = b"x" * 1000,
             timeout: float = 5) -> tuple[int, dict, bytes, float]:
    """Send a request's head and only ``sent`` of its body, then read the answer: a server that
    tried to read the rest would still be waiting when ``timeout`` runs out."""
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + sent)
        response = http.client.HTTPResponse(sock)
        response.begin()  # raises socket.timeout if no answer comes in time
        body = response.read()
    return response.status, dict(response.getheaders()), body, time.monotonic() - start


def test_an_announced_60_mb_image_is_refused_before_its_body_is_read(gunicorn, committed_key):
    status, headers, body, took = announce(gunicorn, brand_host("acme"), "/api/v1/media/", {
        "Content-Type": "multipart/form-data; boundary=b", "Content-Length": SIXTY_MB,
        "Authorization": f"Bearer {committed_key}", "X-Request-Id": "limit-check-1"})
    assert status == 413 and took < 3
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["X-Request-Id"] == "limit-check-1"
    assert json.loads(body) == {
        "type": "/api/v1/problems/payload-too-large", "title": "Content too large",
        "status": 413, "instance": "/api/v1/media/", "request_id": "limit-check-1",
        "detail": "This request's body is 60 MB; /api/v1/media/ takes an image of up to 15 MB "
                  "(at most 16 MB in all). Resize or compress the image and try again."}


def test_each_route_has_its_own_cap(gunicorn):
    acme = brand_host("acme")
    cases = [
        ("/api/v1/campaigns/", 2 * 1024 * 1024, "application/json",
         "JSON of up to 1 MB"),
        ("/api/v1/media/", 20 * 1024 * 1024, "multipart/form-data; boundary=b",
         "an image of up to 15 MB"),
        ("/api/v1/videos/", 250 * 1024 * 1024, "multipart/form-data; boundary=b",
         "a video or document of up to 200 MB"),
    ]
    for path, length, content_type, takes in cases:
        status, headers, body, took = announce(gunicorn, acme, path, {
            "Content-Type": content_type, "Content-Length": length})
        assert (status, took < 3) == (413, True), (path, status, body[:300])
        assert takes in json.loads(body)["detail"], body

    # The admin's image upload answers people with a page
    status, headers, body, took = announce(gunicorn, acme, "/admin/images/multiple/add/", {
        "Content-Type": "multipart/form-data; boundary=b", "Content-Length": SIXTY_MB})
    assert status == 413 and took < 3
    assert headers["Content-Type"].startswith("text/html")
    assert b"This request&#x27;s body is 60 MB; /admin/images/multiple/add/ takes an image " \
           b"of up to 15 MB" in body
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]

    # Videos are documents: the admin's document library takes what the API's videos take
    status, headers, body, took = announce(gunicorn, acme, "/admin/documents/multiple/add/", {
        "Content-Type": "multipart/form-data; boundary=b", "Content-Length": 250 * 1024 * 1024})
    assert status == 413 and b"a video or document of up to 200 MB" in body

    # Anything else: forms and files of up to REQUEST_BODY_MAX_MB (10)
    status, headers, body, took = announce(gunicorn, acme, "/admin/pages/1/edit/", {
        "Content-Type": "multipart/form-data; boundary=b", "Content-Length": SIXTY_MB})
    assert status == 413 and b"forms and files of up to 10 MB" in body


def test_a_body_without_a_length_is_refused_before_it_is_read(gunicorn):
    status, headers, body, took = announce(
        gunicorn, brand_host("acme"), "/api/v1/campaigns/",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        sent=b"400\r\n" + b"x" * 1024 + b"\r\n")
    assert status == 411 and took < 3
    assert json.loads(body)["type"] == "/api/v1/problems/length-required"


def test_an_image_larger_than_the_json_cap_still_uploads(gunicorn, committed_key):
    noise = io.BytesIO()
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(noise, format="PNG")
    assert noise.tell() > 1.2 * 1024 * 1024  # over the 1 MB that API JSON may take
    upload = SimpleUploadedFile("noise.png", noise.getvalue(), content_type="image/png")
    body = encode_multipart(BOUNDARY, {"file": upload, "title": "Noise over the JSON cap",
                                       "alt_text": "Coloured noise"})
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    connection.request("POST", "/api/v1/media/", body=body, headers={
        "Host": brand_host("acme"), "Content-Type": MULTIPART_CONTENT,
        "Authorization": f"Bearer {committed_key}"})
    response = connection.getresponse()
    assert response.status == 201, response.read()[:500]
    assert json.loads(response.read())["width"] == 700
