"""The networks the chaos benchmark (bench/chaos_publish.py) publishes to, each with its local
fake (agency/demo/fakes), as the platform reaches it: a fake per brand where a channel names
its own server (Mastodon, Bluesky, a webhook receiver), one fake for every brand where the
network has one address for the installation (LinkedIn, and Meta's networks when they join:
``NETWORK_BASE_URLS``), none for the sandbox (it publishes into the brand's own schema).

A channel's fields may include ``settings`` (what a network needs beyond the token). ``BENCHES``
is the registry, by the adapter's network name; ``available()`` lists the networks
the platform publishes to (the adapter registry) that have an entry here. A new network joins
with one line, e.g. for a fake that serves ``facebook_graph`` and takes a Page id and token:

    register(Shared("facebook", FakeFacebook, base_urls=("facebook_graph",),
                    publish=("POST", "/feed"), channel=page_channel))

Every fake is made chaotic the same way (``chaotic``): each request waits a random 0.05-0.2 s
(so a kill is likely to land while a publish call is in flight) and the requests in flight are
kept by the client's port, to find the worker whose publish call is open. ``hang_probability``
(stored, then answered after the client's timeout: an ambiguous timeout) is set on each.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from agency.demo.fakes import FakeBluesky, FakeMastodon, Reply, _FakeNetwork
from agency.demo.fakes.linkedin import FakeLinkedIn

TOKEN = "chaos-bench-token"
PASSWORD = "chaos-app-pass-word"
HOOK_SECRET = "whsec_" + "Y2hhb3MtYmVuY2gtd2ViaG9vay1rZXk="


# --- Chaos for any fake ---------------------------------------------------------------------------


class InFlight:
    """Mixed in before a fake's class: random latency per request, and the requests in flight by
    the client's port."""

    def __init__(self, *args, latency_range: tuple[float, float] = (0.05, 0.2), seed: int = 0,
                 **kwargs):
        self.latency_range = latency_range
        self._latency_random = random.Random(seed)
        self.in_flight: dict[int, tuple[str, str]] = {}
        super().__init__(*args, seed=seed, **kwargs)

    @property
    def latency(self) -> float:
        return self._latency_random.uniform(*self.latency_range)

    @latency.setter
    def latency(self, value) -> None:  # the base class sets a fixed one: ours is drawn each time
        pass

    def _serve(self, handler, method):
        port = handler.client_address[1]
        with self.lock:
            self.in_flight[port] = (method, urlsplit(handler.path).path)
        try:
            super()._serve(handler, method)
        finally:
            with self.lock:
                self.in_flight.pop(port, None)

    def start(self):
        super().start()
        # a killed worker resets its connection: not worth a traceback on the console
        self._httpd.handle_error = lambda request, client_address: None
        return self

    def request_of(self, client_port: int) -> tuple[str, str] | None:
        with self.lock:
            return self.in_flight.get(client_port)


_CHAOTIC: dict[type, type] = {}


def chaotic(cls: type) -> type:
    if cls not in _CHAOTIC:
        _CHAOTIC[cls] = type(f"Chaos{cls.__name__}", (InFlight, cls), {})
    return _CHAOTIC[cls]


class Receiver(_FakeNetwork):
    """A webhook receiver as the webhook channel's docs ask for: it keeps the first post of each
    ``Idempotency-Key`` and answers a repeat with that post, without making another."""

    name = "webhook-receiver"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.received: Counter = Counter()  # requests per key, repeats included
        self.accepted: dict[str, dict] = {}

    @property
    def posts(self) -> list[dict]:
        with self.lock:
            return list(self.accepted.values())

    def _failure_reply(self, failure) -> Reply:
        return Reply(failure.status, {"error": failure.message or "unavailable"})

    def _route(self, method, path, query, headers, body) -> Reply:
        if method != "POST" or path != "/hook":
            return Reply(404, {"error": "not found"})
        key = headers.get("Idempotency-Key") or ""
        if not key:
            return Reply(400, {"error": "Idempotency-Key is required"})
        with self.lock:
            self.received[key] += 1
            post = self.accepted.setdefault(key, {"id": f"hook-{len(self.accepted) + 1}",
                                                  "key": key, "body": json.loads(body or b"{}")})
            return Reply(200, {"id": post["id"]}, fault=self._post_fault())


# --- One network in the bench ---------------------------------------------------------------------


