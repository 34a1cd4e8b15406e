"""Bluesky, through atproto's Client: images as blobs with alt texts, links and hashtags as
facets, and the post written under a record key derived from the delivery.

The record key (a TID) is the delivery's creation time in microseconds with the delivery id as
clock id, so every attempt for one delivery writes the same ``at://`` address: a repo holds one
record per key, and a repeat cannot make a second post. ``find`` reads that one record.

A repeat is refused by the PDS, and not in one agreed way: the reference PDS answers 500
InternalServerError (bluesky-social/atproto#3718; an explicit error is proposed in #4728), other
implementations 409 RecordAlreadyExists or 400. So when createRecord fails with any of these,
the record is read back: if it is there with our text, the post was published.

Quirks of atproto 0.0.x handled here:

- ``Request(timeout=...)`` passes its keyword arguments to ``httpx.Client``: that is where the
  adapter's timeout goes. Its client follows redirects, whatever it is told; ``_GuardedRequest``
  makes its client with the outbound guard instead (``agency.outbound``: the address checked at
  each request, including the PDS a login names, no redirects, answers capped).
- Transport failures are ``NetworkError`` / ``InvokeTimeoutError`` (a subclass) with
  ``response=None`` and the httpx error as ``__cause__`` (``ConnectError``, ``ConnectTimeout``,
  ``ReadTimeout``...). ``httpx.RemoteProtocolError`` (the server closed the connection without an
  answer) is not wrapped: it comes out as is. ``NetworkError`` is also raised, *with* a response,
  for HTTP 409, 413 and 502.
- ``login`` also fetches the profile (``app.bsky.actor.getProfile``) unless told not to.
- The session sets the base URL to the PDS named in the DID document of the login answer.
- Sessions are kept per process (createSession is rate limited per account: 30 per 5 minutes),
  refreshed by the library before the access token expires; a session the server no longer
  accepts is dropped and the account logs in again, once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime

import httpx
from atproto import Client, models
from atproto_client.client.session import Session
from atproto_client.exceptions import (
    BadRequestError,
    RateLimitExceededError,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.models.dot_dict import DotDict
from atproto_client.request import Request
from atproto_client.utils.facet_detection import detect_facets
from atproto_core.exceptions import AtProtocolError

from agency import outbound
from campaigns.publishing.adapters import (
    Adapter,
    AdapterError,
    Counts,
    Incoming,
    NotificationPage,
    Outgoing,
    Permanent,
    Published,
    Transient,
    Unknown,
    http_error,
    register,
)

log = logging.getLogger(__name__)

COLLECTION = "app.bsky.feed.post"
THREADGATE = "app.bsky.feed.threadgate"
NOTIFICATION_REASONS = ["reply", "mention", "quote"]
NOTIFICATIONS_PAGE = 100  # listNotifications' largest page
NOTIFICATIONS_MAX_PAGES = 20
DEFAULT_SERVICE = "https://bsky.social/xrpc"
MAX_IMAGES = 4
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TOKEN_ERRORS = {"ExpiredToken", "InvalidToken", "AuthMissing", "AuthRequired"}

# What a call through atproto can raise besides our own errors.
_FAILURES = (AtProtocolError, httpx.HTTPError, outbound.Refused, outbound.AnswerRefused)

_SESSIONS: dict[tuple[str, str, str], str] = {}
_SESSIONS_LOCK = threading.Lock()


def tid(microseconds: int, clock_id: int) -> str:
    """A TID: (microseconds << 10 | clock id) in 13 base32-sortable characters, top bit 0."""
    value = ((microseconds << 10) | (clock_id % 1024)) & 0x7FFF_FFFF_FFFF_FFFF
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def record_key(post: Outgoing, *, comment: bool = False) -> str:
    if post.created_at_us <= 0:
        raise Permanent("The delivery has no creation time; Bluesky record keys are made from "
                        "it, so it cannot be sent.")
    return tid(post.created_at_us + (1 if comment else 0), post.delivery_id)


def forget_sessions() -> None:
    """Drop the kept sessions (tests; after an app password changed)."""
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


def _account(client: Client) -> Session:
    """The logged-in account (handle, DID), through the client's public session export."""
    return Session.decode(client.export_session_string())


