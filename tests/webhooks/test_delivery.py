"""Sending: signed as Standard Webhooks has it (checked by an independent receiver), retried
with backoff through django-q2 schedules, logged attempt by attempt, and only ever to public
https addresses unless private ones are allowed."""

from __future__ import annotations

import ast
import datetime as dt
import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_tenants.utils import schema_context

from agency import signing
from agency.webhooks.models import WebhookDelivery
from agency.webhooks.services import event_emit
from tests.webhooks.conftest import Receiver, independent_verify, make_endpoint, send_due

pytestmark = pytest.mark.django_db

DATA = {"id": 7, "title": "Spring launch", "revision_id": 12, "status": "approved"}


def _emit(world, event="campaign.approved", data=DATA):
    with schema_context(world.acme.client.schema_name):
        return event_emit(event=event, payload=data)


def test_an_event_reaches_its_endpoint_signed_and_verifiable_by_the_receiver(
        world, endpoint, receiver, django_capture_on_commit_callbacks):
    silent, _ = make_endpoint(world.acme, receiver.url, ["delivery.failed"])  # not subscribed
    off, _ = make_endpoint(world.acme, receiver.url, ["campaign.approved"], active=False)
    queued = OrmQ.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = _emit(world)
    assert OrmQ.objects.count() == queued + 1  # handed to the workers once committed
    assert send_due(world.acme.client.schema_name) == ["delivered"]

    (headers, body), = receiver.requests
    assert receiver.verified == [True]
    assert headers["webhook-id"] == str(delivery.event_id)
    assert headers["Content-Type"] == "application/json"
    assert not independent_verify(receiver.secret, headers, body + b" ")  # tampered body
    assert not independent_verify(receiver.secret, headers, body, now=time.time() + 600)
    payload = json.loads(body)
    assert payload["event"] == "campaign.approved" and payload["id"] == str(delivery.event_id)
    assert payload["brand"] == "acme" and payload["data"] == DATA
    assert dt.datetime.fromisoformat(payload["occurred_at"]).tzinfo is not None
    with schema_context(world.acme.client.schema_name):
        delivery.refresh_from_db()
        assert delivery.state == "delivered" and delivery.attempts == 1
        assert delivery.last_status_code == 200 and delivery.delivered_at is not None
        assert [a.status_code for a in delivery.attempt_log.all()] == [200]
        assert not WebhookDelivery.objects.filter(endpoint__in=[silent, off]).exists()
        assert not Schedule.objects.filter(name__startswith="webhook:").exists()


def test_our_verify_helper_for_integrators_accepts_only_a_fresh_genuine_request():
    secret = signing.secret_generate()
    assert secret.startswith("whsec_")
    body = b'{"event":"campaign.approved"}'
    headers = signing.headers_for(secret, "evt_1", body)
    assert independent_verify(secret, headers, body)  # both sides agree on the spec
    assert signing.verify(secret, headers, body)
    assert signing.verify(secret, {k.upper(): v for k, v in headers.items()}, body)
    assert not signing.verify(secret, headers, body + b"x")
    assert not signing.verify(signing.secret_generate(), headers, body)
    assert not signing.verify(secret, {**headers, "webhook-id": "evt_2"}, body)
    assert not signing.verify(secret, headers, body, now=time.time() + 301)  # too old
    rotated = {**headers, "webhook-signature": "v1,bm9wZQ== " + headers["webhook-signature"]}
    assert signing.verify(secret, rotated, body)


def _run_schedule(name: str) -> str:
    """Run a follow-up the way django-q2's scheduler does: its function with its arguments."""
    from django.utils.module_loading import import_string

    follow_up = Schedule.objects.get(name=name)
    args = ast.literal_eval(follow_up.args)
    return import_string(follow_up.func)(*args)


