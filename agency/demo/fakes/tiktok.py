"""A local TikTok that answers as TikTok's developer references say: Login Kit's consent screen
(www.tiktok.com/v2/auth/authorize/), the token endpoint, and the Content Posting API's Direct
Post (open.tiktokapis.com). One server plays both hosts: point ``NETWORK_BASE_URLS["tiktok_www"]``
and ``["tiktok_api"]`` at ``fake.url``.

    fake = FakeTikTok(client_key="app", client_secret="s3cret").start()
    token = fake.issue_token()        # a creator's token without the consent screen
    fake.posts                        # what was published, oldest first
    fake.expire(token)                # 401 access_token_invalid from now on
    fake.fail_publish("spam_risk_text")   # the next publish ends FAILED with that reason
    fake.fail_next(1, status=429)     # the shared fault knobs (agency.demo.fakes)

What it checks, as TikTok does: every API call needs ``Authorization: Bearer`` (401
``{"data": {}, "error": {"code": "access_token_invalid", "message", "log_id"}}``; a token lives
24 hours, its refresh token 365 days); posting needs the ``video.publish`` scope (401
``scope_not_authorized``); ``privacy_level`` must be one of the creator's
``privacy_level_options`` (400 ``privacy_level_option_mismatch``), and ``SELF_ONLY`` while the
app is not audited (403 ``unaudited_client_can_only_post_to_private_accounts``); init calls are
limited per token per minute (429 ``rate_limit_exceeded``, no reset header: TikTok sends none);
the chunk rules of the Media Transfer Guide (400 ``invalid_params``); uploads are ``PUT`` with
``Content-Range`` in order (206 until the last byte, then 201); photos are fetched from their
URLs with a real GET after init is accepted, in the background as TikTok does, whether or not
its answer arrives (``pull_delay`` seconds later; one that cannot be fetched ends the publish
FAILED ``photo_pull_failed``; the status reads ``PROCESSING_DOWNLOAD`` meanwhile).
A publish reads ``PROCESSING_UPLOAD``/``PROCESSING_DOWNLOAD`` for ``processing_polls`` status
reads, then ``PUBLISH_COMPLETE`` (a public post with its ``publicaly_available_post_id``, TikTok's
spelling; a private one without) or ``FAILED`` with ``fail_reason``.

Unknown outcomes: ``accept_then_hang`` / ``accept_then_drop`` act on the call that makes the
post: a video's last chunk, a photo post's init.
"""

from __future__ import annotations

import html
import http.client
import json
import secrets
import threading
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from agency.demo.fakes import Reply, _FakeNetwork, _Handler, redirect_to, register_fake

__all__ = ["FakeTikTok"]

MB = 1024 * 1024
PUBLIC_LEVELS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                 "SELF_ONLY"]
ERRORS = {  # status → (code, message) for the shared fault knobs
    400: ("invalid_params", "The request parameters are invalid."),
    401: ("access_token_invalid", "The access token is invalid or not found in the request."),
    403: ("spam_risk_too_many_posts", "The daily post cap from the API is reached for the "
                                      "current user."),
    429: ("rate_limit_exceeded", "API rate limit was exceeded, please try again later."),
    500: ("internal_error", "Something went wrong. Please try again later."),
    502: ("internal_error", "Bad gateway."),
    503: ("internal_error", "Service unavailable."),
}


class _PutHandler(_Handler):
    """The shared handler, with PUT (TikTok's uploads) too."""

    def do_PUT(self):  # noqa: N802
        self.server.fake._serve(self, "PUT")


