"""Local stand-ins for Mastodon and Bluesky that answer as the real services do, faults included.

Each fake is a threaded HTTP server on 127.0.0.1 (a free port), speaking the small part of the
network's API that the publishing adapters use, with the status codes, headers and error bodies of
the real thing. No pytest here: tests, benchmarks and the demo's sandbox import it as it is.
Other networks' fakes live beside it (agency/demo/fakes/<network>.py) and reuse its server.

    fake = FakeMastodon(token="s3cret").start()
    ...   # point a channel at fake.url
    fake.posts        # what is on the "network", oldest first
    fake.fail_next(2, status=503)         # the next two requests fail
    fake.accept_then_hang(1)              # the next post is stored, its answer comes too late
    fake.stop()

Fault knobs shared by both fakes (all thread-safe):

- ``fail_next(count=1, status=500, *, retry_after=None, message=None, path=None)``: the next
  ``count`` requests (whose path contains ``path``, if given) are answered with ``status`` and the
  network's error body, before anything is done; 429 carries the network's rate-limit headers.
  ``message``: the error text (Bluesky: ``""`` sends the error name alone, as some servers do).
- ``accept_then_hang(count=1)`` / attribute ``hang_probability``: a post (Mastodon status,
  Bluesky createRecord) is stored, then the answer waits ``hang_seconds`` (longer than the
  client's timeout) before it is written: the client sees a read timeout.
- ``accept_then_drop(count=1)`` / attribute ``drop_probability``: the post is stored, then the
  connection is closed without an answer.
- ``latency``: seconds every request waits before it is handled.
- ``requests``: ``(method, path)`` of every request received, in order.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import pkgutil
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import regex

__all__ = ["FAKES", "FakeBluesky", "FakeMastodon", "FakeTokenServer", "Hostile", "Reply",
           "closed_port_url", "demo_env", "redirect_to", "load_all", "register_fake", "tid"]


def closed_port_url() -> str:
    """An address where nothing listens: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Reply:
    status: int
    body: object = None  # dict/list → JSON; bytes → as is
    headers: dict | None = None
    fault: str = ""  # "hang" or "drop": the request was acted on, the answer is late or lost


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    message: str | None
    path: str | None


