"""X (API v2) through ``tweepy`` (the client of ``campaigns.providers.x``: tweepy with the
outbound guard, our address for X and a timeout).

A post: each image is uploaded in chunks (``/2/media/upload`` INIT, APPEND per chunk, FINALIZE,
then STATUS while ``processing_info`` says it is pending), then given its alt text
(``/2/media/metadata``); a video likewise (``amplify_video``), its processing awaited within
``PROCESSING_WAIT``. ``POST /2/tweets`` with the media ids makes the post; the first comment is
a reply to it. X takes up to four images or one video, never both.

Tokens live two hours: before sending, a token that expires within ``REFRESH_WITHIN`` is
refreshed (the channel's row locked meanwhile, since X replaces the refresh token at each
refresh and two workers must not both spend it); a 401 refreshes once and tries again, then
``NeedsReconnect``.

X takes no idempotency key. After an unknown outcome ``find`` reads the account's own timeline
(``GET /2/users/:id/tweets`` from shortly before the send) and matches the text (X answers it
with links shortened to t.co and ``&<>`` escaped: both are undone before comparing); the
timeline is X's own record, so "not there" is an answer and sending again is safe.

Conversations: the account's mentions (``GET /2/users/:id/mentions`` after ``since_id``, every
page, newest first, the cursor the newest id taken; replies to the account's posts mention it);
a reply in a conversation the account started is hidden with ``PUT /2/tweets/:id/hidden``; an
answer is ``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``, once: the account's timeline
since the reply was written is read first, and its own answer to that post with the same text is
taken as it.

Errors: problem+json bodies (``title``, ``detail``, ``type``) become the message; 429 is
transient until ``x-rate-limit-reset``; 403 is X refusing (a duplicate post says so); 5xx on the
post itself is unknown, elsewhere transient.
"""

from __future__ import annotations

import html
import logging
import time
from datetime import UTC, datetime, timedelta

import regex
import requests
import tweepy
from django.utils import timezone

from agency import outbound
from campaigns.providers.x import Client, post_url, problem
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
    register,
)

log = logging.getLogger(__name__)

CHUNK_BYTES = 4 * 1024 * 1024  # X takes segments up to 5 MB
REFRESH_WITHIN = timedelta(minutes=5)
FIND_SLACK = timedelta(minutes=5)
PAGE_SIZE = 100
MAX_PAGES = 4
# Media processing (video; large GIFs): polled as X's check_after_secs asks, at most
# PROCESSING_POLL apart, up to PROCESSING_WAIT (inside the sending lease, as LinkedIn's wait).
PROCESSING_WAIT = 25.0
PROCESSING_POLL = 2.0

_URL_RE = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)


def comparable(text: str) -> str:
    """A post's text as X's answer and ours can both be compared: entities unescaped, every
    link one token (X shortens them to t.co), whitespace collapsed."""
    return " ".join(_URL_RE.sub("<link>", html.unescape(text or "")).split())


def rate_limit_wait(response) -> float | None:
    """Seconds until X's rate-limit window resets (``x-rate-limit-reset``, epoch seconds)."""
    reset = (response.headers.get("x-rate-limit-reset") or "").strip() if response is not None \
        else ""
    if reset.isdigit():
        return max(1.0, int(reset) - time.time())
    return None


