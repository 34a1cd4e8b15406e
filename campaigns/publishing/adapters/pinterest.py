"""Pinterest pins (API v5), through ``pinterest-api-sdk``'s generated client with the per-call
client of ``campaigns.providers.pinterest`` (why not the SDK's top layer: see there).

A post becomes one pin on the board chosen for it in the editor (the post's ``board`` option,
from the boards read at connection and on each token refresh; without one, the account's only
board when it has exactly one, else a refusal that says to pick one). The pin's description is the
post's text (the link, when the text ends with it, is left out: it is the pin's destination
``link``), its ``title`` the post's option, the image's alt text the pin's ``alt_text``.

Media: an image goes inline (``image_base64``, JPEG or PNG). A video is registered
(``POST /v5/media``), uploaded to the address Pinterest gives with the form fields it gives
(a multipart POST, as to S3), and awaited (``GET /v5/media/{id}``: registered → processing →
succeeded or failed) before the pin is made with ``source_type: video_id``; its cover is the
post's image when it has one (``cover_image_data``), else the video's first frame
(``cover_image_key_frame_time``).

Pinterest takes no idempotency key. After an unknown outcome ``find`` lists the board's pins
(``GET /v5/boards/{id}/pins``, newest first) made since the send and matches description and
title: the board's list is Pinterest's own record, so "not there" is an answer and sending
again is safe.

Errors: Pinterest's body is ``{code, message}``. 401 (expired or revoked token): the token is
refreshed once and the step tried again; a refused refresh is ``NeedsReconnect``. 429 is
transient, ``retry_after`` from ``X-RateLimit-Reset``; 5xx transient, except on the pin itself
(unknown); other 4xx are refusals with Pinterest's message.
"""

from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime, timedelta

import requests
from openapi_generated.pinterest_client.api.boards_api import BoardsApi
from openapi_generated.pinterest_client.api.media_api import MediaApi
from openapi_generated.pinterest_client.api.pins_api import PinsApi
from openapi_generated.pinterest_client.api.user_account_api import UserAccountApi
from openapi_generated.pinterest_client.model.media_upload_request import MediaUploadRequest
from openapi_generated.pinterest_client.model.pin_create import PinCreate

from agency import outbound
from campaigns.providers.pinterest import Client, PinterestError, pin_url
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

log = logging.getLogger(__name__)

MAX_TITLE = 100
MAX_DESCRIPTION = 500
MAX_ALT = 500
IMAGE_TYPES = ("image/jpeg", "image/png")
PAGE_SIZE = 100
MAX_PAGES = 3
FIND_SLACK = timedelta(minutes=5)
# A video is processed after its upload; the pin cannot carry it before Pinterest says
# "succeeded". Asked every PROCESSING_POLL seconds up to PROCESSING_WAIT (inside the sending
# lease, as LinkedIn's wait); still processing after it: transient, nothing was pinned.
PROCESSING_WAIT = 25.0
PROCESSING_POLL = 2.0


def normalise(text: str) -> str:
    return " ".join((text or "").split())


def description(post: Outgoing) -> str:
    """The post's text without the link it ends with (the link is the pin's destination)."""
    text = post.text.rstrip()
    if post.link and text.endswith(post.link):
        text = text[:-len(post.link)].rstrip()
    return text


def options(post: Outgoing) -> dict:
    return dict(post.options or {})


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


