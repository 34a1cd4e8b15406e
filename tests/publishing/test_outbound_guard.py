"""Every channel adapter calls only what the outbound guard lets through (agency/outbound.py):
no loopback, private, link-local or IPv6-mapped address unless allowed, the name checked again
at each send, no redirect followed, no endless answer read, and no body of a refused address (or
a long one of an allowed address) in what staff read. Real local servers throughout."""

from __future__ import annotations

import socket
import time

import pytest

from agency import outbound
from agency.demo.fakes import FakeBluesky, FakeMastodon, Hostile
from campaigns.publishing.adapters import Permanent, Published, Unknown
from campaigns.publishing.adapters.bluesky import BlueskyAdapter, forget_sessions
from campaigns.publishing.adapters.mastodon import MastodonAdapter
from campaigns.publishing.adapters.webhook import WebhookAdapter
from tests.factories import ChannelFactory
from tests.publishing.conftest import HOOK_SECRET
from tests.publishing.test_adapters import PASSWORD, TOKEN, outgoing

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

SECRET_BODY = b'{"AccessKeyId": "ASIA-METADATA-SECRET", "error": "METADATA-SECRET"}'
ADAPTERS = {"webhook": (WebhookAdapter, HOOK_SECRET), "mastodon": (MastodonAdapter, TOKEN),
            "bluesky": (BlueskyAdapter, PASSWORD)}


def adapter(network: str, endpoint: str, timeout: float = 2.0):
    cls, secret = ADAPTERS[network]
    return cls(ChannelFactory.build(name=f"Acme on {network}", network=network,
                                    handle="acme.test", endpoint=endpoint, secret=secret),
               timeout=timeout)


@pytest.fixture(autouse=True)
def _fresh_bluesky_sessions():
    forget_sessions()
    yield
    forget_sessions()


@pytest.fixture
def metadata():
    """A stand-in for a cloud metadata service: anything asked, it answers with secrets."""
    server = Hostile(status=404, body=SECRET_BODY)
    yield server
    server.close()


