"""A local LinkedIn that answers as LinkedIn's references say: the OAuth 2 consent screen and
token endpoint (www.linkedin.com), and the versioned REST API (api.linkedin.com) that
organization pages publish through. One server plays both hosts: point
``NETWORK_BASE_URLS["linkedin_www"]`` and ``["linkedin_api"]`` at ``fake.url``.

    fake = FakeLinkedIn(client_id="app", client_secret="s3cret",
                        organizations={"2414183": "Acme Coffee"}).start()
    token = fake.issue_token()        # a member's token without the consent screen
    ...
    fake.posts                        # the posts made, oldest first
    fake.expire(token)                # 401 EXPIRED_ACCESS_TOKEN from now on
    fake.fail_next(1, status=429)     # the shared fault knobs (agency.demo.fakes)

What it checks, as LinkedIn does (Microsoft Learn, LinkedIn Marketing API): every ``/rest/``
request needs ``Authorization: Bearer`` (401 ``{status, serviceErrorCode, code, message}``:
65600 invalid, 65601 revoked, 65602 expired) and a ``LinkedIn-Version`` header (none: 400
VERSION_MISSING; one not active, i.e. not among the last twelve months: 426
NONEXISTENT_VERSION). Posts: an author the member administers (403 otherwise), commentary up to
3,000 characters, ``lifecycleState`` PUBLISHED, ``visibility`` and ``distribution`` present,
media that were uploaded (an image) or are AVAILABLE (a video), multiImage of 2 to 20. 201 with
the URN in ``x-restli-id``. Videos go WAITING_UPLOAD → (parts uploaded, finalized with their
ETags) PROCESSING for ``video_processing_polls`` reads → AVAILABLE. A 429 carries no reset
header (LinkedIn sends none). ``headers_seen`` keeps each request's LinkedIn-Version and
X-Restli-Protocol-Version.

Results: ``GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&
organizationalEntity={org urn}&shares=List({share urn},...)`` (``ugcPosts=List(...)`` for
ugcPost URNs) answers an element per post of that organization with its
``totalShareStatistics`` (impressionCount, uniqueImpressionsCount, clickCount, likeCount,
commentCount, shareCount, engagement); a post it does not have has no element. At most
``max_stats_posts`` posts per call (400 above). ``GET /rest/networkSizes/{org urn}?edgeType=
COMPANY_FOLLOWED_BY_MEMBER`` answers ``firstDegreeSize``. ``set_stats(urn, ...)`` and
``followers`` set the figures; ``stats_calls`` counts the reads.

The consent page (``GET /oauth/v2/authorization``) is plain HTML with "Allow" and "Cancel";
they redirect to the ``redirect_uri`` with ``code`` and ``state``, or with
``error=user_cancelled_authorize`` (``deny_error``), as LinkedIn does.
"""

from __future__ import annotations

import html
import json
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, unquote

from agency.demo.fakes import Reply, _FakeNetwork, _Handler, redirect_to, register_fake

__all__ = ["FakeLinkedIn"]

PART_SIZE = 4 * 1024 * 1024  # LinkedIn's video parts (4 MB), smaller here when asked
HASHTAG = "{hashtag|\\#|"


class _Handler2(_Handler):
    """The shared handler, with PUT (LinkedIn's uploads) too."""

    def do_PUT(self):  # noqa: N802
        self.server.fake._serve(self, "PUT")


def _version_active(version: str) -> bool:
    """LinkedIn serves a version (YYYYMM, or YYYYMM.RR) for twelve months from its month."""
    head = version.split(".", 1)[0]
    if len(head) != 6 or not head.isdigit():
        return False
    now = datetime.now(UTC)
    months = (now.year * 12 + now.month) - (int(head[:4]) * 12 + int(head[4:]))
    return 0 <= months < 12


