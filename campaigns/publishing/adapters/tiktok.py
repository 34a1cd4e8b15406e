"""TikTok creator accounts, through the Content Posting API's Direct Post, with the small client
of ``campaigns.providers.tiktok`` (why not a client library: see there).

A post: the creator's options are read first (``creator_info/query``, as TikTok requires before
each post; the channel's copy in ``Channel.settings`` is refreshed from it), and the post's
privacy level must be one of them. A video is initialised (``/v2/post/publish/video/init/``,
``source: FILE_UPLOAD``) and its bytes sent in chunks (``PUT`` with ``Content-Range`` to the
``upload_url`` TikTok gives: 5 to 64 MB each, the last one taking the trailing bytes, a video
under 5 MB in one piece). Photos (up to 35) are fetched by TikTok itself from signed media links
(``/v2/post/publish/content/init/``, ``PULL_FROM_URL``, ``media_type: PHOTO``;
``campaigns.publishing.media_links``). Then ``/v2/post/publish/status/fetch/`` is polled until
``PUBLISH_COMPLETE`` or ``FAILED`` (its ``fail_reason`` said plainly).

The per-post options (``Outgoing.options``): ``privacy_level`` (one of the creator's levels),
``disable_comment`` / ``disable_duet`` / ``disable_stitch`` (an interaction the creator switched
off in TikTok stays off), ``brand_content_toggle`` (a paid partnership) and
``brand_organic_toggle`` (promoting the creator's own business).

Unknown outcomes. TikTok takes no idempotency key and lists no private posts (everything an
unaudited app posts is private), so it cannot be asked "is this text there?". What it can be
asked is the state of a publish, by the ``publish_id`` its init call answers. So that id is
recorded on the delivery (``remote_id``, ``tiktok-publish:<id>``) as soon as init answers, before
any byte that could make a post is sent, and ``find`` asks TikTok about it. Which calls can
leave the outcome unknown:

- a video's init: no. Without its answer no upload address is known, no byte is sent, and
  TikTok publishes nothing (the publish task expires unused): a lost init answer is transient;
- a video's last chunk, or the status polls after it: yes; the id is recorded, ``find`` asks;
- a photo post's init: yes, and it is the one case without an id. TikTok fetches the photos
  from their links after it accepts the call, and nothing else can tell: so the links are made
  for this send alone and each records when it is fetched (``media_links.pull_urls``; the
  delivery keeps ``tiktok-pull:<send>`` until init answers). ``find`` then reads them:
  every photo fetched means TikTok took the post and has its media: it is published (its
  publish cannot be read, so the account's page is its address; a failure TikTok finds later,
  such as moderation, is not seen); a link that expired unfetched
  (``PUBLISHING_MEDIA_LINK_SECONDS``) means TikTok cannot have every photo of that send, so no
  post can come of it (at most a publish FAILED ``photo_pull_failed``): not there, sent again
  with new links; neither yet: asked again later. The send is recorded before its links are
  made, so a send without links never reached TikTok. A photo delivery with no send recorded
  (sent before tracked links) cannot be told (``Unknown``): staff look at the account.

A publish still processing when the wait ends (``PROCESSING_WAIT``, inside the sending lease) is
unknown too, not transient: TikTok will finish it on its own; ``find`` reads it later.

Errors: ``{"error": {"code", "message", "log_id"}}``. ``access_token_invalid`` (401) on the first
call (the creator's options, before anything is sent) renews the token once with the refresh
token (the token job also renews them ahead of their 24 hours), else ``NeedsReconnect``, as is
``scope_not_authorized``; 429
``rate_limit_exceeded`` transient with a minute's wait (TikTok's window, no header); the spam
and policy codes are refusals with their reason; 5xx transient (unknown where bytes were sent).
"""

from __future__ import annotations

import logging
import time

