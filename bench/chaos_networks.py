"""The networks the chaos benchmark (bench/chaos_publish.py) publishes to, each with its local
fake (agency/demo/fakes), as the platform reaches it: a fake per brand where a channel names
its own server (Mastodon, Bluesky, a webhook receiver), one fake for every brand where the
network has one address for the installation (LinkedIn; Facebook, Instagram and Threads, which
share one local Meta: ``NETWORK_BASE_URLS``), none for the sandbox (it publishes into the brand's
own schema).

A channel's fields may include ``settings`` (what a network needs beyond the token). ``BENCHES``
is the registry, by the adapter's network name; ``available()`` lists the networks
the platform publishes to (the adapter registry) that have an entry here. A new network joins
with one line, e.g. for a fake that serves ``facebook_graph`` and takes a Page id and token:

    register(Shared("facebook", FakeFacebook, base_urls=("facebook_graph",),
                    publish=("POST", "/feed"), channel=page_channel))

Every fake is made chaotic the same way (``chaotic``): each request waits a random 0.05-0.2 s
(so a kill is likely to land while a publish call is in flight) and the requests in flight are
kept by the client's port, to find the worker whose publish call is open. ``hang_probability``
(stored, then answered after the client's timeout: an ambiguous timeout) is set on each; the
hangs that fired are counted by request (``faults``), so the report says how many each network's
publish call had.

Meta (``Meta``, agency/demo/fakes/meta.py): one ``FakeMeta`` serves Facebook, Instagram and
Threads (started by the first of them a run uses, stopped with the last). Each brand gets its own
Facebook Page and the Instagram professional account linked to it, added to the fake; the fake
has one Threads account, which every brand's Threads channel posts to with a token of its own
(texts are unique per delivery, so the counts stay per delivery). The publish calls the kills
aim at are ``/{page}/feed``, ``/{ig-user}/media_publish`` and ``/{user}/threads_publish``; the
fake's hang fault fires on each after storing the post. Instagram and Threads posts carry an
image that the fake FETCHES from the signed media link (``/media-link/<token>/`` on the brand's
host, ``<slug>.agency.localhost``, which the fake reaches at 127.0.0.1): the bench serves those
links with a real web server (``serves_media``: see bench/chaos_publish.py). The publishing
limits (per account on Meta; one count for all accounts in the fake) are raised so a long run
does not reach them: tests/publishing/test_meta.py covers them.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

from agency.demo.fakes import FakeBluesky, FakeMastodon, Reply, _FakeNetwork
from agency.demo.fakes.google_business import FakeGoogleBusiness
from agency.demo.fakes.linkedin import FakeLinkedIn
from agency.demo.fakes.meta import FakeMeta
from agency.demo.fakes.pinterest import FakePinterest
from agency.demo.fakes.tiktok import FakeTikTok
from agency.demo.fakes.x import FakeX
from agency.demo.fakes.youtube import FakeYouTube

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
        self.faults: Counter = Counter()  # (fault, path) -> times: the hangs that fired, where
        self._serving = threading.local()
        super().__init__(*args, seed=seed, **kwargs)

    @property
    def latency(self) -> float:
        return self._latency_random.uniform(*self.latency_range)

    @latency.setter
    def latency(self, value) -> None:  # the base class sets a fixed one: ours is drawn each time
        pass

    def _serve(self, handler, method):
        port = handler.client_address[1]
        self._serving.request = (method, urlsplit(handler.path).path)
        with self.lock:
            self.in_flight[port] = self._serving.request
        try:
            super()._serve(handler, method)
        finally:
            with self.lock:
                self.in_flight.pop(port, None)

    def _post_fault(self) -> str:
        fault = super()._post_fault()
        if fault:
            with self.lock:
                self.faults[fault, *getattr(self._serving, "request", ("", ""))] += 1
        return fault

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
    serves_media: bool = False  # the network fetches the post's media from our signed links
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

    def hangs(self) -> int:
        """Publish calls of this network whose post was stored and answered too late."""
        return sum(n for f in self.all_fakes() for (fault, *request), n in f.faults.items()
                   if fault == "hang" and self.is_publish(tuple(request)))

    def is_publish(self, request: tuple[str, str]) -> bool:
        """Is ``request`` ((method, path) open on a fake) this network's publish call?"""
        return bool(self.publish) and request[0] == self.publish[0] \
            and self.publish[1] in request[1]


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


