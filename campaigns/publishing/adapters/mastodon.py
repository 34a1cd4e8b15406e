"""Mastodon, through Mastodon.py: images and videos with their descriptions, then the status.

Repeats are safe: the status is posted with the delivery's ``Idempotency-Key``, and Mastodon
answers a repeat of a key (for an hour) with the status it already made. ``find`` reads the
account's latest statuses and looks for the text.

Quirks of Mastodon.py 2.x handled here:

- Without a known server version, ``media_post`` asks ``/api/v1/instance`` first (to choose
  between ``/api/v1/media`` and ``/api/v2/media``). A version is declared instead; Mastodon.py
  only reads a declared version in the "created" check mode, which then checks each call against
  the version the endpoint appeared in (all of ours are from 1.x).
- Every failure to get an answer is a ``MastodonNetworkError`` whose message is the text of the
  ``requests`` error; the ``requests`` error itself is its ``__context__`` (raised inside an
  ``except`` block, without ``from``). That tells a refused connection from a read timeout.
- With ``ratelimit_method="throw"`` a 429 raises ``MastodonRatelimitError('Hit rate limit.')``
  with no status or headers: the answer is read from a response hook on our own session.
- HTTP errors are ``MastodonAPIError(message, status, reason, error)``; ``error`` is the
  ``"error"`` field of Mastodon's JSON answer.
"""

from __future__ import annotations

import html
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
)

