"""A local Google Business Profile that answers as Google's references say: Google's OAuth 2
consent screen (accounts.google.com) and token and revocation endpoints
(oauth2.googleapis.com), the Account Management and Business Information APIs (v1) that list a
person's accounts and locations, and the My Business API v4 local posts and reviews
(``add_review``; ``reviews.list`` newest change first, ``PUT .../reviews/{id}/reply``). One
server plays every host: point ``NETWORK_BASE_URLS["gbp_accounts"]``, ``["gbp_oauth2"]``,
``["gbp_account_management"]``, ``["gbp_business_information"]`` and ``["gbp_api"]`` at
``fake.url``.

    fake = FakeGoogleBusiness(client_id="app", client_secret="s3cret",
                              locations={"111": {"1001": "Acme Coffee, High Street"}}).start()
    token = fake.issue_token()        # an access token without the consent screen
    ...
    fake.posts                        # the local posts made, oldest first
    fake.expire(token)                # 401 UNAUTHENTICATED from now on
    fake.fail_next(1, status=429)     # the shared fault knobs (agency.demo.fakes)

What it checks, as Google does (developers.google.com: "Using OAuth 2.0 for Web Server
Applications"; My Business Account Management v1 ``accounts.list``; Business Information v1
``accounts.locations.list`` with its required ``readMask``; My Business v4
``accounts.locations.localPosts`` create and list):

- every API request needs ``Authorization: Bearer`` with a live token (401 UNAUTHENTICATED,
  with a ``WWW-Authenticate`` header, otherwise) granted the ``business.manage`` scope (403
  PERMISSION_DENIED / ACCESS_TOKEN_SCOPE_INSUFFICIENT otherwise); access tokens live
  ``token_lifetime`` seconds (Google: 3599);
- the consent screen needs a known ``client_id`` and ``redirect_uri``; ``access_type=offline``
  gives a refresh token with the code's tokens (and, as Google, only when ``prompt=consent`` or
  on the first consent); PKCE S256 is verified when a challenge was sent; a refresh answer has
  no new refresh token; ``invalid_grant`` for a used code or a revoked refresh token;
- a local post: ``summary`` up to 1,500 characters, ``topicType`` STANDARD, EVENT or OFFER;
  EVENT and OFFER need ``event.title`` and ``event.schedule`` (start and end dates; the end not
  before the start); ``callToAction.actionType`` one of Google's, with a ``url`` except for
  CALL; at most one ``media`` item, a PHOTO whose ``sourceUrl`` the fake FETCHES (with a real
  GET, as Google's crawler does; ``fetched`` records each): one that cannot be fetched or is not
  an image is refused 400 INVALID_ARGUMENT. Every refusal is Google's
  ``{error: {code, message, status, details}}``. The post is stored LIVE with ``name``
  ``accounts/{a}/locations/{l}/localPosts/{id}``, ``createTime`` and ``searchUrl``;
- lists are newest first, paged with ``pageSize`` / ``pageToken`` / ``nextPageToken``;
- a 429 (``fail_next(status=429)``) is RESOURCE_EXHAUSTED with an ErrorInfo detail
  (RATE_LIMIT_EXCEEDED) and, when ``retry_after`` is given, a RetryInfo detail and a
  ``Retry-After`` header.

The consent page (``GET /o/oauth2/v2/auth``) is plain HTML with "Allow" and "Cancel"; they
redirect to the ``redirect_uri`` with ``code`` and ``state``, or with ``error=access_denied``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import json
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from agency.demo.fakes import Reply, _FakeNetwork, _Handler, redirect_to, register_fake

__all__ = ["FakeGoogleBusiness"]

SCOPE = "https://www.googleapis.com/auth/business.manage"
ACTIONS = ("BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL", "GET_OFFER")
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED",
                500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
                504: "DEADLINE_EXCEEDED"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _PutHandler(_Handler):
    def do_PUT(self):  # noqa: N802 - a review's reply is PUT .../reviews/{id}/reply
        self.server.fake._serve(self, "PUT")


class FakeGoogleBusiness(_FakeNetwork):
    name = "google_business"
    max_summary = 1500
    handler = _PutHandler

    def __init__(self, *, client_id: str = "gbp-app.apps.googleusercontent.com",
                 client_secret: str = "gbp-secret",  # noqa: S107
                 locations: dict[str, dict[str, str]] | None = None,
                 account_names: dict[str, str] | None = None,
                 token_lifetime: int = 3599, fetch_timeout: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        # account id -> {location id: title}
        self.locations = {a: dict(ls) for a, ls in (locations or {
            "106543210987654321": {"4815162342": "Acme Coffee, High Street",
                                   "4815162343": "Acme Coffee, Station Road"}}).items()}
        self.account_names = dict(account_names or {})
        self.token_lifetime = token_lifetime
        self.fetch_timeout = fetch_timeout
        self.fetched: list[dict] = []
        self.posts_per_text: Counter = Counter()
        self.revoked: list[str] = []
        self.consents: list[dict] = []  # the consent screen's query, each time it is opened
        self._posts: list[dict] = []
        self._reviews: list[dict] = []
        self.review_replies: Counter = Counter()  # review name -> how many PUTs of a reply
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}  # access token -> {expires, state, scope}
        self._refresh: dict[str, dict] = {}  # refresh token -> {state, scope}
        self._next = int(time.time() * 1000)

    # -- for tests ----------------------------------------------------------------------------

    @property
    def posts(self) -> list[dict]:
        with self.lock:
            return [dict(p) for p in self._posts]

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {text: n for text, n in self.posts_per_text.items() if n > 1}

    def issue_token(self, *, lifetime: int | None = None, scope: str = SCOPE) -> str:
        token = "ya29." + secrets.token_urlsafe(40)
        with self.lock:
            self._tokens[token] = {"expires": time.time() + (lifetime or self.token_lifetime),
                                   "state": "valid", "scope": scope}
        return token

    def issue_refresh_token(self, scope: str = SCOPE) -> str:
        token = "1//0" + secrets.token_urlsafe(40)
        with self.lock:
            self._refresh[token] = {"state": "valid", "scope": scope}
        return token

    def expire(self, token: str) -> None:
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "expired"

    def revoke_all(self) -> None:
        """The person removed the app's access in their Google account."""
        with self.lock:
            for found in (*self._tokens.values(), *self._refresh.values()):
                found["state"] = "revoked"

    def add_post(self, summary: str, *, location: str | None = None,
                 topic_type: str = "STANDARD", created_at: datetime | None = None) -> dict:
        """A post made elsewhere (by hand in the Business Profile)."""
        account, location = self._first(location)
        with self.lock:
            return self._store(account, location, {"summary": summary,
                                                   "topicType": topic_type}, created_at)

    def add_review(self, comment: str, *, stars: int = 5, reviewer: str = "Carol Example",
                   anonymous: bool = False, location: str | None = None,
                   created_at: datetime | None = None) -> dict:
        """Someone's review of a location (the first one by default)."""
        account, location = self._first(location)
        moment = created_at or datetime.now(UTC)
        with self.lock:
            review_id = "AbFvOq" + secrets.token_urlsafe(12)
            review = {"name": f"accounts/{account}/locations/{location}/reviews/{review_id}",
                      "reviewId": review_id,
                      "reviewer": {"displayName": "A Google user" if anonymous else reviewer,
                                   "isAnonymous": anonymous,
                                   "profilePhotoUrl": "https://lh3.example/photo.jpg"},
                      "starRating": ["ONE", "TWO", "THREE", "FOUR", "FIVE"][stars - 1],
                      "comment": comment, "createTime": _iso(moment),
                      "updateTime": _iso(moment), "_parent": f"{account}/{location}",
                      "_changed": moment}
            self._reviews.append(review)
            return self._public(review)

    def review(self, name: str) -> dict:
        with self.lock:
            return self._public(next(r for r in self._reviews if r["name"] == name))

    def _list_reviews(self, account: str, location: str, arg: dict) -> Reply:
        """``reviews.list``: newest change first (``orderBy`` ``updateTime desc``, the default;
        ``rating``/``rating desc`` also taken), ``pageSize`` up to 50."""
        order = arg.get("orderBy") or "updateTime desc"
        if order not in ("updateTime desc", "rating", "rating desc"):
            return self._invalid("Invalid orderBy.", "order_by")
        with self.lock:
            mine = [r for r in self._reviews if r["_parent"] == f"{account}/{location}"]
        if order == "updateTime desc":
            mine.sort(key=lambda r: r["_changed"], reverse=True)
        else:
            mine.sort(key=lambda r: r["starRating"], reverse=order.endswith("desc"))
        page, token = self._page([self._public(r) for r in mine], arg, 50, 50)
        answer = {"totalReviewCount": len(mine)}
        if mine:
            answer["averageRating"] = round(sum(
                ["ONE", "TWO", "THREE", "FOUR", "FIVE"].index(r["starRating"]) + 1
                for r in mine) / len(mine), 1)
        if page:
            answer["reviews"] = page
        if token:
            answer["nextPageToken"] = token
        return Reply(200, answer)

    def _reply_review(self, name: str, body: bytes) -> Reply:
        """``PUT .../reviews/{id}/reply``: the owner's reply, made or replaced."""
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return self._error(400, "Invalid JSON payload received.")
        comment = data.get("comment") if isinstance(data, dict) else None
        if not isinstance(comment, str) or not comment.strip():
            return self._invalid("The reply's comment is required.", "comment")
        if len(comment) > 4096:
            return self._invalid("The reply's comment is too long.", "comment")
        with self.lock:
            review = next((r for r in self._reviews if r["name"] == name), None)
            if review is None:
                return self._error(404, "Requested entity was not found.")
            reply = {"comment": comment, "updateTime": _iso(datetime.now(UTC))}
            review["reviewReply"] = reply
            self.review_replies[name] += 1
        return Reply(200, reply, fault=self._post_fault())

    def _first(self, location: str | None) -> tuple[str, str]:
        for account, places in self.locations.items():
            for place in places:
                if location in (None, place):
                    return account, place
        raise KeyError(location)

    # -- errors -------------------------------------------------------------------------------

    def _error(self, status: int, message: str, *, details: list | None = None,
               headers: dict | None = None, code_name: str | None = None) -> Reply:
        body = {"error": {"code": status, "message": message,
                          "status": code_name or STATUS_NAMES.get(status, "UNKNOWN")}}
        if details:
            body["error"]["details"] = details
        return Reply(status, body, headers)

    def _invalid(self, message: str, field: str) -> Reply:
        return self._error(400, message, details=[{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": message}]}])

    def _failure_reply(self, failure) -> Reply:
        known = {
            400: "Request contains an invalid argument.",
            401: "Request had invalid authentication credentials. Expected OAuth 2 access "
                 "token, login cookie or other valid authentication credential.",
            403: "The caller does not have permission",
            429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of "
                 "service 'mybusiness.googleapis.com' for consumer 'project_number:1234567890'.",
            500: "Internal error encountered.",
            502: "Bad Gateway", 503: "The service is currently unavailable.",
            504: "The request timed out.",
        }
        message = failure.message if failure.message is not None else \
            known.get(failure.status, "Error")
        details, headers = None, None
        if failure.status == 429:
            details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                        "metadata": {"service": "mybusiness.googleapis.com",
                                     "quota_limit": "RequestsPerMinutePerProject"}}]
            if failure.retry_after is not None:
                details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                "retryDelay": f"{failure.retry_after:g}s"})
                headers = {"Retry-After": f"{failure.retry_after:g}"}
        if failure.status == 401:
            return self._unauthenticated(message)
        return self._error(failure.status, message, details=details, headers=headers)

    def _unauthenticated(self, message: str | None = None) -> Reply:
        return self._error(401, message or (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential."),
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                         'error="invalid_token"'})

    def _oauth_error(self, status: int, error: str, description: str) -> Reply:
        return Reply(status, {"error": error, "error_description": description})

    # -- routes -------------------------------------------------------------------------------

    def _route(self, method, path, query, headers, body) -> Reply:
        arg = {k: v[0] for k, v in query.items()}
        if path == "/o/oauth2/v2/auth" and method == "GET":
            return self._consent(arg)
        if path == "/o/oauth2/v2/auth/decide" and method == "POST":
            return self._decide({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path == "/token" and method == "POST":
            return self._token({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path == "/revoke" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return self._revoke(form.get("token") or arg.get("token", ""))
        refused = self._authorise(headers)
        if refused:
            return refused
        parts = [p for p in path.split("/") if p]
        if parts == ["v1", "accounts"] and method == "GET":
            return self._accounts(arg)
        if len(parts) == 4 and parts[:2] == ["v1", "accounts"] and parts[3] == "locations" \
                and method == "GET":
            return self._locations(parts[2], arg)
        if len(parts) == 3 and parts[:2] == ["v1", "locations"] and method == "GET":
            return self._location(parts[2], arg)
        if len(parts) in (6, 8) and parts[0] == "v4" and parts[1] == "accounts" \
                and parts[3] == "locations" and parts[5] == "reviews":
            account, location = parts[2], parts[4]
            if location not in self.locations.get(account, {}):
                return self._error(404, "Requested entity was not found.")
            if len(parts) == 6 and method == "GET":
                return self._list_reviews(account, location, arg)
            if len(parts) == 8 and parts[7] == "reply" and method == "PUT":
                return self._reply_review("/".join(parts[1:7]), body)
        if len(parts) == 6 and parts[0] == "v4" and parts[1] == "accounts" \
                and parts[3] == "locations" and parts[5] == "localPosts":
            account, location = parts[2], parts[4]
            if location not in self.locations.get(account, {}):
                return self._error(404, "Requested entity was not found.")
            if method == "POST":
                try:
                    data = json.loads(body or b"{}")
                except ValueError:
                    return self._error(400, "Invalid JSON payload received.")
                return self._create(account, location, data)
            if method == "GET":
                return self._list_posts(account, location, arg)
        return self._error(404, f"Method not found: {method} {path}")

    def _authorise(self, headers) -> Reply | None:
        value = headers.get("Authorization") or ""
        token = value[7:].strip() if value.startswith("Bearer ") else ""
        with self.lock:
            found = self._tokens.get(token)
            if found and found["state"] == "valid" and found["expires"] < time.time():
                found["state"] = "expired"
        if found is None or found["state"] != "valid":
            return self._unauthenticated()
        if SCOPE not in found["scope"].split():
            return self._error(403, "Request had insufficient authentication scopes.",
                               details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                         "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                                         "domain": "googleapis.com"}])
        return None

    # -- OAuth --------------------------------------------------------------------------------

    def _consent(self, arg: dict) -> Reply:
        with self.lock:
            self.consents.append(dict(arg))
        if arg.get("client_id") != self.client_id:
            return Reply(401, b"<!doctype html><title>Error 401: invalid_client</title>"
                              b"<h1>Access blocked: authorization error</h1>"
                              b"<p>The OAuth client was not found.</p>",
                         {"Content-Type": "text/html; charset=utf-8"})
        if not arg.get("redirect_uri") or arg.get("response_type") != "code":
            return Reply(400, b"<!doctype html><title>Error 400: invalid_request</title>"
                              b"<p>Required parameter is missing: response_type or "
                              b"redirect_uri</p>", {"Content-Type": "text/html; charset=utf-8"})
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in arg.items())
        names = ", ".join(t for places in self.locations.values() for t in places.values())
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts</title></head>
<body><main><h1>Acme Agency wants access to your Google Account</h1>
<p>This will allow Acme Agency to: see, edit, create and delete your Google business listings
({html.escape(names)}).</p>
<form method="post" action="/o/oauth2/v2/auth/decide">{hidden}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form></main></body></html>"""
        return Reply(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _decide(self, form: dict) -> Reply:
        redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("client_id") != self.client_id or not redirect_uri:
            return Reply(400, b"<!doctype html><p>Invalid request</p>",
                         {"Content-Type": "text/html; charset=utf-8"})
        if form.get("decision") != "allow":
            return redirect_to(redirect_uri, {"error": "access_denied", "state": state})
        code = "4/0" + secrets.token_urlsafe(30)
        with self.lock:
            self._codes[code] = {
                "redirect_uri": redirect_uri, "expires": time.time() + 600,
                "scope": form.get("scope", ""),
                "offline": form.get("access_type") == "offline",
                "challenge": form.get("code_challenge", ""),
                "method": form.get("code_challenge_method", "plain")}
        return redirect_to(redirect_uri, {"code": code, "scope": form.get("scope", ""),
                                             "state": state})

    def _token(self, form: dict) -> Reply:
        if form.get("client_id") != self.client_id \
                or form.get("client_secret") != self.client_secret:
            return self._oauth_error(401, "invalid_client", "Unauthorized")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self.lock:
                stored = self._codes.pop(form.get("code", ""), None)
            if stored is None or stored["expires"] < time.time():
                return self._oauth_error(400, "invalid_grant", "Bad Request")
            if stored["redirect_uri"] != form.get("redirect_uri"):
                return self._oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            if stored["challenge"]:
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
                    .rstrip(b"=").decode() if stored["method"] == "S256" else verifier
                if not verifier or digest != stored["challenge"]:
                    return self._oauth_error(400, "invalid_grant", "Invalid code verifier.")
            scope = stored["scope"]
            answer = {"access_token": self.issue_token(scope=scope),
                      "expires_in": self.token_lifetime, "scope": scope,
                      "token_type": "Bearer"}
            if stored["offline"]:
                answer["refresh_token"] = self.issue_refresh_token(scope)
            return Reply(200, answer)
        if grant == "refresh_token":
            with self.lock:
                found = self._refresh.get(form.get("refresh_token", ""))
            if found is None or found["state"] != "valid":
                return self._oauth_error(400, "invalid_grant", "Token has been expired or "
                                                               "revoked.")
            return Reply(200, {"access_token": self.issue_token(scope=found["scope"]),
                               "expires_in": self.token_lifetime, "scope": found["scope"],
                               "token_type": "Bearer"})
        return self._oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _revoke(self, token: str) -> Reply:
        with self.lock:
            if token in self._refresh:
                self.revoke_all()  # revoking the refresh token ends the whole grant
            elif token in self._tokens:
                self._tokens[token]["state"] = "revoked"
            else:
                return self._oauth_error(400, "invalid_token", "Token expired or revoked")
            self.revoked.append(token)
        return Reply(200, {})

    # -- accounts and locations ---------------------------------------------------------------

    @staticmethod
    def _page(items: list, arg: dict, default: int, maximum: int) -> tuple[list, str]:
        size = max(1, min(int(arg.get("pageSize") or default), maximum))
        start = int(arg.get("pageToken") or 0)
        rest = start + size
        return items[start:rest], (str(rest) if rest < len(items) else "")

    def _accounts(self, arg: dict) -> Reply:
        accounts = [{"name": f"accounts/{a}", "accountName": self.account_names.get(
            a, "Acme Coffee Ltd"), "type": "LOCATION_GROUP" if len(self.locations) > 1
            else "PERSONAL", "role": "OWNER", "verificationState": "VERIFIED",
            "vettedState": "NOT_VETTED", "permissionLevel": "OWNER_LEVEL"}
            for a in self.locations]
        page, token = self._page(accounts, arg, 20, 20)
        answer = {"accounts": page}
        if token:
            answer["nextPageToken"] = token
        return Reply(200, answer)

    def _location_body(self, location: str, title: str, mask: list[str]) -> dict:
        full = {"name": f"locations/{location}", "title": title,
                "storefrontAddress": {"regionCode": "GB", "postalCode": "AC1 2ME",
                                      "locality": "Acmeton",
                                      "addressLines": [title.split(", ", 1)[-1]]}}
        return {k: v for k, v in full.items() if k in mask}

    def _locations(self, account: str, arg: dict) -> Reply:
        if account not in self.locations:
            return self._error(404, "Requested entity was not found.")
        mask = [m.strip() for m in (arg.get("readMask") or "").split(",") if m.strip()]
        if not mask:
            return self._invalid("Request contains an invalid argument.", "read_mask")
        places = [self._location_body(place, title, mask)
                  for place, title in self.locations[account].items()]
        page, token = self._page(places, arg, 10, 100)
        answer = {"locations": page, "totalSize": len(places)}
        if token:
            answer["nextPageToken"] = token
        return Reply(200, answer)

    def _location(self, location: str, arg: dict) -> Reply:
        mask = [m.strip() for m in (arg.get("readMask") or "").split(",") if m.strip()]
        if not mask:
            return self._invalid("Request contains an invalid argument.", "read_mask")
        for places in self.locations.values():
            if location in places:
                return Reply(200, self._location_body(location, places[location], mask))
        return self._error(404, "Requested entity was not found.")

    # -- local posts --------------------------------------------------------------------------

    def _fetch(self, url: str) -> tuple[int, bytes, str]:
        """GET ``url`` as Google's crawler would (``*.localhost`` names reach 127.0.0.1)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        connect = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
        factory = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn = factory(connect, parts.port, timeout=self.fetch_timeout)
            conn.request("GET", target, headers={"Host": parts.netloc,
                                                 "User-Agent": "Google-Business-Profile"})
            response = conn.getresponse()
            data, kind, status = response.read(), response.getheader("Content-Type", ""), \
                response.status
            conn.close()
        except OSError as exc:
            with self.lock:
                self.fetched.append({"url": url, "status": 0, "error": str(exc)})
            return 0, b"", ""
        with self.lock:
            self.fetched.append({"url": url, "status": status, "content_type": kind,
                                 "data": data})
        return status, data, kind

    def _problem(self, data: dict) -> Reply | None:
        summary = data.get("summary") or ""
        kind = data.get("topicType")
        if kind not in ("STANDARD", "EVENT", "OFFER", "ALERT"):
            return self._invalid("Request contains an invalid argument.", "local_post.topic_type")
        if len(summary) > self.max_summary:
            return self._invalid(f"The summary can be at most {self.max_summary} characters.",
                                 "local_post.summary")
        if not summary.strip() and not data.get("media"):
            return self._invalid("The post needs a summary or a photo.", "local_post.summary")
        if kind in ("EVENT", "OFFER"):
            event = data.get("event") or {}
            schedule = event.get("schedule") or {}
            if not (event.get("title") or "").strip():
                return self._invalid("The event title is required.", "local_post.event.title")
            if not schedule.get("startDate") or not schedule.get("endDate"):
                return self._invalid("The event schedule needs a start and an end date.",
                                     "local_post.event.schedule")

            def moment(side):
                day, at = schedule.get(f"{side}Date") or {}, schedule.get(f"{side}Time") or {}
                return (day.get("year", 0), day.get("month", 0), day.get("day", 0),
                        at.get("hours", 0), at.get("minutes", 0))

            if moment("end") < moment("start"):
                return self._invalid("The event's end is before its start.",
                                     "local_post.event.schedule")
        action = data.get("callToAction")
        if action:
            if action.get("actionType") not in ACTIONS:
                return self._invalid("Request contains an invalid argument.",
                                     "local_post.call_to_action.action_type")
            if action["actionType"] != "CALL" and not action.get("url"):
                return self._invalid("The call to action needs a URL.",
                                     "local_post.call_to_action.url")
        media = data.get("media") or []
        if len(media) > 1:
            return self._invalid("A post can carry one photo.", "local_post.media")
        for item in media:
            if item.get("mediaFormat") != "PHOTO" or not item.get("sourceUrl"):
                return self._invalid("Only PHOTO media with a sourceUrl can be posted.",
                                     "local_post.media")
        return None

    def _create(self, account: str, location: str, data: dict) -> Reply:
        refused = self._problem(data)
        if refused:
            return refused
        for item in data.get("media") or []:
            status, content, kind = self._fetch(item["sourceUrl"])
            if status != 200 or not content or not kind.startswith("image/"):
                return self._invalid(f"The photo at sourceUrl could not be fetched (HTTP "
                                     f"{status}, {kind or 'no type'}).", "local_post.media")
            item["size"] = len(content)
        with self.lock:
            post = self._store(account, location, data, None)
            return Reply(200, self._public(post), fault=self._post_fault())

    def _store(self, account: str, location: str, data: dict, created_at) -> dict:
        self._next += 1
        moment = created_at or datetime.now(UTC)
        post = {**data, "name": f"accounts/{account}/locations/{location}/localPosts/"
                                f"{self._next}",
                "state": "LIVE", "createTime": _iso(moment), "updateTime": _iso(moment),
                "searchUrl": f"https://local.google.com/place?id={location}&use=posts"
                             f"&lpsid={self._next}",
                "_created": moment.timestamp(), "_parent": f"{account}/{location}"}
        self._posts.append(post)
        self.posts_per_text[data.get("summary") or ""] += 1
        return post

    @staticmethod
    def _public(post: dict) -> dict:
        return {k: v for k, v in post.items() if not k.startswith("_")}

    def _list_posts(self, account: str, location: str, arg: dict) -> Reply:
        with self.lock:
            mine = [p for p in self._posts if p["_parent"] == f"{account}/{location}"]
        mine.sort(key=lambda p: p["_created"], reverse=True)
        page, token = self._page([self._public(p) for p in mine], arg, 20, 100)
        answer = {"localPosts": page} if page else {}
        if token:
            answer["nextPageToken"] = token
        return Reply(200, answer)


register_fake("google_business",
              lambda: FakeGoogleBusiness(client_id="gbp-demo-app.apps.googleusercontent.com",
                                         client_secret="gbp-demo-secret"),  # noqa: S106
              port=9109, base_urls=("gbp_accounts", "gbp_oauth2", "gbp_account_management",
                                    "gbp_business_information", "gbp_api"),
              oauth={"google_business": ("gbp-demo-app.apps.googleusercontent.com",
                                         "gbp-demo-secret")})
