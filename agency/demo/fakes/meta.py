"""A local stand-in for Meta: Facebook Login and the Graph API for Pages and Instagram
(graph.facebook.com, www.facebook.com), and Threads (graph.threads.net, threads.net), answering
as Meta's developer documentation has it. One server serves all four hosts: point
``NETWORK_BASE_URLS`` ``facebook_graph``, ``facebook_www``, ``threads_graph`` and ``threads_www``
at ``fake.url``.

    fake = FakeMeta(app_id="meta-app", app_secret="meta-secret").start()
    token = fake.page_token("20001")         # the Acme Coffee Page's token
    fake.page_posts("20001")                 # what is on the Page, oldest first
    fake.ig_posts(), fake.threads_posts()    # what is on Instagram / Threads
    fake.expire(token)                       # the token now answers code 190, subcode 463
    fake.graph_error_next(4, "Application request limit reached", regain_minutes=7)

What it keeps to, from the references:

- Errors are ``{"error": {"message", "type", "code", "error_subcode", "is_transient",
  "fbtrace_id"}}`` (HTTP 400 for most, 500 for server trouble); an expired token is code 190
  subcode 463, a throttled app code 4 with ``X-App-Usage`` at 100 and
  ``X-Business-Use-Case-Usage`` carrying ``estimated_time_to_regain_access`` (minutes). Every
  answer carries ``X-App-Usage``.
- Facebook Login: ``/vXX.X/dialog/oauth`` shows a consent page (Allow / Deny) that redirects to
  ``redirect_uri`` with ``code`` and ``state``, or ``error=access_denied&error_reason=user_denied``;
  ``/oauth/access_token`` trades the code (same ``redirect_uri``) for a short-lived user token and,
  with ``grant_type=fb_exchange_token``, a short-lived one for a long-lived one (about 60 days);
  ``/me/accounts`` lists the user's Pages with each Page's own token and its linked
  ``instagram_business_account``; ``DELETE /{user-id}/permissions`` (with the app's token
  ``app_id|app_secret`` or the user's) revokes the login: every token from it stops working.
- Pages: ``/{page}/feed`` (``message``, ``link``, ``attached_media``), ``/{page}/photos`` (a
  ``source`` file or ``url``; ``published=false`` keeps it for ``attached_media``),
  ``/{page}/videos`` (``source``, ``description``), ``/{page}/posts``, ``/{object}/comments``.
  Posting needs the Page's token.
- Instagram: ``/{ig-user}/media`` makes a container and FETCHES ``image_url`` / ``video_url``
  with a real HTTP GET (``fetched`` records each: url, status, bytes, content type); an image that
  cannot be fetched is refused (code 9004, subcode 2207052), one that takes longer than
  ``fetch_timeout`` is a transient error (code -2, subcode 2207003); a video container stays
  ``IN_PROGRESS`` for ``video_polls`` status reads, then ``FINISHED``; ``container_outcome_next``
  makes the next one ``ERROR`` (or ``EXPIRED``). ``/{container}?fields=status_code,status``,
  ``/{ig-user}/media_publish`` (not ready: code 9007 subcode 2207027; over the limit: code 9
  subcode 2207042), ``/{ig-user}/content_publishing_limit``, ``/{ig-user}/media``,
  ``/{media}/comments``.
- Threads: ``/oauth/authorize`` consent, ``POST /oauth/access_token``, ``/access_token``
  (``th_exchange_token``), ``/refresh_access_token`` (``th_refresh_token``), ``/v1.0/me``,
  ``/{user}/threads`` (containers, ``reply_to_id``), ``/{container}?fields=status,error_message``,
  ``/{user}/threads_publish``, ``/{user}/threads_publishing_limit``, ``/{user}/threads``.

- Insights (``set_stats(object_id, ...)`` sets a post's figures; ``metric_calls`` counts the
  reads): ``GET /?ids=a,b,c&fields=...`` reads up to 50 objects at once (more: code 100; an id
  that does not exist fails the whole read with code 803 "Some of the aliases you requested do
  not exist: ..."). A Page post gives ``shares{count}`` (left out at zero),
  ``reactions.summary(total_count)``, ``comments.summary(total_count)`` and
  ``insights.metric(post_media_view,post_total_media_view_unique,post_clicks)``; Instagram media
  ``like_count``, ``comments_count`` and ``insights.metric(views,reach,saved,shares)``
  (``impressions`` is refused since v22.0); a metric it does not know is code 100. Pages and
  Instagram users give ``followers_count``. Threads: ``GET /{thread}/insights?metric=views,
  likes,replies,reposts,quotes,shares`` (one thread per call) and
  ``GET /{user}/threads_insights?metric=followers_count`` (``total_value``).

The fault knobs of the other fakes work here too (``fail_next``, ``accept_then_hang``,
``accept_then_drop``: on the calls that publish).
"""

from __future__ import annotations

import html
import http.client
import json
import secrets
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from agency.demo.fakes import Reply, _Failure, _FakeNetwork, _Handler, register_fake

__all__ = ["FakeMeta"]

LONG_LIVED_SECONDS = 5_184_000  # 60 days
SHORT_LIVED_SECONDS = 3_600


class _MetaHandler(_Handler):
    def do_DELETE(self):  # noqa: N802
        self.server.fake._serve(self, "DELETE")


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _fields(headers, body: bytes) -> tuple[dict, dict]:
    """(fields, files) of a form, multipart or JSON body."""
    kind = (headers.get("Content-Type") or "").lower()
    if kind.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body)
        fields, files = {}, {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[name] = {"name": part.get_filename(), "data": payload,
                               "mime_type": part.get_content_type()}
            else:
                fields[name] = payload.decode()
        return fields, files
    if kind.startswith("application/json"):
        data = json.loads(body or b"{}")
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}, {}
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}, {}


