"""Fixtures for the webhook tests: a receiver that checks signatures on its own, endpoints, and
running the sends that are due."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_tenants.utils import schema_context

from tests.publishing.conftest import kit  # noqa: F401 - its channels, for the delivery events


def independent_verify(secret: str, headers: dict, body: bytes, now: float | None = None) -> bool:
    """The receiver's side, written from the Standard Webhooks specification with nothing but
    the standard library (not our signing module): HMAC-SHA256 of "{id}.{timestamp}.{body}"
    keyed with the base64-decoded secret after "whsec_", base64, "v1," in front."""
    headers = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs((now or time.time()) - int(stamp)) > 300:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body,
                                         hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(sig.split(",", 1)[1], expected)
               for sig in headers["webhook-signature"].split() if sig.startswith("v1,"))


class Receiver:
    """An integrator's endpoint on a local port: answers with the queued ``(status, headers)``
    or ``(status, headers, body)`` (200 once they run out), records every request, and checks
    its signature when given the secret."""

    def __init__(self, secret: str | None = None, tls: tuple[str, str] | None = None):
        self.secret = secret
        self.requests: list[tuple[dict, bytes]] = []
        self.answers: list[tuple[int, dict]] = []
        self.verified: list[bool] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers)
                receiver.requests.append((headers, body))
                if receiver.secret:
                    receiver.verified.append(independent_verify(receiver.secret, headers, body))
                status, extra, *body = receiver.answers.pop(0) if receiver.answers \
                    else (200, {})
                answer = body[0] if body else (b"ok" if status < 300
                                               else b"receiver is down for maintenance")
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/agency"
        if tls is not None:  # (certificate file, key file): https on the name "localhost"
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://localhost:{self.server.server_port}/hooks/agency"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def make_endpoint(brand, url: str, events=("campaign.approved",), **extra):
    """An endpoint of ``brand`` (registered as its account manager); returns it and its
    secret."""
    from agency.webhooks.services import endpoint_create
    from tenants.models import Role

    with schema_context(brand.client.schema_name):
        return endpoint_create(url=url, events=list(events),
                               user=brand.users[Role.ACCOUNT_MANAGER], **extra)


@pytest.fixture
def endpoint(world, receiver):
    """Acme's endpoint for every event, at the receiver, which checks its signatures."""
    from agency.webhooks.models import Event

    made, secret = make_endpoint(world.acme, receiver.url, Event.values,
                                 description="CRM sync")
    receiver.secret = secret
    return made


def send_due(schema: str) -> list[str]:
    """Run the send task, as a worker would, for every pending delivery of the brand that is
    due now."""
    from django.utils import timezone

    from agency.webhooks.models import WebhookDelivery
    from agency.webhooks.tasks import webhook_send

    with schema_context(schema):
        due = WebhookDelivery.objects.filter(state="pending", next_attempt_at__lte=timezone.now())
        return [webhook_send(pk) for pk in due.order_by("id").values_list("pk", flat=True)]