class FakeLinkedIn(_FakeNetwork):
    name = "linkedin"
    max_commentary = 3000
    max_images = 20

    def __init__(self, *, client_id: str = "linkedin-app",
                 client_secret: str = "linkedin-secret",  # noqa: S107
                 organizations: dict[str, str] | None = None,
                 member: str = "urn:li:person:acmeAdmin1",
                 token_lifetime: int = 5184000, refresh_lifetime: int = 31536000,
                 issue_refresh_tokens: bool = True, part_size: int = PART_SIZE,
                 deny_error: str = "user_cancelled_authorize", **kwargs):
        super().__init__(**kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        self.organizations = dict(organizations or {"2414183": "Acme Coffee"})
        self.member = member
        self.token_lifetime, self.refresh_lifetime = token_lifetime, refresh_lifetime
        self.issue_refresh_tokens = issue_refresh_tokens
        self.part_size = part_size
        self.deny_error = deny_error
        self.video_processing_polls = 0
        self.headers_seen: list[dict] = []
        self.posts_per_text: Counter = Counter()
        self.comments: list[dict] = []
        self.images: dict[str, dict] = {}
        self.videos: dict[str, dict] = {}
        self.revoked: list[str] = []
        self._posts: list[dict] = []
        self.stats: dict[str, dict] = {}  # post URN -> totalShareStatistics figures
        self.followers: dict[str, int] = dict.fromkeys(self.organizations, 4200)
        self.stats_calls: Counter = Counter()
        self.max_stats_posts = 100
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}  # access token -> {expires, state, scope}
        self._refresh: dict[str, float] = {}  # refresh token -> expiry (epoch seconds)
        self._next = int(time.time() * 1000) << 8

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, port: int = 0):
        super().start(port)
        # the shared server, answering PUT too (each request reads the handler class anew)
        self._httpd.RequestHandlerClass = _Handler2
        return self

    # -- for tests ----------------------------------------------------------------------------

    @property
    def posts(self) -> list[dict]:
        with self.lock:
            return [dict(p) for p in self._posts]

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {text: n for text, n in self.posts_per_text.items() if n > 1}

    def issue_token(self, *, lifetime: int | None = None, scope: str | None = None) -> str:
        """A member access token, as the consent flow would give (no refresh token)."""
        token = "AQ" + secrets.token_urlsafe(30)
        with self.lock:
            self._tokens[token] = {"expires": time.time() + (lifetime or self.token_lifetime),
                                   "state": "valid",
                                   "scope": scope or "r_organization_social,"
                                                     "rw_organization_admin,w_organization_social"}
        return token

    def expire(self, token: str) -> None:
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "expired"

    def revoke_token(self, token: str) -> None:
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "revoked"

    def add_post(self, commentary: str, *, organization: str | None = None,
                 created_at: datetime | None = None, ugc: bool = False) -> dict:
        """A post made elsewhere (e.g. by hand on LinkedIn), ``commentary`` in little text;
        ``ugc``: with a ``urn:li:ugcPost:`` URN (as LinkedIn gives posts with some media)."""
        organization = organization or next(iter(self.organizations))
        with self.lock:
            post = self._store_post({"author": f"urn:li:organization:{organization}",
                                     "commentary": commentary, "lifecycleState": "PUBLISHED",
                                     "visibility": "PUBLIC"}, created_at=created_at)
            if ugc:
                post["id"] = post["id"].replace("urn:li:share:", "urn:li:ugcPost:")
            return post

    def shown_text(self, post: dict) -> str:
        """What people read of a post's commentary (little text rendered)."""
        text = post.get("commentary") or ""
        out, i = [], 0
        while i < len(text):
            if text.startswith(HASHTAG, i) and "}" in text[i:]:
                end = text.index("}", i)
                out.append("#" + text[i + len(HASHTAG):end])
                i = end + 1
            elif text[i] == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 2
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    # -- errors -------------------------------------------------------------------------------

    def _error(self, status: int, message: str, code: str = "", service: int | None = None,
               headers: dict | None = None) -> Reply:
        body = {"status": status, "message": message}
        if service is not None:
            body["serviceErrorCode"] = service
        if code:
            body["code"] = code
        return Reply(status, body, headers)

    def _failure_reply(self, failure) -> Reply:
        known = {
            400: ("BAD_REQUEST", 100, "Bad request"),
            401: ("EXPIRED_ACCESS_TOKEN", 65602, "The token used in the request has expired"),
            403: ("ACCESS_DENIED", 100, "Not enough permissions to access: partnerApiPostsExternal"
                                        ".CREATE.20261101"),
            429: ("TOO_MANY_REQUESTS", 101, "Resource level throttle APPLICATION DAY limit for "
                                            "calls to this resource is reached."),
            500: ("INTERNAL_SERVER_ERROR", None, "Internal Server Error"),
            502: ("BAD_GATEWAY", None, "Bad Gateway"),
            503: ("SERVICE_UNAVAILABLE", None, "Service Unavailable"),
            504: ("GATEWAY_TIMEOUT", None, "Gateway Timeout"),
        }
        code, service, message = known.get(failure.status, ("", None, "Error"))
        headers = {"retry-after": f"{failure.retry_after:g}"} \
            if failure.retry_after is not None else None
        return self._error(failure.status, message if failure.message is None
                           else failure.message, code, service, headers)

    def _oauth_error(self, status: int, error: str, description: str) -> Reply:
        return Reply(status, {"error": error, "error_description": description})

    # -- routes -------------------------------------------------------------------------------

    def _route(self, method, path, query, headers, body) -> Reply:
        arg = {k: v[0] for k, v in query.items()}
        if path == "/oauth/v2/authorization" and method == "GET":
            return self._consent(arg)
        if path == "/oauth/v2/authorization/decide" and method == "POST":
            return self._decide({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path == "/oauth/v2/accessToken" and method == "POST":
            return self._access_token({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path == "/oauth/v2/revoke" and method == "POST":
            return self._revoke({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if path.startswith("/dms-uploads/"):
            refused = self._authorise(headers)
            return refused or self._upload(method, path, body)
        if not path.startswith("/rest/"):
            return self._error(404, "Not Found", "NOT_FOUND")
        refused = self._authorise(headers)
        if refused:
            return refused
        version = headers.get("LinkedIn-Version")
        with self.lock:
            self.headers_seen.append({"path": path, "LinkedIn-Version": version,
                                      "X-Restli-Protocol-Version":
                                          headers.get("X-Restli-Protocol-Version")})
        if not version:
            return self._error(400, "A version must be present. Please specify a version by "
                                    "adding the LinkedIn-Version header.", "VERSION_MISSING")
        if not _version_active(version):
            return self._error(426, f"Requested version {version} is not active",
                               "NONEXISTENT_VERSION")
        data = {}
        if body and method == "POST":
            try:
                data = json.loads(body)
            except ValueError:
                return self._error(400, "Unable to parse the request body as JSON", "BAD_REQUEST")
        action = arg.get("action")
        if path == "/rest/organizationAcls" and method == "GET":
            return self._acls(arg)
        if path.startswith("/rest/organizations/") and method == "GET":
            return self._organization(unquote(path.rsplit("/", 1)[1]))
        if path == "/rest/images" and method == "POST" and action == "initializeUpload":
            return self._init_image(data)
        if path == "/rest/videos" and method == "POST" and action == "initializeUpload":
            return self._init_video(data)
        if path == "/rest/videos" and method == "POST" and action == "finalizeUpload":
            return self._finalize_video(data)
        if path.startswith("/rest/videos/") and method == "GET":
            return self._video(unquote(path[len("/rest/videos/"):]))
        if path == "/rest/organizationalEntityShareStatistics" and method == "GET":
            return self._share_statistics(query)
        if path.startswith("/rest/networkSizes/") and method == "GET":
            return self._network_size(unquote(path[len("/rest/networkSizes/"):]), arg)
        if path == "/rest/posts" and method == "POST":
            return self._create_post(data)
        if path == "/rest/posts" and method == "GET" and arg.get("q") == "author":
            return self._list_posts(arg)
        if path.startswith("/rest/socialActions/") and path.endswith("/comments") \
                and method == "POST":
            return self._comment(unquote(path[len("/rest/socialActions/"):-len("/comments")]),
                                 data)
        return self._error(404, f"No resource found for {method} {path}", "NOT_FOUND")

    def _authorise(self, headers) -> Reply | None:
        value = headers.get("Authorization") or ""
        if not value.startswith("Bearer ") or not value[7:].strip():
            return self._error(401, "Empty oauth2_access_token", service=401)
        with self.lock:
            found = self._tokens.get(value[7:].strip())
            if found and found["state"] == "valid" and found["expires"] < time.time():
                found["state"] = "expired"
        if found is None:
            return self._error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        if found["state"] == "revoked":
            return self._error(401, "The token used in the request has been revoked by the user",
                               "REVOKED_ACCESS_TOKEN", 65601)
        if found["state"] == "expired":
            return self._error(401, "The token used in the request has expired",
                               "EXPIRED_ACCESS_TOKEN", 65602)
        return None

    # -- OAuth --------------------------------------------------------------------------------

    def _consent(self, arg: dict) -> Reply:
        if arg.get("client_id") != self.client_id:
            return Reply(400, b"<!doctype html><title>LinkedIn</title><h1>Bummer, something "
                              b"went wrong.</h1><p>The passed in client_id is invalid.</p>",
                         {"Content-Type": "text/html; charset=utf-8"})
        if arg.get("response_type") != "code" or not arg.get("redirect_uri"):
            return redirect_to(arg.get("redirect_uri") or "", {
                "error": "invalid_request",
                "error_description": "The response_type and redirect_uri are required",
                "state": arg.get("state", "")}) if arg.get("redirect_uri") else Reply(
                400, b"<!doctype html><p>redirect_uri is required</p>",
                {"Content-Type": "text/html; charset=utf-8"})
        names = ", ".join(self.organizations.values())
        scope = html.escape(arg.get("scope", ""))
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in arg.items())
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LinkedIn: sign in and allow</title></head>
<body><main>
<h1>Allow this app to use your LinkedIn account?</h1>
<p>Signed in as the administrator of {html.escape(names)}.</p>
<p>It asks for: <code>{scope}</code></p>
<form method="post" action="/oauth/v2/authorization/decide">{hidden}
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
            return redirect_to(redirect_uri, {
                "error": self.deny_error,
                "error_description": "The user cancelled the authorization", "state": state})
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._codes[code] = {"redirect_uri": redirect_uri, "expires": time.time() + 1800,
                                 "scope": ",".join(form.get("scope", "").replace(",", " ")
                                                   .split())}
        return redirect_to(redirect_uri, {"code": code, "state": state})

    def _client_ok(self, form: dict) -> bool:
        return form.get("client_id") == self.client_id \
            and form.get("client_secret") == self.client_secret

    def _token_answer(self, scope: str, refresh: str | None) -> dict:
        access = self.issue_token(scope=scope)
        answer = {"access_token": access, "expires_in": self.token_lifetime, "scope": scope}
        if refresh:
            answer["refresh_token"] = refresh
            answer["refresh_token_expires_in"] = max(0, int(self._refresh[refresh] - time.time()))
        return answer

    def _access_token(self, form: dict) -> Reply:
        grant = form.get("grant_type")
        if not self._client_ok(form):
            return self._oauth_error(401, "invalid_client", "Client authentication failed")
        if grant == "authorization_code":
            with self.lock:
                stored = self._codes.pop(form.get("code", ""), None)
            if stored is None or stored["expires"] < time.time() \
                    or stored["redirect_uri"] != form.get("redirect_uri"):
                return self._oauth_error(
                    400, "invalid_request", "Unable to retrieve access token: appid/redirect uri/"
                    "code verifier does not match authorization code. Or authorization code "
                    "expired. Or external member binding exists")
            refresh = None
            if self.issue_refresh_tokens:
                refresh = "AQX" + secrets.token_urlsafe(30)
                with self.lock:
                    self._refresh[refresh] = time.time() + self.refresh_lifetime
            return Reply(200, self._token_answer(stored["scope"], refresh))
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            with self.lock:
                expiry = self._refresh.get(refresh)
            if expiry is None or expiry < time.time():
                return self._oauth_error(400, "invalid_grant",  # as LinkedIn answers it
                                         "The provided refresh token is invalid or expired")
            return Reply(200, self._token_answer(
                "r_organization_social,rw_organization_admin,w_organization_social", refresh))
        return self._oauth_error(400, "unsupported_grant_type",
                                 f"grant_type {grant!r} is not supported")

    def _revoke(self, form: dict) -> Reply:
        if not self._client_ok(form):
            return self._oauth_error(401, "invalid_client", "Client authentication failed")
        token = form.get("token", "")
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "revoked"
            self._refresh.pop(token, None)
            self.revoked.append(token)
        return Reply(200, b"")

    def set_stats(self, urn: str, **figures: int) -> None:
        """A post's statistics, by LinkedIn's names (``likeCount``, ``impressionCount``...)."""
        with self.lock:
            self.stats.setdefault(urn, {}).update(figures)

    def delete_post(self, urn: str) -> None:
        with self.lock:
            self._posts = [p for p in self._posts if p["id"] != urn]

    # -- results ------------------------------------------------------------------------------

    STAT_NAMES = ("impressionCount", "uniqueImpressionsCount", "clickCount", "likeCount",
                  "commentCount", "shareCount")

    def _share_statistics(self, query: dict) -> Reply:
        arg = {k: v[0] for k, v in query.items()}
        if arg.get("q") != "organizationalEntity":
            return self._error(400, "Invalid query parameters passed to request", "BAD_REQUEST")
        organization = arg.get("organizationalEntity", "")
        if not self._administers(organization):
            return self._error(403, "Not enough permissions to access: "
                                    "organizationalEntityShareStatistics.FINDER-"
                                    "organizationalEntity", "ACCESS_DENIED", 100)
        wanted = []
        for key in ("shares", "ugcPosts"):
            raw = arg.get(key)
            if raw is None:
                continue
            if not (raw.startswith("List(") and raw.endswith(")")):
                return self._error(400, f"Invalid value for param {key}: expected List(...)",
                                   "BAD_REQUEST", 100)
            wanted += [(key, urn) for urn in raw[5:-1].split(",") if urn]
        if len(wanted) > self.max_stats_posts:
            return self._error(400, f"Too many posts requested: at most {self.max_stats_posts}",
                               "BAD_REQUEST", 100)
        with self.lock:
            self.stats_calls["shareStatistics"] += 1
            ours = {p["id"] for p in self._posts if p["author"] == organization}
            stats = {urn: dict(self.stats.get(urn, {})) for _, urn in wanted}
        elements = []
        for key, urn in wanted:
            if urn not in ours:
                continue
            figures = {name: stats[urn].get(name, 0) for name in self.STAT_NAMES}
            impressions = figures["impressionCount"]
            actions = figures["clickCount"] + figures["likeCount"] + \
                figures["commentCount"] + figures["shareCount"]
            figures["engagement"] = actions / impressions if impressions else 0.0
            elements.append({"totalShareStatistics": figures,
                             "share" if key == "shares" else "ugcPost": urn,
                             "organizationalEntity": organization})
        return Reply(200, {"paging": {"count": 10, "start": 0, "links": []},
                           "elements": elements})

    def _network_size(self, urn: str, arg: dict) -> Reply:
        if arg.get("edgeType") != "COMPANY_FOLLOWED_BY_MEMBER":
            return self._error(400, "Invalid value for param edgeType", "BAD_REQUEST", 100)
        if not self._administers(urn):
            return self._error(404, f"Organization {urn} not found", "NOT_FOUND")
        with self.lock:
            self.stats_calls["networkSizes"] += 1
            return Reply(200, {"firstDegreeSize": self.followers.get(urn.rsplit(":", 1)[1], 0)})

    # -- organizations ------------------------------------------------------------------------

    def _acls(self, arg: dict) -> Reply:
        if arg.get("q") != "roleAssignee":
            return self._error(400, "Invalid query parameters passed to request", "BAD_REQUEST")
        role = arg.get("role")
        elements = [{"roleAssignee": self.member, "state": "APPROVED", "role": "ADMINISTRATOR",
                     "organization": f"urn:li:organization:{org}"}
                    for org in self.organizations if role in (None, "ADMINISTRATOR")]
        return Reply(200, {"paging": {"count": 10, "start": 0, "total": len(elements),
                                      "links": []}, "elements": elements})

    def _organization(self, organization_id: str) -> Reply:
        name = self.organizations.get(organization_id)
        if name is None:
            return self._error(404, f"Organization {organization_id} not found", "NOT_FOUND")
        vanity = "".join(c for c in name.lower().replace(" ", "-") if c.isalnum() or c == "-")
        return Reply(200, {"id": int(organization_id) if organization_id.isdigit()
                           else organization_id, "localizedName": name, "vanityName": vanity,
                           "name": {"localized": {"en_US": name},
                                    "preferredLocale": {"country": "US", "language": "en"}}})

    def _administers(self, urn: str) -> bool:
        return urn.startswith("urn:li:organization:") and urn.rsplit(":", 1)[1] \
            in self.organizations

    # -- media --------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        with self.lock:
            self._next += 1
            return f"{prefix}{self._next:x}"

    def _init_image(self, data: dict) -> Reply:
        owner = (data.get("initializeUploadRequest") or {}).get("owner", "")
        if not self._administers(owner):
            return self._error(403, f"Not enough permissions to access: images.CREATE for "
                                    f"{owner}", "ACCESS_DENIED", 100)
        key = self._id("D4E10AQ")
        urn = f"urn:li:image:{key}"
        with self.lock:
            self.images[urn] = {"owner": owner, "data": None, "status": "WAITING_UPLOAD"}
        return Reply(200, {"value": {
            "uploadUrlExpiresAt": int((time.time() + 86400) * 1000),
            "uploadUrl": f"{self.url}/dms-uploads/image/{key}?ca=vector_feedshare",
            "image": urn}})

    def _init_video(self, data: dict) -> Reply:
        request = data.get("initializeUploadRequest") or {}
        owner, size = request.get("owner", ""), request.get("fileSizeBytes")
        if not self._administers(owner):
            return self._error(403, f"Not enough permissions to access: videos.CREATE for "
                                    f"{owner}", "ACCESS_DENIED", 100)
        if not isinstance(size, int) or size <= 0:
            return self._error(400, "fileSizeBytes is required and must be positive",
                               "BAD_REQUEST")
        key = self._id("D5F10AQ")
        urn = f"urn:li:video:{key}"
        parts = []
        for number, first in enumerate(range(0, size, self.part_size)):
            parts.append({"uploadUrl": f"{self.url}/dms-uploads/video/{key}/part/{number}",
                          "firstByte": first, "lastByte": min(size, first + self.part_size) - 1})
        with self.lock:
            self.videos[urn] = {"owner": owner, "size": size, "parts": parts, "etags": {},
                                "status": "WAITING_UPLOAD", "polls_left": 0, "data": {}}
        return Reply(200, {"value": {"uploadUrlsExpireAt": int((time.time() + 86400) * 1000),
                                     "video": urn, "uploadInstructions": parts,
                                     "uploadToken": ""}})

    def _upload(self, method: str, path: str, body: bytes) -> Reply:
        if method != "PUT":
            return self._error(405, "Method Not Allowed")
        pieces = path.split("/")  # /dms-uploads/image/<key> or /dms-uploads/video/<key>/part/<n>
        if len(pieces) >= 4 and pieces[2] == "image":
            urn = f"urn:li:image:{pieces[3]}"
            with self.lock:
                image = self.images.get(urn)
                if image is None:
                    return self._error(404, "Upload not found", "NOT_FOUND")
                image.update(data=body, status="AVAILABLE")
            return Reply(201, b"")
        if len(pieces) == 6 and pieces[2] == "video" and pieces[4] == "part":
            urn, number = f"urn:li:video:{pieces[3]}", int(pieces[5])
            with self.lock:
                video = self.videos.get(urn)
                if video is None or number >= len(video["parts"]):
                    return self._error(404, "Upload not found", "NOT_FOUND")
                part = video["parts"][number]
                if len(body) != part["lastByte"] - part["firstByte"] + 1:
                    return self._error(400, f"Part {number} must be "
                                            f"{part['lastByte'] - part['firstByte'] + 1} bytes",
                                       "BAD_REQUEST")
                etag = f"/ambry-video/signedId/{secrets.token_hex(12)}"
                video["etags"][number] = etag
                video["data"][number] = body
            return Reply(200, b"", {"ETag": etag})
        return self._error(404, "Upload not found", "NOT_FOUND")

    def _finalize_video(self, data: dict) -> Reply:
        request = data.get("finalizeUploadRequest") or {}
        urn = request.get("video", "")
        with self.lock:
            video = self.videos.get(urn)
            if video is None:
                return self._error(404, f"Video {urn} not found", "NOT_FOUND")
            wanted = [video["etags"].get(n) for n in range(len(video["parts"]))]
            if None in wanted or list(request.get("uploadedPartIds") or []) != wanted:
                return self._error(400, "The uploadedPartIds do not match the parts uploaded",
                                   "BAD_REQUEST")
            video["polls_left"] = self.video_processing_polls
            video["status"] = "PROCESSING" if video["polls_left"] > 0 else "AVAILABLE"
        return Reply(200, b"")

    def _video(self, urn: str) -> Reply:
        with self.lock:
            video = self.videos.get(urn)
            if video is None:
                return self._error(404, f"Video {urn} not found", "NOT_FOUND")
            if video["status"] == "PROCESSING":
                video["polls_left"] -= 1
                if video["polls_left"] <= 0:
                    video["status"] = "AVAILABLE"
                    return Reply(200, self._video_json(urn, video, "PROCESSING"))
            return Reply(200, self._video_json(urn, video, video["status"]))

    @staticmethod
    def _video_json(urn: str, video: dict, status: str) -> dict:
        return {"id": urn, "owner": video["owner"], "status": status,
                "duration": 12000 if status == "AVAILABLE" else None,
                "aspectRatioWidth": 16.0, "aspectRatioHeight": 9.0}

    # -- posts --------------------------------------------------------------------------------

    def _media_problem(self, urn: str, alt: str | None) -> str:
        if urn.startswith("urn:li:image:"):
            image = self.images.get(urn)
            if image is None or image["data"] is None:
                return f"/content/media/id :: {urn} is not uploaded"
            if alt is not None and len(alt) > 4086:
                return "/content/media/altText :: length exceeds 4086 characters"
            return ""
        if urn.startswith("urn:li:video:"):
            video = self.videos.get(urn)
            if video is None:
                return f"/content/media/id :: {urn} does not exist"
            if video["status"] != "AVAILABLE":
                return f"/content/media/id :: Video {urn} is not AVAILABLE ({video['status']})"
            return ""
        return f"/content/media/id :: {urn} is not a supported media URN"

    def _create_post(self, data: dict) -> Reply:
        author = data.get("author", "")
        if not self._administers(author):
            return self._error(403, "Not enough permissions to access: partnerApiPostsExternal"
                                    ".CREATE.20261101", "ACCESS_DENIED", 100)
        for required in ("commentary", "visibility", "distribution", "lifecycleState"):
            if required not in data:
                return self._error(422, f"ERROR :: /{required} :: field is required but not "
                                        "found and has no default value",
                                   "UNPROCESSABLE_ENTITY", 100)
        if data["lifecycleState"] != "PUBLISHED":
            return self._error(422, "ERROR :: /lifecycleState :: only PUBLISHED is accepted",
                               "UNPROCESSABLE_ENTITY", 100)
        if len(self.shown_text(data)) > self.max_commentary:
            return self._error(422, f"ERROR :: /commentary :: length of commentary exceeds "
                                    f"{self.max_commentary} characters",
                               "UNPROCESSABLE_ENTITY", 100)
        content = data.get("content") or {}
        with self.lock:
            if "media" in content:
                problem = self._media_problem(content["media"].get("id", ""),
                                              content["media"].get("altText"))
                if problem:
                    return self._error(400, problem, "BAD_REQUEST", 100)
            if "multiImage" in content:
                images = content["multiImage"].get("images") or []
                if not 2 <= len(images) <= self.max_images:
                    return self._error(422, f"ERROR :: /content/multiImage/images :: must have "
                                            f"2 to {self.max_images} images, has {len(images)}",
                                       "UNPROCESSABLE_ENTITY", 100)
                for image in images:
                    problem = self._media_problem(image.get("id", ""), image.get("altText"))
                    if problem:
                        return self._error(400, problem, "BAD_REQUEST", 100)
            if "article" in content and not (content["article"].get("source")
                                             and content["article"].get("title")):
                return self._error(422, "ERROR :: /content/article :: source and title are "
                                        "required", "UNPROCESSABLE_ENTITY", 100)
            post = self._store_post(data)
            return Reply(201, b"", {"x-restli-id": post["id"], "x-linkedin-id": post["id"]},
                         fault=self._post_fault())

    def _store_post(self, data: dict, *, created_at: datetime | None = None) -> dict:
        moment = int((created_at or datetime.now(UTC)).timestamp() * 1000)
        post = {"id": f"urn:li:share:{self._next_share()}",
                "author": data["author"], "commentary": data.get("commentary", ""),
                "visibility": data.get("visibility"), "lifecycleState": data["lifecycleState"],
                "distribution": data.get("distribution"), "content": data.get("content"),
                "createdAt": moment, "publishedAt": moment, "lastModifiedAt": moment,
                "isReshareDisabledByAuthor": data.get("isReshareDisabledByAuthor", False)}
        self._posts.append(post)
        self.posts_per_text[self.shown_text(post)] += 1
        return post

    def _next_share(self) -> int:
        self._next += 1
        return 7000000000000000000 + self._next % 10**15

    def _list_posts(self, arg: dict) -> Reply:
        author = arg.get("author", "")
        if not self._administers(author):
            return self._error(403, "Not enough permissions to access: posts.FINDER-author",
                               "ACCESS_DENIED", 100)
        count = min(int(arg.get("count") or 10), 100)
        start = int(arg.get("start") or 0)
        with self.lock:
            mine = [p for p in self._posts if p["author"] == author]
        key = "lastModifiedAt" if arg.get("sortBy", "LAST_MODIFIED") == "LAST_MODIFIED" \
            else "createdAt"
        mine.sort(key=lambda p: p[key], reverse=True)
        page = mine[start:start + count]
        return Reply(200, {"paging": {"start": start, "count": count, "links": [],
                                      "total": len(mine)}, "elements": page})

    def _comment(self, urn: str, data: dict) -> Reply:
        with self.lock:
            if not any(p["id"] == urn for p in self._posts):
                return self._error(404, f"Post {urn} not found", "NOT_FOUND")
            if not self._administers(data.get("actor", "")):
                return self._error(403, "Not enough permissions to comment as "
                                        f"{data.get('actor')}", "ACCESS_DENIED", 100)
            if data.get("object") != urn:
                return self._error(400, "object must be the post commented on", "BAD_REQUEST")
            comment_id = self._next_share()
            comment = {"object": urn, "actor": data["actor"],
                       "text": (data.get("message") or {}).get("text", ""),
                       "id": str(comment_id),
                       "commentUrn": f"urn:li:comment:({urn},{comment_id})"}
            self.comments.append(comment)
        return Reply(201, {"actor": comment["actor"], "object": urn, "id": comment["id"],
                           "commentUrn": comment["commentUrn"],
                           "message": {"text": comment["text"]}},
                     {"x-restli-id": quote(comment["commentUrn"], safe="")})


register_fake("linkedin", lambda: FakeLinkedIn(client_id="linkedin-demo-app",
                                               client_secret="linkedin-demo-secret"),  # noqa: S106
              port=9104, base_urls=("linkedin_api", "linkedin_www"),
              oauth={"linkedin": ("linkedin-demo-app", "linkedin-demo-secret")})
