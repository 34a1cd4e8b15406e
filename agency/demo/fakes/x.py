"""A local X that answers as X's API v2 reference (docs.x.com) says: the OAuth 2.0 consent screen
(x.com) and token endpoint, and the API (api.x.com) a user posts through. One server plays both
hosts: point ``NETWORK_BASE_URLS["x_www"]`` and ``["x_api"]`` at ``fake.url``.

    fake = FakeX(client_id="app", client_secret="s3cret").start()
    token = fake.issue_token()        # a user access token without the consent screen
    fake.posts                        # the posts made, oldest first
    fake.expire(token)                # 401 from now on
    fake.fail_next(1, status=429)     # the shared fault knobs (agency.demo.fakes)

What it checks, as X does: the consent needs ``response_type=code``, a registered client id, a
``code_challenge`` (X requires PKCE: S256 or plain) and scopes; ``POST /2/oauth2/token`` needs
the confidential client's HTTP Basic credentials and the ``code_verifier`` matching the
challenge; access tokens live ``token_lifetime`` (7,200 s); ``offline.access`` gives a refresh
token, replaced at every refresh (the old one stops working). API requests need
``Authorization: Bearer`` (401 problem+json otherwise). Every API answer carries
``x-rate-limit-limit``/``-remaining``/``-reset``; a 429 has remaining 0 and the reset time.
Errors are problem+json (``title``, ``detail``, ``type``, ``status``). ``POST /2/tweets``:
text up to 280 weighted characters, no duplicate of the account's own posts (403), up to four
images or one video, media uploaded and processed; 201 ``{"data": {"id", "text"}}``. The
timeline (``GET /2/users/:id/tweets``) answers newest first, with links shortened to t.co and
``& < >`` escaped, as X does. Media: ``/2/media/upload`` INIT/APPEND/FINALIZE (multipart) and
STATUS (GET), a video ``pending`` → ``in_progress`` for ``video_processing_polls`` reads →
``succeeded`` (or ``failed`` with ``fail_processing``); ``/2/media/metadata`` sets alt text
(1,000 characters).

Conversations: ``add_mention`` puts someone else's post on X (a reply to one of the account's
posts mentions the account, as X does); ``GET /2/users/:id/mentions`` lists them newest first
(``since_id``, ``max_results`` 5-100, ``pagination_token``, ``expansions=author_id``);
``PUT /2/tweets/:id/hidden`` hides a reply in a conversation the account started (403
otherwise); a reply is ``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs

from agency.demo.fakes import (
    Reply,
    _FakeNetwork,
    _Handler,
    _multipart,
    redirect_to,
    register_fake,
)
from campaigns.networks import x_weighted

__all__ = ["FakeX"]

_URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
PROBLEM = "https://api.twitter.com/2/problems/"
SCOPES = {"tweet.read", "tweet.write", "users.read", "offline.access", "media.write",
          "follows.read", "like.read"}


_NO_METRICS = {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
               "bookmark_count": 0, "impression_count": 0}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _PutHandler(_Handler):
    def do_PUT(self):  # noqa: N802 - hiding a reply is PUT /2/tweets/:id/hidden
        self.server.fake._serve(self, "PUT")


class FakeX(_FakeNetwork):
    name = "x"
    handler = _PutHandler
    max_weighted = 280

    def __init__(self, *, client_id: str = "x-app", client_secret: str = "x-secret",  # noqa: S107
                 user_id: str = "1500000000000000001", username: str = "acmecoffee",
                 display_name: str = "Acme Coffee", token_lifetime: int = 7200,
                 rate_limit: int = 100, refuse_duplicates: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        self.user = {"id": user_id, "username": username, "name": display_name}
        self.token_lifetime = token_lifetime
        self.rate_limit = rate_limit
        # X refuses a post repeating one of the account's own (403); the chaos bench turns this
        # off so that a post sent twice shows as two, not as a refusal.
        self.refuse_duplicates = refuse_duplicates
        self.video_processing_polls = 0
        self.fail_processing = False
        self.media: dict[str, dict] = {}
        self.posts_per_text: Counter = Counter()
        self.revoked: list[str] = []
        self.refreshes = 0
        self.followers_count = 0
        self._posts: list[dict] = []  # the account's posts, and others' (add_mention)
        self.others: dict[str, dict] = {}  # other people, by username
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}
        self._refresh: set[str] = set()
        self._calls = 0
        self._next = int(time.time() * 1000) << 22

    # -- for tests ----------------------------------------------------------------------------

    @property
    def posts(self) -> list[dict]:
        with self.lock:
            return [dict(p) for p in self._posts]

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {text: n for text, n in self.posts_per_text.items() if n > 1}

    def issue_token(self, *, lifetime: int | None = None,
                    scope: str = "tweet.read tweet.write users.read media.write") -> str:
        token = secrets.token_urlsafe(40)
        with self.lock:
            self._tokens[token] = {"expires": time.time() + (lifetime or self.token_lifetime),
                                   "state": "valid", "scope": scope}
        return token

    def issue_refresh_token(self) -> str:
        refresh = secrets.token_urlsafe(40)
        with self.lock:
            self._refresh.add(refresh)
        return refresh

    def expire(self, token: str) -> None:
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "expired"

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self._refresh.clear()

    def add_post(self, text: str, *, created_at: datetime | None = None) -> dict:
        """A post made elsewhere (e.g. by hand on x.com)."""
        with self.lock:
            return self._store(text, [], None, created_at or datetime.now(UTC))

    def add_mention(self, text: str, *, username: str = "carol", name: str = "Carol",
                    in_reply_to: str | None = None, quote_of: str | None = None,
                    created_at: datetime | None = None) -> dict:
        """Someone else's post: a reply to ``in_reply_to`` (which mentions the author of the
        post it answers, as X does), a quote, or a plain mention (``@acmecoffee`` in
        ``text``)."""
        with self.lock:
            user_id = self.others.setdefault(username, {
                "id": str(1600000000000000000 + len(self.others)), "username": username,
                "name": name})["id"]
            post = {"id": self._id(), "text": text, "created_at": created_at or datetime.now(UTC),
                    "media": [], "media_ids": [], "in_reply_to": in_reply_to,
                    "quote_of": quote_of, "author_id": user_id, "hidden": False}
            self._posts.append(post)
            return dict(post)

    def post(self, post_id: str) -> dict:
        with self.lock:
            return dict(next(p for p in self._posts if p["id"] == str(post_id)))

    def _conversation(self, post: dict) -> str:
        by_id = {p["id"]: p for p in self._posts}
        while post.get("in_reply_to") and post["in_reply_to"] in by_id:
            post = by_id[post["in_reply_to"]]
        return post["id"]

    def _mentions_me(self, post: dict) -> bool:
        if post["author_id"] == self.user["id"]:
            return False
        if f"@{self.user['username']}".lower() in post["text"].lower():
            return True
        by_id = {p["id"]: p for p in self._posts}
        answered = by_id.get(post.get("in_reply_to") or post.get("quote_of") or "")
        return answered is not None and answered["author_id"] == self.user["id"]

    def _tweet_json(self, post: dict, fields: list[str]) -> dict:
        item = {"id": post["id"], "text": self.shown_text(post),
                "edit_history_tweet_ids": [post["id"]]}
        if "created_at" in fields:
            item["created_at"] = _iso(post["created_at"])
        if "author_id" in fields:
            item["author_id"] = post["author_id"]
        if "conversation_id" in fields:
            item["conversation_id"] = self._conversation(post)
        if "referenced_tweets" in fields:
            refs = ([{"type": "replied_to", "id": post["in_reply_to"]}] if post.get(
                "in_reply_to") else []) + ([{"type": "quoted", "id": post["quote_of"]}]
                                          if post.get("quote_of") else [])
            if refs:
                item["referenced_tweets"] = refs
        if post["media"] and ("attachments" in fields):
            item["attachments"] = {"media_keys": [m["key"] for m in post["media"]]}
        return item

    def _mentions(self, user_id: str, arg: dict) -> Reply:
        """``GET /2/users/:id/mentions``: newest first, ``since_id``, ``max_results`` 5 to
        100, ``pagination_token``; ``expansions=author_id`` gives ``includes.users``."""
        if user_id != self.user["id"]:
            return self._problem(403, "Forbidden", "You can only read your own mentions here.")
        count = arg.get("max_results", "10")
        if not count.isdigit() or not 5 <= int(count) <= 100:
            return self._invalid("The `max_results` query parameter value is not between 5 "
                                 "and 100", "max_results", count)
        since = arg.get("since_id") or ""
        if since and not since.isdigit():
            return self._invalid("The `since_id` query parameter value is not valid.",
                                 "since_id", since)
        fields = arg.get("tweet.fields", "").split(",")
        with self.lock:
            found = [p for p in self._posts if self._mentions_me(p)
                     and (not since or int(p["id"]) > int(since))]
            found.sort(key=lambda p: int(p["id"]), reverse=True)
            offset = int(arg.get("pagination_token") or 0)
            page = found[offset:offset + int(count)]
            if not page:
                return Reply(200, {"meta": {"result_count": 0}})
            data = [self._tweet_json(p, fields) for p in page]
            users = {p["author_id"] for p in page}
            people = [u for u in self.others.values() if u["id"] in users]
        answer = {"data": data, "meta": {"result_count": len(page), "newest_id": page[0]["id"],
                                         "oldest_id": page[-1]["id"]}}
        if offset + int(count) < len(found):
            answer["meta"]["next_token"] = str(offset + int(count))
        if "author_id" in arg.get("expansions", "").split(","):
            answer["includes"] = {"users": [
                {k: u[k] for k in ("id", "username", "name")} for u in people]}
        return Reply(200, answer)

    def _hide(self, post_id: str, data: dict) -> Reply:
        """``PUT /2/tweets/:id/hidden``: only a reply in a conversation the user started."""
        if not isinstance(data.get("hidden"), bool):
            return self._invalid("`hidden` must be true or false.", "hidden",
                                 data.get("hidden"))
        with self.lock:
            post = next((p for p in self._posts if p["id"] == post_id), None)
            if post is None:
                return self._problem(404, "Not Found Error",
                                     f"Could not find tweet with id: [{post_id}].")
            root = next(p for p in self._posts if p["id"] == self._conversation(post))
            if not post.get("in_reply_to") or root["author_id"] != self.user["id"]:
                return self._problem(403, "Forbidden", "You can only hide replies to "
                                     "conversations you started.")
            post["hidden"] = data["hidden"]
        return Reply(200, {"data": {"hidden": data["hidden"]}})

    def set_counts(self, post_id: str, **counts) -> None:
        """Give a post its public metrics (``like_count=3``, ``impression_count=120``...)."""
        with self.lock:
            post = next(p for p in self._posts if p["id"] == str(post_id))
            post["metrics"] = {**_NO_METRICS, **counts}

    def shown_text(self, post: dict) -> str:
        """The text as X answers it: links shortened to t.co, ``& < >`` escaped."""
        text = _URL_RE.sub(lambda m: "https://t.co/" + hashlib.sha1(  # noqa: S324 - a fake id
            m.group(0).encode()).hexdigest()[:10], post["text"])
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    # -- errors -------------------------------------------------------------------------------

    def _problem(self, status: int, title: str, detail: str, kind: str = "about:blank",
                 headers: dict | None = None, **extra) -> Reply:
        return Reply(status, {"title": title, "detail": detail, "type": kind, "status": status,
                              **extra}, {"Content-Type": "application/problem+json",
                                         **(headers or {})})

    def _limits(self, *, remaining: int | None = None, reset: float | None = None) -> dict:
        with self.lock:
            self._calls += 1
            left = max(0, self.rate_limit - self._calls) if remaining is None else remaining
        return {"x-rate-limit-limit": str(self.rate_limit), "x-rate-limit-remaining": str(left),
                "x-rate-limit-reset": str(int(reset or time.time() + 900))}

    def _failure_reply(self, failure) -> Reply:
        known = {400: ("Invalid Request", "One or more parameters to your request was invalid.",
                       PROBLEM + "invalid-request"),
                 401: ("Unauthorized", "Unauthorized", "about:blank"),
                 403: ("Forbidden", "You are not permitted to perform this action.",
                       "about:blank"),
                 429: ("Too Many Requests", "Too Many Requests", "about:blank"),
                 500: ("Internal Server Error", "Internal Server Error", "about:blank"),
                 503: ("Service Unavailable", "Service Unavailable", "about:blank")}
        title, detail, kind = known.get(failure.status, ("Error", "Error", "about:blank"))
        headers = self._limits()
        if failure.status == 429:
            wait = failure.retry_after if failure.retry_after is not None else 900
            headers = self._limits(remaining=0, reset=time.time() + wait)
        return self._problem(failure.status, title,
                             detail if failure.message is None else failure.message, kind,
                             headers)

    # -- routes -------------------------------------------------------------------------------

    def _route(self, method, path, query, headers, body) -> Reply:
        arg = {k: v[0] for k, v in query.items()}
        if path == "/i/oauth2/authorize" and method == "GET":
            return self._consent(arg)
        if path == "/i/oauth2/authorize/decide" and method == "POST":
            return self._decide({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path == "/2/oauth2/token" and method == "POST":
            return self._token(headers, {k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path == "/2/oauth2/revoke" and method == "POST":
            return self._revoke(headers, {k: v[0] for k, v in parse_qs(body.decode()).items()})
        if not path.startswith("/2/"):
            return self._problem(404, "Not Found Error", f"{path} does not exist.")
        refused = self._authorise(headers)
        if refused:
            return refused
        limits = self._limits()
        reply = self._api(method, path, arg, headers, body)
        reply.headers = {**limits, **(reply.headers or {})}
        return reply

    def _api(self, method, path, arg, headers, body) -> Reply:
        if path == "/2/users/me" and method == "GET":
            user = dict(self.user)
            if "public_metrics" in arg.get("user.fields", "").split(","):
                user["public_metrics"] = {"followers_count": self.followers_count,
                                          "following_count": 0, "tweet_count": len(self._posts),
                                          "listed_count": 0}
            return Reply(200, {"data": user})
        if path == "/2/tweets" and method == "GET":
            return self._lookup(arg)
        if path == "/2/tweets" and method == "POST":
            return self._create(self._json(body))
        match = re.fullmatch(r"/2/users/([0-9]+)/tweets", path)
        if match and method == "GET":
            return self._timeline(match.group(1), arg)
        match = re.fullmatch(r"/2/users/([0-9]+)/mentions", path)
        if match and method == "GET":
            return self._mentions(match.group(1), arg)
        match = re.fullmatch(r"/2/tweets/([0-9]+)/hidden", path)
        if match and method == "PUT":
            return self._hide(match.group(1), self._json(body))
        if path == "/2/media/upload" and method == "POST":
            fields, files = _multipart(headers.get("Content-Type") or "", body)
            return self._upload(fields, files)
        if path == "/2/media/upload" and method == "GET" and arg.get("command") == "STATUS":
            return self._status(arg.get("media_id", ""))
        if path == "/2/media/metadata" and method == "POST":
            return self._metadata(self._json(body))
        return self._problem(404, "Not Found Error", f"{method} {path} does not exist.")

    @staticmethod
    def _json(body: bytes) -> dict:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _authorise(self, headers) -> Reply | None:
        value = headers.get("Authorization") or ""
        token = value[7:].strip() if value.startswith("Bearer ") else ""
        with self.lock:
            found = self._tokens.get(token)
            if found and found["expires"] < time.time():
                found["state"] = "expired"
        if not found or found["state"] != "valid":
            return self._problem(401, "Unauthorized", "Unauthorized")
        return None

    # -- OAuth --------------------------------------------------------------------------------

    def _page(self, status: int, text: str) -> Reply:
        return Reply(status, f"<!doctype html><html lang=en><head><meta charset=utf-8><title>X"
                             f"</title></head><body><main>{text}</main></body></html>".encode(),
                     {"Content-Type": "text/html; charset=utf-8"})

    def _consent(self, arg: dict) -> Reply:
        if arg.get("client_id") != self.client_id or not arg.get("redirect_uri"):
            return self._page(400, "<h1>Something went wrong</h1><p>You weren’t able to give "
                                   "access to the App. Go back and try logging in again.</p>")
        problem = ""
        if arg.get("response_type") != "code":
            problem = "response_type must be code"
        elif not arg.get("code_challenge") or arg.get("code_challenge_method") not in (
                "S256", "plain"):
            problem = "Missing required parameter [code_challenge]"
        elif not arg.get("scope") or not set(arg["scope"].split()) <= SCOPES:
            problem = "Missing or unknown scope"
        if problem:
            return redirect_to(arg["redirect_uri"], {"error": "invalid_request",
                                                        "error_description": problem,
                                                        "state": arg.get("state", "")})
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in arg.items())
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in arg["scope"].split())
        return self._page(200, f"<h1>An app wants to access your X account</h1>"
                               f"<p>Signed in as @{html.escape(self.user['username'])}.</p>"
                               f"<ul>{scopes}</ul>"
                               f'<form method="post" action="/i/oauth2/authorize/decide">'
                               f"{hidden}"
                               '<button type="submit" name="decision" value="allow">Authorize app'
                               '</button> <button type="submit" name="decision" value="deny">'
                               "Cancel</button></form>")

    def _decide(self, form: dict) -> Reply:
        redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("client_id") != self.client_id or not redirect_uri:
            return self._page(400, "<p>Invalid request</p>")
        if form.get("decision") != "allow":
            return redirect_to(redirect_uri, {"error": "access_denied", "state": state})
        code = secrets.token_urlsafe(30)
        with self.lock:
            self._codes[code] = {"redirect_uri": redirect_uri, "scope": form.get("scope", ""),
                                 "challenge": form.get("code_challenge", ""),
                                 "method": form.get("code_challenge_method", "S256"),
                                 "expires": time.time() + 30}
        return redirect_to(redirect_uri, {"state": state, "code": code})

    def _client_ok(self, headers) -> bool:
        value = headers.get("Authorization") or ""
        if not value.startswith("Basic "):
            return False
        try:
            client_id, _, secret = base64.b64decode(value[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return (client_id, secret) == (self.client_id, self.client_secret)

    def _answer(self, scope: str) -> dict:
        answer = {"token_type": "bearer", "expires_in": self.token_lifetime,
                  "access_token": self.issue_token(scope=scope), "scope": scope}
        if "offline.access" in scope.split():
            answer["refresh_token"] = self.issue_refresh_token()
        return answer

    def _token(self, headers, form: dict) -> Reply:
        if not self._client_ok(headers):
            return Reply(401, {"error": "unauthorized_client",
                               "error_description": "Missing valid authorization header"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self.lock:
                stored = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
                .decode().rstrip("=") if stored and stored["method"] == "S256" else verifier
            if stored is None or stored["expires"] < time.time() \
                    or stored["redirect_uri"] != form.get("redirect_uri") \
                    or not verifier or expected != stored["challenge"]:
                return Reply(400, {"error": "invalid_request", "error_description":
                                   "Value passed for the authorization code was invalid."})
            return Reply(200, self._answer(stored["scope"]))
        if grant == "refresh_token":
            with self.lock:
                refresh = form.get("refresh_token", "")
                if refresh not in self._refresh:
                    return Reply(400, {"error": "invalid_request",
                                       "error_description": "Value passed for the token was "
                                                            "invalid."})
                self._refresh.discard(refresh)  # replaced by the new one
                self.refreshes += 1
            return Reply(200, self._answer(" ".join(sorted(SCOPES - {"follows.read",
                                                                      "like.read"}))))
        return Reply(400, {"error": "invalid_request",
                           "error_description": "Missing required parameter [grant_type]."})

    def _revoke(self, headers, form: dict) -> Reply:
        if not self._client_ok(headers):
            return Reply(401, {"error": "unauthorized_client",
                               "error_description": "Missing valid authorization header"})
        token = form.get("token", "")
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "revoked"
            self._refresh.discard(token)
            self.revoked.append(token)
        return Reply(200, {"revoked": True})

    # -- media --------------------------------------------------------------------------------

    def _id(self) -> str:
        with self.lock:
            self._next += 1 + secrets.randbelow(1000)
            return str(self._next)

    def _media_json(self, media: dict) -> dict:
        answer = {"id": media["id"], "media_key": media["key"],
                  "expires_after_secs": 86400, "size": media["total"]}
        if media.get("processing"):
            answer["processing_info"] = dict(media["processing"])
        return answer

    def _upload(self, fields: dict, files: dict) -> Reply:
        command = fields.get("command")
        if command == "INIT":
            kind, total = fields.get("media_type", ""), fields.get("total_bytes", "")
            category = fields.get("media_category", "")
            if not kind or not total.isdigit() or int(total) <= 0:
                return self._problem(400, "Invalid Request", "media_type and a positive "
                                     "total_bytes are required.", PROBLEM + "invalid-request")
            media_id = self._id()
            video = kind.startswith("video/")
            with self.lock:
                self.media[media_id] = {"id": media_id, "key": ("7_" if video else "3_")
                                        + media_id, "type": kind, "category": category,
                                        "total": int(total), "segments": {}, "state": "init",
                                        "processing": None, "alt": None, "data": b""}
            return Reply(200, {"data": self._media_json(self.media[media_id])})
        with self.lock:
            media = self.media.get(fields.get("media_id", ""))
        if media is None:
            return self._problem(400, "Invalid Request", "The media_id is invalid.",
                                 PROBLEM + "invalid-request")
        if command == "APPEND":
            index = fields.get("segment_index", "")
            if "media" not in files or not index.isdigit() or int(index) > 999:
                return self._problem(400, "Invalid Request", "media and a segment_index from 0 "
                                     "to 999 are required.", PROBLEM + "invalid-request")
            with self.lock:
                media["segments"][int(index)] = files["media"][2]
            return Reply(204, None)
        if command == "FINALIZE":
            with self.lock:
                order = sorted(media["segments"])
                data = b"".join(media["segments"][i] for i in order)
                if order != list(range(len(order))) or len(data) != media["total"]:
                    return self._problem(400, "Invalid Request", "File size mismatch: the "
                                         "segments do not add up to total_bytes.",
                                         PROBLEM + "invalid-request")
                media["data"] = data
                if media["type"].startswith("video/") or media["category"] == "tweet_gif":
                    media["polls_left"] = self.video_processing_polls
                    media["processing"] = {"state": "pending", "check_after_secs": 1}
                    if self.video_processing_polls <= 0 and not self.fail_processing:
                        media["processing"] = {"state": "succeeded", "progress_percent": 100}
                media["state"] = "finalized"
            return Reply(200, {"data": self._media_json(media)})
        return self._problem(400, "Invalid Request", f"Unknown command {command!r}.",
                             PROBLEM + "invalid-request")

    def _status(self, media_id: str) -> Reply:
        with self.lock:
            media = self.media.get(media_id)
            if media is None or media["state"] != "finalized":
                return self._problem(400, "Invalid Request", "The media_id is invalid.",
                                     PROBLEM + "invalid-request")
            if media.get("processing") and media["processing"]["state"] in ("pending",
                                                                           "in_progress"):
                media["polls_left"] = media.get("polls_left", 0) - 1
                if media["polls_left"] > 0:
                    media["processing"] = {"state": "in_progress", "check_after_secs": 1,
                                           "progress_percent": 50}
                elif self.fail_processing:
                    media["processing"] = {"state": "failed", "progress_percent": 100, "error": {
                        "code": 1, "name": "InvalidMedia",
                        "message": "Invalid or Unsupported media, Reason: UnsupportedMedia."}}
                else:
                    media["processing"] = {"state": "succeeded", "progress_percent": 100}
            return Reply(200, {"data": self._media_json(media)})

    def _metadata(self, data: dict) -> Reply:
        text = ((data.get("metadata") or {}).get("alt_text") or {}).get("text")
        with self.lock:
            media = self.media.get(str(data.get("id", "")))
            if media is None:
                return self._problem(400, "Invalid Request", "The media id is invalid.",
                                     PROBLEM + "invalid-request")
            if not isinstance(text, str) or len(text) > 1000:
                return self._problem(400, "Invalid Request", "alt_text.text must be a string "
                                     "of at most 1000 characters.", PROBLEM + "invalid-request")
            media["alt"] = text
        return Reply(200, {"data": {"id": media["id"],
                                    "associated_metadata": {"alt_text": {"text": text}}}})

    # -- posts --------------------------------------------------------------------------------

    def _invalid(self, message: str, parameter: str, value) -> Reply:
        return self._problem(400, "Invalid Request", "One or more parameters to your request "
                             "was invalid.", PROBLEM + "invalid-request",
                             errors=[{"parameters": {parameter: [value]}, "message": message}])

    def _create(self, data: dict) -> Reply:
        text = data.get("text")
        media_ids = [str(m) for m in ((data.get("media") or {}).get("media_ids") or [])]
        reply_to = (data.get("reply") or {}).get("in_reply_to_tweet_id")
        if not isinstance(text, str) or (not text.strip() and not media_ids):
            return self._invalid("text or media is required.", "text", text)
        if x_weighted(text) > self.max_weighted:
            return self._problem(403, "Forbidden", "Your Tweet text is too long. For more "
                                 "information on how X determines text length see "
                                 "https://github.com/twitter/twitter-text.")
        with self.lock:
            found = [self.media.get(m) for m in media_ids]
            videos = [m for m in found if m and m["type"].startswith("video/")]
            if None in found or any(m["state"] != "finalized" or (m.get("processing") or {})
                                    .get("state") not in (None, "succeeded") for m in found):
                return self._invalid("Your media IDs are invalid.", "media.media_ids", media_ids)
            if len(media_ids) > 4 or (videos and len(media_ids) > 1):
                return self._invalid("Your media IDs are invalid: up to 4 images or 1 video.",
                                     "media.media_ids", media_ids)
            if reply_to is not None and not any(p["id"] == str(reply_to) for p in self._posts):
                return self._invalid("The Tweet you are replying to is not available.",
                                     "reply.in_reply_to_tweet_id", reply_to)
            if self.refuse_duplicates and reply_to is None and text.strip() and any(
                    p["text"] == text and p["in_reply_to"] is None
                    and p["author_id"] == self.user["id"] for p in self._posts):
                return self._problem(403, "Forbidden", "You are not allowed to create a Tweet "
                                     "with duplicate content.")
            post = self._store(text, media_ids, str(reply_to) if reply_to else None,
                               datetime.now(UTC))
            return Reply(201, {"data": {"id": post["id"], "text": self.shown_text(post),
                                        "edit_history_tweet_ids": [post["id"]]}},
                         fault=self._post_fault())

    def _store(self, text, media_ids, reply_to, created_at) -> dict:
        post = {"id": self._id(), "text": text, "created_at": created_at,
                "media": [dict(self.media[m], data=None) for m in media_ids],
                "media_ids": list(media_ids), "in_reply_to": reply_to,
                "author_id": self.user["id"]}
        self._posts.append(post)
        if reply_to is None:
            self.posts_per_text[text] += 1
        return post

    def _lookup(self, arg: dict) -> Reply:
        """``GET /2/tweets?ids=`` (1 to 100 ids); an id X does not have is under ``errors``."""
        ids = [i for i in arg.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return self._invalid("The `ids` query parameter value must have 1 to 100 ids.",
                                 "ids", arg.get("ids", ""))
        metrics = "public_metrics" in arg.get("tweet.fields", "").split(",")
        with self.lock:
            posts = {p["id"]: p for p in self._posts}
        data, errors = [], []
        for tweet_id in ids:
            post = posts.get(tweet_id)
            if post is None:
                errors.append({"value": tweet_id, "detail": f"Could not find tweet with ids: "
                               f"[{tweet_id}].", "title": "Not Found Error",
                               "resource_type": "tweet", "parameter": "ids",
                               "resource_id": tweet_id, "type": PROBLEM + "resource-not-found"})
                continue
            item = {"id": post["id"], "text": self.shown_text(post),
                    "edit_history_tweet_ids": [post["id"]]}
            if metrics:
                item["public_metrics"] = dict(post.get("metrics") or _NO_METRICS)
            data.append(item)
        answer = {"data": data} if data else {}
        if errors:
            answer["errors"] = errors
        return Reply(200, answer)

    def _timeline(self, user_id: str, arg: dict) -> Reply:
        count = arg.get("max_results", "10")
        if not count.isdigit() or not 5 <= int(count) <= 100:
            return self._invalid("The `max_results` query parameter value is not between 5 "
                                 "and 100", "max_results", count)
        start = arg.get("start_time")
        try:
            start_at = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        except ValueError:
            return self._invalid("Invalid start_time.", "start_time", start)
        with self.lock:
            mine = [p for p in self._posts if p["author_id"] == user_id
                    and (start_at is None or p["created_at"] >= start_at)]
        mine.sort(key=lambda p: int(p["id"]), reverse=True)
        offset = int(arg.get("pagination_token") or 0)
        page = mine[offset:offset + int(count)]
        if not page:
            return Reply(200, {"meta": {"result_count": 0}})
        items = []
        fields = arg.get("tweet.fields", "").split(",")
        for post in page:
            item = self._tweet_json(post, fields)
            item["created_at"] = _iso(post["created_at"])
            if post["media"]:
                item["attachments"] = {"media_keys": [m["key"] for m in post["media"]]}
            items.append(item)
        meta = {"result_count": len(page), "newest_id": page[0]["id"],
                "oldest_id": page[-1]["id"]}
        if offset + int(count) < len(mine):
            meta["next_token"] = str(offset + int(count))
        return Reply(200, {"data": items, "meta": meta})


register_fake("x", lambda: FakeX(client_id="x-demo-app", client_secret="x-demo-secret"),  # noqa: S106
              port=9105, base_urls=("x_api", "x_www"),
              oauth={"x": ("x-demo-app", "x-demo-secret")})