class FakeMeta(_FakeNetwork):
    """Meta's Graph APIs with one Facebook user (two Pages, the first linked to an Instagram
    professional account) and one Threads user."""

    name = "meta"

    def __init__(self, *, app_id: str = "meta-app-id", app_secret: str = "meta-app-secret",  # noqa: S107
                 fetch_timeout: float = 15.0, **kwargs):
        super().__init__(**kwargs)
        self.app_id, self.app_secret = app_id, app_secret
        self.fetch_timeout = fetch_timeout
        self.user = {"id": "10001", "name": "Ada Agency"}
        self.pages = {
            "20001": {"id": "20001", "name": "Acme Coffee", "category": "Coffee shop",
                      "ig": "17841400000000001"},
            "20002": {"id": "20002", "name": "Acme Outlet", "category": "Shopping & retail",
                      "ig": None},
        }
        self.ig_users = {"17841400000000001": {"id": "17841400000000001",
                                               "username": "acmecoffee", "page": "20001"}}
        self.threads_user = {"id": "30001", "username": "acme.coffee", "name": "Acme Coffee"}
        self.tokens: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.objects: dict[str, dict] = {}  # posts, photos, videos, containers, media, threads
        self.comments: list[dict] = []  # Page and Instagram comments, oldest first
        self._comment_index: dict[str, dict] = {}
        self.fetched: list[dict] = []
        self.posts_per_text: Counter = Counter()
        self.revoked: list[str] = []  # user ids whose login was revoked
        self.video_polls = 1
        self.container_outcome_next: list[tuple[str, str]] = []
        self.ig_quota = {"quota_total": 50, "quota_duration": 86400, "used": 0}
        self.threads_quota = {"quota_total": 250, "quota_duration": 86400, "used": 0}
        self.app_usage = 10  # percent, in X-App-Usage
        self._graph_errors: list[dict] = []
        self.metric_calls: Counter = Counter()  # "ids", "threads_insights", "followers"
        self.followers = {"20001": 1520, "20002": 40, "17841400000000001": 2310, "30001": 890}
        self._page_tokens: dict[str, str] = {}
        self._next = int(time.time()) * 1000

    # -- lifecycle: the base's server with DELETE -------------------------------------------------

    def start(self, port: int = 0):
        """Listen on 127.0.0.1:``port`` (0: a free port)."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _MetaHandler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name="fake-meta",
                                        daemon=True)
        self._thread.start()
        return self

    # -- for tests --------------------------------------------------------------------------------

    def issue(self, kind: str, subject: str, *, seconds: int | None = LONG_LIVED_SECONDS,
              user: str | None = None) -> str:
        """A new token of ``kind`` ("user", "page", "threads") for ``subject``."""
        token = f"EAA{kind[:2].upper()}{secrets.token_urlsafe(18)}"
        with self.lock:
            self.tokens[token] = {"kind": kind, "subject": subject, "user": user or subject,
                                  "expires_at": time.time() + seconds if seconds else None,
                                  "valid": True}
        return token

    def page_token(self, page_id: str) -> str:
        """The Page's token (as /me/accounts gives it; never expires while the login holds)."""
        with self.lock:
            if page_id not in self._page_tokens:
                self._page_tokens[page_id] = self.issue("page", page_id, seconds=None,
                                                        user=self.user["id"])
            return self._page_tokens[page_id]

    def threads_token(self) -> str:
        return self.issue("threads", self.threads_user["id"])

    def expire(self, token: str) -> None:
        """The token answers code 190 subcode 463 from now on; an expired Page token is not
        given out again (logging in anew gives the Page a new one, as Meta does)."""
        with self.lock:
            self.tokens[token]["expires_at"] = time.time() - 60
            for page_id, page_token in list(self._page_tokens.items()):
                if page_token == token:
                    del self._page_tokens[page_id]

    def graph_error_next(self, code: int, message: str, *, subcode: int | None = None,
                         status: int = 400, path: str | None = None, transient: bool = False,
                         regain_minutes: int | None = None, count: int = 1) -> None:
        """The next ``count`` requests (whose path contains ``path``) get this Graph error."""
        with self.lock:
            self._graph_errors.extend({"code": code, "message": message, "subcode": subcode,
                                       "status": status, "path": path, "transient": transient,
                                       "regain": regain_minutes} for _ in range(count))

    def _kind_posts(self, kind: str, owner: str) -> list[dict]:
        with self.lock:
            return [dict(o) for o in self.objects.values()
                    if o["kind"] == kind and o["owner"] == owner and o.get("published", True)]

    def page_posts(self, page_id: str = "20001") -> list[dict]:
        return self._kind_posts("post", page_id)

    def ig_posts(self, ig_id: str = "17841400000000001") -> list[dict]:
        return self._kind_posts("ig_media", ig_id)

    def threads_posts(self) -> list[dict]:
        return [p for p in self._kind_posts("thread", self.threads_user["id"])
                if not p.get("reply_to_id")]

    def threads_replies(self) -> list[dict]:
        return [p for p in self._kind_posts("thread", self.threads_user["id"])
                if p.get("reply_to_id")]

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {text: n for text, n in self.posts_per_text.items() if n > 1}

    def add(self, kind: str, owner: str, text: str, **values) -> dict:
        """A published object as if made earlier: ``post`` (Page), ``ig_media``, ``thread``."""
        if kind == "post":
            values.setdefault("id", f"{owner}_{self._id()}")
            values["message"] = text
        else:
            values.update(caption=text if kind == "ig_media" else "",
                          text=text if kind == "thread" else "")
            values.setdefault("media_type", "IMAGE" if kind == "ig_media" else "TEXT")
        return dict(self._store(kind=kind, owner=owner, **values))

    def set_stats(self, object_id: str, **values: int) -> None:
        """A post's figures: ``reactions``, ``comments``, ``shares`` and insights metrics by
        their Graph names (``post_media_view``, ``views``, ``saved``, ``reposts``...)."""
        with self.lock:
            self.objects[object_id].setdefault("stats", {}).update(values)

    def delete(self, object_id: str) -> None:
        with self.lock:
            del self.objects[object_id]

    def add_comment(self, on: str, text: str, *, author: str = "Carol Example",
                    author_id: str | None = None, media: bool = False,
                    when: datetime | None = None) -> dict:
        """Someone's comment under a Page post or Instagram media ``on``, or a reply to the
        comment ``on`` (Instagram nests it under the top-level comment)."""
        name = author.lower().replace(" ", "_")
        who = {"id": author_id or str(abs(hash(name)) % 10**15), "name": author,
               "username": name}
        return dict(self._new_comment(on, text, author=who, media=media, when=when))

    def add_thread_reply(self, to: str, text: str, *, username: str = "carol.example",
                         media_type: str = "TEXT", when: datetime | None = None) -> dict:
        """Someone's reply on Threads to the thread or reply ``to``."""
        values = {"created_at": when} if when else {}
        return dict(self._store(kind="thread", owner=f"user:{username}", username=username,
                                text=text, caption="", media_type=media_type, reply_to_id=to,
                                hide_status="NOT_HUSHED", **values))

    def comment(self, comment_id: str) -> dict:
        with self.lock:
            return dict(self._comment_index[comment_id])

    def replies_as_brand(self) -> list[dict]:
        """The comments the Pages and Instagram accounts made under others' comments."""
        with self.lock:
            own = set(self.pages) | set(self.ig_users)
            return [dict(c) for c in self.comments if c["parent"] and c["from"]["id"] in own]

    def _new_comment(self, on: str, text: str, *, author: dict, media: bool = False,
                     when: datetime | None = None) -> dict:
        with self.lock:
            target = self.objects.get(on) or self._comment_index.get(on)
            if target is None:
                raise KeyError(on)
            network = target.get("network") or ("instagram" if target["kind"] == "ig_media"
                                                else "facebook")
            root = target.get("root") or target["id"]
            parent = ""
            if "root" in target:  # a reply to a comment
                parent = target["id"]
                if network == "instagram" and target["parent"]:
                    parent = target["parent"]  # Instagram: under the top-level comment
            comment = {"id": f"{root}_{self._id()}" if network == "facebook" else self._id(),
                       "on": on, "root": root, "parent": parent, "network": network,
                       "message": text, "from": author, "attachment": media, "hidden": False,
                       "created_at": when or datetime.now(UTC)}
            self.comments.append(comment)
            self._comment_index[comment["id"]] = comment
            return comment

    # -- answers ----------------------------------------------------------------------------------

    def _id(self) -> str:
        with self.lock:
            self._next += 1
            return str(self._next)

    def _headers(self, *, regain: int | None = None, usage: int | None = None) -> dict:
        usage = self.app_usage if usage is None else usage
        headers = {"X-App-Usage": json.dumps({"call_count": usage, "total_cputime": usage // 2,
                                              "total_time": usage // 2})}
        if regain is not None:
            headers["X-Business-Use-Case-Usage"] = json.dumps({"20001": [{
                "type": "pages", "call_count": 100, "total_cputime": 40, "total_time": 40,
                "estimated_time_to_regain_access": regain}]})
        return headers

    def graph_error(self, status: int, code: int, message: str, *, subcode: int | None = None,
                    kind: str = "OAuthException", transient: bool = False,
                    headers: dict | None = None) -> Reply:
        error = {"message": message, "type": kind, "code": code, "is_transient": transient,
                 "fbtrace_id": "A" + secrets.token_urlsafe(16)}
        if subcode is not None:
            error["error_subcode"] = subcode
        return Reply(status, {"error": error}, headers={**self._headers(), **(headers or {})})

    def _failure_reply(self, failure: _Failure) -> Reply:
        if failure.status == 429 or failure.status == 403:
            regain = None if failure.retry_after is None else max(1, int(failure.retry_after
                                                                         // 60))
            return self.graph_error(failure.status, 4, failure.message
                                    or "(#4) Application request limit reached",
                                    headers=self._headers(regain=regain, usage=100),
                                    transient=True)
        if failure.status >= 500:
            return self.graph_error(failure.status, 2, failure.message or
                                    "An unexpected error has occurred. Please retry your request "
                                    "later.", transient=True)
        return self.graph_error(failure.status, 100, failure.message or "Invalid parameter")

    def _ok(self, body, *, fault: str = "") -> Reply:
        return Reply(200, body, headers=self._headers(), fault=fault)

    def _html(self, text: str) -> Reply:
        return Reply(200, text.encode(), headers={"Content-Type": "text/html; charset=utf-8"})

    def _redirect(self, location: str) -> Reply:
        return Reply(302, b"", headers={"Location": location})

    # -- tokens -----------------------------------------------------------------------------------

    def _token(self, headers, query: dict, form: dict) -> tuple[dict | None, Reply | None]:
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        token = token or (query.get("access_token") or [""])[0] or form.get("access_token", "")
        if not token:
            return None, self.graph_error(400, 2500, "An active access token must be used to "
                                                      "query information about the current user.")
        if token == f"{self.app_id}|{self.app_secret}":
            return {"kind": "app", "subject": self.app_id, "user": None}, None
        with self.lock:
            found = self.tokens.get(token)
        if found is None or not found["valid"]:
            return None, self.graph_error(
                400, 190, "Error validating access token: The session has been invalidated "
                          "because the user changed their password or Facebook has changed the "
                          "session for security reasons.", subcode=460)
        if found["expires_at"] is not None and found["expires_at"] < time.time():
            moment = datetime.fromtimestamp(found["expires_at"], UTC)
            return None, self.graph_error(
                400, 190, "Error validating access token: Session has expired on "
                          f"{moment:%A, %d-%b-%y %H:%M:%S} UTC. The current time is "
                          f"{datetime.now(UTC):%A, %d-%b-%y %H:%M:%S} UTC.", subcode=463)
        return {**found, "token": token}, None

    # -- routes -----------------------------------------------------------------------------------

    def _route(self, method, path, query, headers, body) -> Reply:
        form, files = _fields(headers, body) if body else ({}, {})
        parts = [p for p in path.split("/") if p]
        if parts and parts[0].startswith("v") and parts[0][1:2].isdigit():
            parts = parts[1:]  # /v23.0/... and /v1.0/...
        with self.lock:
            error = next((e for e in self._graph_errors
                          if e["path"] is None or e["path"] in path), None)
            if error is not None:
                self._graph_errors.remove(error)
        if error is not None:
            regain = error["regain"]
            return self.graph_error(error["status"], error["code"], error["message"],
                                    subcode=error["subcode"], transient=error["transient"],
                                    headers=self._headers(regain=regain) if regain else None)
        arg = {k: v[0] for k, v in query.items()}
        # consent screens and token endpoints: no token needed
        if parts == ["dialog", "oauth"] or parts == ["oauth", "authorize"]:
            return self._consent(arg, threads=parts[0] == "oauth")
        if parts == ["consent", "decide"]:
            return self._decide(arg)
        if parts == ["oauth", "access_token"]:
            return self._access_token(method, {**arg, **form})
        if parts == ["access_token"]:
            return self._threads_exchange(arg)
        if parts == ["refresh_access_token"]:
            return self._threads_refresh(arg)
        token, refusal = self._token(headers, query, form)
        if refusal is not None:
            return refusal
        if not parts and method == "GET" and arg.get("ids"):
            return self._many(arg)
        if not parts:
            return self.graph_error(400, 100, "Unsupported get request.")
        node = parts[0]
        if node == "me":
            node = token["subject"] if token["kind"] != "app" else ""
        edge = parts[1] if len(parts) > 1 else ""
        if edge == "permissions" and method == "DELETE":
            return self._revoke(token, node)
        if edge == "permissions" and method == "GET":
            return self._ok({"data": [{"permission": p, "status": "granted"} for p in
                                      (token.get("scope") or "").split(",") if p]})
        if edge == "accounts":
            return self._accounts(token)
        conversation = self._conversation(method, token, node, edge, {**arg, **form})
        if conversation is not None:
            return conversation
        if not edge:
            return self._node(token, node, arg)
        if edge == "comments" and method == "POST":
            return self._comment(token, node, form)
        if edge == "insights" and method == "GET" and node in self.objects:
            return self._thread_insights(node, arg)
        if node in self.pages:
            return self._page(method, token, node, edge, form, files, arg)
        if node in self.ig_users:
            return self._instagram(method, token, node, edge, form, arg)
        if node == self.threads_user["id"]:
            return self._threads(method, token, node, edge, form, arg)
        return self.graph_error(400, 100, f"Unsupported {method.lower()} request. Object with ID "
                                          f"'{node}' does not exist, cannot be loaded due to "
                                          "missing permissions, or does not support this "
                                          "operation.", subcode=33, kind="GraphMethodException")

    # -- consent and tokens -----------------------------------------------------------------------

    def _consent(self, arg: dict, *, threads: bool) -> Reply:
        if arg.get("client_id") != self.app_id:
            return self._html("<h1>Invalid App ID</h1><p>The provided app ID does not look like "
                              "a valid app ID.</p>")
        if not arg.get("redirect_uri") or arg.get("response_type", "code") != "code":
            return self._html("<h1>Error</h1><p>Invalid redirect_uri or response_type.</p>")
        who = (f"Threads account @{self.threads_user['username']}" if threads
               else f"Facebook user {self.user['name']}")
        decide = {k: arg.get(k, "") for k in ("client_id", "redirect_uri", "state", "scope")}
        decide["network"] = "threads" if threads else "facebook"
        allow = "/consent/decide?" + urlencode({**decide, "decision": "allow"})
        deny = "/consent/decide?" + urlencode({**decide, "decision": "deny"})
        scopes = html.escape(arg.get("scope", ""))
        return self._html(
            "<!doctype html><html><head><title>Log in with Meta</title></head><body>"
            f"<h1>Continue as {html.escape(who)}?</h1>"
            f"<p>The app asks for: <span id='scopes'>{scopes}</span></p>"
            f"<a id='allow' href='{html.escape(allow)}'>Allow</a> "
            f"<a id='deny' href='{html.escape(deny)}'>Deny</a></body></html>")

    def _decide(self, arg: dict) -> Reply:
        redirect_uri, state = arg.get("redirect_uri", ""), arg.get("state", "")
        joiner = "&" if "?" in redirect_uri else "?"
        if arg.get("decision") != "allow":
            return self._redirect(redirect_uri + joiner + urlencode({
                "error": "access_denied", "error_code": "200",
                "error_description": "Permissions error", "error_reason": "user_denied",
                "state": state}))
        code = "AQ" + secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"redirect_uri": redirect_uri, "network": arg.get("network"),
                                "scope": arg.get("scope", "")}
        return self._redirect(redirect_uri + joiner + urlencode({"code": code, "state": state}))

    def _access_token(self, method: str, arg: dict) -> Reply:
        if arg.get("client_id") != self.app_id or arg.get("client_secret") != self.app_secret:
            return self.graph_error(400, 101, "Error validating client secret.")
        if arg.get("grant_type") == "fb_exchange_token":
            with self.lock:
                short = self.tokens.get(arg.get("fb_exchange_token", ""))
            if short is None or not short["valid"] or short["kind"] != "user" or \
                    (short["expires_at"] or 0) < time.time():
                return self.graph_error(400, 190, "Error validating access token: the token "
                                                  "is invalid or expired.", subcode=463)
            token = self.issue("user", short["subject"])
            with self.lock:
                self.tokens[token]["scope"] = short.get("scope", "")
            return self._ok({"access_token": token, "token_type": "bearer",
                             "expires_in": LONG_LIVED_SECONDS})
        with self.lock:
            code = self.codes.pop(arg.get("code", ""), None)
        if code is None:
            return self.graph_error(400, 100, "This authorization code has been used.",
                                    subcode=36009)
        if code["redirect_uri"] != arg.get("redirect_uri"):
            return self.graph_error(400, 100, "Error validating verification code. Please make "
                                              "sure your redirect_uri is identical to the one "
                                              "you used in the OAuth dialog request",
                                    subcode=36008)
        if code["network"] == "threads":
            if method != "POST":
                return self.graph_error(400, 100, "Unsupported get request.")
            token = self.issue("threads", self.threads_user["id"], seconds=SHORT_LIVED_SECONDS)
            with self.lock:
                self.tokens[token]["scope"] = code["scope"]
            return self._ok({"access_token": token, "user_id": int(self.threads_user["id"])})
        token = self.issue("user", self.user["id"], seconds=SHORT_LIVED_SECONDS)
        with self.lock:
            self.tokens[token]["scope"] = code["scope"]
        return self._ok({"access_token": token, "token_type": "bearer",
                         "expires_in": SHORT_LIVED_SECONDS})

    def _threads_exchange(self, arg: dict) -> Reply:
        if arg.get("grant_type") != "th_exchange_token":
            return self.graph_error(400, 100, "Invalid grant_type.")
        if arg.get("client_secret") != self.app_secret:
            return self.graph_error(400, 101, "Error validating client secret.")
        token, refusal = self._token({}, {"access_token": [arg.get("access_token", "")]}, {})
        if refusal is not None:
            return refusal
        return self._ok({"access_token": self.issue("threads", token["subject"]),
                         "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS})

    def _threads_refresh(self, arg: dict) -> Reply:
        if arg.get("grant_type") != "th_refresh_token":
            return self.graph_error(400, 100, "Invalid grant_type.")
        token, refusal = self._token({}, {"access_token": [arg.get("access_token", "")]}, {})
        if refusal is not None:
            return refusal
        # only a long-lived token at least 24 hours old and not expired can be refreshed
        if token["kind"] != "threads" or token["expires_at"] is None or \
                token["expires_at"] - time.time() < SHORT_LIVED_SECONDS * 2:
            return self.graph_error(400, 190, "The access token could not be refreshed: it is "
                                              "not a long-lived token.", subcode=463)
        return self._ok({"access_token": self.issue("threads", token["subject"]),
                         "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS})

    def _revoke(self, token: dict, node: str) -> Reply:
        user = node if token["kind"] == "app" else token["user"]
        if token["kind"] not in ("app", "user") or user != self.user["id"]:
            return self.graph_error(400, 100, "Permissions can only be revoked with the user's "
                                              "or the app's token.")
        with self.lock:
            for found in self.tokens.values():
                if found["user"] == user and found["kind"] in ("user", "page"):
                    found["valid"] = False
            self._page_tokens.clear()
            self.revoked.append(user)
        return self._ok({"success": True})

    def _accounts(self, token: dict) -> Reply:
        if token["kind"] != "user":
            return self.graph_error(400, 100, "(#100) Tried accessing nonexisting field "
                                              "(accounts)")
        data = []
        for page in self.pages.values():
            entry = {"id": page["id"], "name": page["name"], "category": page["category"],
                     "access_token": self.page_token(page["id"]),
                     "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]}
            if page["ig"]:
                ig = self.ig_users[page["ig"]]
                entry["instagram_business_account"] = {"id": ig["id"],
                                                       "username": ig["username"]}
            data.append(entry)
        return self._ok({"data": data, "paging": {"cursors": {"before": "QVFIUk", "after":
                                                                "QVFIUl"}}})

    def _node(self, token: dict, node: str, arg: dict) -> Reply:
        if node == self.user["id"]:
            return self._ok({"id": self.user["id"], "name": self.user["name"]})
        if node in self.pages or node in self.ig_users:
            answer = {"id": node}
            wanted = _split_fields(arg.get("fields") or "name")
            if "followers_count" in wanted:
                with self.lock:
                    self.metric_calls["followers"] += 1
                answer["followers_count"] = self.followers.get(node, 0)
            if "name" in wanted and node in self.pages:
                answer["name"] = self.pages[node]["name"]
            if "username" in wanted and node in self.ig_users:
                answer["username"] = self.ig_users[node]["username"]
            return self._ok(answer)
        if node == self.threads_user["id"]:
            return self._ok(dict(self.threads_user))
        with self.lock:
            found = self.objects.get(node)
            if found is None:
                return self.graph_error(400, 100, f"Unsupported get request. Object with ID "
                                                  f"'{node}' does not exist.", subcode=33,
                                        kind="GraphMethodException")
            if found["kind"] == "container":
                if found["state"] == "IN_PROGRESS":
                    if found["polls_left"] <= 0:
                        found["state"] = "FINISHED"
                    found["polls_left"] -= 1
                answer = {"id": node}
                if found["network"] == "instagram":
                    answer["status_code"] = found["state"]
                    answer["status"] = found.get("reason") or {
                        "FINISHED": "Finished: Media has been uploaded and it is ready to be "
                                    "published.", "IN_PROGRESS": "In Progress"}.get(
                        found["state"], found["state"])
                else:
                    answer["status"] = found["state"]
                    if found.get("reason"):
                        answer["error_message"] = found["reason"]
                return self._ok(answer)
            return self._ok(self._public(found))

    def _public(self, found: dict) -> dict:
        answer = {"id": found["id"]}
        if found["kind"] == "post":
            answer.update(message=found.get("message", ""),
                          created_time=_graph_time(found["created_at"]),
                          permalink_url=f"https://www.facebook.com/{found['id']}")
        elif found["kind"] == "ig_media":
            answer.update(caption=found.get("caption", ""), media_type=found["media_type"],
                          timestamp=_graph_time(found["created_at"]),
                          permalink=f"https://www.instagram.com/p/{found['shortcode']}/")
        elif found["kind"] == "thread":
            answer.update(text=found.get("text", ""), media_type=found["media_type"],
                          timestamp=_graph_time(found["created_at"]),
                          permalink=f"https://www.threads.net/@{self.threads_user['username']}"
                                    f"/post/{found['shortcode']}")
        return answer

    def _comment(self, token: dict, node: str, form: dict) -> Reply:
        with self.lock:
            target = self.objects.get(node) or self._comment_index.get(node)
        if target is None:
            return self.graph_error(400, 100, f"Object with ID '{node}' does not exist.",
                                    subcode=33, kind="GraphMethodException")
        if not form.get("message"):
            return self.graph_error(400, 100, "(#100) The parameter message is required")
        author = self._author(token, target)
        comment = self._new_comment(node, form["message"], author=author)
        return self._ok({"id": comment["id"]}, fault=self._post_fault())

    def _store(self, **values) -> dict:
        with self.lock:
            values.setdefault("id", self._id())
            values.setdefault("created_at", datetime.now(UTC))
            values.setdefault("shortcode", secrets.token_urlsafe(8))
            self.objects[values["id"]] = values
            return values

    # -- conversations: comments, replies, hiding ---------------------------------------------

    def _author(self, token: dict, target: dict) -> dict:
        """Who a comment made with ``token`` is from: the Page, or the Page's Instagram
        account under Instagram media."""
        page = token.get("subject") if token["kind"] == "page" else None
        network = target.get("network") or ("instagram" if target.get("kind") == "ig_media"
                                             else "facebook")
        if network == "instagram":
            ig = (self.pages.get(page) or {}).get("ig") or next(iter(self.ig_users))
            return {"id": ig, "username": self.ig_users[ig]["username"]}
        page = page or next(iter(self.pages))
        return {"id": page, "name": self.pages[page]["name"]}

    def _conversation(self, method, token, node, edge, arg) -> Reply | None:
        """The comment and reply routes, or None for the other routes."""
        with self.lock:
            comment = self._comment_index.get(node)
            found = self.objects.get(node)
        kind = found["kind"] if found else ""
        if comment is not None or kind in ("post", "ig_media"):
            if token["kind"] not in ("page", "user"):
                return self.graph_error(400, 10, "(#10) Application does not have permission "
                                                 "for this action")
        if comment is not None and not edge and method == "POST":
            return self._hide_comment(comment, arg)
        if method == "GET" and edge == "comments" and (comment is not None or
                                                      kind in ("post", "ig_media")):
            return self._list_comments(node, comment, arg)
        if comment is not None and edge == "replies" and comment["network"] == "instagram":
            if method == "GET":
                return self._list_comments(node, comment, arg)
            if method == "POST":
                if comment["hidden"]:
                    return self.graph_error(400, 100, "(#100) You cannot reply to a hidden "
                                                      "comment.")
                if not arg.get("message"):
                    return self.graph_error(400, 100, "(#100) The parameter message is "
                                                      "required")
                made = self._new_comment(node, arg["message"], author=self._author(token,
                                                                                   comment))
                return self._ok({"id": made["id"]}, fault=self._post_fault())
        if kind == "thread" and edge in ("conversation", "replies", "manage_reply"):
            if token["kind"] != "threads":
                return self.graph_error(400, 10, "(#10) Application does not have permission "
                                                 "for this action")
            if edge == "manage_reply" and method == "POST":
                return self._manage_reply(found, arg)
            if method == "GET":
                return self._thread_replies(node, edge, arg)
        return None

    def _hide_comment(self, comment: dict, arg: dict) -> Reply:
        field = "hide" if comment["network"] == "instagram" else "is_hidden"
        value = (arg.get(field) or "").lower()
        if value not in ("true", "false"):
            return self.graph_error(400, 100, f"(#100) The parameter {field} is required")
        with self.lock:
            comment["hidden"] = value == "true"
        return self._ok({"success": True})

    def _comment_json(self, comment: dict, fields: str) -> dict:
        author = comment["from"]
        full = {"id": comment["id"], "created_time": _graph_time(comment["created_at"]),
                "timestamp": _graph_time(comment["created_at"])}
        if comment["network"] == "facebook":
            full.update(message=comment["message"], is_hidden=comment["hidden"],
                        permalink_url=f"https://www.facebook.com/{comment['id']}",
                        **{"from": {"id": author["id"], "name": author["name"]}})
            if comment["parent"]:
                full["parent"] = {"id": comment["parent"]}
            if comment["attachment"]:
                full["attachment"] = {"type": "photo", "media": {"image": {
                    "src": "https://scontent.example/photo.jpg"}}}
        else:
            full.update(text=comment["message"], hidden=comment["hidden"],
                        username=author["username"], media={"id": comment["root"]},
                        **{"from": {"id": author["id"], "username": author["username"]}})
            if comment["parent"]:
                full["parent_id"] = comment["parent"]
        answer = {"id": comment["id"]}
        for spec in _split_fields(fields or "id"):
            name = spec.split("{", 1)[0].split(".", 1)[0]
            if name == "replies" and comment["network"] == "instagram":
                inner = spec[len("replies{"):-1] if spec.startswith("replies{") else "id"
                with self.lock:
                    replies = [c for c in self.comments if c["parent"] == comment["id"]]
                answer["replies"] = {"data": [self._comment_json(c, inner) for c in replies]}
            elif name == "created_time" and comment["network"] != "facebook":
                continue
            elif name == "timestamp" and comment["network"] == "facebook":
                continue
            elif name in full:
                answer[name] = full[name]
        return answer

    @staticmethod
    def _paged(entries: list, arg: dict, default: int = 25) -> dict:
        limit = max(1, min(int(arg.get("limit") or default), 100))
        start = int(arg["after"]) if (arg.get("after") or "").isdigit() else 0
        answer = {"data": entries[start:start + limit]}
        if entries:
            answer["paging"] = {"cursors": {"before": str(start),
                                            "after": str(start + limit)}}
            if start + limit < len(entries):
                answer["paging"]["next"] = "https://graph.example/next"
        return answer

    def _list_comments(self, node: str, comment: dict | None, arg: dict) -> Reply:
        with self.lock:
            if comment is not None:  # replies to a comment (every reply under it)
                found = [c for c in self.comments if c["parent"] == node]
            else:
                stream = arg.get("filter") == "stream"
                found = [c for c in self.comments if c["root"] == node
                         and (stream or not c["parent"])]
        network = found[0]["network"] if found else ""
        newest_first = arg.get("order") == "reverse_chronological" or (
            network == "instagram" and comment is None)
        found.sort(key=lambda c: (c["created_at"], c["id"]), reverse=newest_first)
        page = self._paged(found, arg)
        page["data"] = [self._comment_json(c, arg.get("fields") or "") for c in page["data"]]
        return self._ok(page)

    def _root(self, thread: dict) -> str:
        seen = thread
        while seen.get("reply_to_id") and seen["reply_to_id"] in self.objects:
            seen = self.objects[seen["reply_to_id"]]
        return seen["id"]

    def _thread_json(self, thread: dict, fields: str) -> dict:
        mine = thread["owner"] == self.threads_user["id"]
        username = self.threads_user["username"] if mine else thread.get("username", "")
        full = {"id": thread["id"], "text": thread.get("text", ""), "username": username,
                "timestamp": _graph_time(thread["created_at"]),
                "media_type": "TEXT_POST" if thread["media_type"] == "TEXT" else
                thread["media_type"],
                "permalink": f"https://www.threads.net/@{username}/post/{thread['shortcode']}",
                "is_reply": bool(thread.get("reply_to_id")),
                "is_reply_owned_by_me": mine,
                "hide_status": thread.get("hide_status") or "NOT_HUSHED"}
        if thread.get("reply_to_id"):
            full["replied_to"] = {"id": thread["reply_to_id"]}
            full["root_post"] = {"id": self._root(thread)}
        answer = {"id": thread["id"]}
        for name in _split_fields(fields or "id"):
            if name in full:
                answer[name] = full[name]
        return answer

    def _thread_replies(self, node: str, edge: str, arg: dict) -> Reply:
        with self.lock:
            replies = [o for o in self.objects.values()
                       if o["kind"] == "thread" and o.get("reply_to_id")
                       and (o["reply_to_id"] == node if edge == "replies"
                            else self._root(o) == node)]
            if (arg.get("reverse") or "true").lower() != "false":
                replies.sort(key=lambda o: (o["created_at"], o["id"]), reverse=True)
            else:
                replies.sort(key=lambda o: (o["created_at"], o["id"]))
            page = self._paged(replies, arg)
            page["data"] = [self._thread_json(o, arg.get("fields") or "") for o in page["data"]]
        return self._ok(page)

    def _manage_reply(self, reply: dict, arg: dict) -> Reply:
        value = (arg.get("hide") or "").lower()
        if value not in ("true", "false"):
            return self.graph_error(400, 100, "(#100) The parameter hide is required")
        with self.lock:
            parent = self.objects.get(reply.get("reply_to_id") or "")
            if parent is None or parent.get("reply_to_id"):
                return self.graph_error(400, 100, "(#100) Only top-level replies can be hidden "
                                                  "or unhidden.")
            reply["hide_status"] = "HIDDEN" if value == "true" else "UNHUSHED"
        return self._ok({"success": True})

    # -- Pages ------------------------------------------------------------------------------------

    def _page(self, method, token, page, edge, form, files, arg) -> Reply:
        if method == "GET" and edge in ("posts", "feed", "published_posts"):
            return self._list("post", page, arg, since_field=True)
        if method != "POST":
            return self.graph_error(400, 100, "Unsupported request.")
        if token["kind"] != "page" or token["subject"] != page:
            return self.graph_error(403, 200, "(#200) If posting to a page, requires both "
                                              "pages_read_engagement and pages_manage_posts as "
                                              "an admin with sufficient administrative "
                                              "permission", kind="OAuthException")
        if edge == "feed":
            message, link = form.get("message", ""), form.get("link", "")
            attached = self._attached(form)
            if isinstance(attached, Reply):
                return attached
            if not message and not link and not attached:
                return self.graph_error(400, 100, "(#100) Missing message or attachment")
            post_id = f"{page}_{self._id()}"
            self._store(id=post_id, kind="post", owner=page, message=message, link=link,
                        photos=attached)
            with self.lock:
                self.posts_per_text[message] += 1
            return self._ok({"id": post_id}, fault=self._post_fault())
        if edge == "photos":
            source = files.get("source")
            if source is None and not form.get("url"):
                return self.graph_error(400, 324, "(#324) Requires upload file")
            published = form.get("published", "true") != "false"
            photo = self._store(kind="photo", owner=page, alt=form.get("alt_text_custom", ""),
                                size=len(source["data"]) if source else 0,
                                mime_type=source["mime_type"] if source else "",
                                published=False)
            if not published:
                return self._ok({"id": photo["id"]})
            message = form.get("message") or form.get("caption") or ""
            post_id = f"{page}_{self._id()}"
            self._store(id=post_id, kind="post", owner=page, message=message,
                        photos=[photo["id"]])
            with self.lock:
                self.posts_per_text[message] += 1
            return self._ok({"id": photo["id"], "post_id": post_id}, fault=self._post_fault())
        if edge == "videos":
            source = files.get("source")
            if source is None and not form.get("file_url"):
                return self.graph_error(400, 390, "There was a problem uploading your video "
                                                  "file. Please try again.", subcode=1363030)
            video = self._store(kind="video", owner=page, description=form.get("description",
                                                                               ""),
                                size=len(source["data"]) if source else 0, published=False)
            message = form.get("description", "")
            self._store(id=f"{page}_{video['id']}", kind="post", owner=page, message=message,
                        video=video["id"])
            with self.lock:
                self.posts_per_text[message] += 1
            return self._ok({"id": video["id"]}, fault=self._post_fault())
        return self.graph_error(400, 100, "Unsupported post request.")

    def _attached(self, form: dict):
        items = []
        if form.get("attached_media"):
            try:
                items = json.loads(form["attached_media"])
            except ValueError:
                return self.graph_error(400, 100, "(#100) param attached_media must be an array.")
        index = 0
        while f"attached_media[{index}]" in form:
            items.append(json.loads(form[f"attached_media[{index}]"]))
            index += 1
        ids = []
        for item in items:
            fbid = str((item or {}).get("media_fbid", ""))
            with self.lock:
                photo = self.objects.get(fbid)
            if photo is None or photo["kind"] != "photo":
                return self.graph_error(400, 100, f"(#100) param attached_media[{len(ids)}] has "
                                                  f"invalid media_fbid {fbid}")
            ids.append(fbid)
        return ids

    def _list(self, kind: str, owner: str, arg: dict, *, since_field: bool) -> Reply:
        with self.lock:
            items = [o for o in self.objects.values()
                     if o["kind"] == kind and o["owner"] == owner and o.get("published", True)
                     and not o.get("reply_to_id")]
        items.sort(key=lambda o: (o["created_at"], o["id"]), reverse=True)  # newest first
        if since_field and arg.get("since"):
            since = datetime.fromtimestamp(int(arg["since"]), UTC)
            items = [o for o in items if o["created_at"] >= since]
        limit = min(int(arg.get("limit") or 25), 100)
        start = int(arg.get("after") or 0) if (arg.get("after") or "").isdigit() else 0
        page = items[start:start + limit]
        answer = {"data": [self._public(o) for o in page]}
        if start + limit < len(items):
            answer["paging"] = {"cursors": {"before": str(start), "after": str(start + limit)},
                                "next": "https://graph.example/next"}
        return self._ok(answer)

    # -- Instagram and Threads containers ---------------------------------------------------------

    def _fetch(self, url: str) -> tuple[int, bytes, str]:
        """GET ``url`` as Meta's crawler would (``*.localhost`` names reach 127.0.0.1, as
        browsers have it)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        connect = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
        factory = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn = factory(connect, parts.port, timeout=self.fetch_timeout)
            conn.request("GET", target, headers={"Host": parts.netloc,
                                                 "User-Agent": "facebookexternalhit/1.1"})
            response = conn.getresponse()
            data = response.read()
            kind = response.getheader("Content-Type", "")
            conn.close()
        except TimeoutError as exc:
            with self.lock:
                self.fetched.append({"url": url, "status": -1, "size": 0, "content_type": "",
                                     "error": str(exc)})
            return -1, b"", ""
        except OSError as exc:
            data, kind, status = b"", "", 0
            with self.lock:
                self.fetched.append({"url": url, "status": 0, "size": 0, "content_type": "",
                                     "error": str(exc)})
            return status, data, kind
        with self.lock:
            self.fetched.append({"url": url, "status": response.status, "size": len(data),
                                 "content_type": kind, "data": data})
        return response.status, data, kind

    def _container(self, network: str, owner: str, media_type: str, form: dict) -> Reply:
        url = form.get("image_url") or form.get("video_url") or ""
        is_video = bool(form.get("video_url"))
        state, reason, size = "FINISHED", "", 0
        if url:
            status, data, kind = self._fetch(url)
            size = len(data)
            if status == -1:
                return self.graph_error(400, -2, "It takes too long to download the media.",
                                        subcode=2207003, transient=True)
            wanted = "video/" if is_video else "image/"
            if status != 200 or not data or not kind.startswith(wanted):
                if not is_video:
                    return self.graph_error(400, 9004, "Only photo or video can be accepted as "
                                                       "media type.", subcode=2207052)
                state = "ERROR"
                reason = ("Error: Media download has failed. The media URI doesn't meet our "
                          "requirements." if network == "instagram" else
                          "FAILED_DOWNLOADING_VIDEO")
        with self.lock:
            if state == "FINISHED" and self.container_outcome_next:
                state, reason = self.container_outcome_next.pop(0)
        polls = self.video_polls if is_video and state == "FINISHED" else 0
        container = self._store(
            kind="container", network=network, owner=owner, media_type=media_type,
            state="IN_PROGRESS" if polls else state, polls_left=polls, reason=reason,
            caption=form.get("caption", ""), text=form.get("text", ""),
            alt_text=form.get("alt_text", ""), url=url, size=size,
            is_carousel_item=form.get("is_carousel_item") == "true",
            children=[c for c in (form.get("children") or "").split(",") if c],
            reply_to_id=form.get("reply_to_id", ""), published=False)
        return self._ok({"id": container["id"]})

    def _publish_container(self, network: str, owner: str, creation_id: str, quota: dict,
                           kind: str) -> Reply:
        with self.lock:
            container = self.objects.get(creation_id)
            if container is None or container["kind"] != "container" or \
                    container["owner"] != owner:
                return self.graph_error(400, 24, "The requested resource does not exist",
                                        subcode=2207008)
            if container["state"] == "PUBLISHED":
                return self.graph_error(400, 9007, "The media has already been published.",
                                        subcode=2207006)
            if container["state"] != "FINISHED":
                return self.graph_error(400, 9007, "Media ID is not available",
                                        subcode=2207027)
            if quota["used"] >= quota["quota_total"]:
                return self.graph_error(400, 9, "Application request limit reached: you have "
                                                "reached the maximum number of posts allowed in "
                                                "24 hours.", subcode=2207042)
            for child in container["children"]:
                if self.objects.get(child, {}).get("state") != "FINISHED":
                    return self.graph_error(400, 9007, "Media ID is not available",
                                            subcode=2207027)
            container["state"] = "PUBLISHED"
            quota["used"] += 1
            text = container["caption"] if network == "instagram" else container["text"]
            media_type = container["media_type"]
            item = self._store(kind=kind, owner=owner, media_type=media_type,
                               caption=container["caption"], text=container["text"],
                               alt_texts=[self.objects[c]["alt_text"] for c in
                                          container["children"]] or [container["alt_text"]],
                               children=[self.objects[c]["media_type"] for c in
                                         container["children"]],
                               reply_to_id=container["reply_to_id"], container=creation_id)
            if not container["reply_to_id"]:
                self.posts_per_text[text] += 1
        return self._ok({"id": item["id"]}, fault=self._post_fault())

    def _quota(self, quota: dict, threads: bool) -> Reply:
        entry = {"quota_usage": quota["used"],
                 "config": {"quota_total": quota["quota_total"],
                            "quota_duration": quota["quota_duration"]}}
        return self._ok({"data": [entry]})

    def _instagram(self, method, token, ig, edge, form, arg) -> Reply:
        page = self.ig_users[ig]["page"]
        if token["kind"] not in ("page", "user") or \
                (token["kind"] == "page" and token["subject"] != page):
            return self.graph_error(400, 10, "(#10) Application does not have permission for "
                                             "this action")
        if edge == "content_publishing_limit" and method == "GET":
            return self._quota(self.ig_quota, False)
        if edge == "media" and method == "GET":
            return self._list("ig_media", ig, arg, since_field=False)
        if edge == "media" and method == "POST":
            media_type = form.get("media_type") or "IMAGE"
            if media_type == "CAROUSEL":
                children = [c for c in (form.get("children") or "").split(",") if c]
                if not 2 <= len(children) <= 10:
                    return self.graph_error(400, 100, "The carousel must have between 2 and 10 "
                                                      "children.", subcode=2207028)
            elif media_type in ("REELS", "VIDEO"):
                if not form.get("video_url"):
                    return self.graph_error(400, 100, "The parameter video_url is required")
            elif not form.get("image_url"):
                return self.graph_error(400, 100, "The parameter image_url is required")
            if len(form.get("caption", "")) > 2200:
                return self.graph_error(400, 100, "The caption is too long.", subcode=2207010)
            return self._container("instagram", ig, media_type, form)
        if edge == "media_publish" and method == "POST":
            return self._publish_container("instagram", ig, form.get("creation_id", ""),
                                           self.ig_quota, "ig_media")
        return self.graph_error(400, 100, "Unsupported request.")

    def _threads(self, method, token, user, edge, form, arg) -> Reply:
        if token["kind"] != "threads" or token["subject"] != user:
            return self.graph_error(400, 10, "(#10) Application does not have permission for "
                                             "this action")
        if edge == "threads_insights" and method == "GET":
            metrics = [m for m in (arg.get("metric") or "").split(",") if m]
            if not metrics:
                return self.graph_error(400, 100, "The parameter metric is required.")
            data = []
            for name in metrics:
                if name != "followers_count":
                    return self.graph_error(400, 100, "(#100) metric[0] must be one of the "
                                                      "following values: views, likes, replies, "
                                                      "reposts, quotes, clicks, "
                                                      "followers_count")
                with self.lock:
                    self.metric_calls["followers"] += 1
                data.append({"name": name, "period": "day", "title": "followers_count",
                             "description": "The number of followers on your profile.",
                             "total_value": {"value": self.followers.get(user, 0)},
                             "id": f"{user}/insights/{name}/day"})
            return self._ok({"data": data})
        if edge == "threads_publishing_limit" and method == "GET":
            return self._quota(self.threads_quota, True)
        if edge == "threads" and method == "GET":
            return self._list("thread", user, arg, since_field=True)
        if edge == "threads" and method == "POST":
            media_type = form.get("media_type") or "TEXT"
            if len(form.get("text", "")) > 500:
                return self.graph_error(400, 100, "Param text must be at most 500 characters "
                                                  "long.")
            if media_type == "CAROUSEL":
                children = [c for c in (form.get("children") or "").split(",") if c]
                if not 2 <= len(children) <= 20:
                    return self.graph_error(400, 100, "A carousel needs 2 to 20 children.")
            elif media_type == "IMAGE" and not form.get("image_url"):
                return self.graph_error(400, 100, "The parameter image_url is required")
            elif media_type == "VIDEO" and not form.get("video_url"):
                return self.graph_error(400, 100, "The parameter video_url is required")
            elif media_type == "TEXT" and not form.get("text"):
                return self.graph_error(400, 100, "The parameter text is required")
            if form.get("reply_to_id"):
                with self.lock:
                    target = self.objects.get(form["reply_to_id"])
                if target is None or target["kind"] != "thread":
                    return self.graph_error(400, 100, "The reply_to_id is not a valid thread.")
            return self._container("threads", user, media_type, form)
        if edge == "threads_publish" and method == "POST":
            return self._publish_container("threads", user, form.get("creation_id", ""),
                                           self.threads_quota, "thread")
        return self.graph_error(400, 100, "Unsupported request.")


    # -- insights ---------------------------------------------------------------------------------

    POST_METRICS = ("post_media_view", "post_total_media_view_unique", "post_clicks")
    IG_METRICS = ("views", "reach", "saved", "shares", "likes", "comments", "total_interactions")
    THREADS_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")

    def _many(self, arg: dict) -> Reply:
        """``GET /?ids=a,b&fields=...``: an object per id, keyed by id."""
        ids = [i for i in arg["ids"].split(",") if i]
        if len(ids) > 50:
            return self.graph_error(400, 100, "(#100) Too many IDs. Maximum: 50. Please adjust "
                                              "and resubmit.")
        with self.lock:
            self.metric_calls["ids"] += 1
            missing = [i for i in ids if i not in self.objects]
            found = {i: dict(self.objects[i]) for i in ids if i in self.objects}
        if missing:
            return self.graph_error(404, 803, "(#803) Some of the aliases you requested do not "
                                              f"exist: {','.join(missing)}",
                                    kind="OAuthException")
        answer = {}
        for object_id, item in found.items():
            shown = self._with_fields(item, arg.get("fields") or "")
            if isinstance(shown, Reply):
                return shown
            answer[object_id] = shown
        return self._ok(answer)

    def _with_fields(self, item: dict, fields: str):
        answer = {"id": item["id"]}
        stats = item.get("stats") or {}
        for spec in _split_fields(fields):
            name = spec.split(".", 1)[0].split("{", 1)[0]
            if name == "id":
                continue
            if item["kind"] == "post" and name == "shares":
                if stats.get("shares"):
                    answer["shares"] = {"count": stats["shares"]}
            elif item["kind"] == "post" and name in ("reactions", "likes", "comments"):
                total = stats.get("reactions" if name != "comments" else "comments", 0)
                summary = {"total_count": total}
                summary.update({"viewer_reaction": "NONE"} if name != "comments" else
                               {"order": "ranked", "can_comment": True})
                answer[name] = {"data": [], "summary": summary}
            elif item["kind"] == "ig_media" and name in ("like_count", "comments_count"):
                answer[name] = stats.get("likes" if name == "like_count" else "comments", 0)
            elif name == "insights" and item["kind"] in ("post", "ig_media"):
                metrics = _modifier(spec, "metric")
                known = self.POST_METRICS if item["kind"] == "post" else self.IG_METRICS
                for metric in metrics:
                    if item["kind"] == "ig_media" and metric == "impressions":
                        return self.graph_error(400, 100, "(#100) Starting from version v22.0 "
                                                          "and above, the impressions metric is "
                                                          "no longer supported for media "
                                                          "created after July 2, 2024.")
                    if metric not in known:
                        return self.graph_error(400, 100, f"(#100) The value must be a valid "
                                                          f"insights metric: {metric}")
                answer["insights"] = {"data": [self._metric(item["id"], m, stats.get(m, 0))
                                               for m in metrics]}
            else:
                answer.update({k: v for k, v in self._public(item).items() if k == name})
        return answer

    @staticmethod
    def _metric(object_id: str, name: str, value: int) -> dict:
        return {"name": name, "period": "lifetime", "values": [{"value": value}],
                "title": name.replace("_", " ").capitalize(), "description": name,
                "id": f"{object_id}/insights/{name}/lifetime"}

    def _thread_insights(self, node: str, arg: dict) -> Reply:
        with self.lock:
            self.metric_calls["threads_insights"] += 1
            item = dict(self.objects[node])
        if item["kind"] != "thread":
            return self.graph_error(400, 100, "(#100) Tried accessing nonexisting field "
                                              "(insights)")
        metrics = [m for m in (arg.get("metric") or "").split(",") if m]
        if not metrics:
            return self.graph_error(400, 100, "The parameter metric is required.")
        for metric in metrics:
            if metric not in self.THREADS_METRICS:
                return self.graph_error(400, 100, f"(#100) metric[0] must be one of the "
                                                  f"following values: "
                                                  f"{', '.join(self.THREADS_METRICS)}")
        stats = item.get("stats") or {}
        return self._ok({"data": [self._metric(node, m, stats.get(m, 0)) for m in metrics]})


def _split_fields(fields: str) -> list[str]:
    """``a,b.metric(x,y),c{d,e}`` → its top-level fields, modifiers kept."""
    parts, depth, current = [], 0, ""
    for char in fields:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _modifier(spec: str, name: str) -> list[str]:
    """The arguments of ``.name(...)`` in a field, e.g. ``insights.metric(a,b)`` → [a, b]."""
    marker = f".{name}("
    if marker not in spec:
        return []
    inside = spec.split(marker, 1)[1].split(")", 1)[0]
    return [part.strip() for part in inside.split(",") if part.strip()]


# The demo's sandbox: one Meta for Facebook, Instagram (through Facebook Login) and Threads.
register_fake("meta", lambda: FakeMeta(app_id="meta-demo-app",
                                       app_secret="meta-demo-secret"),  # noqa: S106 - the fake's
              port=9103, base_urls=("facebook_graph", "facebook_www", "threads_graph",
                                    "threads_www"),
              oauth=dict.fromkeys(("facebook", "instagram", "threads"),
                                  ("meta-demo-app", "meta-demo-secret")))