from campaigns.providers.tiktok import (
    PRIVACY_LABELS,
    PRIVATE,
    Client,
    TikTokError,
    audited,
    creator_settings,
    post_url,
    profile_url,
)
from campaigns.publishing import media_links
from campaigns.publishing.adapters import (
    Adapter,
    AdapterError,
    Counts,
    NeedsReconnect,
    Outgoing,
    Permanent,
    Published,
    Transient,
    Unknown,
    api_error,
    register,
)
from campaigns.publishing.models import Delivery

log = logging.getLogger(__name__)

MAX_PHOTOS = 35
MAX_TITLE = 2200  # a video's caption; a photo post's title is 90, its description 4,000
MAX_PHOTO_TITLE = 90
MAX_PHOTO_DESCRIPTION = 4000
MB = 1024 * 1024
CHUNK = 10 * MB  # within TikTok's 5 to 64 MB
MIN_CHUNK = 5 * MB
# The status of a publish is asked every PROCESSING_POLL seconds up to PROCESSING_WAIT; with
# the other calls (each within the send timeout) that stays inside the sending lease.
PROCESSING_WAIT = 25.0
PROCESSING_POLL = 2.0
PUBLISH_KEY = "tiktok-publish:"
PULL_KEY = "tiktok-pull:"  # a photo send whose init has not answered: its tracked links

# TikTok's error codes that refuse a post for good, in words staff can act on.
REFUSALS = {
    "spam_risk_too_many_posts": "the account has reached TikTok's daily limit of posts made "
                                "through apps; it can post again tomorrow",
    "spam_risk_user_banned_from_posting": "TikTok has banned the account from posting",
    "reached_active_user_cap": "the app has reached TikTok's daily quota of active creators",
    "unaudited_client_can_only_post_to_private_accounts":
        "this app can only post privately until TikTok audits it: choose “Only me”",
    "privacy_level_option_mismatch": "the chosen privacy level is not one the account offers "
                                     "now: choose another in the post",
    "url_ownership_unverified": "TikTok fetches photos only from a domain the app has verified "
                                "in TikTok's developer portal: verify this site's domain there",
}

# ``fail_reason`` of a FAILED publish, said plainly.
FAIL_REASONS = {
    "file_format_check_failed": "TikTok does not take this file's format (MP4, WebM or MOV "
                                "videos; JPEG or WebP photos)",
    "duration_check_failed": "the video is longer than this account may post, or shorter than "
                             "3 seconds",
    "frame_rate_check_failed": "the video's frame rate is outside 23 to 60 frames a second",
    "picture_size_check_failed": "the picture size is outside what TikTok takes (360 to 4096 "
                                 "pixels a side)",
    "internal": "TikTok failed while processing it",
    "video_pull_failed": "TikTok could not download the video from its link",
    "photo_pull_failed": "TikTok could not download a photo from its link",
    "publish_cancelled": "the publish was cancelled on TikTok",
    "auth_removed": "the account withdrew the app's access",
    "spam_risk_too_many_posts": "the account reached TikTok's daily limit of posts",
    "spam_risk_user_banned_from_posting": "TikTok has banned the account from posting",
    "spam_risk_text": "TikTok judged the caption to be spam",
    "spam_risk": "TikTok judged the post to be spam",
}
RETRYABLE_FAILURES = ("internal", "video_pull_failed", "photo_pull_failed")


def chunks(size: int) -> tuple[int, list[tuple[int, int]]]:
    """(chunk_size, [(first, last), ...]) as TikTok's Media Transfer Guide asks: a video under
    5 MB in one piece; else ``floor(size / chunk_size)`` chunks, the last one taking the rest."""
    if size <= CHUNK:
        return size, [(0, size - 1)]
    count = size // CHUNK
    ranges = [(i * CHUNK, (i + 1) * CHUNK - 1) for i in range(count - 1)]
    ranges.append(((count - 1) * CHUNK, size - 1))
    return CHUNK, ranges