@dataclass
class Meta(Shared):
    """One of Meta's networks (Facebook, Instagram, Threads): the three share one ``FakeMeta``
    (one address for the installation, ``keys``)."""

    _shared: ClassVar[dict] = {}

    def start(self, clients, *, hang: float, seed: int) -> None:
        shared = Meta._shared
        if shared.get("fake") is None:
            fake = chaotic(FakeMeta)(seed=seed, hang_seconds=3.0).start()
            fake.hang_probability = hang
            for client in clients:  # each brand: its own Page, and an Instagram account on it
                page, ig = _page(client.pk), _ig_user(client.pk)
                fake.pages[page] = {"id": page, "name": client.name, "category": "Coffee shop",
                                    "ig": ig}
                fake.ig_users[ig] = {"id": ig, "username": client.slug, "page": page}
            fake.ig_quota["quota_total"] = fake.threads_quota["quota_total"] = 1_000_000
            shared.update(fake=fake, users=0)
        shared["users"] += 1
        for client in clients:
            self.fakes[client.pk] = shared["fake"]

    def stop(self) -> None:
        shared = Meta._shared
        if shared.get("fake") is None:
            return
        shared["users"] -= 1
        if shared["users"] <= 0:
            shared.pop("fake").stop()

    def requests_seen(self) -> Counter:
        """This network's requests on the shared fake, ids named by what they are."""
        seen = Counter()
        for fake in self.all_fakes():
            with fake.lock:
                for method, path in list(fake.requests):
                    network, label = _meta_request(fake, path)
                    if network == self.network:
                        seen[f"{method} {label}"] += 1
        return seen


def _page(client_pk: int) -> str:
    return str(800000 + client_pk)


def _ig_user(client_pk: int) -> str:
    return str(17841490000000 + client_pk)


def _meta_request(fake, path: str) -> tuple[str, str]:
    """(network, path with its ids named) of a request to the fake Meta."""
    parts = [p for p in path.split("/") if p]
    version = parts.pop(0) if parts and parts[0][:1] == "v" and parts[0][1:2].isdigit() else ""
    if not parts:
        return "", path
    node, rest = parts[0], parts[1:]
    found = fake.objects.get(node) or {}
    if node == fake.threads_user["id"] or version == "v1.0":
        network, name = "threads", "{user}" if node == fake.threads_user["id"] else "{object}"
    elif node in fake.pages:
        network, name = "facebook", "{page}"
    elif node in fake.ig_users:
        network, name = "instagram", "{ig-user}"
    elif found.get("kind") == "container":
        network, name = found.get("network", ""), "{container}"
    elif found.get("kind") == "ig_media":
        network, name = "instagram", "{media}"
    elif found:
        network, name = "facebook", "{object}"
    else:
        network, name = "", node
    return network, "/" + "/".join([name, *rest])


def _meta_made(kind: str, text_field: str, account: Callable) -> Callable:
    """``made`` for one of Meta's networks: its posts (``kind`` objects on the fake, replies
    left out) on the brand's account whose text (``text_field``) is the delivery's."""
    def made(fake, delivery) -> int:
        owner = account(fake, delivery.client_id)
        with fake.lock:
            return sum(1 for o in fake.objects.values()
                       if o["kind"] == kind and o["owner"] == owner
                       and not o.get("reply_to_id") and o.get(text_field) == delivery.text)
    return made


def _meta_channel(network: str) -> Callable:
    def channel(bench, client) -> dict:
        fake = bench.fake_for(client.pk)
        page = _page(client.pk)
        with _tokens_lock:
            if network == "facebook":
                return {"handle": client.name, "account_id": page,
                        "secret": fake.page_token(page),
                        "settings": {"user_id": fake.user["id"], "page_name": client.name}}
            if network == "instagram":
                return {"handle": f"@{client.slug}", "account_id": _ig_user(client.pk),
                        "secret": fake.page_token(page),
                        "settings": {"user_id": fake.user["id"], "page_id": page,
                                     "page_name": client.name}}
            return {"handle": f"@{fake.threads_user['username']}",
                    "account_id": fake.threads_user["id"], "secret": fake.threads_token()}
    return channel


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


def _x_channel(bench, client) -> dict:
    """X: one account in the shared fake that every brand's channel posts to (texts are unique
    per delivery); the fake's duplicate refusal is off, so a repeat would be counted."""
    fake = bench.fake_for(client.pk)
    with _tokens_lock:
        token = fake.issue_token()
    return {"handle": f"@{fake.user['username']}", "secret": token,
            "account_id": fake.user["id"], "settings": {"username": fake.user["username"]}}


register(Shared("x", FakeX, publish=("POST", "/2/tweets"), keys=("x_api", "x_www"),
                media="image", shared_kwargs=lambda bench, clients: {"refuse_duplicates": False},
                channel=_x_channel, made=lambda fake, d: fake.posts_per_text.get(d.text, 0)))
GBP_ACCOUNT = "106000000000000001"


def _gbp_channel(bench, client) -> dict:
    """A Google Business Profile location per brand; a token that outlives the run (the
    adapter's renewal is covered by tests/publishing/test_google_business.py)."""
    with _tokens_lock:
        token = bench.fake_for(client.pk).issue_token(lifetime=86400)
    location = str(5900000000 + client.pk)
    return {"handle": client.name, "account_id": location, "secret": token,
            "settings": {"account": f"accounts/{GBP_ACCOUNT}",
                         "location": f"locations/{location}"}}


