"""YouTube channels, through the Data API v3 with Google's own client
(``google-api-python-client``; the client and the provider in ``campaigns.providers.youtube``).

A post is one video: ``videos.insert`` over the resumable upload protocol, in chunks
(``CHUNK_SIZE``, a multiple of 256 KiB as Google asks). A chunk whose connection breaks, or that
gets a 5xx, is not sent again from the start: the library asks the upload session how far it got
(``PUT`` with ``Content-Range: bytes */size``, answered ``308`` with ``Range``) and goes on from
the byte the server confirms (``RESUMES`` times per send); a later try of the same post goes on
with the same session (kept, encrypted, in ``Channel.settings["uploads"]`` until the upload is
done), so neither the bytes nor the upload's quota are spent twice. The title is the post's
"Video title" option, else its first line; the description is the post's text; privacy
(public, unlisted, private) and "made for kids" are the channel's settings (``privacy``,
``made_for_kids``; public and not for kids unless set). The post's first image, if
any, becomes the video's thumbnail (``thumbnails.set``; a channel YouTube has not allowed custom
thumbnails keeps YouTube's own, and the video is published all the same).

The daily quota: YouTube counts units per call (``COST``, from its quota table: an upload 1,600,
a thumbnail 50, a list 1), 10,000 a day by default (``YOUTUBE_DAILY_QUOTA``), reset at midnight
Pacific time. What each channel spent today is kept in ``Channel.settings["quota"]``. A post that
would not fit in its day's quota (the channel's earlier posts that day, and what was spent
already) is refused ahead of its time with the reason (``refuse_over_quota``): when it enters
the outbox, and in the hourly access check; a send that finds the quota spent waits for the
reset.

After an unknown outcome ``find`` reads the channel's uploads playlist (``playlistItems.list``,
newest first) for a video with the post's title and description published since the send;
the playlist is YouTube's own record of the channel's uploads, so "not there" is an answer.

Errors: Google's body ``{error: {code, message, errors: [{reason}]}}``. ``quotaExceeded`` waits
for the quota's reset, ``rateLimitExceeded`` / ``userRateLimitExceeded`` / 429 for the
network's ``Retry-After`` or the outbox's backoff; 401 (after google-auth tried to renew the
token) needs reconnecting, as does a refresh Google refuses (``invalid_grant``);
``uploadLimitExceeded``, ``forbidden`` and other 4xx are refusals with YouTube's reason.
"""

from __future__ import annotations

import io
import logging
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import google.auth.exceptions
import requests
from django.conf import settings as django_settings
from django.db import transaction
from django_tenants.utils import tenant_context
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from agency import crypto, outbound
from campaigns.models import Channel
from campaigns.providers.youtube import (
    close,
    credentials,
    describe_transport,
    error_reason,
    expiry_of,
    service,
    video_url,
)
from campaigns.publishing import transitions
from campaigns.publishing.adapters import (
    Adapter,
    AdapterError,
    Counts,
    Image,
    Incoming,
    NeedsReconnect,
    NotificationPage,
    Outgoing,
    Permanent,
    Published,
    Transient,
    Unknown,
    register,
    reply_target,
)
from campaigns.publishing.models import Delivery, EventKind, State
from tenants.models import current_client

log = logging.getLogger(__name__)

PACIFIC = ZoneInfo("America/Los_Angeles")
CHUNK_SIZE = 8 * 256 * 1024  # 2 MiB: a multiple of 256 KiB, as the resumable protocol asks
RESUMES = 5  # broken chunks resumed within one send
RESUME_PAUSE = 0.5  # seconds, times the resume's number (Google: back off before resuming)
# YouTube's quota table (developers.google.com/youtube/v3/determine_quota_cost)
COST = {"videos.insert": 1600, "thumbnails.set": 50, "channels.list": 1,
        "playlistItems.list": 1, "videos.list": 1}