def test_a_500_is_retried_with_backoff_and_the_retry_is_delivered(
        world, endpoint, receiver, settings):
    settings.WEBHOOKS_BACKOFF_BASE_SECONDS = 60
    settings.WEBHOOKS_TIMEOUT_SECONDS = 10
    receiver.answers = [(500, {})]
    schema = world.acme.client.schema_name
    (delivery,) = _emit(world)
    before = timezone.now()
    assert send_due(schema) == ["retry"]
    name = f"webhook:{schema}:{delivery.pk}:1"
    follow_up = Schedule.objects.get(name=name)
    assert follow_up.schedule_type == Schedule.ONCE
    wait = (follow_up.next_run - before).total_seconds()
    assert 10 + 30 - 1 <= wait <= 10 + 60 + 1  # timeout + half to all of the first step
    with schema_context(schema):
        delivery.refresh_from_db()
        assert delivery.state == "pending" and delivery.attempts == 1
        assert delivery.last_status_code == 500
        assert "receiver is down for maintenance" in delivery.last_error
        assert delivery.next_attempt_at == follow_up.next_run
    assert send_due(schema) == []  # not before its time
    with schema_context(schema):
        assert _run_schedule(name) == "stale"  # a follow-up run early does nothing
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert _run_schedule(name) == "delivered"  # run_in_client enters the brand's schema

    first, second = receiver.requests
    assert first[0]["webhook-id"] == second[0]["webhook-id"] == str(delivery.event_id)
    assert first[1] == second[1]  # the same bytes every attempt
    assert receiver.verified == [True, True]
    with schema_context(schema):
        delivery.refresh_from_db()
        assert delivery.state == "delivered" and delivery.attempts == 2
        assert [(a.number, a.status_code) for a in delivery.attempt_log.all()] == [
            (1, 500), (2, 200)]
        assert not Schedule.objects.filter(name=f"webhook:{schema}:{delivery.pk}:2").exists()


def test_backoff_doubles_with_jitter_and_a_receivers_retry_after_is_honoured(
        world, endpoint, receiver, settings):
    from agency.webhooks.services import backoff

    settings.WEBHOOKS_BACKOFF_BASE_SECONDS = 10
    settings.WEBHOOKS_BACKOFF_MAX_SECONDS = 100
    for attempt, step in [(1, 10), (2, 20), (3, 40), (4, 80), (6, 100)]:
        waits = [backoff(attempt) for _ in range(50)]
        assert all(step / 2 <= w <= step for w in waits) and len(set(waits)) > 1
    receiver.answers = [(503, {"Retry-After": "3600"})]
    (delivery,) = _emit(world)
    assert send_due(world.acme.client.schema_name) == ["retry"]
    with schema_context(world.acme.client.schema_name):
        delivery.refresh_from_db()
        # asked for an hour, capped at the longest backoff
        assert delivery.next_attempt_at >= timezone.now() + dt.timedelta(seconds=95)
        assert delivery.next_attempt_at <= timezone.now() + dt.timedelta(seconds=101)


def test_it_gives_up_after_the_last_attempt_and_says_why(world, endpoint, receiver, settings):
    settings.WEBHOOKS_MAX_ATTEMPTS = 2
    receiver.answers = [(500, {}), (404, {})]
    schema = world.acme.client.schema_name
    (delivery,) = _emit(world)
    assert send_due(schema) == ["retry"]
    with schema_context(schema):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert send_due(schema) == ["failed"]
    with schema_context(schema):
        delivery.refresh_from_db()
        assert delivery.state == "failed" and delivery.attempts == 2
        assert delivery.last_error.startswith("Gave up after 2 attempts: HTTP 404")
        assert not Schedule.objects.filter(name__startswith=f"webhook:{schema}:{delivery.pk}:")\
            .exists()


def test_a_worker_that_died_during_the_last_attempt_leaves_a_failed_delivery(
        world, endpoint, settings):
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    schema = world.acme.client.schema_name
    (delivery,) = _emit(world)
    with schema_context(schema):  # as if the worker had committed attempt 1, then died
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1,
                                                              next_attempt_at=timezone.now())
    assert send_due(schema) == ["failed"]
    with schema_context(schema):
        delivery.refresh_from_db()
        assert delivery.state == "failed"
        assert "did not finish" in delivery.last_error


def test_a_redirect_is_not_followed(world, endpoint, receiver):
    receiver.answers = [(302, {"Location": "http://169.254.169.254/latest/meta-data/"})]
    (delivery,) = _emit(world)
    assert send_due(world.acme.client.schema_name) == ["retry"]
    assert len(receiver.requests) == 1
    with schema_context(world.acme.client.schema_name):
        delivery.refresh_from_db()
        assert "Redirects are not followed" in delivery.last_error