@pytest.fixture
def no_private(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False


@pytest.mark.parametrize("network", ADAPTERS)
@pytest.mark.parametrize("address, says", [
    ("http://127.0.0.1:{port}", "Use an https:// address"),
    ("https://127.0.0.1:{port}", "127.0.0.1, a private, loopback"),
    ("https://10.0.0.7:{port}", "10.0.0.7, a private, loopback"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254, a private, loopback"),
    ("https://[::1]:{port}", "::1, a private, loopback"),
    ("https://[::ffff:127.0.0.1]:{port}", "a private, loopback"),
])
def test_internal_addresses_are_refused_for_good_without_a_request_or_its_body(
        no_private, metadata, network, address, says):
    endpoint = address.format(port=metadata.port)
    with pytest.raises(Permanent) as refused:
        adapter(network, endpoint).publish(outgoing())
    assert says in refused.value.message
    assert "METADATA-SECRET" not in refused.value.message
    assert metadata.requests == []


@pytest.fixture
def rebinding(monkeypatch):
    """DNS that can be re-pointed: ``rebinding["hooks.acme.test"] = "127.0.0.1"``."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize("network", ADAPTERS)
@pytest.mark.parametrize("internal", ["127.0.0.1", "::ffff:127.0.0.1"])
def test_a_name_re_pointed_at_an_internal_address_after_saving_is_refused_at_send(
        no_private, metadata, rebinding, network, internal):
    endpoint = f"https://{network}.acme.test:{metadata.port}"
    rebinding[f"{network}.acme.test"] = "93.184.215.14"  # public when the channel is saved
    channel = adapter(network, endpoint).channel
    channel.clean()
    rebinding[f"{network}.acme.test"] = internal  # and internal by the time it is used
    with pytest.raises(Permanent) as refused:
        adapter(network, endpoint).publish(outgoing())
    assert f"resolves to {internal}, a private, loopback" in refused.value.message
    assert metadata.requests == []


@pytest.mark.parametrize("network", ADAPTERS)
def test_a_redirect_is_not_followed(metadata, network):
    redirecting = Hostile(redirect_to=f"{metadata.url}/latest/meta-data/")
    try:
        with pytest.raises(Permanent) as refused:
            adapter(network, redirecting.url).publish(outgoing())
        assert "HTTP 302" in refused.value.message
        assert "redirects are not followed" in refused.value.message
        assert len(redirecting.requests) == 1
        assert metadata.requests == []
    finally:
        redirecting.close()


def test_an_endless_answer_from_mastodon_is_refused_unread_and_the_post_is_asked_about():
    endless = Hostile(endless=True)
    try:
        started = time.monotonic()
        with pytest.raises(Unknown) as unknown:  # the status went out: find will ask
            adapter("mastodon", endless.url).publish(outgoing())
        assert time.monotonic() - started < 5
        assert "more than 4096 KB" in unknown.value.message
        assert len(unknown.value.message) < 300
        assert endless.sent < endless.limit / 2
    finally:
        endless.close()


def test_an_endless_answer_from_bluesky_is_refused_unread():
    endless = Hostile(endless=True)
    try:
        with pytest.raises(Permanent) as refused:  # the login: nothing was posted
            adapter("bluesky", endless.url).publish(outgoing())
        assert "more than 4096 KB" in refused.value.message
        assert endless.sent < endless.limit / 2
    finally:
        endless.close()


def test_an_endless_answer_from_a_webhook_receiver_is_not_read_past_its_start():
    endless = Hostile(endless=True)
    try:
        post = outgoing()
        published = adapter("webhook", endless.url).publish(post)
        # It answered 200: the post was accepted; its id is our key, the answer unread.
        assert published == Published(remote_id=post.idempotency_key, url="")
        assert endless.sent < endless.limit / 2
    finally:
        endless.close()


def test_a_declared_huge_answer_is_refused_before_its_body_is_read():
    huge = Hostile(declared=True)
    try:
        started = time.monotonic()
        with outbound.session() as session, pytest.raises(outbound.AnswerRefused):
            session.get(huge.url, timeout=10)
        assert time.monotonic() - started < 3  # not waiting for a body that never ends
        with outbound.httpx_client(timeout=10) as client, pytest.raises(outbound.AnswerRefused):
            client.get(huge.url)
        assert time.monotonic() - started < 6
    finally:
        huge.close()


LONG = "Your post was refused\nbecause\x1b[31m " + "blah " * 2000


def _short_and_single_line(message: str) -> None:
    assert len(message) < 400, len(message)
    assert "\n" not in message and "\x1b" not in message
    assert "Your post was refused because" in message


def test_mastodons_long_reason_reaches_staff_as_a_short_excerpt():
    with FakeMastodon(token=TOKEN) as fake:
        fake.fail_next(1, status=422, message=LONG, path="/api/v1/statuses")
        with pytest.raises(Permanent) as refused:
            adapter("mastodon", fake.url).publish(outgoing())
    _short_and_single_line(refused.value.message)


def test_mastodons_unreadable_answer_is_not_repeated_to_staff():
    garbage = Hostile(status=200, body=b"<html>METADATA-SECRET " + b"x" * 5000)
    try:
        with pytest.raises(Unknown) as unknown:
            adapter("mastodon", garbage.url).publish(outgoing())
        assert "could not be read" in unknown.value.message
        assert "METADATA-SECRET" not in unknown.value.message
    finally:
        garbage.close()


def test_blueskys_long_reason_reaches_staff_as_a_short_excerpt():
    with FakeBluesky(handle="acme.test", password=PASSWORD) as fake:
        fake.fail_next(1, status=400, message=LONG, path="createRecord")
        with pytest.raises(Permanent) as refused:
            adapter("bluesky", fake.url).publish(outgoing())
    _short_and_single_line(refused.value.message)


def test_a_webhook_receivers_long_answer_reaches_staff_as_a_short_excerpt():
    talkative = Hostile(status=400, body=LONG.encode())
    try:
        with pytest.raises(Permanent) as refused:
            adapter("webhook", talkative.url).publish(outgoing())
        _short_and_single_line(refused.value.message)
    finally:
        talkative.close()