def _get(value, name: str):
    """A field of a record as atproto gives it: a model (snake_case) or a DotDict/dict."""
    if value is None:
        return None
    if isinstance(value, dict):
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        return value.get(name, value.get(camel))
    try:
        return getattr(value, name)
    except (AttributeError, KeyError):
        return None


def _when(value) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return response.status_code if response is not None else None


def _xrpc(exc: BaseException) -> tuple[str, str]:
    """The error name and message of the server's answer, if it gave one."""
    response = getattr(exc, "response", None)
    content = response.content if response is not None else None
    if isinstance(content, XrpcError):
        return (outbound.excerpt(content.error or "", 80),
                outbound.excerpt(content.message or ""))
    if isinstance(content, (dict, DotDict)):  # an error body without "message" stays a DotDict
        data = content.to_dict() if isinstance(content, DotDict) else content
        return (outbound.excerpt(str(data.get("error") or ""), 80),
                outbound.excerpt(str(data.get("message") or "")))
    if isinstance(content, bytes):
        return "", outbound.excerpt(content)
    return "", ""


def _token_problem(exc: BaseException) -> bool:
    """A refused session (not a refused login): worth one fresh login."""
    error, _ = _xrpc(exc)
    return isinstance(exc, UnauthorizedError) or (isinstance(exc, BadRequestError)
                                                  and error in _TOKEN_ERRORS)


def _maybe_exists(exc: BaseException) -> bool:
    """Whether a createRecord failure may be the PDS refusing a key that is taken."""
    status = _status(exc)
    if status is None:
        return False
    error, message = _xrpc(exc)
    if status == 409 or status >= 500 or error == "RecordAlreadyExists":
        return True
    return status == 400 and "exist" in f"{error} {message}".lower()


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, RateLimitExceededError):
        if exc.retry_after is not None:
            return exc.retry_after
        if exc.reset_at is not None:
            return max(0.0, (exc.reset_at - datetime.now(UTC)).total_seconds())
    response = getattr(exc, "response", None)
    if response is not None and response.headers.get("retry-after"):
        try:
            return max(0.0, float(response.headers["retry-after"]))
        except ValueError:
            return None
    return None


