"""A local Pinterest that answers as Pinterest's API v5 reference says: the OAuth consent screen
(www.pinterest.com/oauth/), the token endpoint and the REST API (api.pinterest.com/v5), and the
upload address it hands out for videos. One server plays every host: point
``NETWORK_BASE_URLS["pinterest_www"]`` and ``["pinterest_api"]`` at ``fake.url``.

    fake = FakePinterest(client_id="app", client_secret="s3cret",
                         boards={"9001": "Recipes"}).start()
    token = fake.issue_token()        # an access token without the consent screen
    fake.pins                         # the pins made, oldest first
    fake.expire(token)                # 401 from now on
    fake.fail_next(1, status=429, retry_after=30)   # the shared fault knobs

What it checks, as Pinterest does: ``Authorization: Bearer`` on every ``/v5/`` request (401
``{"code": 2, "message": "Authentication failed."}``); the token endpoint takes the app's id
and secret as HTTP Basic only; ``POST /v5/pins`` needs a board of the account (404 "Board not
found."), a ``media_source`` (``image_base64`` JPEG/PNG that decodes, ``image_url``, or
``video_id`` of a media that has ``succeeded``, with a cover image or key frame), title up to
100, description and alt text up to 500 characters (400 ``{code: 1, message}``); 201 with the
pin. Videos: ``POST /v5/media`` registers one (``registered``), the upload is a multipart POST
of the given fields and the file to ``upload_url``, then ``GET /v5/media/{id}`` says
``processing`` for ``video_processing_polls`` reads and ``succeeded`` (or ``failed`` when
``fail_videos``). Every API answer carries ``X-RateLimit-Limit``, ``-Remaining`` and
``-Reset`` (seconds until the window resets); a 429 says 0 remaining.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from agency.demo.fakes import Reply, _FakeNetwork, _iso, _multipart, register_fake

__all__ = ["FakePinterest"]

RATE_LIMIT = 1000
SCOPES = "boards:read,pins:read,pins:write,user_accounts:read"


class FakePinterest(_FakeNetwork):
    name = "pinterest"

    def __init__(self, *, client_id: str = "pinterest-app",
                 client_secret: str = "pinterest-secret",  # noqa: S107
                 username: str = "acmecoffee", business_name: str = "Acme Coffee",
                 boards: dict[str, str] | None = None, token_lifetime: int = 2592000,
                 refresh_lifetime: int = 31536000, **kwargs):
        super().__init__(**kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        self.username, self.business_name = username, business_name
        self.account_id = "549755885175"
        self.boards = dict(boards or {"1099511627776": "Coffee recipes",
                                      "1099511627777": "Our cafés"})
        self.token_lifetime, self.refresh_lifetime = token_lifetime, refresh_lifetime
        self.video_processing_polls = 1
        self.fail_videos = False
        self.followers = 1234
        # Results: each pin's analytics (IMPRESSION, SAVE, PIN_CLICK, OUTBOUND_CLICK...), and
        # whether the app has the multi-pin analytics endpoint (a beta Pinterest grants).
        self.analytics: dict[str, dict] = {}
        self.bulk_analytics = True
        self.analytics_calls: list[list[str]] = []  # the pin ids each analytics call read
        self.media: dict[str, dict] = {}
        self.pins_per_text: Counter = Counter()
        self.token_requests: list[dict] = []
        self._pins: list[dict] = []
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}
        self._refresh: dict[str, float] = {}
        self._next = 5000000000000 + int(time.time()) % 10**6

    # -- for tests ----------------------------------------------------------------------------

    @property
    def pins(self) -> list[dict]:
        with self.lock:
            return [dict(p) for p in self._pins]

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {text: n for text, n in self.pins_per_text.items() if n > 1}

    def issue_token(self, *, lifetime: int | None = None) -> str:
        token = "pina_" + secrets.token_urlsafe(30)
        with self.lock:
            self._tokens[token] = {"expires": time.time() + (lifetime or self.token_lifetime),
                                   "state": "valid"}
        return token

    def issue_refresh_token(self) -> str:
        refresh = "pinr_" + secrets.token_urlsafe(30)
        with self.lock:
            self._refresh[refresh] = time.time() + self.refresh_lifetime
        return refresh

    def expire(self, token: str) -> None:
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "expired"

    def add_pin(self, description: str, *, board: str | None = None, title: str = "",
                created_at: datetime | None = None) -> dict:
        """A pin made elsewhere (by hand on Pinterest)."""
        with self.lock:
            return self._store({"board_id": board or next(iter(self.boards)),
                                "description": description, "title": title},
                               {"media_type": "image"}, created_at=created_at)

    # -- answers ------------------------------------------------------------------------------

    def _limits(self, remaining: int = RATE_LIMIT - 1, reset: float = 60) -> dict:
        return {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": f"{reset:g}"}

    def _error(self, status: int, code: int, message: str, headers: dict | None = None) -> Reply:
        return Reply(status, {"code": code, "message": message},
                     {**self._limits(), **(headers or {})})

    def _failure_reply(self, failure) -> Reply:
        known = {400: (1, "Invalid parameters."), 401: (2, "Authentication failed."),
                 403: (3, "Not authorized to access board or Pin."),
                 404: (40, "Board not found."),
                 429: (8, "You have exceeded your rate limit. Try again later."),
                 500: (0, "Internal Server Error"), 502: (0, "Bad Gateway"),
                 503: (0, "Service Unavailable")}
        code, message = known.get(failure.status, (0, "Error"))
        headers = None
        if failure.status == 429:
            headers = self._limits(0, failure.retry_after if failure.retry_after is not None
                                   else 60)
        return self._error(failure.status, code,
                           message if failure.message is None else failure.message, headers)

    def _ok(self, status: int, body) -> Reply:
        return Reply(status, body, self._limits())

    # -- routes -------------------------------------------------------------------------------

    def _route(self, method, path, query, headers, body) -> Reply:
        arg = {k: v[0] for k, v in query.items()}
        if path in ("/oauth/", "/oauth") and method == "GET":
            return self._consent(arg)
        if path == "/oauth/decide" and method == "POST":
            return self._decide({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path == "/v5/oauth/token" and method == "POST":
            return self._token(headers, {k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path.startswith("/media-upload/") and method == "POST":
            return self._upload(path, headers, body)
        if not path.startswith("/v5/"):
            return self._error(404, 404, "Not found")
        refused = self._authorise(headers)
        if refused:
            return refused
        data = {}
        if body and method == "POST":
            try:
                data = json.loads(body)
            except ValueError:
                return self._error(400, 1, "Invalid JSON in the request body.")
        if path == "/v5/pins/analytics" and method == "GET":
            return self._analytics(query.get("pin_ids") or [], arg, bulk=True)
        if path.startswith("/v5/pins/") and path.endswith("/analytics") and method == "GET":
            return self._analytics([path.split("/")[3]], arg, bulk=False)
        if path == "/v5/user_account" and method == "GET":
            return self._ok(200, self._account())
        if path == "/v5/boards" and method == "GET":
            return self._list([self._board(b) for b in self.boards], arg)
        if path.startswith("/v5/boards/") and path.endswith("/pins") and method == "GET":
            return self._board_pins(path.split("/")[3], arg)
        if path == "/v5/pins" and method == "POST":
            return self._create_pin(data)
        if path == "/v5/media" and method == "POST":
            return self._register_media(data)
        if path.startswith("/v5/media/") and method == "GET":
            return self._media(path.rsplit("/", 1)[1])
        return self._error(404, 404, f"No such endpoint: {method} {path}")

    def _authorise(self, headers) -> Reply | None:
        value = headers.get("Authorization") or ""
        token = value[7:].strip() if value.startswith("Bearer ") else ""
        with self.lock:
            found = self._tokens.get(token)
            if found and found["state"] == "valid" and found["expires"] < time.time():
                found["state"] = "expired"
        if found is None or found["state"] != "valid":
            return self._error(401, 2, "Authentication failed.")
        return None

    def _list(self, items: list[dict], arg: dict) -> Reply:
        size = min(int(arg.get("page_size") or 25), 250)
        start = int(arg.get("bookmark") or 0)
        page = items[start:start + size]
        more = start + size < len(items)
        return self._ok(200, {"items": page, "bookmark": str(start + size) if more else None})

    # -- OAuth --------------------------------------------------------------------------------

    def _page(self, status: int, text: str) -> Reply:
        return Reply(status, f"<!doctype html><title>Pinterest</title><p>{html.escape(text)}"
                             "</p>".encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _consent(self, arg: dict) -> Reply:
        if arg.get("client_id") != self.client_id:
            return self._page(400, "Something went wrong: the app's client_id is not valid.")
        if arg.get("response_type") != "code" or not arg.get("redirect_uri"):
            return self._page(400, "response_type=code and redirect_uri are required.")
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in arg.items())
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pinterest: give access</title></head>
<body><main>
<h1>Give this app access to your Pinterest account?</h1>
<p>Signed in as {html.escape(self.business_name)} (@{html.escape(self.username)}).</p>
<p>It asks for: <code>{html.escape(arg.get("scope", ""))}</code></p>
<form method="post" action="/oauth/decide">{hidden}
<button type="submit" name="decision" value="allow">Give access</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form></main></body></html>"""
        return Reply(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _decide(self, form: dict) -> Reply:
        redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("client_id") != self.client_id or not redirect_uri:
            return self._page(400, "Invalid request.")
        joiner = "&" if urlsplit(redirect_uri).query else "?"
        if form.get("decision") != "allow":
            params = {"error": "access_denied", "state": state}
        else:
            code = secrets.token_urlsafe(24)
            with self.lock:
                self._codes[code] = {"redirect_uri": redirect_uri, "expires": time.time() + 600,
                                     "scope": form.get("scope", SCOPES)}
            params = {"code": code, "state": state}
        return Reply(302, b"", {"Location": redirect_uri + joiner + urlencode(params)})

    def _token(self, headers, form: dict) -> Reply:
        auth = headers.get("Authorization") or ""
        try:
            pair = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else ""
        except (binascii.Error, UnicodeDecodeError):
            pair = ""
        with self.lock:
            self.token_requests.append({"grant_type": form.get("grant_type"),
                                        "basic": bool(pair), "body_secret":
                                            "client_secret" in form})
        if pair != f"{self.client_id}:{self.client_secret}":
            return Reply(401, {"code": 2, "message": "Authentication failed: the app's id and "
                                                     "secret must be sent as HTTP Basic."})
        grant = form.get("grant_type")
        now = time.time()
        if grant == "authorization_code":
            with self.lock:
                stored = self._codes.pop(form.get("code", ""), None)
            if stored is None or stored["expires"] < now \
                    or stored["redirect_uri"] != form.get("redirect_uri"):
                return Reply(400, {"code": 1, "message": "Invalid authorization code or "
                                                         "redirect_uri."})
            refresh = self.issue_refresh_token()
            return Reply(200, {"access_token": self.issue_token(), "refresh_token": refresh,
                               "response_type": "authorization_code", "token_type": "bearer",
                               "expires_in": self.token_lifetime,
                               "refresh_token_expires_in": self.refresh_lifetime,
                               "refresh_token_expires_at": int(now + self.refresh_lifetime),
                               "scope": stored["scope"].replace(",", " ")})
        if grant == "refresh_token":
            with self.lock:
                expiry = self._refresh.get(form.get("refresh_token", ""))
            if expiry is None or expiry < now:
                return Reply(400, {"code": 1, "message": "Invalid refresh token."})
            return Reply(200, {"access_token": self.issue_token(),
                               "response_type": "refresh_token", "token_type": "bearer",
                               "expires_in": self.token_lifetime,
                               "scope": SCOPES.replace(",", " ")})
        return Reply(400, {"code": 1, "message": f"Unsupported grant_type {grant!r}."})

    # -- account and boards -------------------------------------------------------------------

    def _account(self) -> dict:
        return {"account_type": "BUSINESS", "id": self.account_id, "username": self.username,
                "business_name": self.business_name, "profile_image":
                    f"https://i.pinimg.com/600x600_R/{self.username}.jpg",
                "website_url": "https://acme.test", "about": "", "board_count":
                    len(self.boards), "pin_count": len(self._pins),
                "follower_count": self.followers, "following_count": 10, "monthly_views": 5000}

    def _board(self, board_id: str) -> dict:
        return {"id": board_id, "name": self.boards[board_id], "description": "",
                "owner": {"username": self.username}, "privacy": "PUBLIC",
                "pin_count": sum(1 for p in self._pins if p["board_id"] == board_id)}

    def _board_pins(self, board_id: str, arg: dict) -> Reply:
        if board_id not in self.boards:
            return self._error(404, 40, "Board not found.")
        with self.lock:
            mine = [p for p in self._pins if p["board_id"] == board_id]
        mine.sort(key=lambda p: p["created_at"], reverse=True)
        return self._list([self._pin_json(p) for p in mine], arg)

    # -- media --------------------------------------------------------------------------------

    def _register_media(self, data: dict) -> Reply:
        if data.get("media_type") != "video":
            return self._error(400, 1, "media_type must be 'video'.")
        with self.lock:
            self._next += 1
            media_id = str(self._next)
            key = f"uploads/{secrets.token_hex(8)}/{media_id}"
            self.media[media_id] = {"status": "registered", "key": key, "data": None,
                                    "polls_left": 0}
        fields = {"x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
                  "x-amz-signature": secrets.token_hex(32),
                  "x-amz-security-token": secrets.token_urlsafe(24),
                  "x-amz-algorithm": "AWS4-HMAC-SHA256", "key": key,
                  "policy": base64.b64encode(b'{"conditions":[]}').decode(),
                  "x-amz-credential": "ASIA/20261203/us-east-1/s3/aws4_request",
                  "Content-Type": "multipart/form-data"}
        return self._ok(201, {"media_id": media_id, "media_type": "video",
                              "upload_url": f"{self.url}/media-upload/",
                              "upload_parameters": fields})

    def _upload(self, path, headers, body) -> Reply:
        fields, files = _multipart(headers.get("Content-Type") or "", body)
        with self.lock:
            found = next((m for m in self.media.values() if m["key"] == fields.get("key")), None)
            if found is None or "file" not in files or not fields.get("x-amz-signature"):
                return Reply(403, b"<Error><Code>AccessDenied</Code></Error>",
                             {"Content-Type": "application/xml"})
            found["data"] = files["file"][2]
            found["status"] = "processing"
            found["polls_left"] = self.video_processing_polls
        return Reply(204, b"")

    def _media(self, media_id: str) -> Reply:
        with self.lock:
            found = self.media.get(media_id)
            if found is None:
                return self._error(404, 404, "Media not found.")
            status = found["status"]
            if status == "processing":
                if found["polls_left"] > 0:
                    found["polls_left"] -= 1
                else:
                    found["status"] = status = "failed" if self.fail_videos else "succeeded"
        return self._ok(200, {"media_id": media_id, "media_type": "video", "status": status})

    # -- pins ---------------------------------------------------------------------------------

    def _create_pin(self, data: dict) -> Reply:
        board = str(data.get("board_id") or "")
        if board not in self.boards:
            return self._error(404, 40, "Board not found.")
        limits = {"title": 100, "description": 500, "alt_text": 500, "link": 2048}
        for name, limit in limits.items():
            if data.get(name) is not None and len(str(data[name])) > limit:
                return self._error(400, 1, f"Invalid parameters: '{name}' must be at most "
                                           f"{limit} characters.")
        source = data.get("media_source") or {}
        kind = source.get("source_type")
        with self.lock:
            if kind == "image_base64":
                if source.get("content_type") not in ("image/jpeg", "image/png"):
                    return self._error(400, 1, "Invalid parameters: content_type must be "
                                               "image/jpeg or image/png.")
                try:
                    image = base64.b64decode(source.get("data") or "", validate=True)
                except binascii.Error:
                    image = b""
                if not image:
                    return self._error(400, 1, "Invalid parameters: the image data is not "
                                               "valid base64.")
                media = {"media_type": "image", "data": image}
            elif kind == "image_url":
                if not source.get("url"):
                    return self._error(400, 1, "Invalid parameters: url is required.")
                media = {"media_type": "image", "url": source["url"]}
            elif kind == "video_id":
                found = self.media.get(str(source.get("media_id")))
                if found is None:
                    return self._error(400, 1, "Invalid parameters: media not found.")
                if found["status"] != "succeeded":
                    return self._error(400, 1, f"Invalid parameters: the video is not ready "
                                               f"({found['status']}).")
                if not (source.get("cover_image_url") or source.get("cover_image_data")
                        or source.get("cover_image_key_frame_time") is not None):
                    return self._error(400, 1, "Invalid parameters: a video Pin needs "
                                               "cover_image_url, cover_image_data or "
                                               "cover_image_key_frame_time.")
                media = {"media_type": "video", "media_id": str(source["media_id"]),
                         "cover": "image" if source.get("cover_image_data") else
                         "url" if source.get("cover_image_url") else "key_frame"}
            else:
                return self._error(400, 1, "Invalid parameters: media_source is required.")
            pin = self._store(data, media)
            return Reply(201, self._pin_json(pin), self._limits(), fault=self._post_fault())

    def _store(self, data: dict, media: dict, *, created_at: datetime | None = None) -> dict:
        self._next += 1
        pin = {"id": str(self._next), "board_id": str(data["board_id"]),
               "created_at": _iso(created_at or datetime.now(UTC)),
               "title": data.get("title"), "description": data.get("description"),
               "link": data.get("link"), "alt_text": data.get("alt_text"), "media": media}
        self._pins.append(pin)
        self.pins_per_text[pin["description"] or ""] += 1
        return pin

    def _pin_json(self, pin: dict) -> dict:
        media = {k: v for k, v in pin["media"].items() if k == "media_type"}
        return {"id": pin["id"], "created_at": pin["created_at"], "link": pin["link"],
                "title": pin["title"], "description": pin["description"],
                "alt_text": pin["alt_text"], "board_id": pin["board_id"],
                "board_section_id": None, "board_owner": {"username": self.username},
                "is_owner": True, "media": media, "parent_pin_id": None, "note": None,
                "dominant_color": "#6E7874", "is_standard": True, "has_been_promoted": False,
                "creative_type": "VIDEO" if media.get("media_type") == "video" else "REGULAR"}

    # -- results: pin analytics ---------------------------------------------------------------

    METRICS = ("IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK", "VIDEO_MRC_VIEW",
               "VIDEO_V50_WATCH_TIME", "QUARTILE_95_PERCENT_VIEW", "TOTAL_COMMENTS",
               "TOTAL_REACTIONS")

    def set_stats(self, pin_id: str, **metrics) -> None:
        """A pin's figures over the period asked: IMPRESSION=…, SAVE=…, PIN_CLICK=…"""
        with self.lock:
            self.analytics.setdefault(str(pin_id), {}).update(metrics)

    def delete(self, pin_id: str) -> None:
        with self.lock:
            self._pins = [p for p in self._pins if p["id"] != str(pin_id)]

    def _analytics(self, pin_ids: list[str], arg: dict, *, bulk: bool) -> Reply:
        """``GET /v5/pins/{id}/analytics`` and the beta ``GET /v5/pins/analytics?pin_ids=…``
        (up to 100): ``start_date`` no more than 90 days back, ``end_date`` no more than 90
        days after it, ``metric_types`` required. A pin's answer: ``{"all":
        {"summary_metrics", "daily_metrics", "lifetime_metrics"}}`` (keyed by pin id in bulk);
        a pin that is not the account's is 404 alone and left out in bulk."""
        if bulk and not self.bulk_analytics:
            return self._error(403, 3, "This endpoint is in beta and is not available to this "
                                       "app.")
        try:
            start = datetime.strptime(arg["start_date"], "%Y-%m-%d").date()
            end = datetime.strptime(arg["end_date"], "%Y-%m-%d").date()
        except (KeyError, ValueError):
            return self._error(400, 1, "start_date and end_date are required (YYYY-MM-DD).")
        today = datetime.now(UTC).date()
        if (today - start).days > 90 or (end - start).days > 90 or end < start:
            return self._error(400, 1, "start_date cannot be more than 90 days back from "
                                       "today, nor end_date more than 90 days past it.")
        wanted = [m for m in (arg.get("metric_types") or "").split(",") if m]
        if not wanted or any(m not in self.METRICS for m in wanted):
            return self._error(400, 1, "metric_types is required and must be Pin metrics.")
        if bulk and not 1 <= len(pin_ids) <= 100:
            return self._error(400, 1, "pin_ids takes 1 to 100 Pin ids.")
        with self.lock:
            self.analytics_calls.append(list(pin_ids))
            mine = {p["id"] for p in self._pins}
            found = {}
            for pin_id in pin_ids:
                if pin_id not in mine:
                    continue
                figures = self.analytics.get(pin_id, {})
                summary = {m: figures.get(m, 0) for m in wanted}
                found[pin_id] = {"all": {
                    "summary_metrics": summary, "lifetime_metrics": summary,
                    "daily_metrics": [{"date": end.isoformat(), "data_status": "READY",
                                       "metrics": summary}]}}
        if not bulk:
            if not found:
                return self._error(404, 50, "Pin not found.")
            return self._ok(200, found[pin_ids[0]])
        return self._ok(200, found)


register_fake("pinterest", lambda: FakePinterest(client_id="pinterest-demo-app",
                                                 client_secret="pinterest-demo-secret"),  # noqa: S106
              port=9108, base_urls=("pinterest_api", "pinterest_www"),
              oauth={"pinterest": ("pinterest-demo-app", "pinterest-demo-secret")})