DEFAULT_DAILY_QUOTA = 10_000
TITLE_MAX = 100  # characters
DESCRIPTION_MAX_BYTES = 5000
PAGE_SIZE = 50
MAX_PAGES = 4
FIND_SLACK = timedelta(minutes=5)
PRIVACY = ("public", "unlisted", "private")
RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")


# -- title and description ------------------------------------------------------------------------


def _clean(text: str) -> str:
    """YouTube refuses ``<`` and ``>`` in titles and descriptions: the nearest look-alikes."""
    return text.replace("<", "‹").replace(">", "›")


def title_for(text: str, campaign_title: str = "", chosen: str = "") -> str:
    """The video's title: the one chosen for the post, else the post's first line, else the
    campaign's title; at most 100 characters, cut at a word."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = " ".join(_clean(chosen or first or campaign_title or "Video").split())
    if len(title) > TITLE_MAX:
        cut = title[:TITLE_MAX - 1].rsplit(" ", 1)[0] or title[:TITLE_MAX - 1]
        title = cut.rstrip(" ,.;:-") + "…"
    return title


def description_for(text: str) -> str:
    description = _clean(text).strip()
    encoded = description.encode()
    if len(encoded) > DESCRIPTION_MAX_BYTES:  # the rules refuse this before approval
        description = encoded[:DESCRIPTION_MAX_BYTES].decode("utf-8", "ignore")
    return description


def post_options(post: Outgoing) -> dict:
    """This post's YouTube options (``Outgoing.options``, where the platform has them)."""
    options = getattr(post, "options", None) or {}
    return options if isinstance(options, dict) else {}


# -- the daily quota ------------------------------------------------------------------------------


def daily_quota(channel=None) -> int:
    """Units a day: the channel's own (``settings["daily_quota"]``, where Google granted its
    project more), else ``YOUTUBE_DAILY_QUOTA``, else YouTube's default 10,000."""
    own = ((getattr(channel, "settings", None) or {}).get("daily_quota")) if channel else None
    return int(own or getattr(django_settings, "YOUTUBE_DAILY_QUOTA", 0) or DEFAULT_DAILY_QUOTA)


def pacific_day(moment: datetime | None = None) -> date:
    return (moment or datetime.now(UTC)).astimezone(PACIFIC).date()


def seconds_to_reset(now: datetime | None = None) -> float:
    """Until the next midnight Pacific time, when YouTube's quotas reset."""
    now = (now or datetime.now(UTC)).astimezone(PACIFIC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=PACIFIC)
    return max(1.0, (midnight - now).total_seconds())


def cost_of(*, images: int) -> int:
    """Units one post spends: the upload, and the thumbnail where it has an image."""
    return COST["videos.insert"] + (COST["thumbnails.set"] if images else 0)


def used_today(channel) -> int:
    quota = (channel.settings or {}).get("quota") or {}
    return int(quota.get("used") or 0) if quota.get("day") == pacific_day().isoformat() else 0


def spend(channel, units: int, *, exhausted: bool = False) -> None:
    """Count ``units`` against the channel's quota today (``exhausted``: YouTube said it is
    spent). Kept on the channel row, under its lock."""
    today = pacific_day().isoformat()

    def add(current: dict) -> dict:
        quota = dict((current or {}).get("quota") or {})
        used = int(quota.get("used") or 0) if quota.get("day") == today else 0
        used = max(used + units, daily_quota(channel) if exhausted else 0)
        return {**(current or {}), "quota": {"day": today, "used": used}}

    _change_settings(channel, add)


def _change_settings(channel, change) -> None:
    """``channel.settings = change(settings)`` on the row, under its lock (workers of other
    posts to the channel change it too)."""
    if channel.pk is None:
        channel.settings = change(channel.settings)
        return
    with transaction.atomic():
        row = Channel.objects.select_for_update().only("settings").get(pk=channel.pk)
        channel.settings = change(row.settings)
        Channel.objects.filter(pk=channel.pk).update(settings=channel.settings)


