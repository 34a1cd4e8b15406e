"""A local YouTube that answers as Google's references say: the OAuth 2 consent screen
(accounts.google.com), the token and revocation endpoints (oauth2.googleapis.com) and the YouTube
Data API v3 with its resumable upload protocol (youtube.googleapis.com). One server plays every
host: point ``NETWORK_BASE_URLS["youtube_accounts"]``, ``["youtube_oauth2"]`` and
``["youtube_api"]`` at ``fake.url``.

    fake = FakeYouTube(client_id="app", client_secret="s3cret").start()
    token = fake.issue_token()          # an access token without the consent screen
    fake.videos                          # the uploads, oldest first
    fake.break_upload(after=300_000)     # the next chunk breaks after that many of its bytes
    fake.fail_next(1, 403, message="quotaExceeded")   # Google's error body with that reason
    fake.expire(token)                   # 401 from now on

What it checks and answers, as Google documents it:

- OAuth ("Using OAuth 2.0 for Web Server Applications"): ``GET /o/oauth2/v2/auth`` (client id,
  redirect URI, ``response_type=code``, PKCE S256 checked at the token endpoint) shows a page
  with "Allow" and "Cancel", which redirect with ``code`` and ``state`` or
  ``error=access_denied``. ``POST /token``: the authorization-code grant answers
  ``{access_token, expires_in: 3599, refresh_token, scope, token_type}`` (a refresh token only
  with ``access_type=offline``); the refresh grant answers without a refresh token; errors
  ``{error, error_description}`` (``invalid_grant``, ``invalid_client``). ``POST /revoke``.
- The Data API: ``Authorization: Bearer`` (401 ``authError``), Google's error body
  ``{error: {code, message, errors: [{message, domain, reason}], status}}``; the daily quota in
  units (``quota_per_day``; ``videos.insert`` 1,600, ``thumbnails.set`` 50, lists 1) answered
  with 403 ``quotaExceeded`` once spent.
- ``channels.list`` (``mine=true``), ``playlistItems.list`` (the uploads playlist, newest first),
  ``videos.list`` (``status``, ``processingDetails``: "processing" for
  ``processing_polls`` reads, then "succeeded"), ``thumbnails.set`` (a simple media upload; 403
  ``forbidden`` when the channel may not set custom thumbnails).
- ``videos.insert`` over the resumable protocol: ``POST /upload/youtube/v3/videos
  ?uploadType=resumable`` with the metadata answers 200 and the session URI in ``Location``;
  each ``PUT`` of a chunk (``Content-Range: bytes first-last/total``; every chunk but the last a
  multiple of 256 KiB) answers ``308 Resume Incomplete`` with ``Range: bytes=0-n`` (the bytes
  it holds), the last one 200 with the video; ``PUT`` with ``Content-Range: bytes */total``
  asks how far it got. A chunk starting anywhere but the next byte is refused.
- Comments (``add_comment``): ``commentThreads.list`` (``allThreadsRelatedToChannelId`` or
  ``videoId``; published threads, latest activity first, with up to ``THREAD_REPLIES`` latest
  replies), ``comments.list parentId=``, ``comments.insert`` (a reply to a top-level comment,
  50 units), ``comments.setModerationStatus`` (only the video's channel; 204, 50 units).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from agency.demo.fakes import Reply, _FakeNetwork, _Handler, redirect_to, register_fake

__all__ = ["FakeYouTube"]

CHUNK_UNIT = 256 * 1024  # every chunk but the last is a multiple of this
COST = {"videos.insert": 1600, "thumbnails.set": 50, "channels.list": 1,
        "playlistItems.list": 1, "videos.list": 1, "commentThreads.list": 1,
        "comments.list": 1, "comments.insert": 50, "comments.setModerationStatus": 50}
THREAD_REPLIES = 5  # commentThreads.list gives a thread's latest replies, not all of them

REASONS = {  # reason -> (status, domain, message)
    "badRequest": (400, "global", "Bad Request"),
    "authError": (401, "global", "Invalid Credentials"),
    "forbidden": (403, "youtube.video", "The request is not properly authorized."),
    "quotaExceeded": (403, "youtube.quota", "The request cannot be completed because you have "
                                            "exceeded your <a href=\"/youtube/v3/getting-started"
                                            "#quota\">quota</a>."),
    "rateLimitExceeded": (403, "usageLimits", "Rate Limit Exceeded"),
    "uploadLimitExceeded": (400, "youtube.video", "The user has exceeded the number of videos "
                                                  "they may upload."),
    "notFound": (404, "global", "Not Found"),
    "backendError": (500, "global", "Backend Error"),
}
BY_STATUS = {400: "badRequest", 401: "authError", 403: "forbidden", 404: "notFound",
             429: "rateLimitExceeded", 500: "backendError", 502: "backendError",
             503: "backendError"}
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                503: "UNAVAILABLE"}


class _Handler3(_Handler):
    """The shared handler, with PUT (the upload's chunks), and a chunk that breaks midway."""

    def do_PUT(self):  # noqa: N802
        fake = self.server.fake
        cut = fake._take_break()
        if cut is None:
            return fake._serve(self, "PUT")
        # Read part of the chunk, keep what arrived (as Google keeps what it received), and
        # close the connection without an answer: the client sees a broken connection.
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(min(cut, length))
        fake._partial(self.path, self.headers, received)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class FakeYouTube(_FakeNetwork):
    name = "youtube"

    def __init__(self, *, client_id: str = "youtube-app",
                 client_secret: str = "youtube-secret",  # noqa: S107
                 channels: dict[str, tuple[str, str]] | None = None,
                 token_lifetime: int = 3599, quota_per_day: int = 10_000,
                 custom_thumbnails: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        # channel id -> (title, handle)
        self.channels = dict(channels or {"UCacmeCoffee0000000000a1": ("Acme Coffee",
                                                                       "@acmecoffee")})
        self.token_lifetime = token_lifetime
        self.quota_per_day = quota_per_day
        self.quota_used = 0
        self.custom_thumbnails = custom_thumbnails
        self.subscribers: dict[str, int] = {}  # channel id -> subscribers (statistics)
        self.processing_polls = 0
        self.posts_per_text: Counter = Counter()
        self.thumbnails: dict[str, bytes] = {}
        self.revoked: list[str] = []
        self.chunks: list[tuple[int, int]] = []  # (first byte, bytes) of each chunk received
        self._videos: list[dict] = []
        self.comments: list[dict] = []  # every comment, oldest first (add_comment, insert)
        self._sessions: dict[str, dict] = {}
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}  # access token -> {expires, state}
        self._refresh: dict[str, str] = {}  # refresh token -> the channel it was given for
        self._breaks: list[list[int]] = []  # [chunks to let pass first, bytes kept]
        self._chunk_failures: list[int] = []
        self._asking = threading.local()  # the channel of the request's token

    def start(self, port: int = 0):
        super().start(port)
        self._httpd.RequestHandlerClass = _Handler3  # PUT too
        return self

    # -- for tests ----------------------------------------------------------------------------

    @property
    def videos(self) -> list[dict]:
        with self.lock:
            return [dict(v) for v in self._videos]

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {text: n for text, n in self.posts_per_text.items() if n > 1}

    def issue_token(self, *, lifetime: int | None = None, channel: str | None = None) -> str:
        """An access token for ``channel`` (the first one by default), as a consent that chose
        that channel would give."""
        token = "ya29." + secrets.token_urlsafe(40)
        with self.lock:
            self._tokens[token] = {"expires": time.time() + (lifetime or self.token_lifetime),
                                   "state": "valid",
                                   "channel": channel or next(iter(self.channels))}
        return token

    def issue_refresh_token(self, *, channel: str | None = None) -> str:
        token = "1//0" + secrets.token_urlsafe(40)
        with self.lock:
            self._refresh[token] = channel or next(iter(self.channels))
        return token

    def expire(self, token: str) -> None:
        with self.lock:
            if token in self._tokens:
                self._tokens[token]["state"] = "expired"

    def revoke_everything(self) -> None:
        """The person removed the app's access in their Google account."""
        with self.lock:
            for token in self._tokens.values():
                token["state"] = "revoked"
            self._refresh.clear()

    def break_upload(self, *, after: int, chunk: int = 1) -> None:
        """The ``chunk``-th chunk from now (1: the next) breaks after ``after`` of its bytes
        arrived: the connection closes without an answer."""
        with self.lock:
            self._breaks.append([chunk - 1, after])

    def fail_chunks(self, count: int = 1, status: int = 503) -> None:
        """The next ``count`` chunks are answered with ``status`` and nothing is kept."""
        with self.lock:
            self._chunk_failures.extend([status] * count)

    def add_video(self, title: str, description: str = "", *,
                  published_at: datetime | None = None, channel: str | None = None) -> dict:
        """A video uploaded elsewhere (by hand on YouTube)."""
        with self.lock:
            return self._store({"snippet": {"title": title, "description": description},
                                "status": {"privacyStatus": "public"}}, b"",
                               channel or next(iter(self.channels)), published_at)

    def add_comment(self, video_id: str, text: str, *, author: str = "@carol",
                    parent: str | None = None, published_at: datetime | None = None) -> dict:
        """Someone's comment under a video, or a reply to the top-level comment ``parent``."""
        with self.lock:
            return dict(self._comment(video_id, text, author=author,
                                      author_channel="UC" + secrets.token_hex(11),
                                      parent=parent, published_at=published_at))

    def comment(self, comment_id: str) -> dict:
        with self.lock:
            return dict(next(c for c in self.comments if c["id"] == comment_id))

    def _comment(self, video_id: str, text: str, *, author: str, author_channel: str,
                 parent: str | None = None, published_at: datetime | None = None) -> dict:
        comment = {"id": "Ug" + secrets.token_urlsafe(12), "video": video_id,
                   "parent": parent or "", "text": text, "author": author,
                   "author_channel": author_channel, "status": "published",
                   "published_at": published_at or datetime.now(UTC)}
        if parent:
            comment["id"] = f"{parent}.{secrets.token_urlsafe(9)}"
        self.comments.append(comment)
        return comment

    def _comment_json(self, comment: dict) -> dict:
        snippet = {"channelId": next((v["channel"] for v in self._videos
                                      if v["id"] == comment["video"]), ""),
                   "videoId": comment["video"], "textDisplay": html.escape(comment["text"]),
                   "textOriginal": comment["text"], "authorDisplayName": comment["author"],
                   "authorChannelId": {"value": comment["author_channel"]},
                   "canRate": True, "viewerRating": "none", "likeCount": 0,
                   "moderationStatus": comment["status"],
                   "publishedAt": _iso(comment["published_at"]),
                   "updatedAt": _iso(comment["published_at"])}
        if comment["parent"]:
            snippet["parentId"] = comment["parent"]
        return {"kind": "youtube#comment", "id": comment["id"], "snippet": snippet}

    def _threads(self, arg: dict) -> Reply:
        """``commentThreads.list`` by ``allThreadsRelatedToChannelId`` or ``videoId``: the
        published threads, latest activity first, 1-100 a page, ``pageToken``."""
        channel, video = arg.get("allThreadsRelatedToChannelId"), arg.get("videoId")
        if bool(channel) == bool(video):
            return self._error(400, "badRequest", "Exactly one of allThreadsRelatedToChannelId "
                                                  "or videoId is required.")
        count = arg.get("maxResults", "20")
        if not count.isdigit() or not 1 <= int(count) <= 100:
            return self._error(400, "badRequest", "maxResults must be between 1 and 100.")
        with self.lock:
            videos = {v["id"] for v in self._videos if v["channel"] == channel} if channel \
                else {video}
            tops = [c for c in self.comments if c["video"] in videos and not c["parent"]
                    and c["status"] == "published"]
            replies = {t["id"]: [c for c in self.comments if c["parent"] == t["id"]
                                 and c["status"] == "published"] for t in tops}

            def latest(top):
                return max([top["published_at"]] + [r["published_at"] for r in
                                                     replies[top["id"]]])

            tops.sort(key=latest, reverse=True)
            offset = int(arg["pageToken"]) if (arg.get("pageToken") or "").isdigit() else 0
            page = tops[offset:offset + int(count)]
            items = []
            for top in page:
                thread = {"kind": "youtube#commentThread", "id": top["id"], "snippet": {
                    "channelId": self._comment_json(top)["snippet"]["channelId"],
                    "videoId": top["video"], "topLevelComment": self._comment_json(top),
                    "canReply": True, "totalReplyCount": len(replies[top["id"]]),
                    "isPublic": True}}
                if "replies" in arg.get("part", "") and replies[top["id"]]:
                    thread["replies"] = {"comments": [self._comment_json(r) for r in
                                                      replies[top["id"]][-THREAD_REPLIES:]]}
                items.append(thread)
        answer = {"kind": "youtube#commentThreadListResponse", "items": items,
                  "pageInfo": {"totalResults": len(tops), "resultsPerPage": int(count)}}
        if offset + int(count) < len(tops):
            answer["nextPageToken"] = str(offset + int(count))
        return Reply(200, answer)

    def _replies(self, arg: dict) -> Reply:
        """``comments.list parentId=``: the replies to a top-level comment."""
        if not arg.get("parentId"):
            return self._error(400, "badRequest", "parentId or id is required.")
        with self.lock:
            found = [self._comment_json(c) for c in self.comments
                     if c["parent"] == arg["parentId"]]
        return Reply(200, {"kind": "youtube#commentListResponse", "items": found})

    def _insert_comment(self, body: bytes) -> Reply:
        """``comments.insert``: a reply to a top-level comment, as the token's channel."""
        try:
            snippet = (json.loads(body or b"{}").get("snippet") or {})
        except (ValueError, AttributeError):
            return self._error(400, "badRequest", "The request body is not JSON.")
        parent, text = snippet.get("parentId"), snippet.get("textOriginal")
        with self.lock:
            top = next((c for c in self.comments if c["id"] == parent), None)
            if top is None or top["parent"]:
                return self._error(400, "badRequest", "The comment's parentId must name a "
                                                      "top-level comment.")
            if not isinstance(text, str) or not text.strip():
                return self._error(400, "badRequest", "The comment's textOriginal is empty.")
            channel = self._asking.channel or next(iter(self.channels))
            made = self._comment(top["video"], text, author=self.channels[channel][1],
                                 author_channel=channel, parent=parent)
            return Reply(200, self._comment_json(made), fault=self._post_fault())

    def _moderate(self, arg: dict) -> Reply:
        """``comments.setModerationStatus``: only the video's channel may; 204."""
        status = arg.get("moderationStatus")
        if status not in ("heldForReview", "published", "rejected"):
            return self._error(400, "badRequest", "moderationStatus must be heldForReview, "
                                                  "published or rejected.")
        ids = [i for i in (arg.get("id") or "").split(",") if i]
        with self.lock:
            for comment_id in ids:
                comment = next((c for c in self.comments if c["id"] == comment_id), None)
                if comment is None:
                    return self._error(404, "notFound", f"Comment {comment_id} not found.")
                owner = next((v["channel"] for v in self._videos
                              if v["id"] == comment["video"]), None)
                if owner != self._asking.channel:
                    return self._error(403, "forbidden")
                comment["status"] = status
        return Reply(204, b"")

    def set_counts(self, video_id: str, *, views: int = 0, likes: int = 0,
                   comments: int = 0) -> None:
        with self.lock:
            video = next(v for v in self._videos if v["id"] == video_id)
            video["stats"].update(viewCount=views, likeCount=likes, commentCount=comments)

    # -- errors -------------------------------------------------------------------------------

    def _error(self, status: int, reason: str, message: str | None = None,
               headers: dict | None = None) -> Reply:
        _, domain, text = REASONS.get(reason, (status, "global", "Error"))
        text = message or text
        return Reply(status, {"error": {"code": status, "message": text, "errors": [
            {"message": text, "domain": domain, "reason": reason}],
            "status": STATUS_NAMES.get(status, "UNKNOWN")}}, headers)

    def _failure_reply(self, failure) -> Reply:
        """``fail_next(status, message=<reason>)``: Google's body with that reason (e.g.
        ``quotaExceeded``, ``uploadLimitExceeded``); any other message is the error's text."""
        if failure.message in REASONS:
            status, _, _ = REASONS[failure.message]
            reason, message = failure.message, None
            status = failure.status if failure.status in (400, 403, 429) else status
        else:
            reason, message = BY_STATUS.get(failure.status, "backendError"), failure.message
            status = failure.status
        headers = {"Retry-After": f"{failure.retry_after:g}"} \
            if failure.retry_after is not None else None
        return self._error(status, reason, message, headers)

    def _oauth_error(self, status: int, error: str, description: str) -> Reply:
        return Reply(status, {"error": error, "error_description": description})

    # -- routes -------------------------------------------------------------------------------

    def _route(self, method, path, query, headers, body) -> Reply:
        arg = {k: v[0] for k, v in query.items()}
        if path == "/o/oauth2/v2/auth" and method == "GET":
            return self._consent(arg)
        if path == "/o/oauth2/v2/auth/decide" and method == "POST":
            return self._decide(_form(body))
        if path == "/token" and method == "POST":
            return self._token(_form(body), headers)
        if path == "/revoke" and method == "POST":
            return self._revoke(_form(body) or arg)
        if not (path.startswith("/youtube/v3/") or path.startswith("/upload/youtube/v3/")):
            return self._error(404, "notFound", f"No route for {method} {path}")
        refused = self._authorise(headers)
        if refused:
            return refused
        if path == "/upload/youtube/v3/videos" and method == "PUT":
            return self._chunk(arg, headers, body)
        if path == "/upload/youtube/v3/videos" and method == "POST":
            return self._spend("videos.insert") or self._start_upload(arg, headers, body)
        if path == "/upload/youtube/v3/thumbnails/set" and method == "POST":
            return self._spend("thumbnails.set") or self._thumbnail(arg, headers, body)
        if path == "/youtube/v3/channels" and method == "GET":
            return self._spend("channels.list") or self._channels(arg)
        if path == "/youtube/v3/playlistItems" and method == "GET":
            return self._spend("playlistItems.list") or self._playlist_items(arg)
        if path == "/youtube/v3/videos" and method == "GET":
            return self._spend("videos.list") or self._videos_list(arg)
        if path == "/youtube/v3/commentThreads" and method == "GET":
            return self._spend("commentThreads.list") or self._threads(arg)
        if path == "/youtube/v3/comments" and method == "GET":
            return self._spend("comments.list") or self._replies(arg)
        if path == "/youtube/v3/comments" and method == "POST":
            return self._spend("comments.insert") or self._insert_comment(body)
        if path == "/youtube/v3/comments/setModerationStatus" and method == "POST":
            return self._spend("comments.setModerationStatus") or self._moderate(arg)
        return self._error(404, "notFound", f"No route for {method} {path}")

    def _authorise(self, headers) -> Reply | None:
        value = headers.get("Authorization") or ""
        token = value[7:].strip() if value.startswith("Bearer ") else ""
        with self.lock:
            found = self._tokens.get(token)
            if found and found["state"] == "valid" and found["expires"] < time.time():
                found["state"] = "expired"
        self._asking.channel = found["channel"] if found else None
        if found is None or found["state"] != "valid":
            message = ("Request is missing required authentication credential." if not token
                       else "Request had invalid authentication credentials. Expected OAuth 2 "
                            "access token, login cookie or other valid authentication "
                            "credential.")
            return self._error(401, "authError", message,
                               {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'
                                                    ', error="invalid_token"'})
        return None

    def _spend(self, method: str) -> Reply | None:
        with self.lock:
            cost = COST[method]
            if self.quota_used + cost > self.quota_per_day:
                return self._error(403, "quotaExceeded")
            self.quota_used += cost
        return None

    # -- OAuth --------------------------------------------------------------------------------

    def _page(self, status: int, text: str) -> Reply:
        return Reply(status, f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                             f"<title>Sign in - Google Accounts</title></head><body><main>{text}"
                             f"</main></body></html>".encode(),
                     {"Content-Type": "text/html; charset=utf-8"})

    def _consent(self, arg: dict) -> Reply:
        if arg.get("client_id") != self.client_id:
            return self._page(400, "<h1>Access blocked: Authorization Error</h1><p>Error 401: "
                                   "invalid_client. The OAuth client was not found.</p>")
        if arg.get("response_type") != "code" or not arg.get("redirect_uri"):
            return self._page(400, "<h1>Access blocked</h1><p>Error 400: invalid_request. "
                                   "Required parameter is missing: response_type</p>")
        if arg.get("code_challenge") and arg.get("code_challenge_method") != "S256":
            return self._page(400, "<h1>Access blocked</h1><p>Error 400: invalid_request. "
                                   "Invalid code_challenge_method.</p>")
        choices = "".join(f'<option value="{html.escape(cid)}">{html.escape(title)} '
                          f'({html.escape(handle)})</option>'
                          for cid, (title, handle) in self.channels.items())
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in arg.items())
        return self._page(200, f"""<h1>Choose an account to continue to the app</h1>
<p>Signed in as Ada Agency (ada@agency.test).</p>
<p>The app wants to: <code>{html.escape(arg.get("scope", ""))}</code></p>
<form method="post" action="/o/oauth2/v2/auth/decide">{hidden}
<label>Channel <select name="channel">{choices}</select></label>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>""")

    def _decide(self, form: dict) -> Reply:
        redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("client_id") != self.client_id or not redirect_uri:
            return self._page(400, "<p>Error 400: invalid_request</p>")
        if form.get("decision") != "allow":
            return redirect_to(redirect_uri, {"error": "access_denied", "state": state})
        code = "4/0" + secrets.token_urlsafe(30)
        with self.lock:
            self._codes[code] = {"redirect_uri": redirect_uri, "expires": time.time() + 600,
                                 "scope": form.get("scope", ""),
                                 "offline": form.get("access_type") == "offline",
                                 "challenge": form.get("code_challenge", ""),
                                 "channel": form.get("channel") if form.get("channel")
                                 in self.channels else next(iter(self.channels))}
        return redirect_to(redirect_uri, {"code": code, "scope": form.get("scope", ""),
                                             "state": state})

    def _client_ok(self, form: dict, headers) -> bool:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = headers.get("Authorization") or ""
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        return client_id == self.client_id and secret == self.client_secret

    def _token(self, form: dict, headers) -> Reply:
        if not self._client_ok(form, headers):
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
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != stored["challenge"]:
                    return self._oauth_error(400, "invalid_grant", "Invalid code verifier.")
            answer = {"access_token": self.issue_token(channel=stored["channel"]),
                      "expires_in": self.token_lifetime, "scope": stored["scope"],
                      "token_type": "Bearer"}
            if stored["offline"]:
                answer["refresh_token"] = self.issue_refresh_token(channel=stored["channel"])
            return Reply(200, answer)
        if grant == "refresh_token":
            with self.lock:
                channel = self._refresh.get(form.get("refresh_token", ""))
            if channel is None:
                return self._oauth_error(400, "invalid_grant",
                                         "Token has been expired or revoked.")
            return Reply(200, {"access_token": self.issue_token(channel=channel),
                               "expires_in": self.token_lifetime,
                               "scope": " ".join(("https://www.googleapis.com/auth/youtube.upload",
                                                  "https://www.googleapis.com/auth/youtube"
                                                  ".readonly")),
                               "token_type": "Bearer"})
        return self._oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " +
                                 str(grant))

    def _revoke(self, form: dict) -> Reply:
        token = form.get("token", "")
        with self.lock:
            known = token in self._tokens or token in self._refresh
            if token in self._refresh:  # revoking the refresh token ends the whole grant
                self._refresh.pop(token)
                for access in self._tokens.values():
                    access["state"] = "revoked"
            elif token in self._tokens:
                self._tokens[token]["state"] = "revoked"
            if known:
                self.revoked.append(token)
        if not known:
            return self._oauth_error(400, "invalid_token", "Token expired or revoked")
        return Reply(200, {})

    # -- channels, playlists, videos ----------------------------------------------------------

    def _channels(self, arg: dict) -> Reply:
        if arg.get("mine") != "true" and not arg.get("id"):
            return self._error(400, "badRequest", "No filter selected. Expected one of: id, "
                                                  "mine, forHandle, forUsername, managedByMe")
        mine = getattr(self._asking, "channel", None)
        items = [{"kind": "youtube#channel", "id": cid,
                  "snippet": {"title": title, "customUrl": handle, "description": ""},
                  "statistics": {"subscriberCount": str(self.subscribers.get(cid, 0)),
                                 "hiddenSubscriberCount": False, "videoCount": str(sum(
                                     1 for v in self._videos if v["channel"] == cid))},
                  "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + cid[2:]}}}
                 for cid, (title, handle) in self.channels.items()
                 if (arg.get("mine") == "true" and cid == mine)
                 or cid in arg.get("id", "").split(",")]
        return Reply(200, {"kind": "youtube#channelListResponse",
                           "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
                           "items": items})

    def _playlist_items(self, arg: dict) -> Reply:
        playlist = arg.get("playlistId", "")
        owner = "UC" + playlist[2:]
        if not playlist.startswith("UU") or owner not in self.channels:
            return self._error(404, "playlistNotFound", "The playlist identified with the "
                                                         "request's playlistId parameter cannot "
                                                         "be found.")
        size = min(int(arg.get("maxResults") or 5), 50)
        with self.lock:
            mine = [v for v in self._videos if v["channel"] == owner]
        mine.sort(key=lambda v: v["published_at"], reverse=True)
        start = int(arg.get("pageToken") or 0)
        page = mine[start:start + size]
        answer = {"kind": "youtube#playlistItemListResponse",
                  "pageInfo": {"totalResults": len(mine), "resultsPerPage": size},
                  "items": [{"kind": "youtube#playlistItem", "id": secrets.token_hex(8),
                             "snippet": {"publishedAt": _iso(v["published_at"]),
                                         "channelId": owner, "title": v["title"],
                                         "description": v["description"], "playlistId": playlist,
                                         "resourceId": {"kind": "youtube#video",
                                                        "videoId": v["id"]}}}
                            for v in page]}
        if start + size < len(mine):
            answer["nextPageToken"] = str(start + size)
        return Reply(200, answer)

    def _videos_list(self, arg: dict) -> Reply:
        wanted = arg.get("id", "").split(",")
        items = []
        with self.lock:
            for video in self._videos:
                if video["id"] not in wanted:
                    continue
                if video["processing"] > 0:
                    video["processing"] -= 1
                done = video["processing"] <= 0
                items.append({"kind": "youtube#video", "id": video["id"],
                              "status": {"uploadStatus": "processed" if done else "uploaded",
                                         "privacyStatus": video["privacy"],
                                         "selfDeclaredMadeForKids": video["made_for_kids"]},
                              "processingDetails": {
                                  "processingStatus": "succeeded" if done else "processing"},
                              "snippet": {"title": video["title"],
                                          "description": video["description"]},
                              "statistics": {k: str(v) for k, v in video["stats"].items()}})
        return Reply(200, {"kind": "youtube#videoListResponse", "items": items})

    def _thumbnail(self, arg: dict, headers, body: bytes) -> Reply:
        video_id = arg.get("videoId", "")
        with self.lock:
            known = any(v["id"] == video_id for v in self._videos)
        if not known:
            return self._error(404, "videoNotFound", "The video that you are trying to update "
                                                     "cannot be found.")
        if not self.custom_thumbnails:
            return self._error(403, "forbidden", "The authenticated user doesn't have "
                                                 "permissions to upload and set custom video "
                                                 "thumbnails.")
        if len(body) > 2 * 1024 * 1024:
            return self._error(400, "mediaBodyTooLarge", "The thumbnail is larger than 2 MB.")
        with self.lock:
            self.thumbnails[video_id] = body
        return Reply(200, {"kind": "youtube#thumbnailSetResponse", "items": [
            {"default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg"}}]})

    # -- the resumable upload -----------------------------------------------------------------

    def _start_upload(self, arg: dict, headers, body: bytes) -> Reply:
        if arg.get("uploadType") != "resumable":
            return self._error(400, "badRequest", "This fake takes resumable uploads only.")
        parts = set(arg.get("part", "").split(","))
        try:
            meta = json.loads(body or b"{}")
        except ValueError:
            return self._error(400, "parseError", "Parse Error")
        snippet, status = meta.get("snippet") or {}, meta.get("status") or {}
        title = snippet.get("title") or ""
        if "snippet" not in parts or not title.strip():
            return self._error(400, "invalidTitle", "The request metadata specifies an invalid "
                                                    "or empty video title.")
        if len(title) > 100 or re.search(r"[<>]", title):
            return self._error(400, "invalidTitle", "The request metadata specifies an invalid "
                                                    "video title.")
        description = snippet.get("description") or ""
        if len(description.encode()) > 5000 or re.search(r"[<>]", description):
            return self._error(400, "invalidDescription", "The request metadata specifies an "
                                                          "invalid video description.")
        if status.get("privacyStatus", "public") not in ("public", "unlisted", "private"):
            return self._error(400, "invalidVideoMetadata", "The request metadata is invalid.")
        total = headers.get("X-Upload-Content-Length")
        upload_id = "ADPycd" + secrets.token_urlsafe(24)
        with self.lock:
            self._sessions[upload_id] = {"meta": meta, "data": bytearray(),
                                         "total": int(total) if total else None,
                                         "type": headers.get("X-Upload-Content-Type", ""),
                                         "channel": self._asking.channel,
                                         "done": None}
        location = (f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&"
                    f"upload_id={upload_id}&part={arg.get('part', '')}")
        return Reply(200, b"", {"Location": location, "X-GUploader-UploadID": upload_id})

    def _take_break(self) -> int | None:
        with self.lock:
            if not self._breaks:
                return None
            if self._breaks[0][0] > 0:
                self._breaks[0][0] -= 1
                return None
            return self._breaks.pop(0)[1]

    def _partial(self, path: str, headers, received: bytes) -> None:
        """A chunk broke midway: keep the bytes that arrived, if they continue the upload."""
        upload_id = parse_qs(urlsplit(path).query).get("upload_id", [""])[0]
        first = _range(headers.get("Content-Range") or "")[0]
        with self.lock:
            self.requests.append(("PUT", urlsplit(path).path))
            session = self._sessions.get(upload_id)
            if session is not None and first == len(session["data"]):
                session["data"] += received
                self.chunks.append((first, len(received)))

    def _resume_incomplete(self, session: dict) -> Reply:
        held = len(session["data"])
        return Reply(308, b"", {"Range": f"bytes=0-{held - 1}"} if held else {})

    def _chunk(self, arg: dict, headers, body: bytes) -> Reply:
        with self.lock:
            session = self._sessions.get(arg.get("upload_id", ""))
        if session is None:
            return self._error(404, "notFound", "The upload session was not found or expired.")
        first, last, total = _range(headers.get("Content-Range") or "")
        with self.lock:
            if session["done"] is not None:  # already complete: the video again
                return Reply(200, self._video_json(session["done"]))
            if first is None:  # "bytes */total": how far did it get?
                return self._resume_incomplete(session)
            if self._chunk_failures:
                return self._error(self._chunk_failures.pop(0), "backendError")
            if first != len(session["data"]):
                return self._error(400, "badRequest", f"Invalid Content-Range: expected the "
                                                      f"upload to go on at byte "
                                                      f"{len(session['data'])}.")
            if len(body) != last - first + 1:
                return self._error(400, "badRequest", "Content-Range does not match the body.")
            final = total is not None and last + 1 == total
            if not final and len(body) % CHUNK_UNIT:
                return self._error(400, "badRequest", "Every chunk but the last must be a "
                                                      "multiple of 256 KiB.")
            session["data"] += body
            self.chunks.append((first, len(body)))
            if not final:
                return self._resume_incomplete(session)
            video = self._store(session["meta"], bytes(session["data"]), session["channel"],
                                None)
            session["done"] = video
            return Reply(200, self._video_json(video), fault=self._post_fault())

    def _store(self, meta: dict, data: bytes, channel: str, published_at) -> dict:
        snippet, status = meta.get("snippet") or {}, meta.get("status") or {}
        video = {"id": secrets.token_urlsafe(8)[:11], "channel": channel,
                 "title": snippet.get("title", ""),
                 "description": snippet.get("description", ""),
                 "tags": list(snippet.get("tags") or []),
                 "privacy": status.get("privacyStatus", "public"),
                 "made_for_kids": bool(status.get("selfDeclaredMadeForKids", False)),
                 "data": data, "published_at": published_at or datetime.now(UTC),
                 "processing": self.processing_polls,
                 "stats": {"viewCount": 0, "likeCount": 0, "favoriteCount": 0,
                           "commentCount": 0}}
        self._videos.append(video)
        self.posts_per_text[f"{video['title']}\n{video['description']}"] += 1
        return video

    def _video_json(self, video: dict) -> dict:
        return {"kind": "youtube#video", "id": video["id"],
                "snippet": {"publishedAt": _iso(video["published_at"]),
                            "channelId": video["channel"], "title": video["title"],
                            "description": video["description"], "tags": video["tags"]},
                "status": {"uploadStatus": "uploaded", "privacyStatus": video["privacy"],
                           "selfDeclaredMadeForKids": video["made_for_kids"]}}


def _form(body: bytes) -> dict:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _range(value: str) -> tuple[int | None, int | None, int | None]:
    """``bytes first-last/total`` or ``bytes */total`` → (first, last, total)."""
    match = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", value.strip())
    if not match:
        return None, None, None
    first, last, total = match.groups()
    return (int(first) if first else None, int(last) if last else None,
            int(total) if total and total != "*" else None)


register_fake("youtube", lambda: FakeYouTube(client_id="youtube-demo-app",
                                             client_secret="youtube-demo-secret"),  # noqa: S106
              port=9106, base_urls=("youtube_accounts", "youtube_oauth2", "youtube_api"),
              oauth={"youtube": ("youtube-demo-app", "youtube-demo-secret")})