def redirect_to(redirect_uri: str, params: dict) -> Reply:
    """An OAuth consent screen's answer: back to the app's ``redirect_uri`` with ``params``
    added to its query."""
    join = "&" if "?" in redirect_uri else "?"
    return Reply(302, b"", {"Location": redirect_uri + join + urlencode(params),
                            "Content-Type": "text/html; charset=utf-8"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeNetwork/1"

    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass

    def do_GET(self):  # noqa: N802
        self.server.fake._serve(self, "GET")

    def do_POST(self):  # noqa: N802
        self.server.fake._serve(self, "POST")

    def do_HEAD(self):  # noqa: N802
        self.server.fake._serve(self, "HEAD")


class _FakeNetwork:
    """The server, the fault knobs and the request log; subclasses answer the routes."""

    handler = _Handler  # a fake answering more methods (PUT...) names its own handler

    name = "network"

    def __init__(self, *, hang_seconds: float = 3.0, latency: float = 0.0, seed=None):
        self.lock = threading.RLock()
        self.hang_seconds = hang_seconds
        self.latency = latency
        self.hang_probability = 0.0
        self.drop_probability = 0.0
        self.requests: list[tuple[str, str]] = []
        self._failures: list[_Failure] = []
        self._hang_next = 0
        self._drop_next = 0
        self._random = random.Random(seed)  # noqa: S311 - faults, not secrets
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, port: int = 0):
        """Listen on 127.0.0.1:``port`` (0: a free port)."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self.handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes the handlers that hang
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"The fake {self.name} is not started.")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- knobs ----------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500, *, retry_after: float | None = None,
                  message: str | None = None, path: str | None = None) -> None:
        with self.lock:
            self._failures.extend(_Failure(status, retry_after, message, path)
                                  for _ in range(count))

    def accept_then_hang(self, count: int = 1) -> None:
        with self.lock:
            self._hang_next += count

    def accept_then_drop(self, count: int = 1) -> None:
        with self.lock:
            self._drop_next += count

    def clear_faults(self) -> None:
        with self.lock:
            self._failures.clear()
            self._hang_next = self._drop_next = 0
            self.hang_probability = self.drop_probability = 0.0

    def count(self, method: str, path_part: str) -> int:
        """How many requests of this method had ``path_part`` in their path."""
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and path_part in p)

    # -- for subclasses -------------------------------------------------------------------------

    def _post_fault(self) -> str:
        """Called by a route that has just stored a post: should its answer hang or vanish?"""
        with self.lock:
            if self._hang_next:
                self._hang_next -= 1
                return "hang"
            if self._drop_next:
                self._drop_next -= 1
                return "drop"
            if self.hang_probability and self._random.random() < self.hang_probability:
                return "hang"
            if self.drop_probability and self._random.random() < self.drop_probability:
                return "drop"
        return ""

    def _failure_reply(self, failure: _Failure) -> Reply:
        raise NotImplementedError

    def _route(self, method: str, path: str, query: dict, headers, body: bytes) -> Reply:
        raise NotImplementedError

    # -- the HTTP side --------------------------------------------------------------------------

    def _serve(self, handler: _Handler, method: str) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append((method, split.path))
            failure = next((f for f in self._failures
                            if f.path is None or f.path in split.path), None)
            if failure is not None:
                self._failures.remove(failure)
        if self.latency:
            self._stopping.wait(self.latency)
        if failure is not None:
            reply = self._failure_reply(failure)
        else:
            try:
                reply = self._route(method, split.path,
                                    parse_qs(split.query, keep_blank_values=True),
                                    handler.headers, body)
            except Exception as exc:  # noqa: BLE001 - a bug in the fake: answer as a server would
                reply = self._failure_reply(_Failure(500, None, f"fake crashed: {exc!r}", None))
        if reply.fault == "drop":
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if reply.fault == "hang":
            self._stopping.wait(self.hang_seconds)
        self._write(handler, method, reply)

    def _write(self, handler: _Handler, method: str, reply: Reply) -> None:
        if isinstance(reply.body, bytes):
            payload, content_type = reply.body, "application/octet-stream"
        elif reply.body is None:
            payload, content_type = b"", "application/json; charset=utf-8"
        else:
            payload = json.dumps(reply.body, ensure_ascii=False).encode()
            content_type = "application/json; charset=utf-8"
        try:
            handler.send_response(reply.status)
            headers = {"Content-Type": content_type, **(reply.headers or {})}
            for name, value in headers.items():
                handler.send_header(name, str(value))
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            if method != "HEAD":
                handler.wfile.write(payload)
            handler.wfile.flush()
        except OSError:  # the client gave up (it timed out): nobody to answer
            handler.close_connection = True


# -- Mastodon ---------------------------------------------------------------------------------

_MASTODON_URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_MASTODON_TOKEN_RE = re.compile(r"(https?://[^\s<>\"]+)|(?<![\w#&])#(\w+)", re.IGNORECASE)
_MASTODON_MENTION_RE = re.compile(r"(?<![\w@])@(\w+)@[\w.-]+\w")


def _escape(text: str) -> str:
    """HTML escaping as Mastodon (Ruby's CGI.escapeHTML) does it."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _mastodon_length(text: str) -> int:
    text = _MASTODON_URL_RE.sub("x" * 23, text)
    return len(_MASTODON_MENTION_RE.sub(lambda m: "@" + m.group(1), text))


class FakeMastodon(_FakeNetwork):
    """A Mastodon server with one account, ``username``, reachable with ``token``.

    ``posts``: the statuses, oldest first, each a dict with ``id, text, content (HTML), url,
    created_at (datetime), media (id, description, file_name, mime_type, size),
    in_reply_to_id, idempotency_key``. ``media``: every upload by id. ``created_per_key`` counts
    the statuses created per Idempotency-Key and ``posts_per_text`` per text: a count above one
    is a duplicate. Repeats of a key within ``idempotency_ttl`` seconds get the first status back
    (200), as Mastodon does (it keeps keys an hour). ``retry_after_header``: send Retry-After on
    429 besides Mastodon's own X-RateLimit-Reset (real Mastodon sends only the latter).
    """

    name = "mastodon"
    max_characters = 500
    max_media = 4

    def __init__(self, *, token: str = "mastodon-token", username: str = "acme",  # noqa: S107
                 account_id: str = "109000000000000001", idempotency_ttl: float = 3600.0,
                 retry_after_header: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.token = token
        self.username = username
        self.account_id = account_id
        self.idempotency_ttl = idempotency_ttl
        self.retry_after_header = retry_after_header
        # Polls of GET /api/v1/media/:id before an uploaded video is processed.
        self.video_processing_polls = 0
        self.media: dict[str, dict] = {}
        self.created_per_key: Counter = Counter()
        self.posts_per_text: Counter = Counter()
        self._statuses: list[dict] = []
        self._keys: dict[tuple[str, str], tuple[float, dict]] = {}
        self._next_id = int(time.time() * 1000) << 16
        # OAuth (https://docs.joinmastodon.org/methods/apps/ and /methods/oauth/): apps
        # registered by client id, codes waiting to be exchanged, tokens issued and revoked.
        self.apps: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.issued: set[str] = set()
        self.revoked: list[str] = []
        self.code_ttl = 600.0  # Doorkeeper's default: ten minutes
        # Conversations: statuses by other accounts, the account's notifications (newest last)
        # and whom it muted or blocked.
        self.others: dict[str, dict] = {}
        self.notifications: list[dict] = []
        self.muted: set[str] = set()
        self.blocked: set[str] = set()

    def _authorised(self, headers) -> bool:
        value = headers.get("Authorization") or ""
        token = value[7:] if value.startswith("Bearer ") else None
        with self.lock:
            return token is not None and (token == self.token or token in self.issued)

    def revoke_all(self) -> None:
        """Every token stops working (the account's password changed, the app was removed)."""
        with self.lock:
            self.revoked.extend(self.issued)
            self.revoked.append(self.token)
            self.issued.clear()
            self.token = "revoked-" + os.urandom(8).hex()

    @property
    def posts(self) -> list[dict]:
        with self.lock:
            return [dict(status) for status in self._statuses]

    def duplicates(self) -> dict[str, int]:
        """Texts posted more than once, with how many times."""
        with self.lock:
            return {text: n for text, n in self.posts_per_text.items() if n > 1}

    def add_status(self, text: str, *, created_at: datetime | None = None,
                   in_reply_to_id: str | None = None) -> dict:
        """Put a status on the account directly (as if posted elsewhere, e.g. last week)."""
        with self.lock:
            return self._create(text, [], in_reply_to_id, None,
                                created_at or datetime.now(UTC))

    def add_reply(self, text: str, *, in_reply_to_id: str | None = None,
                  author: str = "bob@elsewhere.example", display_name: str = "",
                  media: bool = False, created_at: datetime | None = None) -> dict:
        """Someone else replies to one of the account's statuses (or mentions it, without
        ``in_reply_to_id``): their status, and the account's ``mention`` notification, as
        Mastodon makes them. Returns the status (``id``, ``url``, ``account``...)."""
        with self.lock:
            if in_reply_to_id and not any(s["id"] == str(in_reply_to_id)
                                          for s in [*self._statuses, *self.others.values()]):
                raise ValueError(f"no status {in_reply_to_id} to reply to")
            self._next_id += 1
            status_id = str(self._next_id)
            username = author.split("@")[0]
            account_id = str(int(hashlib.sha256(author.encode()).hexdigest()[:12], 16))
            moment = created_at or datetime.now(UTC)
            status = {
                "id": status_id, "created_at": _iso(moment),
                "in_reply_to_id": str(in_reply_to_id) if in_reply_to_id else None,
                "in_reply_to_account_id": self.account_id if in_reply_to_id else None,
                "sensitive": False, "spoiler_text": "", "visibility": "public",
                "language": "en", "uri": f"https://elsewhere.example/users/{username}/"
                                         f"statuses/{status_id}",
                "url": f"https://elsewhere.example/@{username}/{status_id}",
                "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
                "edited_at": None, "content": self._html(f"@{self.username} {text}"),
                "reblog": None,
                "account": {"id": account_id, "username": username, "acct": author,
                            "display_name": display_name or username.title(),
                            "url": f"https://elsewhere.example/@{username}"},
                "media_attachments": ([{"id": str(self._next_id + 1), "type": "image",
                                        "url": "https://elsewhere.example/media/1.jpg",
                                        "description": None}] if media else []),
                "mentions": [{"id": self.account_id, "username": self.username,
                              "acct": self.username, "url": f"{self.url}/@{self.username}"}],
                "tags": [], "emojis": [], "card": None, "poll": None,
            }
            self.others[status_id] = status
            self._next_id += 1
            self.notifications.append({
                "id": str(self._next_id), "type": "mention", "created_at": _iso(moment),
                "account": status["account"], "status": status})
            return dict(status)

    def _notifications(self, query: dict) -> Reply:
        """GET /api/v1/notifications: newest first; ``types[]`` filters; ``max_id``,
        ``since_id`` and ``min_id`` page (min_id: the page just after it, still newest
        first); at most 80 (default 40). Muted and blocked accounts' are left out."""
        types = query.get("types[]") or query.get("types") or []
        limit = min(int((query.get("limit") or ["40"])[0] or 40), 80)
        max_id, since_id, min_id = ((query.get(name) or [None])[0]
                                    for name in ("max_id", "since_id", "min_id"))
        with self.lock:
            found = [n for n in self.notifications
                     if (not types or n["type"] in types)
                     and n["account"]["id"] not in self.muted | self.blocked]
        found.sort(key=lambda n: int(n["id"]))
        if max_id:
            found = [n for n in found if int(n["id"]) < int(max_id)]
        if since_id:
            found = [n for n in found if int(n["id"]) > int(since_id)]
        if min_id:
            found = [n for n in found if int(n["id"]) > int(min_id)][:limit]
        else:
            found = found[-limit:]
        return Reply(200, list(reversed(found)))

    def _relationship(self, account_id: str, action: str) -> Reply:
        with self.lock:
            known = any(s["account"]["id"] == account_id for s in self.others.values())
            if not known:
                return self._error(404, "Record not found")
            for name, bucket in (("mute", self.muted), ("block", self.blocked)):
                if action == name:
                    bucket.add(account_id)
                elif action == "un" + name:
                    bucket.discard(account_id)
            return Reply(200, {"id": account_id, "following": False, "showing_reblogs": False,
                               "notifying": False, "followed_by": False,
                               "blocking": account_id in self.blocked, "blocked_by": False,
                               "muting": account_id in self.muted,
                               "muting_notifications": account_id in self.muted,
                               "requested": False, "domain_blocking": False,
                               "endorsed": False, "note": ""})

    # -- rendering ------------------------------------------------------------------------------

    def _html(self, text: str) -> str:
        def line_html(line: str) -> str:
            out, position = [], 0
            for match in _MASTODON_TOKEN_RE.finditer(line):
                out.append(_escape(line[position:match.start()]))
                if match.group(1):
                    link = match.group(1)
                    scheme, _, rest = link.partition("://")
                    out.append(f'<a href="{_escape(link)}" target="_blank" '
                               f'rel="nofollow noopener" translate="no">'
                               f'<span class="invisible">{scheme}://</span>'
                               f'<span class="">{_escape(rest)}</span>'
                               f'<span class="invisible"></span></a>')
                else:
                    tag = match.group(2)
                    out.append(f'<a href="{self.url}/tags/{tag.lower()}" '
                               f'class="mention hashtag" rel="tag">'
                               f'#<span>{_escape(tag)}</span></a>')
                position = match.end()
            out.append(_escape(line[position:]))
            return "".join(out)

        paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
        return "".join("<p>" + "<br />".join(line_html(line) for line in p.split("\n")) + "</p>"
                       for p in paragraphs)

    def _account(self) -> dict:
        return {
            "id": self.account_id, "username": self.username, "acct": self.username,
            "display_name": self.username.title(), "locked": False, "bot": False,
            "created_at": "2024-01-01T00:00:00.000Z", "note": "",
            "url": f"{self.url}/@{self.username}",
            "avatar": f"{self.url}/avatars/original/missing.png", "header": "", "emojis": [],
            "fields": [], "followers_count": self.followers_count, "following_count": 0,
            "statuses_count": len(self._statuses),
            "source": {"privacy": "public", "sensitive": False, "language": "", "note": "",
                       "fields": []},
        }

    def _create(self, text: str, media_ids: list[str], in_reply_to_id, key,
                created_at: datetime) -> dict:
        self._next_id += 1
        status_id = str(self._next_id)
        status = {
            "id": status_id, "text": text, "content": self._html(text),
            "url": f"{self.url}/@{self.username}/{status_id}",
            "uri": f"{self.url}/users/{self.username}/statuses/{status_id}",
            "created_at": created_at, "in_reply_to_id": in_reply_to_id,
            "media": [dict(self.media[m]) for m in media_ids], "idempotency_key": key,
        }
        self._statuses.append(status)
        self.created_per_key[key or ""] += 1
        self.posts_per_text[text] += 1
        return status

    def _status_json(self, status: dict) -> dict:
        return {
            "id": status["id"], "created_at": _iso(status["created_at"]),
            "in_reply_to_id": status["in_reply_to_id"],
            "in_reply_to_account_id": self.account_id if status["in_reply_to_id"] else None,
            "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "en",
            "uri": status["uri"], "url": status["url"], **self._counts_json(status),
            "edited_at": None, "content": status["content"],
            "reblog": None, "account": self._account(),
            "media_attachments": [self._media_json(m) for m in status["media"]],
            "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None,
        }

    # -- results: counts on statuses and the account's followers (GET /api/v1/statuses/:id and
    # verify_credentials answer them) --------------------------------------------------------

    followers_count = 0

    def set_counts(self, status_id: str, *, favourites: int = 0, reblogs: int = 0,
                   replies: int = 0) -> None:
        """Give a status its counts, as if people had favourited, boosted and replied."""
        with self.lock:
            status = next(s for s in self._statuses if s["id"] == str(status_id))
            status["counts"] = {"favourites_count": favourites, "reblogs_count": reblogs,
                                "replies_count": replies}

    @staticmethod
    def _counts_json(status: dict) -> dict:
        return status.get("counts") or {"favourites_count": 0, "reblogs_count": 0,
                                        "replies_count": 0}

    def _media_json(self, media: dict) -> dict:
        kind = "video" if media["mime_type"].startswith("video/") else "image"
        ready = media.get("polls_left", 0) <= 0
        return {"id": media["id"], "type": kind,
                "url": f"{self.url}/media/{media['id']}" if ready else None,
                "preview_url": f"{self.url}/media/{media['id']}/small", "remote_url": None,
                "description": media["description"], "blurhash": None, "meta": {}}

    # -- answers --------------------------------------------------------------------------------

    def _error(self, status: int, message: str, headers: dict | None = None) -> Reply:
        return Reply(status, {"error": message}, headers)

    def _failure_reply(self, failure: _Failure) -> Reply:
        headers = {}
        if failure.status == 429:
            wait = failure.retry_after if failure.retry_after is not None else 300
            reset = datetime.now(UTC) + timedelta(seconds=wait)
            headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": reset.isoformat(timespec="microseconds")
                       .replace("+00:00", "Z")}
            if self.retry_after_header and failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
        elif failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        default = {429: "Too many requests", 401: "The access token is invalid",
                   422: "Validation failed"}.get(failure.status) \
            or HTTPStatus(failure.status).phrase
        message = default if failure.message is None else failure.message
        return self._error(failure.status, message, headers)

    def _route(self, method, path, query, headers, body) -> Reply:
        if method == "POST" and path == "/api/v1/apps":
            return self._register_app(headers, body)
        if path == "/oauth/authorize":
            return self._authorize(method, query if method == "GET" else _form(headers, body))
        if method == "POST" and path == "/oauth/token":
            return self._token(headers, body)
        if method == "POST" and path == "/oauth/revoke":
            return self._revoke(headers, body)
        if method == "GET" and path in ("/", f"/@{self.username}"):
            return self._profile()
        if not self._authorised(headers):
            return self._error(401, "The access token is invalid")
        if method == "POST" and path in ("/api/v2/media", "/api/v1/media"):
            return self._upload(headers, body)
        if method == "POST" and path == "/api/v1/statuses":
            return self._post_status(headers, body)
        match = re.fullmatch(r"/api/v1/media/([^/]+)", path)
        if method == "GET" and match:  # an upload's processing state
            with self.lock:
                media = self.media.get(match.group(1))
                if media is None:
                    return self._error(404, "Record not found")
                media["polls_left"] = media.get("polls_left", 0) - 1
                return Reply(200 if media["polls_left"] <= 0 else 206, self._media_json(media))
        if method == "GET" and path == "/api/v1/accounts/verify_credentials":
            with self.lock:
                return Reply(200, self._account())
        match = re.fullmatch(r"/api/v1/accounts/([^/]+)/statuses", path)
        if method == "GET" and match:
            return self._account_statuses(match.group(1), query)
        if method == "GET" and path == "/api/v1/notifications":
            return self._notifications(query)
        match = re.fullmatch(r"/api/v1/accounts/([^/]+)/(mute|unmute|block|unblock)", path)
        if method == "POST" and match:
            return self._relationship(match.group(1), match.group(2))
        match = re.fullmatch(r"/api/v1/statuses/([^/]+)", path)
        if method == "GET" and match:
            with self.lock:
                status = next((s for s in self._statuses if s["id"] == match.group(1)), None)
                if status is None:
                    return self._error(404, "Record not found")
                return Reply(200, self._status_json(status))
        return self._error(404, "Record not found")

    def _profile(self) -> Reply:
        """The account's public page: its statuses, newest first (the demo's "watch it go
        out")."""
        with self.lock:
            statuses = sorted(self._statuses, key=lambda s: int(s["id"]), reverse=True)
            items = "".join(f'<article><p><time>{_iso(s["created_at"])}</time></p>'
                            f'{s["content"]}</article>' for s in statuses)
        return self._page(200, f"@{self.username}", items or "<p>No posts yet.</p>")

    # -- OAuth ----------------------------------------------------------------------------------

    def _register_app(self, headers, body) -> Reply:
        data = _form(headers, body)
        name = _one(data, "client_name")
        uris = data.get("redirect_uris[]") or data.get("redirect_uris") or []
        uris = [u for value in uris for u in str(value).split()]
        if not name:
            return self._error(422, "Validation failed: Application name can't be blank")
        if not uris or not all(u.startswith(("https://", "http://", "urn:")) for u in uris):
            return self._error(422, "Validation failed: Redirect URI must be an absolute URI.")
        scopes = _one(data, "scopes") or "read"
        with self.lock:
            self._next_id += 1
            client_id, secret = os.urandom(16).hex(), os.urandom(24).hex()
            self.apps[client_id] = {"id": str(self._next_id), "name": name, "secret": secret,
                                    "redirect_uris": uris, "scopes": scopes.split()}
        return Reply(200, {"id": str(self._next_id), "name": name,
                           "website": _one(data, "website") or None, "scopes": scopes.split(),
                           "redirect_uri": "\n".join(uris), "redirect_uris": uris,
                           "client_id": client_id, "client_secret": secret,
                           "client_secret_expires_at": 0, "vapid_key": ""})

    def _page(self, status: int, title: str, body: str) -> Reply:
        page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_escape(title)}"
                f"</title></head><body><main><h1>{_escape(title)}</h1>{body}</main></body></html>")
        return Reply(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _authorize(self, method: str, data: dict) -> Reply:
        """The consent screen (GET) and the person's answer to it (POST ``decision``)."""
        client_id, redirect_uri = _one(data, "client_id"), _one(data, "redirect_uri")
        state, scope = _one(data, "state"), _one(data, "scope") or "read"
        with self.lock:
            app = self.apps.get(client_id)
        if app is None:
            return self._page(401, "An error has occurred", "<p>Client authentication failed "
                              "due to unknown client, no client authentication included, or "
                              "unsupported authentication method.</p>")
        if redirect_uri not in app["redirect_uris"]:
            return self._page(400, "An error has occurred", "<p>The redirect uri included is "
                              "not valid.</p>")
        if _one(data, "response_type") != "code":
            return self._redirect(redirect_uri, {"error": "unsupported_response_type",
                                                 "state": state})
        if not set(scope.split()) <= set(app["scopes"]):
            return self._redirect(redirect_uri, {
                "error": "invalid_scope", "state": state, "error_description": "The requested "
                "scope is invalid, unknown, or malformed."})
        challenge = _one(data, "code_challenge")
        if challenge and _one(data, "code_challenge_method") != "S256":
            return self._redirect(redirect_uri, {"error": "invalid_request", "state": state,
                                                 "error_description": "Code challenge method "
                                                 "is not supported."})
        if method == "GET":
            fields = "".join(f'<input type="hidden" name="{_escape(k)}" value="{_escape(v)}">'
                             for k, v in (("client_id", client_id), ("redirect_uri", redirect_uri),
                                          ("state", state), ("scope", scope),
                                          ("response_type", "code"),
                                          ("code_challenge", challenge),
                                          ("code_challenge_method",
                                           _one(data, "code_challenge_method"))))
            scopes = "".join(f"<li>{_escape(s)}</li>" for s in scope.split())
            return self._page(200, "Authorization required", (
                f"<p><strong>{_escape(app['name'])}</strong> would like permission to access "
                f"your account <strong>@{_escape(self.username)}</strong>.</p>"
                f"<p>Review permissions:</p><ul>{scopes}</ul>"
                f'<form method="post" action="/oauth/authorize">{fields}'
                '<button name="decision" value="approve">Authorize</button> '
                '<button name="decision" value="deny">Deny</button></form>'))
        if _one(data, "decision") != "approve":
            return self._redirect(redirect_uri, {
                "error": "access_denied", "state": state, "error_description": "The resource "
                "owner or authorization server denied the request."})
        code = os.urandom(20).hex()
        with self.lock:
            self.codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri,
                                "scope": scope, "challenge": challenge,
                                "expires": time.monotonic() + self.code_ttl}
        return self._redirect(redirect_uri, {"code": code, "state": state})

    @staticmethod
    def _redirect(redirect_uri: str, params: dict) -> Reply:
        return redirect_to(redirect_uri, {k: v for k, v in params.items() if v})

    def _client(self, headers, data: dict) -> dict | None:
        """The app that authenticated: client_secret_post or client_secret_basic."""
        client_id, secret = _one(data, "client_id"), _one(data, "client_secret")
        value = headers.get("Authorization") or ""
        if value.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(value[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        with self.lock:
            app = self.apps.get(client_id)
        return app if app is not None and app["secret"] == secret else None

    def _oauth_error(self, status: int, error: str, description: str) -> Reply:
        return Reply(status, {"error": error, "error_description": description})

    def _token(self, headers, body) -> Reply:
        data = _form(headers, body)
        app = self._client(headers, data)
        if app is None:
            return self._oauth_error(401, "invalid_client", "Client authentication failed due "
                                     "to unknown client, no client authentication included, "
                                     "or unsupported authentication method.")
        invalid = ("The provided authorization grant is invalid, expired, revoked, does not "
                   "match the redirection URI used in the authorization request, or was issued "
                   "to another client.")
        if _one(data, "grant_type") != "authorization_code":
            return self._oauth_error(400, "unsupported_grant_type", "The authorization grant "
                                     "type is not supported by the authorization server.")
        with self.lock:
            grant = self.codes.get(_one(data, "code"))
        client_id = next(k for k, v in self.apps.items() if v is app)
        if grant is None or grant["expires"] < time.monotonic() \
                or grant["client_id"] != client_id \
                or grant["redirect_uri"] != _one(data, "redirect_uri"):
            return self._oauth_error(400, "invalid_grant", invalid)
        if grant["challenge"]:
            verifier = _one(data, "code_verifier")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if not verifier or digest.rstrip(b"=").decode() != grant["challenge"]:
                return self._oauth_error(400, "invalid_grant", invalid)
        token = os.urandom(24).hex()
        with self.lock:
            if self.codes.pop(_one(data, "code"), None) is None:  # a code is good once
                return self._oauth_error(400, "invalid_grant", invalid)
            self.issued.add(token)
        return Reply(200, {"access_token": token, "token_type": "Bearer",
                           "scope": grant["scope"], "created_at": int(time.time())})

    def _revoke(self, headers, body) -> Reply:
        data = _form(headers, body)
        if self._client(headers, data) is None:
            return self._oauth_error(403, "unauthorized_client", "You are not authorized to "
                                     "revoke this token")
        token = _one(data, "token")
        with self.lock:
            if token in self.issued or token == self.token:
                self.issued.discard(token)
                self.revoked.append(token)
                if token == self.token:
                    self.token = "revoked-" + os.urandom(8).hex()
        return Reply(200, {})  # RFC 7009: unknown tokens too

    def _upload(self, headers, body) -> Reply:
        fields, files = _multipart(headers.get("Content-Type", ""), body)
        if "file" not in files:
            return self._error(422, "Validation failed: File can't be blank")
        file_name, mime_type, data = files["file"]
        if not mime_type.startswith(("image/", "video/", "audio/")):
            return self._error(422, f"Validation failed: File content type {mime_type} is not "
                                    "supported")
        description = fields.get("description", "")
        if len(description) > 1500:
            return self._error(422, "Validation failed: Description is too long (maximum is "
                                    "1500 characters)")
        with self.lock:
            self._next_id += 1
            media = {"id": str(self._next_id), "description": description or None,
                     "file_name": file_name, "mime_type": mime_type, "size": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()}
            if mime_type.startswith("video/"):  # processed after the answer, as Mastodon does
                media["polls_left"] = self.video_processing_polls
            self.media[media["id"]] = media
            return Reply(202 if media.get("polls_left", 0) > 0 else 200,
                         self._media_json(media))

    def _post_status(self, headers, body) -> Reply:
        if "json" in (headers.get("Content-Type") or ""):
            data = json.loads(body or b"{}")
            text = data.get("status") or ""
            media_ids = [str(m) for m in data.get("media_ids") or []]
            reply_to = data.get("in_reply_to_id")
        else:
            form = parse_qs(body.decode(), keep_blank_values=True)
            text = (form.get("status") or [""])[0]
            media_ids = form.get("media_ids[]") or form.get("media_ids") or []
            reply_to = (form.get("in_reply_to_id") or [None])[0]
        key = headers.get("Idempotency-Key")
        with self.lock:
            if key:
                seen = self._keys.get((self.token, key))
                if seen and time.monotonic() - seen[0] < self.idempotency_ttl:
                    return Reply(200, self._status_json(seen[1]), fault=self._post_fault())
            if not text.strip() and not media_ids:
                return self._error(422, "Validation failed: Text can't be blank")
            if _mastodon_length(text) > self.max_characters:
                return self._error(422, "Validation failed: Text character limit of "
                                        f"{self.max_characters} exceeded")
            if len(media_ids) > self.max_media:
                return self._error(422, "Validation failed: Media attachments: too many "
                                        f"attachments (maximum is {self.max_media})")
            if any(m not in self.media for m in media_ids):
                return self._error(422, "Validation failed: Media attachment IDs are invalid")
            if any(self.media[m].get("polls_left", 0) > 0 for m in media_ids):
                return self._error(422, "Cannot attach files that have not finished processing. "
                                        "Try again in a moment!")
            if reply_to and not any(s["id"] == reply_to for s in self._statuses) \
                    and reply_to not in self.others:
                return self._error(404, "Record not found")
            status = self._create(text, media_ids, reply_to, key, datetime.now(UTC))
            if key:
                self._keys[(self.token, key)] = (time.monotonic(), status)
            return Reply(200, self._status_json(status), fault=self._post_fault())

    def _account_statuses(self, account_id: str, query: dict) -> Reply:
        if account_id != self.account_id:
            return self._error(404, "Record not found")
        limit = min(int((query.get("limit") or ["20"])[0] or 20), 40)
        max_id = (query.get("max_id") or [None])[0]
        exclude_replies = (query.get("exclude_replies") or ["0"])[0] in ("1", "true")
        with self.lock:
            statuses = sorted(self._statuses, key=lambda s: int(s["id"]), reverse=True)
            if max_id:
                statuses = [s for s in statuses if int(s["id"]) < int(max_id)]
            if exclude_replies:
                statuses = [s for s in statuses if not s["in_reply_to_id"]]
            return Reply(200, [self._status_json(s) for s in statuses[:limit]])


class FakeTokenServer(_FakeNetwork):
    """A network's OAuth 2 token endpoint for refresh tokens (RFC 6749 section 6), as networks
    with expiring tokens have it: ``POST /oauth/token`` with ``grant_type=refresh_token``
    answers a new access token and a new (rotated) refresh token; a refresh token used once,
    revoked or unknown gets 400 ``invalid_grant``. ``grant(lifetime)`` issues a pair to start
    from; ``revoke_all()`` makes every refresh token stop working."""

    name = "oauth"

    def __init__(self, *, client_id: str = "app-id", client_secret: str = "app-secret",  # noqa: S107
                 lifetime: int = 3600, **kwargs):
        super().__init__(**kwargs)
        self.client_id, self.client_secret, self.lifetime = client_id, client_secret, lifetime
        self.refresh_tokens: set[str] = set()
        self.access_tokens: set[str] = set()
        self.refreshes = 0

    def grant(self) -> tuple[str, str]:
        with self.lock:
            access, refresh = os.urandom(16).hex(), os.urandom(16).hex()
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
            return access, refresh

    def revoke_all(self) -> None:
        with self.lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def _failure_reply(self, failure: _Failure) -> Reply:
        return Reply(failure.status, {"error": "server_error",
                                      "error_description": failure.message or "unavailable"})

    def _route(self, method, path, query, headers, body) -> Reply:
        if method != "POST" or path != "/oauth/token":
            return Reply(404, {"error": "not_found"})
        data = _form(headers, body)
        client_id, secret = _one(data, "client_id"), _one(data, "client_secret")
        value = headers.get("Authorization") or ""
        if value.startswith("Basic "):
            client_id, _, secret = base64.b64decode(value[6:]).decode().partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if (client_id, secret) != (self.client_id, self.client_secret):
            return Reply(401, {"error": "invalid_client",
                               "error_description": "Client authentication failed."})
        if _one(data, "grant_type") != "refresh_token":
            return Reply(400, {"error": "unsupported_grant_type"})
        with self.lock:
            old = _one(data, "refresh_token")
            if old not in self.refresh_tokens:
                return Reply(400, {"error": "invalid_grant",
                                   "error_description": "The refresh token is invalid or "
                                                        "expired."})
            self.refresh_tokens.discard(old)
            self.refreshes += 1
        access, refresh = self.grant()
        return Reply(200, {"access_token": access, "token_type": "Bearer",
                           "expires_in": self.lifetime, "refresh_token": refresh,
                           "scope": "publish"})


def _form(headers, body: bytes) -> dict:
    """A request's form (urlencoded or JSON) as lists of values, as ``parse_qs`` gives them."""
    if "json" in (headers.get("Content-Type") or ""):
        data = json.loads(body or b"{}")
        return {k: v if isinstance(v, list) else [v] for k, v in data.items()}
    return parse_qs(body.decode(), keep_blank_values=True)


def _one(data: dict, name: str) -> str:
    values = data.get(name) or [""]
    return str(values[0] if values[0] is not None else "")


def _multipart(content_type: str, body: bytes) -> tuple[dict, dict]:
    """Fields (name → text) and files (name → (file name, mime type, bytes)) of a form."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return {}, {}
    fields, files = {}, {}
    for part in body.split(b"--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        head_text = head.decode("utf-8", "replace")
        name = re.search(r'name="([^"]*)"', head_text)
        file_name = re.search(r'filename="([^"]*)"', head_text)
        mime = re.search(r"Content-Type:\s*([^\r\n;]+)", head_text, re.IGNORECASE)
        if not name:
            continue
        if file_name:
            files[name.group(1)] = (file_name.group(1),
                                    mime.group(1).strip() if mime else "application/octet-stream",
                                    data)
        else:
            fields[name.group(1)] = data.decode("utf-8")
    return fields, files


# -- Bluesky ----------------------------------------------------------------------------------

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def tid(microseconds: int, clock_id: int = 0) -> str:
    """A record key: 13 base32-sortable characters of (microseconds << 10 | clock id)."""
    value = ((microseconds << 10) | (clock_id % 1024)) & 0x7FFF_FFFF_FFFF_FFFF
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _cid(data: bytes, codec: int) -> str:
    """A CIDv1 (sha-256) in base32, as the PDS gives them: 0x55 raw (blobs), 0x71 dag-cbor."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


COLLECTION_POST = "app.bsky.feed.post"


class FakeBluesky(_FakeNetwork):
    """A PDS with one account (``handle``, ``did``) that logs in with ``password``.

    ``posts``: the ``app.bsky.feed.post`` records, oldest first, each a dict with ``uri, cid,
    rkey, text, facets, images (alt, mime_type, size), video (alt, mime_type, cid), reply,
    record, created_at``.
    ``create_attempts`` counts createRecord calls per rkey, ``posts_per_text`` the posts per text
    (above one: a duplicate). ``blobs``: uploads by CID.

    ``duplicate_rkey_status``: the answer to a createRecord whose rkey is taken. The reference
    PDS answers 500 InternalServerError today (bluesky-social/atproto#3718, indigo#873; an
    explicit error is proposed in atproto#4728); 409 answers ``RecordAlreadyExists`` and 400
    ``InvalidRequest`` "Record already exists", as other implementations do.
    ``missing_record_status``: getRecord for a missing record (400 RecordNotFound, as the PDS;
    404 in some implementations). ``retry_after_header``: send Retry-After on 429 besides the
    ``ratelimit-*`` headers. ``revoke_sessions()`` makes every token given so far invalid.
    """

    name = "bluesky"
    max_graphemes = 300
    max_images = 4

    def __init__(self, *, handle: str = "acme.test", password: str = "app-pass-word",  # noqa: S107
                 did: str = "did:plc:fakeacme000000000000000", duplicate_rkey_status: int = 500,
                 missing_record_status: int = 400, retry_after_header: bool = True,
                 token_lifetime: float = 7200.0, **kwargs):
        super().__init__(**kwargs)
        self.handle = handle
        self.password = password
        self.did = did
        self.duplicate_rkey_status = duplicate_rkey_status
        self.missing_record_status = missing_record_status
        self.retry_after_header = retry_after_header
        self.token_lifetime = token_lifetime
        self.blobs: dict[str, dict] = {}
        self.create_attempts: Counter = Counter()
        self.posts_per_text: Counter = Counter()
        self._records: dict[tuple[str, str], dict] = {}
        self._access: set[str] = set()
        self._refresh: set[str] = set()
        # Conversations: posts by other accounts (by URI) and the account's notifications.
        self.others: dict[str, dict] = {}
        self.notifications: list[dict] = []

    @property
    def posts(self) -> list[dict]:
        with self.lock:
            return [dict(r) for (collection, _), r in self._records.items()
                    if collection == "app.bsky.feed.post"]

    def add_reply(self, text: str, *, parent_uri: str | None = None, reason: str = "reply",
                  author: str = "bob.example.com", display_name: str = "",
                  media: bool = False, created_at: datetime | None = None) -> dict:
        """Someone else posts a reply to ``parent_uri`` (one of the account's posts or a reply
        under it), a mention or a quote (``reason``): their post, and the account's
        notification as the AppView gives it. Returns the notification (``uri``, ``cid``...)."""
        with self.lock:
            moment = created_at or datetime.now(UTC)
            author_did = "did:plc:" + hashlib.sha256(author.encode()).hexdigest()[:24]
            rkey = tid(time.time_ns() // 1000, self._random.randrange(1024))
            uri = f"at://{author_did}/{COLLECTION_POST}/{rkey}"
            value = {"$type": COLLECTION_POST, "text": text, "createdAt": _iso(moment),
                     "langs": ["en"]}
            if reason == "reply":
                parent = self._find_post(parent_uri)
                if parent is None:
                    raise ValueError(f"no post {parent_uri} to reply to")
                root = (parent["record"].get("reply") or {}).get("root") \
                    or {"uri": parent["uri"], "cid": parent["cid"]}
                value["reply"] = {"root": root, "parent": {"uri": parent["uri"],
                                                           "cid": parent["cid"]}}
            if reason == "quote":
                quoted = self._find_post(parent_uri)
                value["embed"] = {"$type": "app.bsky.embed.record",
                                  "record": {"uri": quoted["uri"], "cid": quoted["cid"]}}
            if media:
                image = {"$type": "app.bsky.embed.images", "images": [
                    {"alt": "", "image": {"$type": "blob", "ref": {"$link": _cid(b"x", 0x55)},
                                          "mimeType": "image/jpeg", "size": 1}}]}
                value["embed"] = image if "embed" not in value else {
                    "$type": "app.bsky.embed.recordWithMedia", "record": value["embed"],
                    "media": image}
            cid = _cid(json.dumps(value, sort_keys=True).encode(), 0x71)
            self.others[uri] = {"uri": uri, "cid": cid, "record": value}
            notification = {
                "uri": uri, "cid": cid,
                "author": {"did": author_did, "handle": author,
                           "displayName": display_name or author.split(".")[0].title(),
                           "labels": [], "createdAt": "2024-01-01T00:00:00.000Z"},
                "reason": reason, "reasonSubject": parent_uri, "record": value,
                "isRead": False, "indexedAt": _iso(moment), "labels": []}
            self.notifications.append(notification)
            return dict(notification)

    def _find_post(self, uri: str | None) -> dict | None:
        if uri in self.others:
            return self.others[uri]
        return next((r for r in self._records.values() if r["uri"] == uri), None)

    def hidden_replies(self, post_uri: str) -> list[str]:
        """The ``hiddenReplies`` of the threadgate of the account's post ``post_uri``."""
        with self.lock:
            gate = self._records.get(("app.bsky.feed.threadgate", post_uri.rsplit("/", 1)[-1]))
            return list((gate or {}).get("record", {}).get("hiddenReplies") or [])

    def _list_notifications(self, query: dict) -> Reply:
        """app.bsky.notification.listNotifications: newest first (by indexedAt); ``reasons``
        filters; ``limit`` 1-100 (default 50); ``cursor`` continues to older ones."""
        try:
            limit = int((query.get("limit") or ["50"])[0])
        except ValueError:
            return self._error(400, "InvalidRequest", "limit must be an integer")
        if not 1 <= limit <= 100:
            return self._error(400, "InvalidRequest", "limit must be between 1 and 100")
        reasons = query.get("reasons") or []
        cursor = (query.get("cursor") or [None])[0]
        with self.lock:
            found = sorted((n for n in self.notifications
                            if not reasons or n["reason"] in reasons),
                           key=lambda n: (n["indexedAt"], n["uri"]), reverse=True)
        if cursor:
            at, _, uri = cursor.partition("::")
            found = [n for n in found if (n["indexedAt"], n["uri"]) < (at, uri)]
        page = found[:limit]
        body = {"notifications": page, "priority": False}
        if len(found) > limit:
            body["cursor"] = f"{page[-1]['indexedAt']}::{page[-1]['uri']}"
        return Reply(200, body)

    def _put_record(self, data: dict) -> Reply:
        """com.atproto.repo.putRecord, for threadgates: the gate's key is its post's, the post
        is the account's; ``swapRecord`` must match the gate there is."""
        collection, rkey = data.get("collection") or "", data.get("rkey") or ""
        record = data.get("record") or {}
        if not self._repo(data.get("repo")):
            return self._error(400, "InvalidRequest", f"Could not find repo: {data.get('repo')}")
        if collection != "app.bsky.feed.threadgate":
            return self._error(501, "MethodNotImplemented", "The fake puts threadgates only")
        post_uri = f"at://{self.did}/{COLLECTION_POST}/{rkey}"
        if record.get("post") != post_uri:
            return self._error(400, "InvalidRequest", "Invalid app.bsky.feed.threadgate record: "
                                                      "the record key must be the post's")
        if len(record.get("hiddenReplies") or []) > 300:
            return self._error(400, "InvalidRequest", "Invalid app.bsky.feed.threadgate "
                                                      "record: Record/hiddenReplies must not "
                                                      "have more than 300 elements")
        with self.lock:
            if (COLLECTION_POST, rkey) not in self._records:
                return self._error(400, "InvalidRequest", f"Could not find post: {post_uri}")
            existing = self._records.get((collection, rkey))
            swap = data.get("swapRecord")
            if swap is not None and (existing is None or existing["cid"] != swap):
                return self._error(400, "InvalidSwap", "Record was at a different CID")
            value = {"$type": collection, **record}
            cid = _cid(json.dumps(value, sort_keys=True).encode(), 0x71)
            uri = f"at://{self.did}/{collection}/{rkey}"
            self._records[(collection, rkey)] = {
                "uri": uri, "cid": cid, "rkey": rkey, "collection": collection, "text": "",
                "record": value, "created_at": datetime.now(UTC)}
        return Reply(200, {"uri": uri, "cid": cid, "validationStatus": "valid"})

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {text: n for text, n in self.posts_per_text.items() if n > 1}

    def revoke_sessions(self) -> None:
        with self.lock:
            self._access.clear()
            self._refresh.clear()

    # -- helpers --------------------------------------------------------------------------------

    def _jwt(self, scope: str, lifetime: float) -> str:
        now = int(time.time())
        payload = {"scope": scope, "sub": self.did, "iat": now, "exp": int(now + lifetime),
                   "aud": "did:web:fake.pds.test", "jti": _b64url(os.urandom(12))}
        return ".".join([_b64url(json.dumps({"typ": "at+jwt", "alg": "ES256K"}).encode()),
                         _b64url(json.dumps(payload).encode()), _b64url(os.urandom(32))])

    def _session(self) -> dict:
        access = self._jwt("com.atproto.appPass", self.token_lifetime)
        refresh = self._jwt("com.atproto.refresh", 90 * 86400)
        with self.lock:
            self._access.add(access)
            self._refresh.add(refresh)
        return {
            "accessJwt": access, "refreshJwt": refresh, "handle": self.handle, "did": self.did,
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"], "id": self.did,
                "alsoKnownAs": [f"at://{self.handle}"], "verificationMethod": [],
                "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                             "serviceEndpoint": self.url}],
            },
            "email": "social@acme.test", "emailConfirmed": True, "active": True,
        }

    def _bearer(self, headers) -> str:
        value = headers.get("Authorization") or ""
        return value[7:] if value.startswith("Bearer ") else ""

    def _error(self, status: int, error: str, message: str | None = None,
               headers: dict | None = None) -> Reply:
        body = {"error": error}
        if message:
            body["message"] = message
        return Reply(status, body, headers)

    def _failure_reply(self, failure: _Failure) -> Reply:
        headers = {}
        if failure.status == 429:
            wait = failure.retry_after if failure.retry_after is not None else 300
            headers = {"ratelimit-limit": "3000", "ratelimit-remaining": "0",
                       "ratelimit-reset": str(int(time.time() + wait)),
                       "ratelimit-policy": "3000;w=300"}
            if self.retry_after_header and failure.retry_after is not None:
                headers["retry-after"] = f"{failure.retry_after:g}"
        elif failure.retry_after is not None:
            headers["retry-after"] = f"{failure.retry_after:g}"
        names = {400: "InvalidRequest", 401: "AuthenticationRequired", 403: "Forbidden",
                 429: "RateLimitExceeded", 500: "InternalServerError",
                 502: "UpstreamFailure", 503: "NotEnoughResources", 504: "UpstreamTimeout"}
        error = names.get(failure.status, HTTPStatus(failure.status).phrase.replace(" ", ""))
        default = {429: "Rate Limit Exceeded"}.get(failure.status) \
            or HTTPStatus(failure.status).phrase
        message = default if failure.message is None else failure.message
        return self._error(failure.status, error, message, headers)

    def _repo(self, repo: str | None) -> bool:
        return repo in (self.did, self.handle)

    # -- routes ---------------------------------------------------------------------------------

    def _route(self, method, path, query, headers, body) -> Reply:
        if not path.startswith("/xrpc/"):
            return self._error(404, "NotFound", "Not Found")
        nsid = path[len("/xrpc/"):]
        arg = {k: v[0] for k, v in query.items()}
        if nsid == "com.atproto.server.describeServer":
            return Reply(200, {"did": "did:web:fake.pds.test", "availableUserDomains": [".test"],
                               "inviteCodeRequired": False, "links": {}})
        if nsid == "com.atproto.server.createSession" and method == "POST":
            data = json.loads(body or b"{}")
            identifier = (data.get("identifier") or "").lstrip("@").lower()
            if not identifier or not data.get("password"):
                return self._error(400, "InvalidRequest",
                                   'Input must have the property "identifier"')
            if identifier not in (self.handle.lower(), self.did) \
                    or data.get("password") != self.password:
                return self._error(401, "AuthenticationRequired",
                                   "Invalid identifier or password")
            return Reply(200, self._session())
        if nsid == "com.atproto.server.refreshSession" and method == "POST":
            token = self._bearer(headers)
            with self.lock:
                if token not in self._refresh:
                    return self._error(400, "ExpiredToken", "Token has been revoked")
                self._refresh.discard(token)
            session = self._session()
            session.pop("email"), session.pop("emailConfirmed")
            return Reply(200, session)
        if nsid == "com.atproto.repo.getRecord" and method == "GET":
            return self._get_record(arg)
        # everything below needs the access token
        with self.lock:
            authorised = self._bearer(headers) in self._access
        if not authorised:
            if not self._bearer(headers):
                return self._error(401, "AuthMissing", "Authentication Required")
            return self._error(401, "InvalidToken", "Token could not be verified")
        if nsid == "com.atproto.server.getSession":
            return Reply(200, {"handle": self.handle, "did": self.did, "active": True})
        if nsid == "app.bsky.feed.getPosts" and method == "GET":
            return self._get_posts(query.get("uris") or [])
        if nsid == "app.bsky.actor.getProfile" and method == "GET":
            if not self._repo(arg.get("actor")):
                return self._error(400, "InvalidRequest", "Profile not found")
            return Reply(200, {"did": self.did, "handle": self.handle,
                               "displayName": "Acme", "followersCount": self.followers_count,
                               "followsCount": 0, "postsCount": len(self.posts)})
        if nsid == "com.atproto.repo.uploadBlob" and method == "POST":
            return self._upload_blob(headers, body)
        if nsid == "com.atproto.repo.createRecord" and method == "POST":
            return self._create_record(json.loads(body or b"{}"))
        if nsid == "com.atproto.repo.putRecord" and method == "POST":
            return self._put_record(json.loads(body or b"{}"))
        if nsid == "app.bsky.notification.listNotifications" and method == "GET":
            return self._list_notifications(query)
        return self._error(501, "MethodNotImplemented", "Method Not Implemented")

    # -- results: counts on posts (app.bsky.feed.getPosts, at most 25 URIs a call) and the
    # account's followers (getProfile followersCount) -------------------------------------------

    followers_count = 0
    max_get_posts = 25

    def set_counts(self, uri: str, *, likes: int = 0, reposts: int = 0, replies: int = 0,
                   quotes: int = 0) -> None:
        """Give a post its counts, as if people had liked, reposted, replied and quoted."""
        with self.lock:
            record = next(r for r in self._records.values() if r["uri"] == uri)
            record["counts"] = {"likeCount": likes, "repostCount": reposts,
                                "replyCount": replies, "quoteCount": quotes}

    def add_post(self, text: str, *, created_at: datetime | None = None) -> dict:
        """Put a post on the account directly (as if posted elsewhere); returns its record."""
        with self.lock:
            rkey = tid(time.time_ns() // 1000, self._random.randrange(1024))
            while (COLLECTION_POST, rkey) in self._records:
                rkey = tid(time.time_ns() // 1000, self._random.randrange(1024))
            value = {"$type": COLLECTION_POST, "text": text,
                     "createdAt": _iso(created_at or datetime.now(UTC))}
            record = {"uri": f"at://{self.did}/{COLLECTION_POST}/{rkey}",
                      "cid": _cid(json.dumps(value, sort_keys=True).encode(), 0x71),
                      "rkey": rkey, "collection": COLLECTION_POST, "text": text, "facets": [],
                      "images": [], "video": None, "reply": None, "record": value,
                      "created_at": created_at or datetime.now(UTC)}
            self._records[(COLLECTION_POST, rkey)] = record
            self.posts_per_text[text] += 1
            return dict(record)

    def _get_posts(self, uris: list[str]) -> Reply:
        if not uris:
            return self._error(400, "InvalidRequest", 'Params must have the property "uris"')
        if len(uris) > self.max_get_posts:
            return self._error(400, "InvalidRequest", "Params/uris must not have more than "
                                                      f"{self.max_get_posts} elements")
        with self.lock:
            by_uri = {r["uri"]: r for (collection, _), r in self._records.items()
                      if collection == "app.bsky.feed.post"}
            views = [{"uri": r["uri"], "cid": r["cid"],
                      "author": {"did": self.did, "handle": self.handle, "displayName": "Acme"},
                      "record": r["record"], "indexedAt": _iso(r["created_at"]),
                      **(r.get("counts") or {"likeCount": 0, "repostCount": 0,
                                             "replyCount": 0, "quoteCount": 0}),
                      "labels": []}
                     for r in (by_uri.get(uri) for uri in uris) if r is not None]
        return Reply(200, {"posts": views})

    def _upload_blob(self, headers, body: bytes) -> Reply:
        if len(body) > 1_000_000:
            return self._error(400, "BlobTooLarge",
                               "This file is too large. It is 1 MB but the maximum size is 976 KB.")
        mime = (headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip()
        cid = _cid(body, 0x55)
        with self.lock:
            self.blobs[cid] = {"mime_type": mime, "size": len(body), "data": body}
        return Reply(200, {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime,
                                    "size": len(body)}})

    def _create_record(self, data: dict) -> Reply:
        collection = data.get("collection") or ""
        record = data.get("record") or {}
        rkey = data.get("rkey")
        if not self._repo(data.get("repo")):
            return self._error(400, "InvalidRequest", f"Could not find repo: {data.get('repo')}")
        if not isinstance(record, dict):
            return self._error(400, "InvalidRequest", "Input/record must be an object")
        if collection == "app.bsky.feed.post":
            problem = self._check_post(record, rkey)
            if problem:
                return self._error(400, "InvalidRequest", problem)
        with self.lock:
            rkey = rkey or tid(time.time_ns() // 1000, self._random.randrange(1024))
            self.create_attempts[rkey] += 1
            uri = f"at://{self.did}/{collection}/{rkey}"
            if (collection, rkey) in self._records:
                if self.duplicate_rkey_status == 409:
                    return self._error(409, "RecordAlreadyExists",
                                       f"Record already exists: {uri}")
                if self.duplicate_rkey_status == 400:
                    return self._error(400, "InvalidRequest", "Record already exists")
                return self._error(self.duplicate_rkey_status, "InternalServerError",
                                   "Internal Server Error")
            value = {"$type": collection, **record}
            cid = _cid(json.dumps(value, sort_keys=True).encode(), 0x71)
            embed = record.get("embed") or {}
            self._records[(collection, rkey)] = {
                "uri": uri, "cid": cid, "rkey": rkey, "collection": collection,
                "text": record.get("text", ""), "facets": record.get("facets") or [],
                "images": [{"alt": image.get("alt", ""),
                            "mime_type": (image.get("image") or {}).get("mimeType"),
                            "size": (image.get("image") or {}).get("size"),
                            "cid": ((image.get("image") or {}).get("ref") or {}).get("$link")}
                           for image in embed.get("images") or []],
                "video": ({"alt": embed.get("alt"),
                           "mime_type": (embed.get("video") or {}).get("mimeType"),
                           "cid": ((embed.get("video") or {}).get("ref") or {}).get("$link")}
                          if embed.get("$type") == "app.bsky.embed.video" else None),
                "reply": record.get("reply"), "record": value, "created_at": datetime.now(UTC),
            }
            if collection == "app.bsky.feed.post":
                self.posts_per_text[record.get("text", "")] += 1
            answer = {"uri": uri, "cid": cid,
                      "commit": {"cid": _cid(os.urandom(16), 0x71),
                                 "rev": tid(time.time_ns() // 1000)},
                      "validationStatus": "valid"}
            return Reply(200, answer, fault=self._post_fault())

    def _check_post(self, record: dict, rkey: str | None) -> str:
        if rkey is not None and not _TID_RE.match(rkey):
            return f"Invalid record key for app.bsky.feed.post: {rkey}"
        text = record.get("text")
        if not isinstance(text, str):
            return 'Invalid app.bsky.feed.post record: Record must have the property "text"'
        if "createdAt" not in record:
            return ('Invalid app.bsky.feed.post record: Record must have the property '
                    '"createdAt"')
        if len(regex.findall(r"\X", text)) > self.max_graphemes:
            return ("Invalid app.bsky.feed.post record: Record/text must not be longer than "
                    f"{self.max_graphemes} graphemes")
        if len(text.encode()) > 3000:
            return ("Invalid app.bsky.feed.post record: Record/text must not be longer than "
                    "3000 characters")
        encoded = text.encode()
        for number, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int)
                    and 0 <= start < end <= len(encoded)):
                return (f"Invalid app.bsky.feed.post record: Record/facets/{number}/index "
                        "is out of range")
        embed = record.get("embed") or {}
        if embed.get("$type") == "app.bsky.embed.images":
            images = embed.get("images") or []
            if len(images) > self.max_images:
                return ("Invalid app.bsky.feed.post record: Record/embed/images must not have "
                        f"more than {self.max_images} elements")
            for image in images:
                link = ((image.get("image") or {}).get("ref") or {}).get("$link")
                if link not in self.blobs:
                    return f"Could not find blob: {link}"
                if not isinstance(image.get("alt"), str):
                    return ('Invalid app.bsky.feed.post record: Record/embed/images/0 must have '
                            'the property "alt"')
        if embed.get("$type") == "app.bsky.embed.video":
            link = ((embed.get("video") or {}).get("ref") or {}).get("$link")
            if link not in self.blobs:
                return f"Could not find blob: {link}"
            if self.blobs[link]["mime_type"] != "video/mp4":
                return ("Invalid app.bsky.feed.post record: Record/embed/video/video mimeType "
                        "must be video/mp4")
        return ""

    def _get_record(self, arg: dict) -> Reply:
        collection, rkey = arg.get("collection") or "", arg.get("rkey") or ""
        if not self._repo(arg.get("repo")):
            return self._error(400, "InvalidRequest", f"Could not find repo: {arg.get('repo')}")
        uri = f"at://{self.did}/{collection}/{rkey}"
        with self.lock:
            stored = self._records.get((collection, rkey))
        if stored is None:
            return self._error(self.missing_record_status, "RecordNotFound",
                               f"Could not locate record: {uri}")
        return Reply(200, {"uri": stored["uri"], "cid": stored["cid"], "value": stored["record"]})


# -- a hostile server -------------------------------------------------------------------------


class Hostile:
    """A server that answers every request in one way a guarded client must not go along with:

    - ``Hostile(redirect_to=url)``: 302 to ``url`` (e.g. a cloud metadata address);
    - ``Hostile(endless=True)``: 200 JSON, chunked, whose body goes on until the client stops
      reading (or ``limit`` bytes); ``sent`` counts what went out;
    - ``Hostile(declared=True)``: 200 with ``Content-Length: limit``, of which one MB is sent
      before it waits (a client reading it all waits for its timeout);
    - otherwise ``status`` with ``body`` (e.g. a secret a metadata service would give).

    ``requests`` records ``(method, path)`` of every request received."""

    CHUNK = 64 * 1024

    def __init__(self, *, status: int = 200, body: bytes = b"{}", redirect_to: str = "",
                 endless: bool = False, declared: bool = False, limit: int = 64 * 1024 * 1024):
        self.status, self.body, self.redirect_to = status, body, redirect_to
        self.endless, self.declared, self.limit = endless, declared, limit
        self.requests: list[tuple[str, str]] = []
        self.sent = 0
        self._stopping = threading.Event()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                hostile._answer(self)

            def do_POST(self):  # noqa: N802
                hostile._answer(self)

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def _answer(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        self.requests.append((handler.command, handler.path))
        try:
            if self.redirect_to:
                handler.send_response(302)
                handler.send_header("Location", self.redirect_to)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
            elif self.endless or self.declared:
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                if self.declared:
                    handler.send_header("Content-Length", str(self.limit))
                else:
                    handler.send_header("Transfer-Encoding", "chunked")
                handler.end_headers()
                piece = b" " * self.CHUNK
                while self.sent < (1024 * 1024 if self.declared else self.limit):
                    handler.wfile.write(piece if self.declared
                                        else b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.sent += len(piece)
                if self.declared:
                    self._stopping.wait(30)
                else:
                    handler.wfile.write(b"0\r\n\r\n")
            else:
                handler.send_response(self.status)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(self.body)))
                handler.end_headers()
                handler.wfile.write(self.body)
            handler.wfile.flush()
        except OSError:  # the client stopped reading and went away
            handler.close_connection = True

    def close(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()


# -- the demo's sandbox: every fake on a fixed local port ------------------------------------


@dataclass(frozen=True)
class DemoFake:
    """A fake the demo runs (``python -m agency.demo.fakes``): how to make it, its port, the
    ``NETWORK_BASE_URLS`` keys that point at it, and the OAuth app it knows (network →
    (client id, client secret)), which become ``OAUTH_<NETWORK>_CLIENT_ID`` / ``_SECRET``."""

    name: str
    make: object  # () -> a _FakeNetwork
    port: int
    base_urls: tuple[str, ...] = ()
    oauth: dict | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


FAKES: dict[str, DemoFake] = {}


def register_fake(name: str, make, *, port: int, base_urls: tuple[str, ...] = (),
                  oauth: dict | None = None) -> DemoFake:
    """Add a fake to the demo's sandbox (one line per network, e.g. in its own module)."""
    FAKES[name] = DemoFake(name=name, make=make, port=port, base_urls=base_urls, oauth=oauth)
    return FAKES[name]


def load_all() -> dict[str, DemoFake]:
    """Import every network's fake module beside this one: each registers itself
    (``register_fake``), so a new network joins the sandbox with one line in its module."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return FAKES


def demo_env() -> dict[str, str]:
    """The environment that points the platform at the running fakes."""
    env = {"NETWORK_BASE_URLS": json.dumps({key: fake.url for fake in FAKES.values()
                                            for key in fake.base_urls})}
    for fake in FAKES.values():
        for network, (client_id, secret) in (fake.oauth or {}).items():
            env[f"OAUTH_{network.upper()}_CLIENT_ID"] = client_id
            env[f"OAUTH_{network.upper()}_CLIENT_SECRET"] = secret
    return env


# Mastodon needs no OAuth app of the installation: the platform registers one on the server the
# person names (in the demo: http://127.0.0.1:9101).
register_fake("mastodon", lambda: FakeMastodon(username="acme"), port=9101)
register_fake("bluesky", lambda: FakeBluesky(), port=9102)