KEPT_SESSIONS = 20


def keep_session(channel, key: str, uri: str | None, size: int = 0) -> None:
    """Remember (``uri``) or forget (None) the upload session of the post with idempotency key
    ``key``, so that a later try goes on where this one stopped (YouTube keeps a session a
    week) instead of uploading again from the start."""
    def change(current: dict) -> dict:
        sessions = dict((current or {}).get("uploads") or {})
        sessions.pop(key, None)
        if uri:
            # A session's address lets whoever holds it go on with the upload: kept encrypted.
            sessions[key] = {"uri": crypto.encrypt(uri), "size": size}
            sessions = dict(list(sessions.items())[-KEPT_SESSIONS:])
        return {**(current or {}), "uploads": sessions}

    _change_settings(channel, change)


def kept_session(channel, key: str, size: int) -> str:
    found = ((channel.settings or {}).get("uploads") or {}).get(key) or {}
    if found.get("size") != size or not found.get("uri"):
        return ""
    try:
        return crypto.decrypt(str(found["uri"]))
    except ValueError:  # the key that encrypted it is gone: the upload starts again
        return ""


def _delivery_cost(delivery: Delivery) -> int:
    return cost_of(images=len((delivery.content or {}).get("images") or []))


def over_quota(channel) -> list[tuple[Delivery, str]]:
    """The channel's scheduled posts that would not fit in their day's quota, each with the
    reason: walking each Pacific day's posts in time order, what was spent today and the
    earlier posts of the day come first."""
    client = current_client()
    if client is None or channel.pk is None:
        return []
    limit, today = daily_quota(channel), pacific_day()
    planned: dict[date, int] = {}
    refused = []
    deliveries = (Delivery.objects.filter(client=client, channel_id=channel.pk,
                                          state=State.SCHEDULED, hold__isnull=True)
                  .order_by("publish_at", "id"))
    for delivery in deliveries:
        day = max(pacific_day(delivery.publish_at), today)
        before = planned.get(day, used_today(channel) if day == today else 0)
        cost = _delivery_cost(delivery)
        if before + cost > limit:
            refused.append((delivery, (
                f"YouTube's daily quota would be used up: this channel may spend {limit:,} "
                f"units a day (Pacific time) and an upload costs {cost:,}; on "
                f"{day:%A %d %B} {'what was spent today and ' if day == today else ''}the "
                f"channel's earlier posts take {before:,}. Move this post to another day, or "
                "raise the quota (YOUTUBE_DAILY_QUOTA, after Google grants more).")))
            continue
        planned[day] = before + cost
    return refused


def refuse_over_quota(channel) -> int:
    """Refuse now, with the reason, each scheduled post that would exceed its day's quota.
    Returns how many were refused."""
    refused = 0
    for delivery, reason in over_quota(channel):
        refused += transitions.refuse_ahead(delivery.pk, reason)
    return refused


def _on_delivery_changed(sender, delivery_id, kind, network=None, **kwargs) -> None:
    """A YouTube post entering the outbox (approval) or moved: its day's quota is checked now,
    so a post that would exceed it is refused when it is approved, not at its time. Another
    network's delivery is passed over by the ``network`` the signal carries, without a query."""
    if network != YouTubeAdapter.network or kind not in (
            EventKind.CREATED, EventKind.RESCHEDULED, EventKind.RESUMED):
        return
    delivery = (Delivery.objects.filter(pk=delivery_id, network=YouTubeAdapter.network)
                .select_related("client").first())
    if delivery is None:
        return
    try:
        with tenant_context(delivery.client):  # on commit, the brand's schema may be left
            channel = Channel.objects.filter(pk=delivery.channel_id).first()
            if channel is not None:
                refuse_over_quota(channel)
    except Exception:  # noqa: BLE001 - the hourly check plans again; the approval stands
        log.exception("YouTube: the quota plan of channel %s failed", delivery.channel_id)