@register
class XAdapter(Adapter):
    network = "x"
    resend_is_safe = True  # ``find`` reads X's own timeline of the account

    # -- tokens ---------------------------------------------------------------------------------

    def _token(self, *, force: bool = False) -> str:
        """The channel's access token, refreshed first when it expires within minutes (or
        ``force``: X refused it)."""
        channel = self.channel
        expires = channel.token_expires_at
        if force or (expires is not None and expires - timezone.now() <= REFRESH_WITHIN):
            self._refresh(force=force)
        token = self.channel.get_secret()
        if not token:
            raise NeedsReconnect("The X channel has no access token: reconnect it.")
        return token

    def _refresh(self, *, force: bool) -> None:
        """A new token now (``force``, after X refused the one we have) or when it expires
        within ``REFRESH_WITHIN``."""
        self.renew_token(unless_valid_for=None if force else REFRESH_WITHIN)

    def _client(self, *, force_refresh: bool = False) -> Client:
        if not self.channel.account_id:
            raise Permanent("The X channel has no account: connect it with “Connect account”.")
        return Client(self._token(force=force_refresh), timeout=self.timeout)

    @property
    def username(self) -> str:
        return str((self.channel.settings or {}).get("username")
                   or self.channel.handle or "").lstrip("@")

    # -- errors ---------------------------------------------------------------------------------

    def _error(self, exc: BaseException, *, sent: bool, what: str) -> AdapterError:
        """Our error for tweepy's or the transport's. ``sent``: the request may have made the
        post."""
        if isinstance(exc, AdapterError):
            return exc
        if isinstance(exc, tweepy.HTTPException):
            status, reason = exc.response.status_code, problem(exc)
            if status == 401:
                return NeedsReconnect(f"X no longer accepts the channel's token ({reason}): "
                                      "reconnect the channel.")
            if status == 429:
                wait = rate_limit_wait(exc.response)
                return Transient(f"X is limiting this account's requests ({what}: {reason}); "
                                 "trying again when the limit resets.", retry_after=wait)
            if status == 403:
                return Permanent(f"X refused the post ({what}): {reason}")
            if status >= 500 or status in (408, 425):
                if sent:
                    return Unknown(f"X answered HTTP {status} after the post was sent "
                                   f"({reason}); the post may have been made.")
                return Transient(f"X answered HTTP {status} ({what}): {reason}")
            return Permanent(f"X refused the post ({what}, HTTP {status}): {reason}")
        if isinstance(exc, outbound.Refused):
            return Permanent(f"X ({what}): the address is refused: {exc.message}")
        if isinstance(exc, outbound.AnswerRefused):
            return (Unknown if sent else Transient)(f"X ({what}): {exc.message}")
        if isinstance(exc, requests.ReadTimeout):
            if sent:
                return Unknown(f"X ({what}): no answer within {self.timeout:g} s after the "
                               "post was sent; the post may have been made.")
            return Transient(f"X ({what}): no answer within {self.timeout:g} s.")
        if sent and not outbound.never_sent(exc):
            return Unknown(f"X ({what}): the connection broke after the post was sent "
                           f"({outbound.reason(exc)}); the post may have been made.")
        return Transient(f"X ({what}): could not reach X: {outbound.reason(exc)}")

    # -- the adapter ----------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        if post.videos and post.images:
            raise Permanent("X cannot show images and a video in one post: keep one kind, or "
                            "split them into two posts.")
        if len(post.videos) > 1 or len(post.images) > 4:
            raise Permanent("X takes up to four images or one video a post: remove the others.")
        api = self._client()
        try:
            try:
                media_ids = self._upload_all(api, post)
            except tweepy.Unauthorized:  # X refused the token: renew it once, then again
                api.close()
                api = self._client(force_refresh=True)
                media_ids = self._upload_all(api, post)
            try:
                answer = self._create(api, post, media_ids)
            except tweepy.Unauthorized:  # nothing was made: renew the token once, then again
                api.close()
                api = self._client(force_refresh=True)
                answer = self._create(api, post, media_ids)
            try:
                tweet_id = str(answer["data"]["id"])
            except (KeyError, TypeError) as exc:
                raise Unknown("X accepted the post without saying its id; it will be looked "
                              "up.") from exc
            if post.first_comment.strip():
                self._reply(api, tweet_id, post)
            return Published(remote_id=tweet_id, url=post_url(self.username, tweet_id))
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=False, what="the post") from exc
        finally:
            api.close()

    def _create(self, api: Client, post: Outgoing, media_ids: list[str]) -> dict:
        """``POST /2/tweets``; an unknown outcome is raised as such."""
        body = {"text": post.text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        try:
            return api.request("POST", "/2/tweets", json=body).json()
        except tweepy.Unauthorized:
            raise
        except tweepy.Forbidden as exc:
            earlier = self._earlier_attempt(post) if "duplicate" in problem(exc).lower() \
                else None
            if earlier is None:
                raise self._error(exc, sent=True, what="the post") from exc
            return {"data": {"id": earlier.remote_id}}
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=True, what="the post") from exc
        except ValueError as exc:
            raise Unknown("X's answer to the post could not be read; it will be looked up.") \
                from exc

    def _earlier_attempt(self, post: Outgoing) -> Published | None:
        """After X refused the post as a duplicate: this delivery's own post, made by an earlier
        attempt whose answer was lost (X's timeline can lag behind a post just made, so ``find``
        may have missed it), if the account's timeline since the delivery was made has it."""
        if not post.created_at_us:
            return None
        made = datetime.fromtimestamp(post.created_at_us / 1_000_000, UTC)
        try:
            return self.find(post, since=made)
        except AdapterError:
            return None

    def _reply(self, api: Client, tweet_id: str, post: Outgoing) -> None:
        try:
            api.create_tweet(text=post.first_comment, in_reply_to_tweet_id=tweet_id,
                             user_auth=False)
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            log.warning("X: the first comment of %s did not go out: %s", post.idempotency_key,
                        self._error(exc, sent=False, what="the first comment").message)

    def _upload_all(self, api: Client, post: Outgoing) -> list[str]:
        if post.videos:
            video = post.videos[0]
            return [self._upload(api, video.data, video.mime_type, "amplify_video", "")]
        return [self._upload(api, image.data, image.mime_type,
                             "tweet_gif" if image.mime_type == "image/gif" else "tweet_image",
                             image.alt) for image in post.images]

    def _upload(self, api: Client, data: bytes, mime_type: str, category: str,
                alt: str) -> str:
        what = "a video upload" if category == "amplify_video" else "an image upload"
        try:
            started = api.upload_form("POST", {"command": "INIT", "media_type": mime_type,
                                               "total_bytes": len(data),
                                               "media_category": category})
            media_id = str(started["data"]["id"])
            for index, first in enumerate(range(0, len(data), CHUNK_BYTES)):
                api.upload_form("POST", {"command": "APPEND", "media_id": media_id,
                                         "segment_index": index},
                                media=data[first:first + CHUNK_BYTES])
            done = api.upload_form("POST", {"command": "FINALIZE", "media_id": media_id})
            self._wait_processed(api, media_id, (done.get("data") or {}).get("processing_info"))
            if alt.strip():
                api.media_metadata(media_id, alt[:1000])
        except tweepy.Unauthorized:
            raise
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=False, what=what) from exc
        except (KeyError, ValueError, TypeError) as exc:
            raise Transient(f"X's answer to {what} could not be read.") from exc
        return media_id

    @staticmethod
    def _wait_processed(api: Client, media_id: str, info: dict | None) -> None:
        deadline = time.monotonic() + PROCESSING_WAIT
        while info:
            state = info.get("state")
            if state == "succeeded":
                return
            if state == "failed":
                error = info.get("error") or {}
                raise Permanent("X could not process the media "
                                f"({error.get('message') or error.get('name') or 'failed'}): "
                                "check its format (MP4 H.264/AAC, up to 140 s) and try another "
                                "file.")
            wait = min(float(info.get("check_after_secs") or 1), PROCESSING_POLL)
            if time.monotonic() + wait > deadline:
                raise Transient(f"X was still processing the media ({state}) after "
                                f"{PROCESSING_WAIT:.0f} s; it will be sent again later.")
            time.sleep(wait)
            info = (api.upload_form("GET", {"command": "STATUS", "media_id": media_id})
                    .get("data") or {}).get("processing_info")

    # -- results ----------------------------------------------------------------------------------

    metrics_batch = 100  # GET /2/tweets takes up to 100 ids

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        """``GET /2/tweets?ids=…`` with ``public_metrics``; a post X no longer has is left
        out (X lists it under ``errors``)."""
        try:
            with self._client() as api:
                answer = api.get_tweets(remote_ids, tweet_fields=["public_metrics"],
                                        user_auth=False)
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=False, what="the posts' counts") from exc
        found = {}
        for tweet in answer.data or []:
            shown = tweet.public_metrics or {}
            found[str(tweet.id)] = Counts(
                likes=shown.get("like_count"), reposts=shown.get("retweet_count"),
                replies=shown.get("reply_count"), quotes=shown.get("quote_count"),
                impressions=shown.get("impression_count"), saves=shown.get("bookmark_count"))
        return found

    def followers(self) -> int:
        try:
            with self._client() as api:
                me = api.get_me(user_fields=["public_metrics"], user_auth=False).data
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=False, what="the follower count") from exc
        return int((me.public_metrics or {}).get("followers_count") or 0)

    # -- did it go out? -------------------------------------------------------------------------

    def check_access(self) -> bool:
        """``GET /2/users/me``: 401 once the token is revoked (refreshed first if due)."""
        try:
            with self._client() as api:
                api.get_me(user_auth=False)
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=False, what="the account's record") from exc
        return True

    def find(self, post: Outgoing, *, since) -> Published | None:
        wanted = comparable(post.text)
        moment = since if isinstance(since, datetime) else datetime.now(UTC)
        start = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - FIND_SLACK
        api = self._client()
        token = None
        try:
            for _ in range(MAX_PAGES):
                try:
                    page = api.get_users_tweets(
                        self.channel.account_id, start_time=start, max_results=PAGE_SIZE,
                        pagination_token=token, tweet_fields=["created_at", "attachments"],
                        exclude=["retweets"], user_auth=False)
                except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                        outbound.AnswerRefused) as exc:
                    error = self._error(exc, sent=False, what="the timeline")
                    raise Unknown(f"Could not ask X whether the post is there: {error.message}") \
                        from exc
                for tweet in page.data or []:
                    media = (tweet.attachments or {}).get("media_keys") or []
                    if comparable(tweet.text) == wanted and \
                            len(media) == len(post.images) + len(post.videos):
                        return Published(remote_id=str(tweet.id),
                                         url=post_url(self.username, str(tweet.id)))
                token = (page.meta or {}).get("next_token")
                if not token:
                    return None
        finally:
            api.close()
        raise Unknown(f"X lists more than {MAX_PAGES * PAGE_SIZE} posts of the account since the "
                      "post was sent; cannot tell whether it is among them.")

    # -- conversations ------------------------------------------------------------------------

    MENTION_FIELDS = ["created_at", "conversation_id", "referenced_tweets", "attachments",
                      "author_id"]
    MENTION_PAGES = 5

    def notifications(self, cursor: str) -> NotificationPage:
        found: list[Incoming] = []
        token = None
        try:
            with self._client() as api:
                for _ in range(self.MENTION_PAGES):
                    page = api.get_users_mentions(
                        self.channel.account_id, since_id=cursor or None, max_results=100,
                        pagination_token=token, tweet_fields=self.MENTION_FIELDS,
                        expansions=["author_id"], user_fields=["username", "name"],
                        user_auth=False)
                    users = {str(u.id): u for u in (page.includes or {}).get("users") or []}
                    found.extend(i for tweet in page.data or []
                                 if (i := self._mention(tweet, users)) is not None)
                    token = (page.meta or {}).get("next_token")
                    if not token:
                        break
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=False, what="the mentions") from exc
        found.sort(key=lambda i: int(i.remote_id))
        # Up to MENTION_PAGES pages (500 mentions) between two polls: beyond that the oldest
        # are skipped (X itself keeps only the 800 most recent mentions).
        newest = found[-1].remote_id if found else cursor
        return NotificationPage(items=found, cursor=newest, more=False)

    def _mention(self, tweet, users: dict) -> Incoming | None:
        author = str(tweet.author_id or "")
        if author == str(self.channel.account_id):
            return None
        refs = {str(r["type"]): str(r["id"]) for r in
                (tweet.data.get("referenced_tweets") or [])}
        user = users.get(author)
        username = str(getattr(user, "username", "") or "")
        kind = "reply" if "replied_to" in refs else "quote" if "quoted" in refs else "mention"
        return Incoming(
            notification_id=str(tweet.id), remote_id=str(tweet.id), kind=kind,
            author_id=author, author_handle=f"@{username}" if username else "Someone on X",
            author_name=str(getattr(user, "name", "") or ""), text=html.unescape(tweet.text),
            created_at=tweet.created_at or datetime.now(UTC),
            has_media=bool((tweet.attachments or {}).get("media_keys")),
            remote_url=post_url(username or "i", str(tweet.id)),
            in_reply_to=refs.get("replied_to") or refs.get("quoted") or "",
            thread_root=str(tweet.conversation_id or ""))

    def can_hide(self, item) -> bool:
        # X hides replies only in conversations the account started: under the brand's posts
        return item.kind == "reply" and item.delivery_id is not None

    def hide_reply(self, thread_root: str, remote_id: str, *, hide: bool) -> None:
        try:
            with self._client() as api:
                api.request("PUT", f"/2/tweets/{remote_id}/hidden", json={"hidden": hide})
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=False, what="hiding a reply") from exc

    def reply(self, text: str, *, key: str, to, created_at_us: int = 0,
              reply_id: int = 0) -> Published:
        target = str(to.remote_id)
        written = datetime.fromtimestamp(created_at_us / 1_000_000, UTC) if created_at_us \
            else datetime.now(UTC)
        try:
            with self._client() as api:
                page = api.get_users_tweets(
                    self.channel.account_id, start_time=written - FIND_SLACK,
                    max_results=PAGE_SIZE, tweet_fields=["created_at", "referenced_tweets"],
                    user_auth=False)
                for tweet in page.data or []:
                    refs = tweet.data.get("referenced_tweets") or []
                    if any(r.get("type") == "replied_to" and str(r.get("id")) == target
                           for r in refs) and comparable(tweet.text) == comparable(text):
                        return Published(remote_id=str(tweet.id),
                                         url=post_url(self.username, str(tweet.id)))
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=False, what="reading the thread before answering") \
                from exc
        try:
            with self._client() as api:
                answer = api.request("POST", "/2/tweets", json={
                    "text": text, "reply": {"in_reply_to_tweet_id": target}}).json()
        except (tweepy.TweepyException, requests.RequestException, outbound.Refused,
                outbound.AnswerRefused) as exc:
            raise self._error(exc, sent=True, what="the reply") from exc
        except ValueError as exc:
            raise Unknown("X's answer to the reply could not be read.") from exc
        tweet_id = str((answer.get("data") or {}).get("id") or "")
        if not tweet_id:
            raise Unknown("X accepted the reply without saying its id.")
        return Published(remote_id=tweet_id, url=post_url(self.username, tweet_id))