# Google fetches each post's photo from its signed media link, as Meta does.
register(Shared("google_business", FakeGoogleBusiness, publish=("POST", "/localPosts"),
                keys=("gbp_accounts", "gbp_oauth2", "gbp_account_management",
                      "gbp_business_information", "gbp_api"), media="jpeg", serves_media=True,
                shared_kwargs=lambda bench, clients: {"locations": {GBP_ACCOUNT: {
                    str(5900000000 + c.pk): c.name for c in clients}}},
                channel=_gbp_channel,
                made=lambda fake, d: fake.posts_per_text.get(d.text, 0)))

META_KEYS = ("facebook_graph", "facebook_www", "threads_graph", "threads_www")
register(Meta("facebook", FakeMeta, publish=("POST", "/feed"), keys=META_KEYS,
              channel=_meta_channel("facebook"),
              made=_meta_made("post", "message", lambda fake, pk: _page(pk))))
register(Meta("instagram", FakeMeta, publish=("POST", "/media_publish"), keys=META_KEYS,
              media="jpeg", serves_media=True, channel=_meta_channel("instagram"),
              made=_meta_made("ig_media", "caption", lambda fake, pk: _ig_user(pk))))
register(Meta("threads", FakeMeta, publish=("POST", "/threads_publish"), keys=META_KEYS,
              media="jpeg", serves_media=True, channel=_meta_channel("threads"),
              made=_meta_made("thread", "text", lambda fake, pk: fake.threads_user["id"])))


def _tiktok_channel(bench, client) -> dict:
    """A TikTok creator per brand (one fake, one open id each), its options as connection
    keeps them. TikTok's six posts a minute per token are lifted (``inits_per_minute=None``) so
    a long run is not all rate limits: tests/publishing/test_tiktok.py covers them."""
    fake = bench.fake_for(client.pk)
    with _tokens_lock:
        token = fake.issue_token()
    from campaigns.providers.tiktok import creator_settings

    return {"handle": f"@{fake.username}", "secret": token, "account_id": f"_open{client.pk}",
            "settings": creator_settings(fake.creator_info())}


# TikTok: photo posts (a JPEG TikTok pulls from the signed media link); the init call makes it.
register(Shared("tiktok", FakeTikTok, publish=("POST", "/v2/post/publish/content/init/"),
                keys=("tiktok_api", "tiktok_www"), media="jpeg", serves_media=True,
                shared_kwargs=lambda bench, clients: {"inits_per_minute": None},
                channel=_tiktok_channel,
                made=lambda fake, d: fake.posts_per_text.get(d.text, 0)))


def _pinterest_board(client) -> str:
    return str(1099511700000 + client.pk)


def _pinterest_channel(bench, client) -> dict:
    fake = bench.fake_for(client.pk)
    with _tokens_lock:
        token = fake.issue_token()
    return {"handle": f"pinterest.com/{client.slug}", "secret": token,
            "account_id": fake.account_id,
            "settings": {"boards": [{"id": _pinterest_board(client), "name": client.name}]}}


# Pinterest: one fake account for the installation, a board per brand (the channel's only board,
# so the bench's posts, made without the editor's board choice, go to it); pins carry a PNG.
register(Shared("pinterest", FakePinterest, publish=("POST", "/v5/pins"),
                keys=("pinterest_api", "pinterest_www"), media="image",
                shared_kwargs=lambda bench, clients: {"boards": {
                    _pinterest_board(c): c.name for c in clients}},
                channel=_pinterest_channel,
                made=lambda fake, d: fake.pins_per_text.get(d.text, 0)))


def _youtube_id(client) -> str:
    return f"UCchaos{client.pk:017d}"


def _youtube_channel(bench, client) -> dict:
    channel_id = _youtube_id(client)
    with _tokens_lock:
        token = bench.fake_for(client.pk).issue_token(lifetime=86400, channel=channel_id)
    return {"handle": f"@{client.slug}", "account_id": channel_id, "secret": token,
            "settings": {"uploads_playlist": "UU" + channel_id[2:], "daily_quota": 10**9}}


def _youtube_made(fake, delivery) -> int:
    with fake.lock:
        return sum(1 for v in fake._videos if v["description"] == delivery.text.strip())


# YouTube: one fake for every brand (a channel each); posts carry a small MP4, uploaded in one
# resumable chunk (the kills aim at the chunk's PUT); the quota is raised out of the way.
register(Shared("youtube", FakeYouTube, publish=("PUT", "/upload/youtube/v3/videos"),
                keys=("youtube_accounts", "youtube_oauth2", "youtube_api"), media="video",
                shared_kwargs=lambda bench, clients: {
                    "channels": {_youtube_id(c): (c.name, f"@{c.slug}") for c in clients},
                    "quota_per_day": 10**9},
                channel=_youtube_channel, made=_youtube_made))