@pytest.mark.parametrize("url, says", [
    ("http://hooks.example.com/in", "Use an https:// address"),
    ("https://127.0.0.1/in", "127.0.0.1, a private, loopback"),
    ("https://localhost:8443/in", "a private, loopback"),
    ("https://10.1.2.3/in", "10.1.2.3, a private"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254, a private"),
    ("https://[::1]/in", "::1, a private"),
    ("https://[::ffff:192.168.0.1]/in", "a private"),
    ("https://user:pw@hooks.example.com/in", "Leave the user name and password out"),
    ("ftp://hooks.example.com/in", "starting with https://"),
    ("hooks.example.com", "starting with https://"),
    ("https://no-such-host.invalid/in", "does not resolve"),
])
def test_internal_and_insecure_addresses_are_refused_with_what_to_do(world, settings, url,
                                                                      says):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as refused:
        make_endpoint(world.acme, url)
    (message,) = refused.value.message_dict["url"]
    assert says in message


def test_an_address_that_became_internal_is_refused_at_sending_and_not_retried(
        world, endpoint, receiver, settings):
    port = receiver.server.server_port
    make_endpoint(world.acme, f"https://127.0.0.1:{port}/hooks/agency")
    settings.OUTBOUND_ALLOW_PRIVATE = False  # both are on 127.0.0.1, one on plain http
    deliveries = _emit(world)
    assert send_due(world.acme.client.schema_name) == ["failed", "failed"]
    assert receiver.requests == []
    with schema_context(world.acme.client.schema_name):
        errors = sorted(WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries])
                        .values_list("last_error", flat=True))
        assert errors[0].startswith("Use an https:// address")
        assert errors[1].startswith("“127.0.0.1” resolves to 127.0.0.1, a private, loopback")
        assert not Schedule.objects.filter(name__startswith="webhook:").exists()


@pytest.mark.parametrize("internal", ["127.0.0.1", "::ffff:127.0.0.1", "169.254.169.254"])
def test_a_name_re_pointed_at_an_internal_address_after_registration_is_refused_at_send(
        world, receiver, settings, monkeypatch, internal):
    import socket

    settings.OUTBOUND_ALLOW_PRIVATE = False
    answers = {"hooks.acme.test": "93.184.215.14"}  # public when registered
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    make_endpoint(world.acme, f"https://hooks.acme.test:{receiver.server.server_port}/in")
    answers["hooks.acme.test"] = internal  # then re-pointed inside
    (delivery,) = _emit(world)
    assert send_due(world.acme.client.schema_name) == ["failed"]
    assert receiver.requests == []
    with schema_context(world.acme.client.schema_name):
        delivery.refresh_from_db()
        assert delivery.last_error.startswith(
            f"“hooks.acme.test” resolves to {internal}, a private, loopback")


def test_a_receivers_answer_is_logged_as_a_short_single_line_excerpt(world, endpoint, receiver):
    receiver.answers = [(500, {}, b"Down\n\x1b[31mfor maintenance " + b"blah " * 2000)]
    (delivery,) = _emit(world)
    assert send_due(world.acme.client.schema_name) == ["retry"]
    with schema_context(world.acme.client.schema_name):
        delivery.refresh_from_db()
    assert delivery.last_error.startswith("HTTP 500: Down [31mfor maintenance blah")
    assert len(delivery.last_error) < 300 and "\n" not in delivery.last_error
    assert "\x1b" not in delivery.last_error


def _certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate for ``name`` (the test's own certificate authority)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_https_goes_to_the_checked_address_with_the_certificate_checked_for_the_name(
        world, settings, tmp_path):
    cert, key = _certificate(tmp_path, "localhost")
    settings.OUTBOUND_CA_BUNDLE = cert
    good = Receiver(tls=(cert, key))
    wrong_cert, wrong_key = _certificate(tmp_path, "hooks.other.test")
    impostor = Receiver(tls=(wrong_cert, wrong_key))
    try:
        _, secret = make_endpoint(world.acme, good.url)
        good.secret = secret
        make_endpoint(world.acme, impostor.url)
        (delivered, refused) = sorted(_emit(world), key=lambda d: d.endpoint.url != good.url)
        send_due(world.acme.client.schema_name)
        assert good.verified == [True] and good.requests[0][0]["Host"].startswith("localhost:")
        assert impostor.requests == []
        with schema_context(world.acme.client.schema_name):
            delivered.refresh_from_db()
            refused.refresh_from_db()
        assert delivered.state == "delivered"
        assert refused.state == "pending" and "TLS failed with localhost" in refused.last_error
        assert "valid certificate" in refused.last_error
    finally:
        good.close()
        impostor.close()


def test_removing_an_endpoint_removes_its_scheduled_retries(world, endpoint, receiver):
    from agency.webhooks.services import endpoint_delete

    receiver.answers = [(500, {})]
    (delivery,) = _emit(world)
    schema = world.acme.client.schema_name
    assert send_due(schema) == ["retry"]
    assert Schedule.objects.filter(name=f"webhook:{schema}:{delivery.pk}:1").exists()
    with schema_context(schema):
        endpoint_delete(endpoint=endpoint)
        assert not WebhookDelivery.objects.filter(pk=delivery.pk).exists()
    assert not Schedule.objects.filter(name__startswith=f"webhook:{schema}:").exists()