@register
class PinterestAdapter(Adapter):
    network = "pinterest"
    resend_is_safe = True  # ``find`` reads Pinterest's own list of the board's pins

    def _client(self) -> Client:
        token = self.channel.get_secret()
        if not token:
            raise NeedsReconnect("The Pinterest channel has no access token: reconnect it.")
        return Client(token, timeout=self.timeout)

    def _board(self, post: Outgoing) -> str:
        """The board chosen for the post; for a post without one (made before boards were
        asked for, or outside the editor), the account's only board if it has just one."""
        board = str(options(post).get("board") or "").strip()
        boards = (self.channel.settings or {}).get("boards") or []
        if not board and len(boards) == 1 and boards[0].get("id"):
            board = str(boards[0]["id"])
        if not board:
            raise Permanent("No Pinterest board was chosen for this post: pick one in the "
                            "editor (Pinterest options) and approve it again.")
        return board

    def _error(self, exc: PinterestError, *, sent: bool, what: str) -> AdapterError:
        """Our error for Pinterest's. ``sent``: the request may have made the pin."""
        status = exc.status
        if status == 429:
            wait = exc.retry_after()
            when = f" in {wait:.0f} s, when its window resets" if wait is not None else " later"
            return Transient(f"Pinterest is limiting this app's requests ({what}: "
                             f"{exc.message}); trying{when}.", retry_after=wait)
        if status == 403:
            return Permanent(f"Pinterest refused ({what}, HTTP 403): {exc.message}. The "
                             "account may not own the board, or the app lacks the pins:write "
                             "scope: reconnect the channel.")
        if status == 404 and what == "the pin":
            return Permanent(f"Pinterest has no such board ({exc.message}): it may have been "
                             "deleted. Pick another board in the editor.")
        return api_error("Pinterest", exc, sent=sent, what=what, thing="pin")

    def _refreshed(self) -> bool:
        """Renew the channel's token after a 401; False when it cannot be renewed."""
        try:
            self.renew_token()
        except NeedsReconnect as exc:
            log.warning("Pinterest: channel %s's token could not be renewed: %s",
                        self.channel.pk, exc.message)
            return False
        return True

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        board = self._board(post)
        if len(post.videos) > 1 or len(post.images) > 1:
            raise Permanent("A pin carries one image or one video: keep one (with a video, "
                            "one image as its cover).")
        if not post.images and not post.videos:
            raise Permanent("Pinterest needs an image or a video for every pin: add one.")
        try:
            return self._publish(post, board)
        except NeedsReconnect:
            if not self._refreshed():
                raise
            return self._publish(post, board)  # a 401 made nothing: one more try, new token

    def _publish(self, post: Outgoing, board: str) -> Published:
        api = self._client()
        try:
            media = self._video_source(api, post) if post.videos \
                else self._image_source(post.images[0])
            chosen = options(post)
            pin = {"board_id": board, "media_source": media,
                   "description": description(post)[:MAX_DESCRIPTION]}
            title = str(chosen.get("title") or "").strip()
            if title:
                pin["title"] = title[:MAX_TITLE]
            if post.link:
                pin["link"] = post.link
            if post.images and not post.videos and post.images[0].alt.strip():
                pin["alt_text"] = post.images[0].alt[:MAX_ALT]
            try:
                made = api.run(PinsApi(api.api).pins_create, PinCreate(**pin))
            except PinterestError as exc:
                raise self._error(exc, sent=True, what="the pin") from exc
            pin_id = str(getattr(made, "id", "") or "")
            if not pin_id:
                raise Unknown("Pinterest accepted the pin without saying its id; it will be "
                              "looked up.")
            return Published(remote_id=pin_id, url=pin_url(pin_id))
        finally:
            api.close()

    @staticmethod
    def _image_source(image) -> dict:
        if image.mime_type not in IMAGE_TYPES:
            raise Permanent(f"Pinterest takes JPEG or PNG images here; {image.name} is "
                            f"{image.mime_type}. Save it as JPEG or PNG.")
        return {"source_type": "image_base64", "content_type": image.mime_type,
                "data": base64.b64encode(image.data).decode()}

    def _video_source(self, api: Client, post: Outgoing) -> dict:
        video = post.videos[0]
        media = MediaApi(api.api)
        try:
            upload = api.run(media.media_create, MediaUploadRequest(media_type="video"))
            media_id = str(upload.media_id)
            fields = api.api.sanitize_for_serialization(upload.upload_parameters) or {}
            self._upload(api, str(upload.upload_url), fields, video)
            self._wait_succeeded(api, media, media_id)
        except PinterestError as exc:
            raise self._error(exc, sent=False, what="the video upload") from exc
        except (AttributeError, TypeError, ValueError) as exc:
            raise Transient("Pinterest's answer to the video upload could not be read.") \
                from exc
        source = {"source_type": "video_id", "media_id": media_id}
        cover = post.images[0] if post.images else None
        if cover is not None:
            if cover.mime_type not in IMAGE_TYPES:
                raise Permanent(f"A video's cover must be JPEG or PNG; {cover.name} is "
                                f"{cover.mime_type}.")
            source.update(cover_image_content_type=cover.mime_type,
                          cover_image_data=base64.b64encode(cover.data).decode())
        else:
            source["cover_image_key_frame_time"] = 0
        return source

    @staticmethod
    def _upload(api: Client, url: str, fields: dict, video) -> None:
        """The upload Pinterest hands out: a multipart form POST with its fields, then the
        file (S3's rule: the file comes last)."""
        try:
            response = api.transport.session.post(
                url, data={str(k): str(v) for k, v in fields.items()},
                files={"file": (video.name, video.data, video.mime_type)},
                timeout=api.timeout, allow_redirects=False)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            raise api.transport_error(exc) from exc
        if not 200 <= response.status_code < 300:
            raise PinterestError(f"the video upload was refused (HTTP {response.status_code}"
                                 f": {outbound.excerpt(response.content)})",
                                 status=response.status_code, sent=True)

    @staticmethod
    def _wait_succeeded(api: Client, media: MediaApi, media_id: str) -> None:
        deadline = time.monotonic() + PROCESSING_WAIT
        while True:
            status = str(api.run(media.media_get, media_id).status)
            if status == "succeeded":
                return
            if status == "failed":
                raise Permanent("Pinterest could not process the video (failed): check its "
                                "format (MP4, MOV or M4V, 4 s to 15 min, up to 2 GB).")
            if time.monotonic() + PROCESSING_POLL > deadline:
                raise Transient(f"Pinterest was still processing the video ({status}) after "
                                f"{PROCESSING_WAIT:.0f} s; it will be sent again later.")
            time.sleep(PROCESSING_POLL)

    # -- did it go out? -------------------------------------------------------------------------

    def check_access(self) -> bool:
        """The account's own record: 401 once the token is expired or revoked."""
        api = self._client()
        try:
            api.run(UserAccountApi(api.api).user_account_get)
        except PinterestError as exc:
            raise self._error(exc, sent=False, what="the account") from exc
        finally:
            api.close()
        return True

    def followers(self) -> int:
        api = self._client()
        try:
            account = api.plain(api.run(UserAccountApi(api.api).user_account_get))
        except PinterestError as exc:
            raise self._error(exc, sent=False, what="the account") from exc
        finally:
            api.close()
        return int(account.get("follower_count") or 0)

    def find(self, post: Outgoing, *, since) -> Published | None:
        board = self._board(post)
        wanted = normalise(description(post)[:MAX_DESCRIPTION])
        title = normalise(str(options(post).get("title") or "")[:MAX_TITLE])
        moment = since if isinstance(since, datetime) else datetime.now(UTC)
        cutoff = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - FIND_SLACK
        api = self._client()
        boards = BoardsApi(api.api)
        bookmark = None
        try:
            for _ in range(MAX_PAGES):
                extra = {"bookmark": bookmark} if bookmark else {}
                try:
                    page = api.plain(api.run(boards.boards_list_pins, board,
                                             page_size=PAGE_SIZE, **extra))
                except PinterestError as exc:
                    raise Unknown("Could not ask Pinterest whether the pin is there: "
                                  f"{self._error(exc, sent=False, what='the board').message}"
                                  ) from exc
                for pin in page.get("items") or []:
                    made = _moment(pin.get("created_at"))
                    if made is not None and made < cutoff:
                        return None  # newest first: the rest were made before the send
                    if normalise(pin.get("description") or "") == wanted \
                            and normalise(pin.get("title") or "") == title and pin.get("id"):
                        return Published(remote_id=str(pin["id"]), url=pin_url(str(pin["id"])))
                bookmark = page.get("bookmark")
                if not bookmark:
                    return None
        finally:
            api.close()
        raise Unknown(f"The board has more than {MAX_PAGES * PAGE_SIZE} pins made since the "
                      "post was sent; cannot tell whether it is among them.")

    # -- results --------------------------------------------------------------------------------

    # The multi-pin analytics read takes up to 100 pins (``GET /v5/pins/analytics``).
    metrics_batch = 100
    # Impressions, saves and pin clicks: Pinterest's PIN_CLICK counts every click on the pin,
    # to content on or off Pinterest, so outbound clicks (OUTBOUND_CLICK) are among them.
    METRICS = ["IMPRESSION", "SAVE", "PIN_CLICK"]

    @staticmethod
    def _counts(answer: dict) -> Counts:
        summary = ((answer or {}).get("all") or {}).get("summary_metrics") or {}
        number = lambda key: int(summary.get(key) or 0)  # noqa: E731
        return Counts(impressions=number("IMPRESSION"), saves=number("SAVE"),
                      clicks=number("PIN_CLICK"))

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        """The pins' impressions, saves and clicks over the 90 days Pinterest keeps (collection
        stops well before a pin is that old): one ``GET /v5/pins/analytics`` for up to 100
        pins; where Pinterest has not opened that (beta) read to the app (403), one
        ``GET /v5/pins/{id}/analytics`` each. A pin Pinterest does not return is gone."""
        if len(remote_ids) > self.metrics_batch:
            raise ValueError(f"Pinterest's analytics read takes at most {self.metrics_batch} "
                             f"pins, not {len(remote_ids)}.")
        if not remote_ids:
            return {}
        ids = [str(pin_id) for pin_id in remote_ids]
        today = datetime.now(UTC).date()
        span = {"start_date": today - timedelta(days=89), "end_date": today,
                "metric_types": self.METRICS}
        api = self._client()
        pins = PinsApi(api.api)
        found: dict[str, Counts] = {}
        try:
            try:
                answer = api.plain(api.run(pins.multi_pins_analytics, ids, **span))
                return {pin_id: self._counts(answer[pin_id]) for pin_id in ids
                        if isinstance(answer.get(pin_id), dict)}
            except PinterestError as exc:
                if exc.status != 403:
                    raise self._error(exc, sent=False, what="the pins' analytics") from exc
            for pin_id in ids:  # no multi-pin read for this app: one pin at a time
                try:
                    found[pin_id] = self._counts(api.plain(api.run(pins.pins_analytics, pin_id,
                                                                   **span)))
                except PinterestError as exc:
                    if exc.status == 404:
                        continue  # deleted: left out
                    error = self._error(exc, sent=False, what="the pin's analytics")
                    error.partial = dict(found)
                    raise error from exc
            return found
        finally:
            api.close()