@dataclass
class Bench:
    """How the bench runs one network. ``publish``: the (method, path) of the request that makes
    a post (kills aim at it); ``channel(bench, client)``: the fields of the brand's channel
    (handle, endpoint, secret, account_id); ``made(fake, delivery)``: the posts the network holds
    for a delivery (its text is unique); ``repeats``: requests the network dropped as repeats."""

    network: str
    fake_class: type | None = None
    publish: tuple[str, str] | None = None
    channel: Callable = None
    made: Callable = None
    fake_kwargs: Callable = field(default=lambda bench, client: {})
    repeats: Callable | None = None
    media: str = ""  # "image": every post carries one image with its alt text (Instagram needs
    #                  media; LinkedIn's go out with one to take its upload path through the chaos)
    fakes: dict = field(default_factory=dict)  # client pk -> fake

    def start(self, clients, *, hang: float, seed: int) -> None:
        for n, client in enumerate(clients):
            fake = chaotic(self.fake_class)(seed=seed + n, hang_seconds=3.0,
                                            **self.fake_kwargs(self, client)).start()
            fake.hang_probability = hang
            self.fakes[client.pk] = fake

    def base_urls(self) -> dict:
        return {}

    def fake_for(self, client_pk: int):
        return self.fakes.get(client_pk)

    def all_fakes(self) -> list:
        return list(dict.fromkeys(self.fakes.values()))

    def stop(self) -> None:
        for fake in self.all_fakes():
            fake.stop()

    def count(self, delivery) -> int:
        return self.made(self.fake_for(delivery.client_id), delivery)

    def requests_seen(self) -> Counter:
        """Requests the network's fakes received, by method and the path's first two parts."""
        seen = Counter()
        for fake in self.all_fakes():
            with fake.lock:
                for method, path in fake.requests:
                    seen[f"{method} /{'/'.join(path.strip('/').split('/')[:2])}"] += 1
        return seen

    def publish_requests(self) -> int:
        method, path = self.publish or ("", "")
        return sum(f.count(method, path) for f in self.all_fakes()) if self.publish else 0


@dataclass
class Shared(Bench):
    """A network with one address for the installation: one fake serves every brand, reached
    through ``NETWORK_BASE_URLS[key]`` for each of ``keys``."""

    keys: tuple[str, ...] = ()
    shared_kwargs: Callable = field(default=lambda bench, clients: {})

    def start(self, clients, *, hang: float, seed: int) -> None:
        fake = chaotic(self.fake_class)(seed=seed, hang_seconds=3.0,
                                        **self.shared_kwargs(self, clients)).start()
        fake.hang_probability = hang
        for client in clients:
            self.fakes[client.pk] = fake

    def base_urls(self) -> dict:
        fake = next(iter(self.fakes.values()))
        return dict.fromkeys(self.keys, fake.url)


@dataclass
class Sandbox(Bench):
    """The built-in sandbox: no fake; its feed is in the brand's schema."""

    def start(self, clients, *, hang: float, seed: int) -> None:
        self.fakes = {}

    def count(self, delivery) -> int:
        from django_tenants.utils import schema_context

        from campaigns.models import SandboxPost

        with schema_context(delivery.schema_name):
            return SandboxPost.objects.filter(idempotency_key=delivery.idempotency_key).count()


BENCHES: dict[str, Bench] = {}


def register(bench: Bench) -> Bench:
    BENCHES[bench.network] = bench
    return bench


def available() -> list[str]:
    """The networks the platform publishes to that the bench can run, in the adapters' order."""
    from campaigns.publishing.adapters import ADAPTERS

    return [name for name in ADAPTERS if name in BENCHES]


def missing() -> list[str]:
    """Networks with an adapter but no bench entry (said in the report)."""
    from campaigns.publishing.adapters import ADAPTERS

    return [name for name in ADAPTERS if name not in BENCHES]


def _organization(client) -> str:
    return str(700000 + client.pk)


_tokens_lock = threading.Lock()


def _linkedin_channel(bench, client) -> dict:
    with _tokens_lock:
        token = bench.fake_for(client.pk).issue_token()
    return {"handle": f"linkedin.com/company/{client.slug}", "secret": token,
            "account_id": _organization(client)}


register(Sandbox("sandbox", made=None, channel=lambda bench, client: {"handle": f"@{client.slug}"}))
register(Bench("webhook", Receiver, publish=("POST", "/hook"),
               channel=lambda bench, client: {"handle": f"{client.slug}-hook",
                                              "endpoint": bench.fake_for(client.pk).url + "/hook",
                                              "secret": HOOK_SECRET},
               made=lambda fake, d: 1 if d.idempotency_key in fake.accepted else 0,
               repeats=lambda fake, d: max(0, fake.received[d.idempotency_key] - 1)))
register(Bench("mastodon", FakeMastodon, publish=("POST", "/api/v1/statuses"),
               fake_kwargs=lambda bench, client: {"token": TOKEN, "username": client.slug},
               channel=lambda bench, client: {"handle": f"@{client.slug}@127.0.0.1",
                                              "endpoint": bench.fake_for(client.pk).url,
                                              "secret": TOKEN},
               made=lambda fake, d: max(fake.posts_per_text.get(d.text, 0),
                                        fake.created_per_key.get(d.idempotency_key, 0))))
register(Bench("bluesky", FakeBluesky, publish=("POST", "/xrpc/com.atproto.repo.createRecord"),
               fake_kwargs=lambda bench, client: {"handle": f"{client.slug}.test",
                                                  "password": PASSWORD},
               channel=lambda bench, client: {"handle": f"@{client.slug}.test",
                                              "endpoint": bench.fake_for(client.pk).url,
                                              "secret": PASSWORD},
               made=lambda fake, d: fake.posts_per_text.get(d.text, 0)))
register(Shared("linkedin", FakeLinkedIn, publish=("POST", "/rest/posts"),
                keys=("linkedin_api", "linkedin_www"), media="image",
                shared_kwargs=lambda bench, clients: {"organizations": {
                    _organization(c): c.name for c in clients}},
                channel=_linkedin_channel,
                made=lambda fake, d: fake.posts_per_text.get(d.text, 0)))