def _record(post: Outgoing, publish_id: str, *, key: str = PUBLISH_KEY) -> None:
    """Keep the publish's id (or, with ``key=PULL_KEY``, the photo send's) on the delivery
    before anything that could make the post; "" forgets an earlier attempt's (before each
    init, so ``find`` never asks about that one)."""
    if not post.delivery_id:
        return
    Delivery.objects.filter(pk=post.delivery_id).update(
        remote_id=key + publish_id if publish_id else "")


def _recorded(post: Outgoing, key: str = PUBLISH_KEY) -> str:
    if not post.delivery_id:
        return ""
    remote = Delivery.objects.filter(pk=post.delivery_id).values_list("remote_id",
                                                                      flat=True).first()
    return remote[len(key):] if remote and remote.startswith(key) else ""


@register
class TikTokAdapter(Adapter):
    network = "tiktok"
    resend_is_safe = True  # find asks TikTok about the recorded publish, or says it cannot tell
    reads_media = True  # videos are uploaded (photos are fetched by TikTok from their links)

    def _client(self) -> Client:
        if not self.channel.account_id:
            raise Permanent("The TikTok channel has no account: connect it with “Connect "
                            "account”.")
        token = self.channel.get_secret()
        if not token:
            raise NeedsReconnect("The TikTok channel has no access token: reconnect it.")
        return Client(token, timeout=self.timeout)

    def _error(self, exc: TikTokError, *, sent: bool, what: str) -> AdapterError:
        """Our error for TikTok's. ``sent``: the request may have made the post."""
        if exc.status is None:
            return api_error("TikTok", exc, sent=sent, what=what)
        if exc.code == "scope_not_authorized":
            return NeedsReconnect("TikTok: the account did not allow the app to post "
                                  "(scope_not_authorized): reconnect the channel and leave "
                                  "posting allowed on TikTok's consent screen.")
        if exc.code == "access_token_invalid" or exc.status == 401:
            return NeedsReconnect(f"TikTok no longer accepts the channel's token "
                                  f"({exc.message}): reconnect the channel.")
        if exc.status == 429 or exc.code == "rate_limit_exceeded":
            return Transient(f"TikTok is limiting this account's requests ({what}: "
                             f"{exc.message}); trying again in a minute.",
                             retry_after=exc.retry_after or 60.0)
        if exc.code in REFUSALS:
            return Permanent(f"TikTok refused the post ({what}): {REFUSALS[exc.code]} "
                             f"({exc.code}).")
        return api_error("TikTok", exc, sent=sent, what=what)

    def _renewed(self, refused: NeedsReconnect) -> Client:
        """A client with a renewed token (kept on the channel), or ``NeedsReconnect``."""
        if not self.channel.get_refresh_token():
            raise refused
        self.renew_token()
        return Client(self.channel.get_secret(), timeout=self.timeout)

    # -- the creator's options ------------------------------------------------------------------

    def _creator(self, api: Client) -> dict:
        """The creator's options now; the channel's copy is refreshed when they changed."""
        try:
            info = api.creator_info()
        except TikTokError as exc:
            raise self._error(exc, sent=False, what="the account's posting options") from exc
        found = creator_settings(info)
        kept = dict(self.channel.settings or {})
        if any(kept.get(k) != v for k, v in found.items() if k != "checked_at"):
            kept.update(found)
            self.channel.settings = kept
            if self.channel.pk:
                type(self.channel).objects.filter(pk=self.channel.pk).update(settings=kept)
        return found

    def _post_info(self, post: Outgoing, creator: dict) -> dict:
        options = dict(post.options or {})
        levels = [level["id"] for level in creator["privacy_levels"]]
        privacy = options.get("privacy_level") or ("" if audited() else PRIVATE)
        if not privacy:
            raise Permanent("Choose who can see the TikTok post (its privacy level) in the "
                            "post, then approve it again.")
        if privacy not in levels:
            offered = ", ".join(PRIVACY_LABELS.get(level, level) for level in levels)
            raise Permanent(f"TikTok no longer offers “{PRIVACY_LABELS.get(privacy, privacy)}” "
                            f"for this account (it offers: {offered}): choose one of those in "
                            "the post and approve it again.")
        return {
            "privacy_level": privacy,
            "disable_comment": bool(options.get("disable_comment")
                                    or creator["comment_disabled"]),
            "disable_duet": bool(options.get("disable_duet") or creator["duet_disabled"]),
            "disable_stitch": bool(options.get("disable_stitch") or creator["stitch_disabled"]),
            "brand_content_toggle": bool(options.get("brand_content_toggle")),
            "brand_organic_toggle": bool(options.get("brand_organic_toggle")),
        }

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        if post.videos and post.images:
            raise Permanent("TikTok cannot mix photos and a video in one post: keep one kind, "
                            "or split them into two posts.")
        if len(post.videos) > 1:
            raise Permanent("TikTok takes one video a post: remove the others.")
        if len(post.images) > MAX_PHOTOS:
            raise Permanent(f"TikTok takes at most {MAX_PHOTOS} photos a post; this one has "
                            f"{len(post.images)}.")
        if not post.videos and not post.images:
            raise Permanent("TikTok needs a video or photos: add one to the post.")
        api = self._client()
        try:
            try:
                creator = self._creator(api)
            except NeedsReconnect as refused:  # tokens last a day: renew once, nothing sent
                api.close()
                api = self._renewed(refused)
                creator = self._creator(api)
            info = self._post_info(post, creator)
            if post.videos:
                publish_id = self._video(api, post, info)
            else:
                publish_id = self._photos(api, post, info)
            return self._wait(api, publish_id, creator, photo=not post.videos)
        finally:
            api.close()

    def _video(self, api: Client, post: Outgoing, info: dict) -> str:
        video = post.videos[0]
        size = len(video.data)
        if not size:
            raise Permanent(f"The video {video.name} is empty: replace it and approve again.")
        chunk_size, ranges = chunks(size)
        info = {**info, "title": post.text[:MAX_TITLE]}
        _record(post, "")
        try:
            data = api.call("/v2/post/publish/video/init/", json_body={
                "post_info": info,
                "source_info": {"source": "FILE_UPLOAD", "video_size": size,
                                "chunk_size": chunk_size, "total_chunk_count": len(ranges)}})
            publish_id, upload_url = str(data["publish_id"]), str(data["upload_url"])
        except TikTokError as exc:
            # Without the upload address nothing reaches TikTok: never unknown (module docs).
            raise self._error(exc, sent=False, what="starting the video upload") from exc
        except (KeyError, TypeError) as exc:
            raise Transient("TikTok's answer to the video upload could not be read.") from exc
        _record(post, publish_id)
        for number, (first, last) in enumerate(ranges, start=1):
            final = number == len(ranges)
            try:
                api.request("PUT", upload_url, data=video.data[first:last + 1], headers={
                    "Content-Type": video.mime_type or "video/mp4",
                    "Content-Range": f"bytes {first}-{last}/{size}"})
            except TikTokError as exc:
                # Once the last byte may have arrived TikTok goes on to publish by itself.
                raise self._error(exc, sent=final, what=f"uploading part {number} of "
                                                        f"{len(ranges)} of the video") from exc
        return publish_id

    def _photos(self, api: Client, post: Outgoing, info: dict) -> str:
        for image in post.images:
            if not image.file:
                raise Permanent(f"The photo {image.name} has no stored file to link to; "
                                "replace it in the campaign and approve it again.")
        names = [image.file for image in post.images]
        if post.delivery_id:  # links of this send alone, marked when TikTok fetches them
            send = media_links.new_send()
            _record(post, send, key=PULL_KEY)  # first: links exist only for a recorded send
            urls = media_links.pull_urls(post.delivery_id, send, names)
        else:
            urls = [media_links.public_url(name) for name in names]
        info = {**info, "title": (post.campaign_title or post.text)[:MAX_PHOTO_TITLE],
                "description": post.text[:MAX_PHOTO_DESCRIPTION]}
        for key in ("disable_duet", "disable_stitch"):  # photos have neither
            info.pop(key)
        try:
            data = api.call("/v2/post/publish/content/init/", json_body={
                "post_info": info, "post_mode": "DIRECT_POST", "media_type": "PHOTO",
                "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0,
                                "photo_images": urls}})
            publish_id = str(data["publish_id"])
        except TikTokError as exc:
            raise self._error(exc, sent=True, what="the photo post") from exc
        except (KeyError, TypeError) as exc:
            raise Unknown("TikTok accepted the photo post without saying its publish id; "
                          "whether it went out cannot be told.") from exc
        _record(post, publish_id)
        return publish_id

    def _status(self, api: Client, publish_id: str) -> dict:
        return api.call("/v2/post/publish/status/fetch/", json_body={"publish_id": publish_id})

    def _outcome(self, answer: dict, publish_id: str, username: str, *,
                 photo: bool) -> Published | None:
        """Published for PUBLISH_COMPLETE, Permanent/Transient for FAILED, None while busy."""
        status = str(answer.get("status") or "")
        if status in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"):
            ids = answer.get("publicaly_available_post_id") or \
                answer.get("publicly_available_post_id") or []
            if ids:  # public posts, after TikTok's moderation
                return Published(remote_id=str(ids[0]),
                                 url=post_url(username, str(ids[0]), photo=photo))
            # a private post has no public id: the publish is its record
            return Published(remote_id=PUBLISH_KEY + publish_id, url=profile_url(username))
        if status == "FAILED":
            reason = str(answer.get("fail_reason") or "")
            said = FAIL_REASONS.get(reason, reason or "no reason given")
            if reason in RETRYABLE_FAILURES:
                raise Transient(f"TikTok could not publish the post: {said} ({reason}); it "
                                "will be sent again.")
            raise Permanent(f"TikTok could not publish the post: {said} ({reason}).")
        return None

    def _wait(self, api: Client, publish_id: str, creator: dict, *, photo: bool) -> Published:
        deadline = time.monotonic() + PROCESSING_WAIT
        status = ""
        while True:
            try:
                answer = self._status(api, publish_id)
            except TikTokError as exc:
                raise Unknown(f"TikTok took the post but could not say how it went (publish "
                              f"{publish_id}): {exc.message}; it will be looked up.") from exc
            found = self._outcome(answer, publish_id, creator["username"], photo=photo)
            if found is not None:
                return found
            status = str(answer.get("status") or "")
            if time.monotonic() + PROCESSING_POLL > deadline:
                raise Unknown(f"TikTok was still processing the post ({status}) after "
                              f"{PROCESSING_WAIT:.0f} s; it finishes by itself and will be "
                              "looked up.")
            time.sleep(PROCESSING_POLL)

    # -- did it go out? -------------------------------------------------------------------------

    def check_access(self) -> bool:
        """The creator's options: ``access_token_invalid`` once the token no longer works (and
        the channel's copy of the options is refreshed on the way)."""
        api = self._client()
        try:
            self._creator(api)
        finally:
            api.close()
        return True

    def find(self, post: Outgoing, *, since) -> Published | None:
        publish_id = _recorded(post)
        username = str((self.channel.settings or {}).get("username")
                       or (self.channel.handle or "").lstrip("@"))
        if not publish_id:
            if post.videos:
                return None  # init never answered: no byte was sent, nothing can be published
            return self._pulled(post, username)
        api = self._client()
        try:
            try:
                answer = self._status(api, publish_id)
            except TikTokError as exc:
                raise Unknown("Could not ask TikTok about the publish: "
                              f"{self._error(exc, sent=False, what='its status').message}"
                              ) from exc
            try:
                found = self._outcome(answer, publish_id, username, photo=not post.videos)
            except (Permanent, Transient):
                return None  # it failed on TikTok: nothing is there
            if found is None:
                raise Unknown(f"TikTok is still processing the post ({answer.get('status')}); "
                              "asking again later.")
            return found
        finally:
            api.close()

    def _pulled(self, post: Outgoing, username: str) -> Published | None:
        """A photo post whose init never answered, told by its send's links (module docs)."""
        send = _recorded(post, PULL_KEY)
        if not send:  # before tracked links (or no send reached the photos): cannot tell
            raise Unknown("TikTok did not answer the photo post's start, so there is no "
                          "publish to ask about, and TikTok lists no private posts: look at "
                          "the account and mark the post as published or not sent.")
        state = media_links.pull_state(post.delivery_id, send)
        if state == media_links.FETCHED:
            return Published(remote_id=PULL_KEY + send, url=profile_url(username))
        if state == media_links.CLOSED:
            return None  # TikTok cannot have every photo of this send: nothing came of it
        raise Unknown("TikTok did not answer the photo post's start and has not fetched "
                      "all its photos yet; asking again once they are fetched or their links "
                      "expire.")
    # -- results --------------------------------------------------------------------------------

    # Display API's video query: the creator's own videos, at most 20 ids a call.
    metrics_batch = 20

    def counts_unavailable(self, remote_id: str) -> str:
        if remote_id.startswith(PULL_KEY):
            return ("TikTok gives no id for a photo post started from fetched links: its "
                    "counts cannot be asked for.")
        if remote_id.startswith(PUBLISH_KEY):
            return ("TikTok gives no counts of a private post (posted “Only me” while the app "
                    "is not audited): it has no public video id to ask about.")
        return ""

    def _read(self, path: str, *, what: str, fields: str, body: dict | None = None) -> dict:
        api = self._client()
        try:
            try:
                return api.call(path, params={"fields": fields}, json_body=body,
                                method="POST" if body is not None else "GET")
            except TikTokError as exc:
                if exc.code == "scope_not_authorized":
                    raise Permanent(f"TikTok: the account did not allow the app to read "
                                    f"{what} ({exc.message}): reconnect the channel and leave "
                                    "that permission ticked on TikTok's consent screen.") from exc
                raise self._error(exc, sent=False, what=what) from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise Transient(f"TikTok's answer ({what}) could not be read.") from exc
        finally:
            api.close()

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        """``POST /v2/video/query/`` (scope ``video.list``) with the ids in
        ``filters.video_ids`` and the counts asked in ``fields``: likes, comments (replies),
        shares (reposts), views. A video TikTok does not return is gone (or no longer the
        creator's)."""
        ids = [str(remote_id) for remote_id in remote_ids if not self.counts_unavailable(
            str(remote_id))]
        if len(remote_ids) > self.metrics_batch:
            raise ValueError(f"TikTok's video query takes at most {self.metrics_batch} ids, "
                             f"not {len(remote_ids)}.")
        if not ids:
            return {}
        data = self._read("/v2/video/query/", what="the videos' counts",
                          fields="id,like_count,comment_count,share_count,view_count",
                          body={"filters": {"video_ids": ids}})
        found = {}
        for video in data.get("videos") or []:
            video_id = str(video.get("id") or "")
            if video_id not in ids:
                continue
            likes, comments, shares, views = (int(video.get(key) or 0) for key in (
                "like_count", "comment_count", "share_count", "view_count"))
            found[video_id] = Counts(likes=likes, replies=comments, reposts=shares, views=views)
        return found

    def followers(self) -> int:
        """``GET /v2/user/info/?fields=follower_count`` (scope ``user.info.stats``)."""
        data = self._read("/v2/user/info/", what="the follower count", fields="follower_count")
        user = data.get("user") or {}
        if "follower_count" not in user:
            raise Transient("TikTok's answer did not say the account's follower count.")
        return int(user["follower_count"] or 0)