from agency import outbound
from campaigns.publishing.adapters import (
    Adapter,
    AdapterError,
    Counts,
    Incoming,
    NeedsReconnect,
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

DECLARED_VERSION = "4.0.0"  # any version since 3.1.4 makes media go to /api/v2/media
USER_AGENT = "agency-platform-publisher/1 (Mastodon.py)"
PAGE_SIZE = 40  # the most Mastodon gives in one page
MAX_PAGES = 5
FIND_SLACK = timedelta(minutes=5)  # server clocks differ; statuses carry the server's time
# A video is processed by the server after its upload (202, no ``url`` yet); a status cannot
# carry it until that is done. Asked every PROCESSING_POLL seconds, up to PROCESSING_WAIT: with
# the upload and the status call (each within the send timeout, 20 s) that stays inside the
# sending lease (send timeout + 60 s), so no other worker takes the delivery meanwhile. A server
# still busy makes the attempt transient: it is tried again later.
PROCESSING_WAIT = 25.0
PROCESSING_POLL = 2.0

_TAG_RE = re.compile(r"<[^>]*>")
_BREAK_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH_END_RE = re.compile(r"</p\s*>", re.IGNORECASE)
_REMOTE_MENTION_RE = re.compile(r"(?<![\w@])@(\w+)@[\w.-]+\w")


def plain_text(content: str) -> str:
    """The text of a status's HTML: paragraphs and line breaks become spaces, tags go, entities
    are decoded (links keep their full address: Mastodon hides parts of it in spans)."""
    text = _PARAGRAPH_END_RE.sub("\n\n", _BREAK_RE.sub("\n", content or ""))
    return html.unescape(_TAG_RE.sub("", text))


def normalise(text: str) -> str:
    """For comparing texts: whitespace collapsed, remote mentions as Mastodon shows them."""
    text = _REMOTE_MENTION_RE.sub(lambda m: "@" + m.group(1), text)
    return " ".join(text.split())


def _aware(moment) -> datetime | None:
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds_until(value: str | None) -> float | None:
    """Retry-After (seconds or HTTP-date) or X-RateLimit-Reset (ISO 8601) as seconds from now."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    moment = _aware(value)
    if moment is None:
        try:
            moment = _aware(parsedate_to_datetime(value))
        except (TypeError, ValueError):
            return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds()) if moment else None


@register
class MastodonAdapter(Adapter):
    network = "mastodon"
    resend_is_safe = True  # the Idempotency-Key makes Mastodon answer a repeat with the same status

    # -- the client -----------------------------------------------------------------------------

    def _api(self) -> Mastodon:
        if not self.channel.endpoint:
            raise Permanent("The Mastodon channel has no server address: set it on the channel, "
                            "e.g. https://mastodon.social.")
        token = self.channel.get_secret()
        if not token:
            raise Permanent("The Mastodon channel has no access token: set one on the channel.")
        # Through the outbound guard: the server's address checked at each request, no
        # redirects, answers capped.
        session = outbound.session()
        session.last_response = None  # the latest answer, for headers Mastodon.py does not keep

        def remember(response, *args, **kwargs):
            session.last_response = response
            if response.is_redirect:  # Mastodon.py would read it as an (empty) success
                raise outbound.Refused(
                    f"it answered HTTP {response.status_code}, a redirect (redirects are not "
                    "followed: give the server's final address).")

        session.hooks["response"].append(remember)
        return Mastodon(access_token=token, api_base_url=self.channel.endpoint,
                        request_timeout=self.timeout, ratelimit_method="throw",
                        mastodon_version=DECLARED_VERSION, version_check_mode="created",
                        session=session, user_agent=USER_AGENT)

    @staticmethod
    def _headers(api: Mastodon):
        response = getattr(api.session, "last_response", None)
        return response.headers if response is not None else {}

    def _retry_after(self, api: Mastodon) -> float | None:
        """Retry-After if sent; else Mastodon's X-RateLimit-Reset, as Mastodon.py read it
        (corrected by the server's Date for clock skew), or as the header says."""
        headers = self._headers(api)
        seconds = _seconds_until(headers.get("Retry-After"))
        if seconds is None and api.ratelimit_reset:
            seconds = max(0.0, api.ratelimit_reset - time.time())
        if seconds is None:
            seconds = _seconds_until(headers.get("X-RateLimit-Reset"))
        return seconds

    def _error(self, api: Mastodon, exc: MastodonError, *, sent: bool) -> AdapterError:
        """Our error for Mastodon.py's. ``sent``: the request may have made the post (a status
        post); a broken answer to anything else only means nothing was published yet."""
        where = self.channel.endpoint
        if isinstance(exc, MastodonRatelimitError):
            return Transient(f"Mastodon ({where}) is rate limiting this account; trying later.",
                             retry_after=self._retry_after(api))
        if isinstance(exc, MastodonNetworkError):
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, outbound.Refused):
                return Permanent(f"The Mastodon server's address is refused: {cause.message}")
            if isinstance(cause, outbound.AnswerRefused):
                if sent:
                    return Unknown(f"Mastodon ({where}): {cause.message} The post may have been "
                                   "made.")
                return Permanent(f"Mastodon ({where}): {cause.message}")
            if isinstance(cause, requests.ReadTimeout) and sent:
                return Unknown(f"No answer from Mastodon ({where}) within {self.timeout:g} s "
                               "after the post was sent.")
            if outbound.never_sent(cause) or not sent:
                return Transient(f"Could not reach Mastodon ({where}): {cause or exc}")
            return Unknown(f"The connection to Mastodon ({where}) broke after the post was "
                           f"sent: {cause or exc}")
        if isinstance(exc, MastodonAPIError) and len(exc.args) >= 4 \
                and isinstance(exc.args[1], int):
            status, reason, message = exc.args[1], exc.args[2], exc.args[3]
            reason_text = outbound.excerpt(str(message or reason or "no reason given"))
            kind = http_error(status, reason_text,
                              retry_after=self._headers(api).get("Retry-After"))
            if status == 401:  # revoked, or the account's password changed: nothing was made
                return NeedsReconnect(f"Mastodon ({where}) no longer takes the channel's access "
                                      f"token ({reason_text}): reconnect the channel.")
            if status == 403:
                text = f"Mastodon ({where}) refused the access token: {reason_text}"
            elif isinstance(kind, Transient) and sent and status != 429:
                # A proxy's 502/504 (or a 500) can come after Mastodon made the status: ask.
                return Unknown(f"Mastodon ({where}) answered HTTP {status} after the post was "
                               f"sent: {reason_text}")
            elif isinstance(kind, Transient):
                text = f"Mastodon ({where}) answered HTTP {status}: {reason_text}"
            else:
                text = f"Mastodon refused the post (HTTP {status}): {reason_text}"
            return type(kind)(text, retry_after=kind.retry_after)
        # Mastodon.py's message repeats an unreadable answer whole: it is not passed on.
        if isinstance(exc, MastodonAPIError) and sent:
            # e.g. a 200 whose body is not JSON: the post may well be there
            return Unknown(f"Mastodon ({where}) gave an answer that could not be read (not the "
                           "JSON expected).")
        if isinstance(exc, MastodonAPIError):
            return Transient(f"Mastodon ({where}) gave an answer that could not be read (not "
                             "the JSON expected).")
        return Permanent(f"Mastodon.py refused the request: {outbound.excerpt(str(exc))}")

    # -- the adapter ----------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        api = self._api()
        try:
            media_ids = []
            for image in post.images:
                try:
                    media = api.media_post(image.data, mime_type=image.mime_type,
                                           description=image.alt or None,
                                           file_name=image.name or None)
                except MastodonError as exc:
                    raise self._error(api, exc, sent=False) from exc
                media_ids.append(media["id"])
            for video in post.videos:
                try:
                    media = api.media_post(video.data, mime_type=video.mime_type,
                                           description=video.description or None,
                                           file_name=video.name or None)
                    self._wait_processed(api, media)
                except MastodonError as exc:
                    raise self._error(api, exc, sent=False) from exc
                media_ids.append(media["id"])
            try:
                status = api.status_post(post.text, media_ids=media_ids or None,
                                         idempotency_key=post.idempotency_key)
            except MastodonError as exc:
                raise self._error(api, exc, sent=True) from exc
            published = Published(remote_id=str(status["id"]),
                                  url=str(status.get("url") or status.get("uri") or "")[:500])
            if post.first_comment.strip():
                try:
                    api.status_post(post.first_comment, in_reply_to_id=status["id"],
                                    idempotency_key=post.idempotency_key + "-c")
                except MastodonError as exc:
                    log.warning("Mastodon: the first comment of %s did not go out: %s",
                                post.idempotency_key, self._error(api, exc, sent=True).message)
            return published
        finally:
            api.session.close()

    @staticmethod
    def _wait_processed(api: Mastodon, media) -> None:
        """Until the server has processed an upload (videos are processed after the upload is
        answered); a server still busy after PROCESSING_WAIT makes the attempt transient."""
        deadline = time.monotonic() + PROCESSING_WAIT
        while media.get("url") is None:
            if time.monotonic() > deadline:
                raise Transient(f"Mastodon was still processing the video after "
                                f"{PROCESSING_WAIT:.0f} s; it will be sent again later.")
            time.sleep(PROCESSING_POLL)
            media = api.media(media["id"])

    @staticmethod
    def _same(post: Outgoing, status, wanted_text: str) -> bool:
        """The same text (as Mastodon shows it) and the same images and videos, by their
        descriptions, in order."""
        if normalise(plain_text(status.get("content") or "")) != wanted_text:
            return False
        descriptions = [(m.get("description") or "").strip()
                        for m in status.get("media_attachments") or []]
        return descriptions == [(image.alt or "").strip() for image in post.images] + [
            (video.description or "").strip() for video in post.videos]

    def check_access(self) -> bool:
        """``GET /api/v1/accounts/verify_credentials``: 401 once the token is revoked."""
        api = self._api()
        try:
            api.account_verify_credentials()
        except MastodonError as exc:
            raise self._error(api, exc, sent=False) from exc
        finally:
            api.session.close()
        return True

    def find(self, post: Outgoing, *, since) -> Published | None:
        api = self._api()
        wanted = normalise(post.text)
        cutoff = (_aware(since) or datetime.now(UTC)) - FIND_SLACK
        try:
            account = api.account_verify_credentials()
            max_id = None
            for _ in range(MAX_PAGES):
                page = api.account_statuses(account["id"], limit=PAGE_SIZE, max_id=max_id,
                                            exclude_reblogs=True)
                for status in page:
                    created = _aware(status.get("created_at"))
                    if created is not None and created < cutoff:
                        return None  # newest first: everything further back is older
                    if self._same(post, status, wanted):
                        return Published(remote_id=str(status["id"]),
                                         url=str(status.get("url") or status.get("uri") or ""))
                if len(page) < PAGE_SIZE:
                    return None
                max_id = page[-1]["id"]
        except MastodonError as exc:
            raise Unknown("Could not ask Mastodon whether the post is there: "
                          f"{self._error(api, exc, sent=False).message}") from exc
        finally:
            api.session.close()
        raise Unknown(f"Mastodon shows more than {MAX_PAGES * PAGE_SIZE} statuses since the "
                      "post was sent; cannot tell whether it is among them.")

    # -- results --------------------------------------------------------------------------------

    # Mastodon has no batch read of statuses: one GET /api/v1/statuses/:id each, in one session.
    metrics_batch = 20

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        """Favourites, boosts and replies of each status (``quotes_count`` where the server
        gives it, Mastodon 4.5 on). A status the server no longer has (404) is left out."""
        api = self._api()
        found: dict[str, Counts] = {}
        try:
            for remote_id in remote_ids:
                try:
                    status = api.status(remote_id)
                except MastodonAPIError as exc:
                    if len(exc.args) >= 2 and exc.args[1] in (404, 410):
                        continue  # deleted on the network
                    error = self._error(api, exc, sent=False)
                    error.partial = found
                    raise error from exc
                except MastodonError as exc:
                    error = self._error(api, exc, sent=False)
                    error.partial = found
                    raise error from exc
                found[str(remote_id)] = Counts(
                    likes=int(status.get("favourites_count") or 0),
                    reposts=int(status.get("reblogs_count") or 0),
                    replies=int(status.get("replies_count") or 0),
                    quotes=(int(status["quotes_count"]) if status.get("quotes_count") is not None
                            else None))
            return found
        finally:
            api.session.close()

    def followers(self) -> int:
        api = self._api()
        try:
            return int(api.account_verify_credentials().get("followers_count") or 0)
        except MastodonError as exc:
            raise self._error(api, exc, sent=False) from exc
        finally:
            api.session.close()

    # -- conversations --------------------------------------------------------------------------

    def notifications(self, cursor: str) -> NotificationPage:
        """``GET /api/v1/notifications?types[]=mention&min_id=<cursor>``: the page of mentions
        (replies to the account's posts are mentions too) just after the cursor. Mastodon gives
        that page newest first; it is returned oldest first, with the newest id as cursor."""
        api = self._api()
        try:
            # min_id 0 the first time: from the oldest, page by page, so none is skipped.
            page = api.notifications(types=["mention"], min_id=cursor or "0", limit=PAGE_SIZE)
        except MastodonError as exc:
            raise self._error(api, exc, sent=False) from exc
        finally:
            api.session.close()
        items = []
        for notification in sorted(page, key=lambda n: int(n["id"])):
            status = notification.get("status")
            if not status:
                continue
            account = notification.get("account") or status.get("account") or {}
            items.append(Incoming(
                notification_id=str(notification["id"]), remote_id=str(status["id"]),
                kind="reply" if status.get("in_reply_to_id") else "mention",
                author_id=str(account.get("id") or ""),
                author_handle="@" + str(account.get("acct") or account.get("username") or "?"),
                author_name=str(account.get("display_name") or ""),
                text=plain_text(status.get("content") or "").strip(),
                created_at=_aware(status.get("created_at")) or datetime.now(UTC),
                has_media=bool(status.get("media_attachments")),
                media=_incoming_media(status.get("media_attachments") or []),
                remote_url=str(status.get("url") or status.get("uri") or "")[:500],
                in_reply_to=str(status.get("in_reply_to_id") or "")))
        newest = max((int(n["id"]) for n in page), default=None)
        return NotificationPage(items=items, cursor=str(newest) if newest else cursor,
                                more=len(page) >= PAGE_SIZE)

    def reply(self, text: str, *, key: str, to, created_at_us: int = 0,
              reply_id: int = 0) -> Published:
        """A status in reply to ``to.remote_id``, with ``key`` as its Idempotency-Key: a repeat
        gets the status already made."""
        api = self._api()
        try:
            status = api.status_post(text, in_reply_to_id=to.remote_id, idempotency_key=key)
        except MastodonError as exc:
            raise self._error(api, exc, sent=True) from exc
        finally:
            api.session.close()
        return Published(remote_id=str(status["id"]),
                         url=str(status.get("url") or status.get("uri") or "")[:500])

    def moderate_author(self, author_id: str, what: str, *, undo: bool = False) -> None:
        """Mute or block (``what``) an author, or undo it (Mastodon cannot hide replies on
        others' posts: this is what a brand can do)."""
        api = self._api()
        calls = {("mute", False): api.account_mute, ("mute", True): api.account_unmute,
                 ("block", False): api.account_block, ("block", True): api.account_unblock}
        try:
            calls[(what, undo)](author_id)
        except MastodonError as exc:
            raise self._error(api, exc, sent=False) from exc
        finally:
            api.session.close()


def _incoming_media(attachments: list) -> tuple:
    """A status's photos and videos as ``Incoming.media`` (gifv counts as a video)."""
    kinds = {"image": "image", "video": "video", "gifv": "video"}
    found = []
    for attachment in attachments:
        url = str(attachment.get("url") or attachment.get("remote_url") or "")
        if attachment.get("type") in kinds and url.startswith(("https://", "http://")):
            found.append({"url": url[:500], "kind": kinds[attachment["type"]],
                          "alt": str(attachment.get("description") or "")[:500]})
    return tuple(found)