transitions.delivery_changed.connect(_on_delivery_changed, dispatch_uid="youtube_quota_plan")


# -- the adapter ----------------------------------------------------------------------------------


@register
class YouTubeAdapter(Adapter):
    network = "youtube"
    resend_is_safe = True  # ``find`` reads the channel's own uploads playlist

    def _api(self):
        if not self.channel.account_id:
            raise Permanent("The YouTube channel has no account: connect it with “Connect "
                            "account” and pick the channel to upload to.")
        if not self.channel.get_secret() and not self.channel.get_refresh_token():
            raise NeedsReconnect("The YouTube channel has no access token: reconnect it.")
        self._creds = credentials(self.channel)
        self._token_before = self._creds.token
        return service(self._creds, timeout=self.timeout)

    def _done(self, api) -> None:
        """Close the client; keep a token google-auth renewed meanwhile (encrypted)."""
        close(api)
        creds = getattr(self, "_creds", None)
        if creds is None or not creds.token or creds.token == self._token_before:
            return
        self.channel.set_secret(creds.token)
        self.channel.token_expires_at = expiry_of(creds)
        if self.channel.pk is not None:
            Channel.objects.filter(pk=self.channel.pk).update(
                secret_encrypted=self.channel.secret_encrypted,
                secret_hint=self.channel.secret_hint,
                token_expires_at=self.channel.token_expires_at)

    def _error(self, exc: BaseException, *, sent: bool, what: str) -> AdapterError:
        """Our error for what the client raised. ``sent``: the request may have made the
        video."""
        if isinstance(exc, google.auth.exceptions.RefreshError):
            text = outbound.excerpt(str(exc.args[0] if exc.args else exc))
            creds = getattr(self, "_creds", None)
            if creds is not None and not creds.refresh_token:
                return NeedsReconnect("The YouTube channel's access expired and it has no "
                                      "refresh token: reconnect the channel.")
            if "invalid_grant" in str(exc) or "invalid_client" in str(exc):
                return NeedsReconnect(f"Google refused to renew the channel's access ({text}): "
                                      "reconnect the channel.")
            return Transient(f"Could not renew the YouTube channel's access ({what}): {text}")
        if isinstance(exc, HttpError):
            return self._http_error(exc, sent=sent, what=what)
        if isinstance(exc, outbound.Refused):
            return Permanent(f"YouTube ({what}): {exc.message}")
        text = describe_transport(exc)
        if sent and not outbound.never_sent(exc):
            return Unknown(f"YouTube ({what}): {text} after the video was sent; it may have "
                           "been published.")
        return Transient(f"YouTube ({what}): {text}")

    def _http_error(self, exc: HttpError, *, sent: bool, what: str) -> AdapterError:
        status = exc.resp.status
        reason, message = error_reason(exc)
        said = f"{reason}: {message}" if reason and message else (message or reason
                                                                   or f"HTTP {status}")
        if status == 401:
            return NeedsReconnect(f"YouTube no longer accepts the channel's token ({said}): "
                                  "reconnect the channel.")
        if reason == "quotaExceeded":
            spend(self.channel, 0, exhausted=True)
            return Transient(f"YouTube's daily quota is used up ({what}); trying again after "
                             "midnight Pacific time, when it resets.",
                             retry_after=seconds_to_reset())
        if status == 429 or reason in RATE_REASONS:
            retry = exc.resp.get("retry-after")
            try:
                wait = float(retry) if retry else None
            except ValueError:
                wait = None
            return Transient(f"YouTube is limiting this app's requests ({what}: {said}); "
                             "trying later.", retry_after=wait)
        if reason == "uploadLimitExceeded":
            return Permanent(f"YouTube refused the upload: the channel has uploaded as many "
                             f"videos as YouTube allows for now ({said}). Send it later, "
                             "when YouTube lifts the limit.")
        if status >= 500 or status in (408, 425):
            if sent:
                return Unknown(f"YouTube answered HTTP {status} after the video was sent "
                               f"({said}); it may have been published.")
            return Transient(f"YouTube answered HTTP {status} ({what}): {said}")
        if status == 403:
            return Permanent(f"YouTube refused ({what}, HTTP 403 {said}). The Google account "
                             "that connected the channel may have lost access to it: "
                             "reconnect it as the channel's owner or manager.")
        return Permanent(f"YouTube refused the video ({what}, HTTP {status}): {said}")

    # -- publish --------------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        if not post.videos:
            raise Permanent("YouTube takes videos only: add a video to this post, or send it "
                            "to another channel.")
        if len(post.videos) > 1:
            raise Permanent("YouTube takes one video a post: remove the others.")
        cost = cost_of(images=len(post.images))
        if used_today(self.channel) + cost > daily_quota(self.channel):
            raise Transient(f"YouTube's daily quota for this channel is used up "
                            f"({used_today(self.channel):,} of {daily_quota(self.channel):,} "
                            "units spent today); the upload waits for midnight Pacific time, "
                            "when it resets.", retry_after=seconds_to_reset())
        video = post.videos[0]
        options = post_options(post)
        channel_settings = self.channel.settings or {}
        privacy = str(channel_settings.get("privacy") or "public")
        body = {
            "snippet": {"title": title_for(post.text, post.campaign_title,
                                           str(options.get("title") or "")),
                        "description": description_for(post.text),
                        "tags": [t for t in post.tags if t][:30], "categoryId": "22"},
            "status": {"privacyStatus": privacy if privacy in PRIVACY else "public",
                       "selfDeclaredMadeForKids": bool(channel_settings.get("made_for_kids")),
                       "embeddable": True},
        }
        try:
            api = self._api()
        except google.auth.exceptions.GoogleAuthError as exc:
            raise self._error(exc, sent=False, what="the token") from exc
        try:
            media = MediaIoBaseUpload(io.BytesIO(video.data), mimetype=video.mime_type
                                      or "video/mp4", chunksize=CHUNK_SIZE, resumable=True)
            request = api.videos().insert(part="snippet,status", body=body, media_body=media,
                                          notifySubscribers=True)
            answer = self._upload(request, len(video.data), post.idempotency_key)
            video_id = str(answer.get("id") or "")
            if not video_id:
                raise Unknown("YouTube took the upload without saying the video's id; it will "
                              "be looked up.")
            status = (answer.get("status") or {}).get("uploadStatus", "uploaded")
            if status in ("rejected", "failed"):
                why = (answer.get("status") or {}).get("rejectionReason") \
                    or (answer.get("status") or {}).get("failureReason") or status
                raise Permanent(f"YouTube {status} the video ({why}): check the file and "
                                "its rights, then send it again.")
            if post.images:
                self._thumbnail(api, video_id, post.images[0])
            return Published(remote_id=video_id, url=video_url(video_id))
        finally:
            self._done(api)

    def _upload(self, request, size: int, key: str) -> dict:
        """The resumable upload, chunk by chunk; a broken chunk is resumed from the byte the
        server confirms, also on a later try of the same post (its session is kept on the
        channel). Returns the video resource YouTube answered."""
        kept = kept_session(self.channel, key, size)
        if kept:
            # An earlier try opened this session: ask it how far it got and go on from there
            # (the library's own state after a broken chunk).
            request.resumable_uri = kept
            request._in_error_state = True
        else:
            spend(self.channel, COST["videos.insert"])  # counted by YouTube even if it fails
        resumes = 0
        while True:
            in_flight = request.resumable_progress + CHUNK_SIZE >= size
            opened = request.resumable_uri is not None
            try:
                _, answer = request.next_chunk()
            except HttpError as exc:
                started = request.resumable_uri is not None
                if started and exc.resp.status >= 500 and resumes < RESUMES:
                    resumes += 1
                    time.sleep(RESUME_PAUSE * resumes)
                    continue
                if started and exc.resp.status == 404:
                    keep_session(self.channel, key, None)
                    raise Transient("YouTube's upload session expired; the upload starts "
                                    "again.") from exc
                if exc.resp.status < 500:
                    keep_session(self.channel, key, None)
                raise self._error(exc, sent=started and in_flight, what="the upload") from exc
            except (requests.RequestException, outbound.AnswerRefused, outbound.Refused,
                    OSError) as exc:
                if request.resumable_uri is None:  # the session was not opened: nothing made
                    raise self._error(exc, sent=False, what="opening the upload") from exc
                if resumes < RESUMES and not isinstance(exc, outbound.Refused):
                    resumes += 1
                    log.info("YouTube: a chunk broke (%s); resuming from the byte the server "
                             "holds", describe_transport(exc))
                    time.sleep(RESUME_PAUSE * resumes)
                    continue
                raise self._error(exc, sent=in_flight, what="the upload") from exc
            except google.auth.exceptions.GoogleAuthError as exc:
                raise self._error(exc, sent=False, what="the token") from exc
            finally:
                if not opened and request.resumable_uri is not None:
                    keep_session(self.channel, key, request.resumable_uri, size)
            if answer is not None:
                keep_session(self.channel, key, None)
                return answer

    def _thumbnail(self, api, video_id: str, image: Image) -> None:
        """The post's image as the video's thumbnail; the video stands without it."""
        try:
            spend(self.channel, COST["thumbnails.set"])
            api.thumbnails().set(videoId=video_id, media_body=MediaIoBaseUpload(
                io.BytesIO(image.data), mimetype=image.mime_type or "image/jpeg",
                resumable=False)).execute()
        except (HttpError, requests.RequestException, outbound.AnswerRefused,
                outbound.Refused, OSError, google.auth.exceptions.GoogleAuthError) as exc:
            log.warning("YouTube: the thumbnail of video %s was not set: %s", video_id,
                        self._error(exc, sent=False, what="the thumbnail").message)

    # -- access and find ------------------------------------------------------------------------

    def check_access(self) -> bool:
        """The channel's own record (1 unit): 401 once the token no longer works (google-auth
        renews an expired one first). Then the quota plan: posts that would exceed their
        day's quota are refused now, with the reason."""
        try:
            api = self._api()
        except google.auth.exceptions.GoogleAuthError as exc:
            raise self._error(exc, sent=False, what="the token") from exc
        try:
            spend(self.channel, COST["channels.list"])
            api.channels().list(part="id", mine=True).execute()
        except (HttpError, requests.RequestException, outbound.AnswerRefused, outbound.Refused,
                OSError, google.auth.exceptions.GoogleAuthError) as exc:
            raise self._error(exc, sent=False, what="the channel's record") from exc
        finally:
            self._done(api)
        refuse_over_quota(self.channel)
        return True

    # -- results --------------------------------------------------------------------------------

    metrics_batch = 50  # videos.list takes up to 50 ids a call (1 unit)

    def _read(self, call, what: str):
        return self._write(call, what, units=1, sent=False)

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        """Views, likes and comments of each video (``videos.list part=statistics``); a video
        YouTube no longer has is left out."""
        answer = self._read(lambda api: api.videos().list(
            part="statistics", id=",".join(remote_ids[:self.metrics_batch]),
            maxResults=self.metrics_batch), "the videos' counts")
        found = {}
        for item in answer.get("items") or []:
            stats = item.get("statistics") or {}

            def number(name, stats=stats):
                return int(stats[name]) if str(stats.get(name, "")).isdigit() else None

            found[str(item["id"])] = Counts(views=number("viewCount"), likes=number("likeCount"),
                                            replies=number("commentCount"))
        return found

    def followers(self) -> int:
        """The channel's subscribers (``channels.list part=statistics``; YouTube rounds them
        to three significant figures)."""
        answer = self._read(lambda api: api.channels().list(
            part="statistics", id=self.channel.account_id), "the channel's subscribers")
        items = answer.get("items") or []
        count = str(((items[0] if items else {}).get("statistics") or {})
                    .get("subscriberCount", ""))
        if not count.isdigit():
            raise Permanent("YouTube does not show this channel's subscriber count (hidden "
                            "by its owner).")
        return int(count)

    def _uploads_playlist(self) -> str:
        known = (self.channel.settings or {}).get("uploads_playlist")
        account = self.channel.account_id or ""
        return known or ("UU" + account[2:] if account.startswith("UC") else "")

    def find(self, post: Outgoing, *, since) -> Published | None:
        playlist = self._uploads_playlist()
        if not playlist:
            raise Unknown("The YouTube channel's uploads playlist is not known: reconnect the "
                          "channel so it can be asked.")
        title = title_for(post.text, post.campaign_title, str(post_options(post).get("title")
                                                             or ""))
        description = " ".join(description_for(post.text).split())
        moment = since if isinstance(since, datetime) else datetime.now(UTC)
        cutoff = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - FIND_SLACK
        try:
            api = self._api()
        except google.auth.exceptions.GoogleAuthError as exc:
            said = self._error(exc, sent=False, what="the token").message
            raise Unknown(f"Could not ask YouTube: {said}") from exc
        token = None
        try:
            for _ in range(MAX_PAGES):
                try:
                    spend(self.channel, COST["playlistItems.list"])
                    answer = api.playlistItems().list(
                        part="snippet", playlistId=playlist, maxResults=PAGE_SIZE,
                        pageToken=token).execute()
                except (HttpError, requests.RequestException, outbound.AnswerRefused,
                        outbound.Refused, OSError, google.auth.exceptions.GoogleAuthError) \
                        as exc:
                    raise Unknown("Could not ask YouTube whether the video is there: "
                                  f"{self._error(exc, sent=False, what='the uploads').message}"
                                  ) from exc
                for item in answer.get("items") or []:
                    snippet = item.get("snippet") or {}
                    published = _moment(snippet.get("publishedAt"))
                    if published is not None and published < cutoff:
                        return None  # newest first: the rest came before the send
                    video_id = (snippet.get("resourceId") or {}).get("videoId")
                    if video_id and snippet.get("title") == title and \
                            " ".join((snippet.get("description") or "").split()) == description:
                        return Published(remote_id=video_id, url=video_url(video_id))
                token = answer.get("nextPageToken")
                if not token:
                    return None
        finally:
            self._done(api)
        raise Unknown(f"The channel has more than {MAX_PAGES * PAGE_SIZE} uploads since the "
                      "post was sent; cannot tell whether it is among them.")


    # -- conversations --------------------------------------------------------------------------

    COMMENT_PAGES = 5
    FIRST_POLL = timedelta(days=14)

    def _incoming(self, comment: dict, video_id: str, parent: str = "") -> Incoming | None:
        snippet = comment.get("snippet") or {}
        created = _moment(snippet.get("publishedAt"))
        author = str((snippet.get("authorChannelId") or {}).get("value") or "")
        if created is None or author == str(self.channel.account_id):
            return None  # unreadable, or the channel's own comment
        name = str(snippet.get("authorDisplayName") or "Someone on YouTube")
        return Incoming(
            notification_id=str(comment["id"]), remote_id=str(comment["id"]), kind="reply",
            author_id=author, author_handle=name if name.startswith("@") else f"@{name}",
            author_name=name, text=str(snippet.get("textOriginal") or
                                       snippet.get("textDisplay") or ""),
            created_at=created, remote_url=f"{video_url(video_id)}&lc={comment['id']}",
            in_reply_to=parent or video_id, thread_root=video_id)

    def notifications(self, cursor: str) -> NotificationPage:
        """``commentThreads.list allThreadsRelatedToChannelId`` (1 unit a page), newest first,
        down to the cursor (the newest ``publishedAt`` taken); each thread's replies come with
        it (YouTube gives a thread's latest replies there)."""
        since = _moment(cursor) or datetime.now(UTC) - self.FIRST_POLL
        found: dict[str, Incoming] = {}
        token = None
        for _ in range(self.COMMENT_PAGES):
            answer = self._read(lambda api, token=token: api.commentThreads().list(
                part="snippet,replies", allThreadsRelatedToChannelId=self.channel.account_id,
                order="time", maxResults=100, textFormat="plainText", pageToken=token),
                "the channel's comments")
            newer = False
            for thread in answer.get("items") or []:
                snippet = thread.get("snippet") or {}
                video = str(snippet.get("videoId") or "")
                top = snippet.get("topLevelComment") or {}
                for comment, parent in [(top, "")] + [
                        (reply, str(top.get("id") or ""))
                        for reply in (thread.get("replies") or {}).get("comments") or []]:
                    incoming = self._incoming(comment, video, parent)
                    if incoming is not None and incoming.created_at >= since:
                        found[incoming.remote_id] = incoming
                        newer = True
            token = answer.get("nextPageToken")
            if not token or not newer:
                break
        items = sorted(found.values(), key=lambda i: (i.created_at, i.remote_id))
        after = items[-1].created_at.isoformat() if items else cursor
        return NotificationPage(items=items, cursor=after, more=False)

    def _write(self, call, what: str, *, units: int, sent: bool):
        """``call(api).execute()`` with the channel's token, ``units`` spent from its daily
        quota; ``sent``: the call may make something (a broken answer is then unknown)."""
        try:
            api = self._api()
        except google.auth.exceptions.GoogleAuthError as exc:
            raise self._error(exc, sent=False, what="the token") from exc
        try:
            spend(self.channel, units)
            return call(api).execute()
        except (HttpError, requests.RequestException, outbound.AnswerRefused, outbound.Refused,
                OSError, google.auth.exceptions.GoogleAuthError) as exc:
            raise self._error(exc, sent=sent, what=what) from exc
        finally:
            self._done(api)

    def can_hide(self, item) -> bool:
        return item.kind == "reply"

    def hide_reply(self, thread_root: str, remote_id: str, *, hide: bool) -> None:
        """``comments.setModerationStatus``: held for review (out of sight until the channel
        approves it) or published again (50 units)."""
        self._write(lambda api: api.comments().setModerationStatus(
            id=remote_id, moderationStatus="heldForReview" if hide else "published"),
            "holding a comment for review", units=50, sent=False)

    def reply(self, text: str, *, key: str, to, created_at_us: int = 0,
              reply_id: int = 0) -> Published:
        """``comments.insert`` under the top-level comment (YouTube nests one level; 50 units),
        once: the thread's replies are read first and the channel's own with the same text is
        taken as this one."""
        top = reply_target(to)
        video = str(getattr(to, "thread_root", "") or "")
        answer = self._read(lambda api: api.comments().list(
            part="snippet", parentId=top, maxResults=100, textFormat="plainText"),
            "the thread before answering")
        for comment in answer.get("items") or []:
            snippet = comment.get("snippet") or {}
            if str((snippet.get("authorChannelId") or {}).get("value") or "") == \
                    str(self.channel.account_id) and " ".join(
                        str(snippet.get("textOriginal") or "").split()) == " ".join(text.split()):
                return Published(remote_id=str(comment["id"]),
                                 url=f"{video_url(video)}&lc={comment['id']}")
        made = self._write(lambda api: api.comments().insert(
            part="snippet", body={"snippet": {"parentId": top, "textOriginal": text}}),
            "the reply", units=50, sent=True)
        return Published(remote_id=str(made["id"]), url=f"{video_url(video)}&lc={made['id']}")


def _moment(text) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