class FakeTikTok(_FakeNetwork):
    name = "tiktok"

    def __init__(self, *, client_key: str = "tiktok-app",
                 client_secret: str = "tiktok-secret",  # noqa: S107
                 open_id: str = "_000acmeOpenId", username: str = "acmecoffee",
                 nickname: str = "Acme Coffee", privacy_levels: list[str] | None = None,
                 audited: bool = False, comment_disabled: bool = False,
                 duet_disabled: bool = False, stitch_disabled: bool = False,
                 max_video_seconds: int = 600, token_lifetime: int = 86400,
                 refresh_lifetime: int = 31536000, inits_per_minute: int | None = 6,
                 **kwargs):
        super().__init__(**kwargs)
        self.client_key, self.client_secret = client_key, client_secret
        self.open_id, self.username, self.nickname = open_id, username, nickname
        self.privacy_levels = list(privacy_levels or PUBLIC_LEVELS)
        self.audited = audited
        self.comment_disabled, self.duet_disabled = comment_disabled, duet_disabled
        self.stitch_disabled = stitch_disabled
        self.max_video_seconds = max_video_seconds
        self.token_lifetime, self.refresh_lifetime = token_lifetime, refresh_lifetime
        self.inits_per_minute = inits_per_minute
        self.processing_polls = 0  # status reads before a publish completes
        self.fetch_timeout = 10.0
        self.pull_delay = 0.0  # seconds between accepting a photo post and fetching its photos
        self.deny_error = "access_denied"
        self.grant_scopes = "user.info.basic,user.info.stats,video.list,video.publish," \
            "video.upload"
        self.publishes: dict[str, dict] = {}
        self.posts_per_text: Counter = Counter()
        self.fetched: list[dict] = []
        self.revoked: list[str] = []
        self._fail_reasons: list[str] = []
        self._inits: dict[str, list[float]] = {}
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}  # access token -> {expires, state, scope}
        self._refresh: dict[str, dict] = {}  # refresh token -> {expires, scope}
        self._next = int(time.time() * 1000)
        # Results: the Display API's counts of each public video, the creator's followers.
        self.stats: dict[str, dict] = {}  # post id -> {like_count, comment_count, ...}
        self.follower_count = 0
        self.queries_per_minute: int | None = 600  # TikTok's limit on /v2/video/query/
        self.query_calls: list[list[str]] = []  # the ids each video query asked for
        self._queries: dict[str, list[float]] = {}

    def start(self, port: int = 0):
        super().start(port)
        self._httpd.RequestHandlerClass = _PutHandler
        return self

    # -- for tests ----------------------------------------------------------------------------

    @property
    def posts(self) -> list[dict]:
        """The publishes that completed, oldest first."""
        with self.lock:
            return [dict(p) for p in self.publishes.values() if p["status"] == "PUBLISH_COMPLETE"]

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {text: n for text, n in self.posts_per_text.items() if n > 1}

    def issue_token(self, *, lifetime: int | None = None, scope: str | None = None) -> str:
        token = "act." + secrets.token_urlsafe(30)
        with self.lock:
            self._tokens[token] = {"expires": time.time() + (lifetime or self.token_lifetime),
                                   "state": "valid", "scope": scope or self.grant_scopes}
        return token

    def expire(self, token: str) -> None:
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "expired"

    def fail_publish(self, reason: str, count: int = 1) -> None:
        """The next ``count`` publishes end FAILED with ``fail_reason`` ``reason``."""
        with self.lock:
            self._fail_reasons.extend([reason] * count)

    # -- errors -------------------------------------------------------------------------------

    def _log_id(self) -> str:
        return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(8).upper()

    def _error(self, status: int, code: str, message: str) -> Reply:
        return Reply(status, {"data": {}, "error": {"code": code, "message": message,
                                                   "log_id": self._log_id()}})

    def _ok(self, data: dict) -> Reply:
        return Reply(200, {"data": data, "error": {"code": "ok", "message": "",
                                                   "log_id": self._log_id()}})

    def _failure_reply(self, failure) -> Reply:
        code, message = ERRORS.get(failure.status, ("internal_error", "Error"))
        if failure.message:
            code, _, text = failure.message.partition(":")
            message = text.strip() or message
        reply = self._error(failure.status, code.strip(), message)
        if failure.retry_after is not None:  # TikTok sends none; a proxy in front might
            reply.headers = {"Retry-After": f"{failure.retry_after:g}"}
        return reply

    def _oauth_error(self, status: int, error: str, description: str) -> Reply:
        return Reply(status, {"error": error, "error_description": description,
                              "log_id": self._log_id()})

    # -- routes -------------------------------------------------------------------------------

    def _route(self, method, path, query, headers, body) -> Reply:
        arg = {k: v[0] for k, v in query.items()}
        form = lambda: {k: v[0] for k, v in parse_qs(body.decode()).items()}  # noqa: E731
        if path == "/v2/auth/authorize/" and method == "GET":
            return self._consent(arg)
        if path == "/v2/auth/authorize/decide" and method == "POST":
            return self._decide(form())
        if path == "/v2/oauth/token/" and method == "POST":
            return self._token(form())
        if path == "/v2/oauth/revoke/" and method == "POST":
            return self._revoke(form())
        if path.startswith("/upload/") and method == "PUT":
            return self._upload(path.split("/")[2], headers, body)
        refused, token = self._authorise(headers)
        if refused:
            return refused
        data = {}
        if method == "POST" and body:
            try:
                data = json.loads(body)
            except ValueError:
                return self._error(400, "invalid_params", "The request body is not JSON.")
        if path == "/v2/user/info/" and method == "GET":
            return self._user(arg, token)
        if path == "/v2/video/query/" and method == "POST":
            return self._video_query(arg, data, token, headers)
        if not path.startswith("/v2/post/publish/") or method != "POST":
            return self._error(404, "not_found", f"No API for {method} {path}")
        if "video.publish" not in token["scope"].split(","):
            return self._error(401, "scope_not_authorized", "The user did not authorize the "
                                                            "scope required: video.publish.")
        if path == "/v2/post/publish/creator_info/query/":
            return self._ok(self.creator_info())
        if path == "/v2/post/publish/status/fetch/":
            return self._status(str(data.get("publish_id") or ""))
        if path in ("/v2/post/publish/video/init/", "/v2/post/publish/content/init/"):
            limited = self._rate(headers)
            if limited:
                return limited
            if path.endswith("video/init/"):
                return self._video_init(data)
            return self._photo_init(data)
        return self._error(404, "not_found", f"No API for {method} {path}")

    def _authorise(self, headers) -> tuple[Reply | None, dict]:
        value = headers.get("Authorization") or ""
        token = value[7:].strip() if value.startswith("Bearer ") else ""
        with self.lock:
            found = self._tokens.get(token)
            if found and found["expires"] < time.time():
                found["state"] = "expired"
        if not found or found["state"] != "valid":
            return self._error(401, "access_token_invalid", "The access token is invalid or "
                                                            "not found in the request."), {}
        return None, found

    def _rate(self, headers) -> Reply | None:
        if not self.inits_per_minute:
            return None
        token = (headers.get("Authorization") or "")[7:]
        now = time.time()
        with self.lock:
            recent = [t for t in self._inits.get(token, []) if t > now - 60]
            if len(recent) >= self.inits_per_minute:
                self._inits[token] = recent
                return self._error(429, "rate_limit_exceeded", "API rate limit was exceeded, "
                                                               "please try again later.")
            self._inits[token] = [*recent, now]
        return None

    # -- OAuth --------------------------------------------------------------------------------

    def _consent(self, arg: dict) -> Reply:
        if arg.get("client_key") != self.client_key:
            return Reply(400, b"<!doctype html><title>TikTok</title><h1>Something went wrong"
                              b"</h1><p>client_key</p>",
                         {"Content-Type": "text/html; charset=utf-8"})
        if arg.get("response_type") != "code" or not arg.get("redirect_uri"):
            return Reply(400, b"<!doctype html><p>redirect_uri and response_type=code are "
                              b"required</p>", {"Content-Type": "text/html; charset=utf-8"})
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in arg.items())
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TikTok: authorize app</title></head>
<body><main>
<h1>Allow this app to access your TikTok account?</h1>
<p>Logged in as @{html.escape(self.username)} ({html.escape(self.nickname)}).</p>
<p>It asks for: <code>{html.escape(arg.get("scope", ""))}</code></p>
<form method="post" action="/v2/auth/authorize/decide">{hidden}
<button type="submit" name="decision" value="allow">Authorize</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form></main></body></html>"""
        return Reply(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _decide(self, form: dict) -> Reply:
        redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("client_key") != self.client_key or not redirect_uri:
            return Reply(400, b"<!doctype html><p>Invalid request</p>",
                         {"Content-Type": "text/html; charset=utf-8"})
        if form.get("decision") != "allow":
            return redirect_to(redirect_uri, {
                "error": self.deny_error, "error_description": "The user denied the request",
                "state": state})
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._codes[code] = {"redirect_uri": redirect_uri, "expires": time.time() + 300,
                                 "scope": form.get("scope", "")}
        return redirect_to(redirect_uri, {"code": code, "scopes": form.get("scope", ""),
                                             "state": state})

    def _grant(self, scope: str, refresh: str | None = None) -> dict:
        access = self.issue_token(scope=scope)
        with self.lock:
            if refresh is None:
                refresh = "rft." + secrets.token_urlsafe(30)
                self._refresh[refresh] = {"expires": time.time() + self.refresh_lifetime,
                                          "scope": scope}
            left = int(self._refresh[refresh]["expires"] - time.time())
        return {"access_token": access, "expires_in": self.token_lifetime,
                "open_id": self.open_id, "refresh_token": refresh,
                "refresh_expires_in": max(0, left), "scope": scope, "token_type": "Bearer"}

    def _token(self, form: dict) -> Reply:
        if form.get("client_key") != self.client_key \
                or form.get("client_secret") != self.client_secret:
            return self._oauth_error(401, "invalid_client", "Client key or secret is invalid.")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self.lock:
                stored = self._codes.pop(form.get("code", ""), None)
            if stored is None or stored["expires"] < time.time() \
                    or stored["redirect_uri"] != form.get("redirect_uri"):
                return self._oauth_error(400, "invalid_grant", "Authorization code is expired "
                                                               "or invalid.")
            return Reply(200, self._grant(stored["scope"] or self.grant_scopes))
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            with self.lock:
                stored = self._refresh.get(refresh)
            if stored is None or stored["expires"] < time.time():
                return self._oauth_error(400, "invalid_grant", "Refresh token is invalid or "
                                                               "expired.")
            return Reply(200, self._grant(stored["scope"], refresh))
        return self._oauth_error(400, "unsupported_grant_type",
                                 f"grant_type {grant!r} is not supported")

    def _revoke(self, form: dict) -> Reply:
        if form.get("client_key") != self.client_key \
                or form.get("client_secret") != self.client_secret:
            return self._oauth_error(401, "invalid_client", "Client key or secret is invalid.")
        token = form.get("token", "")
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "revoked"
            self.revoked.append(token)
        return Reply(200, b"")

    # -- the creator --------------------------------------------------------------------------

    def _user(self, arg: dict, token: dict) -> Reply:
        fields = (arg.get("fields") or "").split(",")
        user = {"open_id": self.open_id, "union_id": "union" + self.open_id,
                "avatar_url": f"{self.url}/avatar.jpg", "display_name": self.nickname}
        if "follower_count" in fields:  # a user.info.stats field
            if "user.info.stats" not in token["scope"].split(","):
                return self._error(401, "scope_not_authorized", "The user did not authorize "
                                                                "the scope required: "
                                                                "user.info.stats.")
            user["follower_count"] = self.follower_count
        return self._ok({"user": {k: v for k, v in user.items() if k in fields}})

    def creator_info(self) -> dict:
        return {"creator_avatar_url": f"{self.url}/avatar.jpg",
                "creator_username": self.username, "creator_nickname": self.nickname,
                "privacy_level_options": list(self.privacy_levels),
                "comment_disabled": self.comment_disabled, "duet_disabled": self.duet_disabled,
                "stitch_disabled": self.stitch_disabled,
                "max_video_post_duration_sec": self.max_video_seconds}

    # -- publishing ---------------------------------------------------------------------------

    def _publish_id(self, prefix: str) -> str:
        with self.lock:
            self._next += 1
            return f"{prefix}~v2-1.{self._next}"

    def _check_info(self, info: dict) -> Reply | None:
        privacy = info.get("privacy_level")
        if privacy not in self.privacy_levels:
            return self._error(400, "privacy_level_option_mismatch", "The privacy_level is not "
                               "among the creator's privacy_level_options.")
        if not self.audited and privacy != "SELF_ONLY":
            return self._error(403, "unaudited_client_can_only_post_to_private_accounts",
                               "Unaudited clients can only post to a private account.")
        if info.get("brand_content_toggle") and privacy == "SELF_ONLY":
            return self._error(400, "invalid_params", "Branded content cannot be private.")
        return None

    def _new(self, kind: str, info: dict, **extra) -> dict:
        publish = {"publish_id": self._publish_id("v_pub_file" if kind == "VIDEO"
                                                  else "p_pub_url"),
                   "media_type": kind, "status": "PROCESSING_UPLOAD", "polls": 0,
                   "privacy_level": info.get("privacy_level"),
                   "title": info.get("title", ""), "description": info.get("description", ""),
                   "disable_comment": bool(info.get("disable_comment")),
                   "disable_duet": bool(info.get("disable_duet")),
                   "disable_stitch": bool(info.get("disable_stitch")),
                   "brand_content_toggle": bool(info.get("brand_content_toggle")),
                   "brand_organic_toggle": bool(info.get("brand_organic_toggle")),
                   "fail_reason": "", "post_id": "", "created_at": time.time(), **extra}
        with self.lock:
            self.publishes[publish["publish_id"]] = publish
        return publish

    def _video_init(self, data: dict) -> Reply:
        info, source = data.get("post_info") or {}, data.get("source_info") or {}
        refused = self._check_info(info)
        if refused:
            return refused
        if source.get("source") != "FILE_UPLOAD":
            return self._error(400, "invalid_params", "Only FILE_UPLOAD is served here.")
        size, chunk, count = (source.get("video_size"), source.get("chunk_size"),
                              source.get("total_chunk_count"))
        if not all(isinstance(v, int) and v > 0 for v in (size, chunk, count)):
            return self._error(400, "invalid_params", "video_size, chunk_size and "
                                                      "total_chunk_count are required.")
        if size < 5 * MB and (chunk != size or count != 1):
            return self._error(400, "invalid_params", "A video under 5 MB is uploaded whole: "
                                                      "chunk_size must equal video_size.")
        if size >= 5 * MB and not (5 * MB <= chunk <= 64 * MB) and chunk != size:
            return self._error(400, "invalid_params", "chunk_size must be 5 to 64 MB.")
        if count != max(1, size // chunk) or count > 1000:
            return self._error(400, "invalid_params", "total_chunk_count must be video_size / "
                                                      "chunk_size, rounded down.")
        if len(info.get("title") or "") > 2200:
            return self._error(400, "invalid_params", "The title is longer than 2200 runes.")
        publish = self._new("VIDEO", info, size=size, chunk=chunk, count=count, received=0,
                            data=b"")
        return self._ok({"publish_id": publish["publish_id"],
                         "upload_url": f"{self.url}/upload/{publish['publish_id']}/"})

    def _upload(self, publish_id: str, headers, body: bytes) -> Reply:
        with self.lock:
            publish = self.publishes.get(publish_id)
        if publish is None or publish["media_type"] != "VIDEO":
            return self._error(404, "not_found", "The upload URL is invalid or expired.")
        ranged = (headers.get("Content-Range") or "").removeprefix("bytes ")
        try:
            span, total = ranged.split("/")
            first, last = (int(x) for x in span.split("-"))
            total = int(total)
        except ValueError:
            return self._error(400, "invalid_params", "Content-Range is required: bytes "
                                                      "FIRST-LAST/TOTAL.")
        with self.lock:
            if total != publish["size"] or first != publish["received"] \
                    or last - first + 1 != len(body):
                return self._error(400, "invalid_params", "Chunks must be uploaded in order, "
                                                          "each as its Content-Range says.")
            publish["data"] += body
            publish["received"] = last + 1
            if publish["received"] < publish["size"]:
                return Reply(206, b"")
            self._complete(publish)
        return Reply(201, b"", fault=self._post_fault())

    def _fetch(self, url: str) -> tuple[int, bytes, str]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        connect = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
        factory = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn = factory(connect, parts.port, timeout=self.fetch_timeout)
            conn.request("GET", target, headers={"Host": parts.netloc})
            response = conn.getresponse()
            data, kind, status = response.read(), response.getheader("Content-Type", ""), \
                response.status
            conn.close()
        except OSError as exc:
            with self.lock:
                self.fetched.append({"url": url, "status": 0, "error": str(exc)})
            return 0, b"", ""
        with self.lock:
            self.fetched.append({"url": url, "status": status, "data": data,
                                 "content_type": kind})
        return status, data, kind

    def _photo_init(self, data: dict) -> Reply:
        info, source = data.get("post_info") or {}, data.get("source_info") or {}
        if data.get("media_type") != "PHOTO" or data.get("post_mode") != "DIRECT_POST":
            return self._error(400, "invalid_params", "media_type PHOTO and post_mode "
                                                      "DIRECT_POST are required.")
        refused = self._check_info(info)
        if refused:
            return refused
        urls = source.get("photo_images") or []
        if source.get("source") != "PULL_FROM_URL" or not 1 <= len(urls) <= 35:
            return self._error(400, "invalid_params", "PULL_FROM_URL with 1 to 35 "
                                                      "photo_images is required.")
        if len(info.get("title") or "") > 90 or len(info.get("description") or "") > 4000:
            return self._error(400, "invalid_params", "The title (90) or description (4000) "
                                                      "is too long.")
        publish = self._new("PHOTO", info, photos=[], downloading=True)
        with self.lock:
            publish["status"] = "PROCESSING_DOWNLOAD"
        # Accepted: TikTok downloads the photos by itself, whether or not this answer arrives.
        threading.Thread(target=self._download, args=(publish, list(urls)), daemon=True,
                         name=f"tiktok-pull-{publish['publish_id']}").start()
        return Reply(200, {"data": {"publish_id": publish["publish_id"]},
                           "error": {"code": "ok", "message": "", "log_id": self._log_id()}},
                     fault=self._post_fault())

    def _download(self, publish: dict, urls: list[str]) -> None:
        """Fetch a photo post's images in order after init was accepted; one that cannot be
        fetched (or is not an image) ends the publish FAILED ``photo_pull_failed``."""
        if self.pull_delay:
            self._stopping.wait(self.pull_delay)
        for url in urls:
            status, body, kind = self._fetch(url)
            if status != 200 or not kind.startswith("image/"):
                with self.lock:
                    publish.update(status="FAILED", fail_reason="photo_pull_failed",
                                   downloading=False)
                return
            with self.lock:
                publish["photos"].append(body)
        with self.lock:
            publish["downloading"] = False
            self._complete(publish)

    def _complete(self, publish: dict) -> None:
        """The media are in: the publish goes on by itself (processing, then done or failed)."""
        publish["status"] = "PROCESSING_UPLOAD" if publish["media_type"] == "VIDEO" \
            else "PROCESSING_DOWNLOAD"
        if self._fail_reasons:
            publish["fail_reason"] = self._fail_reasons.pop(0)
        if self.processing_polls <= 0:
            self._finish(publish)

    def _finish(self, publish: dict) -> None:
        if publish["fail_reason"]:
            publish["status"] = "FAILED"
            return
        publish["status"] = "PUBLISH_COMPLETE"
        if publish["privacy_level"] != "SELF_ONLY":
            self._next += 1
            publish["post_id"] = str(7_300_000_000_000_000_000 + self._next)
        text = publish["title"] if publish["media_type"] == "VIDEO" else publish["description"]
        self.posts_per_text[text] += 1

    def _status(self, publish_id: str) -> Reply:
        with self.lock:
            publish = self.publishes.get(publish_id)
            if publish is None:
                return self._error(400, "invalid_publish_id", "The publish_id does not exist.")
            if publish["status"].startswith("PROCESSING") and not publish.get("downloading") \
                    and (publish["media_type"] == "PHOTO"
                         or publish["received"] >= publish["size"]):
                publish["polls"] += 1
                if publish["polls"] > self.processing_polls:
                    self._finish(publish)
            answer = {"status": publish["status"],
                      "uploaded_bytes": publish.get("received", 0),
                      "downloaded_bytes": sum(len(p) for p in publish.get("photos", []))}
            if publish["status"] == "FAILED":
                answer["fail_reason"] = publish["fail_reason"]
            if publish["post_id"]:
                answer["publicaly_available_post_id"] = [int(publish["post_id"])]
        return self._ok(answer)

    # -- results: the Display API's video query -------------------------------------------------

    VIDEO_FIELDS = ("id", "create_time", "title", "share_url", "duration", "like_count",
                    "comment_count", "share_count", "view_count")

    def add_video(self, title: str, *, privacy_level: str = "PUBLIC_TO_EVERYONE") -> str:
        """A video the creator has on TikTok (as if published): its public id ("" if it is
        private, which has none)."""
        publish_id = self._publish_id("v_pub_file")
        with self.lock:
            publish = {"publish_id": publish_id, "media_type": "VIDEO", "title": title,
                       "privacy_level": privacy_level, "status": "PROCESSING_UPLOAD",
                       "fail_reason": "", "post_id": "", "created_at": time.time()}
            self.publishes[publish_id] = publish
            self._finish(publish)
        return publish["post_id"] or ""

    def set_stats(self, post_id: str, **counts) -> None:
        """A public video's counts: like_count, comment_count, share_count, view_count."""
        with self.lock:
            self.stats.setdefault(str(post_id), {}).update(counts)

    def delete(self, post_id: str) -> None:
        """The creator deleted the video on TikTok: queries no longer return it."""
        with self.lock:
            for publish in self.publishes.values():
                if publish.get("post_id") == str(post_id):
                    publish["post_id"], publish["deleted"] = None, str(post_id)

    def _video_query(self, arg: dict, data: dict, token: dict, headers) -> Reply:
        """``POST /v2/video/query/?fields=…`` with ``{"filters": {"video_ids": [...]}}``: the
        creator's own videos among the ids (at most 20), each with the fields asked for."""
        if "video.list" not in token["scope"].split(","):
            return self._error(401, "scope_not_authorized", "The user did not authorize the "
                                                            "scope required: video.list.")
        fields = [f for f in (arg.get("fields") or "").split(",") if f]
        unknown = [f for f in fields if f not in self.VIDEO_FIELDS]
        if not fields or unknown:
            return self._error(400, "invalid_params", f"Invalid fields: {','.join(unknown)}"
                               if unknown else "fields is required.")
        ids = (data.get("filters") or {}).get("video_ids")
        if not isinstance(ids, list) or not ids or len(ids) > 20:
            return self._error(400, "invalid_params", "filters.video_ids must list 1 to 20 "
                                                      "video ids.")
        if self.queries_per_minute:
            key, now = (headers.get("Authorization") or "")[7:], time.time()
            with self.lock:
                recent = [t for t in self._queries.get(key, []) if t > now - 60]
                if len(recent) >= self.queries_per_minute:
                    self._queries[key] = recent
                    return self._error(429, "rate_limit_exceeded", "API rate limit was "
                                                                   "exceeded, please try again "
                                                                   "later.")
                self._queries[key] = [*recent, now]
        with self.lock:
            self.query_calls.append([str(i) for i in ids])
            mine = {p["post_id"]: p for p in self.publishes.values() if p.get("post_id")}
            videos = []
            for video_id in ids:
                publish = mine.get(str(video_id))
                if publish is None:
                    continue
                counts = {"like_count": 0, "comment_count": 0, "share_count": 0,
                          "view_count": 0, **self.stats.get(str(video_id), {})}
                video = {"id": str(video_id), "create_time": int(publish.get("created_at", 0)),
                         "title": publish.get("title") or publish.get("description") or "",
                         "share_url": f"https://www.tiktok.com/@{self.username}/video/"
                                      f"{video_id}", "duration": 0, **counts}
                videos.append({k: v for k, v in video.items() if k in fields})
        return self._ok({"videos": videos, "cursor": 0, "has_more": False})


register_fake("tiktok", lambda: FakeTikTok(client_key="tiktok-demo-app",
                                           client_secret="tiktok-demo-secret"),  # noqa: S106
              port=9107, base_urls=("tiktok_api", "tiktok_www"),
              oauth={"tiktok": ("tiktok-demo-app", "tiktok-demo-secret")})