class _GuardedRequest(Request):
    """atproto's ``Request`` with its httpx client made by the outbound guard."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._client.close()  # atproto's own client follows redirects
        self._client = outbound.httpx_client(**kwargs)


@register
class BlueskyAdapter(Adapter):
    network = "bluesky"
    resend_is_safe = True  # one record key per delivery: a repeat is refused, not duplicated

    # -- the session ----------------------------------------------------------------------------

    def _session_key(self, password: str) -> tuple[str, str, str]:
        return (self.channel.endpoint or DEFAULT_SERVICE, self._login_name(),
                hashlib.sha256(password.encode()).hexdigest())

    def _login_name(self) -> str:
        return (self.channel.handle or "").strip().lstrip("@").lower()

    def _client(self, *, fresh: bool = False) -> tuple[Client, bool]:
        """A logged-in client, and whether it uses a kept session."""
        password = self.channel.get_secret()
        if not password or not self._login_name():
            raise Permanent("The Bluesky channel needs its handle and an app password.")
        key = self._session_key(password)
        client = Client(base_url=self.channel.endpoint or None,
                        request=_GuardedRequest(timeout=self.timeout))

        def keep(event, session):
            with _SESSIONS_LOCK:
                _SESSIONS[key] = session.export()

        client.on_session_change(keep)
        with _SESSIONS_LOCK:
            kept = None if fresh else _SESSIONS.get(key)
            if fresh:
                _SESSIONS.pop(key, None)
        try:
            if kept:
                client.login(session_string=kept, fetch_bsky_profile=False)
                return client, True
            client.login(self._login_name(), password, fetch_bsky_profile=False)
        except _FAILURES as exc:
            client.request.close()
            raise self._login_error(exc) from exc
        return client, False

    def _login_error(self, exc: BaseException) -> AdapterError:
        status = _status(exc)
        error, message = _xrpc(exc)
        if status in (400, 401, 403):
            return Permanent(f"Bluesky refused the login of {self._login_name()}: "
                             f"{message or error or status}. Check the handle and the app "
                             "password.")
        return self._error(exc, sent=False)

    def _run(self, action):
        """``action(client)`` with a logged-in client; once more with a fresh login when the
        kept session is refused (a refused request made nothing)."""
        client, kept = self._client()
        try:
            try:
                return action(client)
            except (UnauthorizedError, BadRequestError) as exc:
                if not (kept and _token_problem(exc)):
                    raise
                log.info("Bluesky: the kept session of %s was refused; logging in again.",
                         self._login_name())
        finally:
            client.request.close()
        client, _ = self._client(fresh=True)
        try:
            return action(client)
        finally:
            client.request.close()

    # -- errors ---------------------------------------------------------------------------------

    def _error(self, exc: BaseException, *, sent: bool) -> AdapterError:
        """Our error for atproto's or httpx's. ``sent``: the request may have made the post."""
        where = self.channel.endpoint or DEFAULT_SERVICE
        for refusal in (exc, exc.__cause__):
            if isinstance(refusal, outbound.Refused):
                return Permanent(f"The Bluesky service's address is refused: {refusal.message}")
            if isinstance(refusal, outbound.AnswerRefused):
                if sent:
                    return Unknown(f"Bluesky ({where}): {refusal.message} The post may have "
                                   "been made.")
                return Permanent(f"Bluesky ({where}): {refusal.message}")
        status = _status(exc)
        if status is not None and 300 <= status < 400:
            return Permanent(f"Bluesky ({where}) answered HTTP {status}, a redirect (redirects "
                             "are not followed: give the service's final address).")
        if status is not None:
            error, message = _xrpc(exc)
            reason = ": ".join(part for part in (error, message) if part) or str(status)
            kind = http_error(status, reason)
            retry_after = _retry_after(exc)
            if status == 429:
                text = f"Bluesky ({where}) is rate limiting this account: {reason}"
            elif status in (401, 403):
                text = f"Bluesky ({where}) refused the access: {reason}"
            elif isinstance(kind, Transient):
                text = f"Bluesky ({where}) answered HTTP {status}: {reason}"
            else:
                text = f"Bluesky refused the post (HTTP {status}): {message or reason}"
            return type(kind)(text, retry_after=retry_after if retry_after is not None
                              else kind.retry_after)
        cause = exc if isinstance(exc, httpx.HTTPError) else exc.__cause__
        if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                              httpx.UnsupportedProtocol)):
            return Transient(f"Could not reach Bluesky ({where}): {cause!r}")
        if not sent:
            if isinstance(cause, httpx.TimeoutException):
                return Transient(f"No answer from Bluesky ({where}) within {self.timeout:g} s; "
                                 "nothing was posted yet.")
            return Transient(f"The connection to Bluesky ({where}) failed before the post was "
                             f"sent: {cause or exc!r}")
        if isinstance(cause, httpx.TimeoutException):
            return Unknown(f"No answer from Bluesky ({where}) within {self.timeout:g} s after the "
                           "post was sent.")
        return Unknown(f"The connection to Bluesky ({where}) broke after the post was sent: "
                       f"{cause or exc!r}")

    # -- records --------------------------------------------------------------------------------

    def _published(self, client: Client, uri: str, rkey: str) -> Published:
        handle = _account(client).handle or self._login_name()
        return Published(remote_id=uri, url=f"https://bsky.app/profile/{handle}/post/{rkey}")

    def _get(self, client: Client, rkey: str):
        """The record under ``rkey`` in the account's repo, or None."""
        try:
            return client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(repo=_account(client).did,
                                                      collection=COLLECTION, rkey=rkey))
        except AtProtocolError as exc:
            error, _ = _xrpc(exc)
            if error == "RecordNotFound" or _status(exc) == 404:
                return None
            raise

    def _create(self, client: Client, rkey: str, text: str, *, embed=None, reply=None):
        """Write the post under ``rkey``; if the key is taken by this same post, that is the
        post. Returns (uri, cid)."""
        record = models.AppBskyFeedPost.Record(
            text=text, created_at=client.get_current_time_iso(),
            facets=detect_facets(text) or None, embed=embed, reply=reply)
        data = models.ComAtprotoRepoCreateRecord.Data(repo=_account(client).did,
                                                      collection=COLLECTION, rkey=rkey,
                                                      record=record)
        try:
            created = client.com.atproto.repo.create_record(data)
            return created.uri, created.cid
        except _FAILURES as exc:
            if not _maybe_exists(exc):
                raise
            try:
                existing = self._get(client, rkey)
            except _FAILURES:
                existing = None
            if existing is None:
                raise
            if getattr(existing.value, "text", None) != text:
                raise Permanent(f"Bluesky already holds another post under the record key "
                                f"{rkey} ({existing.uri}); this delivery cannot use it.") from exc
            return existing.uri, existing.cid

    # -- the adapter ----------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        rkey = record_key(post)
        if len(post.images) > MAX_IMAGES:
            raise Permanent(f"Bluesky takes at most {MAX_IMAGES} images; this post has "
                            f"{len(post.images)}.")
        if len(post.videos) > 1 or (post.videos and post.images):
            raise Permanent("Bluesky shows one video, without images, per post: split the media "
                            "into two posts.")

        def send(client: Client) -> Published:
            try:
                embed = None
                if post.videos:  # one video, without images (the network rules see to it)
                    video = post.videos[0]
                    blob = client.com.atproto.repo.upload_blob(
                        video.data, headers={"Content-Type": video.mime_type})
                    embed = models.AppBskyEmbedVideo.Main(video=blob.blob,
                                                          alt=video.description or None)
                elif post.images:
                    images = []
                    for image in post.images:
                        blob = client.com.atproto.repo.upload_blob(
                            image.data, headers={"Content-Type": image.mime_type})
                        images.append(models.AppBskyEmbedImages.Image(alt=image.alt or "",
                                                                      image=blob.blob))
                    embed = models.AppBskyEmbedImages.Main(images=images)
            except (UnauthorizedError, BadRequestError) as exc:
                if _token_problem(exc):
                    raise
                raise self._error(exc, sent=False) from exc
            except _FAILURES as exc:
                raise self._error(exc, sent=False) from exc
            try:
                uri, cid = self._create(client, rkey, post.text, embed=embed)
            except (UnauthorizedError, BadRequestError) as exc:
                if _token_problem(exc):
                    raise
                raise self._error(exc, sent=True) from exc
            except _FAILURES as exc:
                raise self._error(exc, sent=True) from exc
            if post.first_comment.strip():
                self._comment(client, post, uri, cid)
            return self._published(client, uri, rkey)

        return self._guard(lambda: self._run(send), sent=True)

    def _comment(self, client: Client, post: Outgoing, uri: str, cid: str) -> None:
        parent = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)
        try:
            self._create(client, record_key(post, comment=True), post.first_comment,
                         reply=models.AppBskyFeedPost.ReplyRef(root=parent, parent=parent))
        except (*_FAILURES, AdapterError) as exc:
            reason = exc.message if isinstance(exc, AdapterError) \
                else self._error(exc, sent=True).message
            log.warning("Bluesky: the first comment of %s did not go out: %s",
                        post.idempotency_key, reason)

    def find(self, post: Outgoing, *, since) -> Published | None:
        rkey = record_key(post)

        def look(client: Client) -> Published | None:
            existing = self._get(client, rkey)
            if existing is None or getattr(existing.value, "text", None) != post.text:
                return None
            return self._published(client, existing.uri, rkey)

        try:
            return self._guard(lambda: self._run(look), sent=False)
        except AdapterError as exc:
            raise Unknown(f"Could not ask Bluesky whether the post is there: {exc.message}") \
                from exc

    # -- results --------------------------------------------------------------------------------

    # app.bsky.feed.getPosts takes up to 25 at:// URIs per call.
    metrics_batch = 25

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        """Likes, reposts, replies and quotes of up to 25 posts in one getPosts call; a post
        that is gone is simply not in the answer."""
        uris = [remote_id for remote_id in remote_ids if str(remote_id).startswith("at://")]
        if len(uris) > self.metrics_batch:
            raise ValueError(f"getPosts takes at most {self.metrics_batch} URIs at once.")
        if not uris:
            return {}

        def read(client: Client) -> dict[str, Counts]:
            answer = client.app.bsky.feed.get_posts(
                models.AppBskyFeedGetPosts.Params(uris=uris))
            return {post.uri: Counts(likes=post.like_count or 0,
                                     reposts=post.repost_count or 0,
                                     replies=post.reply_count or 0,
                                     quotes=post.quote_count or 0)
                    for post in answer.posts}

        return self._guard(lambda: self._run(read), sent=False)

    def followers(self) -> int:
        def read(client: Client) -> int:
            profile = client.app.bsky.actor.get_profile(
                models.AppBskyActorGetProfile.Params(actor=_account(client).did))
            return int(profile.followers_count or 0)

        return self._guard(lambda: self._run(read), sent=False)

    # -- conversations --------------------------------------------------------------------------

    def notifications(self, cursor: str) -> NotificationPage:
        """``app.bsky.notification.listNotifications`` (reasons reply, mention, quote), newest
        first, following its ``cursor`` back until a notification indexed at or before ours
        (``cursor``: the newest ``indexedAt`` taken). Returned oldest first, with the newest
        ``indexedAt`` as the next cursor."""

        def read(client: Client) -> NotificationPage:
            found, api_cursor = [], None
            for _ in range(NOTIFICATIONS_MAX_PAGES):
                answer = client.app.bsky.notification.list_notifications(
                    models.AppBskyNotificationListNotifications.Params(
                        limit=NOTIFICATIONS_PAGE, reasons=NOTIFICATION_REASONS,
                        cursor=api_cursor))
                reached = False
                for notification in answer.notifications:
                    if cursor and notification.indexed_at < cursor:
                        reached = True
                        break
                    if notification.reason in NOTIFICATION_REASONS:
                        found.append(notification)
                api_cursor = answer.cursor
                if reached or not api_cursor or not answer.notifications:
                    break
            else:
                log.warning("Bluesky: more than %s notifications of %s since the last poll; "
                            "the oldest are not read.",
                            NOTIFICATIONS_MAX_PAGES * NOTIFICATIONS_PAGE, self._login_name())
            found.sort(key=lambda n: n.indexed_at)
            return NotificationPage(items=[self._incoming(n) for n in found],
                                    cursor=found[-1].indexed_at if found else cursor)

        return self._guard(lambda: self._run(read), sent=False)

    @staticmethod
    def _incoming(notification) -> Incoming:
        record = notification.record
        reply = _get(record, "reply")
        root, parent = _get(reply, "root"), _get(reply, "parent")
        embed = _get(record, "embed")
        embed_type = str(_get(embed, "py_type") or _get(embed, "$type") or "")
        author = notification.author
        handle = author.handle or author.did
        rkey = notification.uri.rsplit("/", 1)[-1]
        return Incoming(
            notification_id=notification.uri + "#" + notification.reason,
            remote_id=notification.uri, remote_cid=notification.cid,
            kind=notification.reason, author_id=author.did, author_handle="@" + handle,
            author_name=author.display_name or "", text=str(_get(record, "text") or ""),
            created_at=_when(_get(record, "created_at") or notification.indexed_at),
            has_media="images" in embed_type or "video" in embed_type
            or bool(_get(_get(embed, "media"), "images") or _get(_get(embed, "media"), "video")),
            media=_incoming_media(embed, author.did),
            remote_url=f"https://bsky.app/profile/{handle}/post/{rkey}",
            in_reply_to=str(_get(parent, "uri") or ""),
            thread_root=str(_get(root, "uri") or notification.uri),
            thread_root_cid=str(_get(root, "cid") or notification.cid))

    def reply(self, text: str, *, key: str, to, created_at_us: int = 0,
              reply_id: int = 0) -> Published:
        """A post in reply to ``to`` in its thread, under a record key derived from the reply
        (``created_at_us``, ``reply_id``): a repeat cannot make a second post."""
        if created_at_us <= 0:
            raise Permanent("The reply has no creation time; its record key is made from it.")
        rkey = tid(created_at_us, reply_id)
        parent = models.ComAtprotoRepoStrongRef.Main(uri=to.remote_id, cid=to.remote_cid)
        root = models.ComAtprotoRepoStrongRef.Main(uri=to.thread_root or to.remote_id,
                                                   cid=to.thread_root_cid or to.remote_cid)

        def send(client: Client) -> Published:
            try:
                uri, _ = self._create(client, rkey, text,
                                      reply=models.AppBskyFeedPost.ReplyRef(root=root,
                                                                            parent=parent))
            except (UnauthorizedError, BadRequestError) as exc:
                if _token_problem(exc):
                    raise
                raise self._error(exc, sent=True) from exc
            except _FAILURES as exc:
                raise self._error(exc, sent=True) from exc
            return self._published(client, uri, rkey)

        return self._guard(lambda: self._run(send), sent=True)

    def can_hide(self, item) -> bool:
        return item.kind == "reply" and bool(item.thread_root)

    def hide_reply(self, root_uri: str, reply_uri: str, *, hide: bool = True) -> None:
        """Add ``reply_uri`` to (or take it from) the ``hiddenReplies`` of the threadgate of
        the account's post ``root_uri`` (the threadgate's record key is the post's), keeping
        the gate's other rules. Refused for a thread the account did not start."""

        def change(client: Client) -> None:
            did = _account(client).did
            if not root_uri.startswith(f"at://{did}/{COLLECTION}/"):
                raise Permanent("Bluesky hides replies only under the account's own posts; this "
                                "thread was started by someone else.")
            rkey = root_uri.rsplit("/", 1)[-1]
            try:
                existing = client.com.atproto.repo.get_record(
                    models.ComAtprotoRepoGetRecord.Params(repo=did, collection=THREADGATE,
                                                          rkey=rkey))
            except AtProtocolError as exc:
                error, _ = _xrpc(exc)
                if error != "RecordNotFound" and _status(exc) != 404:
                    raise
                existing = None
            value = existing.value if existing is not None else None
            hidden = list(_get(value, "hidden_replies") or [])
            if hide and reply_uri not in hidden:
                hidden.append(reply_uri)
            if not hide:
                hidden = [uri for uri in hidden if uri != reply_uri]
            record = models.AppBskyFeedThreadgate.Record(
                post=root_uri, created_at=_get(value, "created_at")
                or client.get_current_time_iso(),
                allow=_get(value, "allow"), hidden_replies=hidden)
            client.com.atproto.repo.put_record(models.ComAtprotoRepoPutRecord.Data(
                repo=did, collection=THREADGATE, rkey=rkey, record=record,
                swap_record=existing.cid if existing is not None else None))

        self._guard(lambda: self._run(change), sent=False)

    def _guard(self, call, *, sent: bool):
        """Errors that escaped the steps (a kept session refused twice, a failure of the login
        inside ``_run``) become ours."""
        try:
            return call()
        except AdapterError:
            raise
        except _FAILURES as exc:
            raise self._error(exc, sent=sent) from exc


def _incoming_media(embed, did: str) -> tuple:
    """A post's photos and video as ``Incoming.media``: their addresses on Bluesky's CDN (an
    image's full size, a video's playlist), from the blobs' CIDs."""
    found = []
    for part in (embed, _get(embed, "media")):
        for image in _get(part, "images") or []:
            if cid := _blob_cid(_get(image, "image")):
                found.append({"url": f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/"
                                     f"{cid}@jpeg", "kind": "image",
                              "alt": str(_get(image, "alt") or "")[:500]})
        if cid := _blob_cid(_get(part, "video")):
            found.append({"url": f"https://video.bsky.app/watch/{did}/{cid}/playlist.m3u8",
                          "kind": "video", "alt": str(_get(part, "alt") or "")[:500]})
    return tuple(found)


def _blob_cid(blob) -> str:
    ref = _get(blob, "ref")
    return str(_get(ref, "link") or _get(ref, "$link") or _get(blob, "cid") or "")
