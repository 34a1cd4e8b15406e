"""LinkedIn organization pages, through the versioned REST API (Posts, Images, Videos, Social
Actions), with the small client of ``campaigns.providers.linkedin`` (why not LinkedIn's own
client library: see there).

A post: images are registered (``/rest/images?action=initializeUpload``), uploaded with a
``PUT`` to the address LinkedIn gives, and attached by URN with their alt text (one image:
``content.media``; two to twenty: ``content.multiImage``). A video is registered
(``/rest/videos?action=initializeUpload``), uploaded in the parts LinkedIn asks for, finalized
with the parts' ETags, and awaited until LinkedIn says ``AVAILABLE``. A link without media is an
article card. The post's commentary is written in LinkedIn's "little text" format: its reserved
characters escaped, hashtags as hashtag elements. ``POST /rest/posts`` answers 201 with the new
post's URN in ``x-restli-id``: that is the remote id, and
``https://www.linkedin.com/feed/update/{urn}/`` its address. The first comment goes through the
Social Actions comments API as the organization.

LinkedIn takes no idempotency key. After an unknown outcome ``find`` lists the organization's
posts (``q=author``, newest change first) and matches the commentary of those changed since the
send; LinkedIn's listing is its own record of the page's posts, so "not there" is an answer and
sending again is safe.

Errors: LinkedIn's body is ``{status, serviceErrorCode, code, message}``. 401 (expired, revoked
or invalid token) is ``NeedsReconnect``; 429 is transient (LinkedIn sends no reset header: a
daily limit waits for midnight UTC, when LinkedIn resets them, any other 429 for the outbox's
own backoff); 5xx transient, except on the post itself, where the post may have
been made (unknown); other 4xx are refusals with LinkedIn's reason.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from campaigns.providers.linkedin import (
    Client,
    LinkedInError,
    organization_urn,
    path_key,
    post_url,
)
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

PAGE_SIZE = 50
MAX_PAGES = 4
FIND_SLACK = timedelta(minutes=5)
# A video is processed after it is finalized; a post cannot carry it before LinkedIn says
# AVAILABLE. Asked every PROCESSING_POLL seconds up to PROCESSING_WAIT, which with the uploads
# and the post (each within the send timeout) stays inside the sending lease, as Mastodon's
# wait does; still processing after it makes the attempt transient (nothing was posted).
PROCESSING_WAIT = 25.0
PROCESSING_POLL = 2.0

# LinkedIn's "little text" format: these characters are markup unless escaped with a backslash
# (unescaped, LinkedIn drops or mangles the text after them).
RESERVED = set("\\|{}@[]()<>#*_~")
_HASHTAG_RE = re.compile(r"(?<![\w#&])#(\w+)")
_HASHTAG_ELEMENT_RE = re.compile(r"\{hashtag\|\\#\|([^{}|]*)\}")
_MENTION_ELEMENT_RE = re.compile(r"@\[([^\]]*)\]\((urn:li:[^)]*)\)")
_ESCAPED_RE = re.compile(r"\\(.)", re.DOTALL)


def little_text(text: str) -> str:
    """``text`` as LinkedIn's commentary: reserved characters escaped, ``#word`` a hashtag."""
    out, position = [], 0
    for match in _HASHTAG_RE.finditer(text):
        out.append(_escape(text[position:match.start()]))
        out.append("{hashtag|\\#|" + _escape(match.group(1)) + "}")
        position = match.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def _escape(text: str) -> str:
    return "".join("\\" + c if c in RESERVED else c for c in text)


def plain_text(commentary: str) -> str:
    """What people read of a commentary: hashtag and mention elements as text, escapes undone."""
    text = _HASHTAG_ELEMENT_RE.sub(lambda m: "#" + m.group(1), commentary or "")
    text = _MENTION_ELEMENT_RE.sub(lambda m: m.group(1), text)
    return _ESCAPED_RE.sub(lambda m: m.group(1), text)


def normalise(text: str) -> str:
    return " ".join(text.split())


def seconds_to_midnight_utc(now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def _statistics(elements: list[dict], remote_ids: list[str]) -> dict[str, Counts]:
    """``organizationalEntityShareStatistics`` elements → the asked posts' counts."""
    found = {}
    for element in elements:
        urn = element.get("share") or element.get("ugcPost")
        figures = element.get("totalShareStatistics") or {}
        if urn in remote_ids:
            found[urn] = Counts(likes=figures.get("likeCount"),
                                replies=figures.get("commentCount"),
                                reposts=figures.get("shareCount"),
                                impressions=figures.get("impressionCount"),
                                clicks=figures.get("clickCount"))
    return found


def _moment(milliseconds) -> datetime | None:
    if isinstance(milliseconds, (int, float)) and milliseconds > 0:
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    return None


@register
class LinkedInAdapter(Adapter):
    network = "linkedin"
    resend_is_safe = True  # ``find`` reads LinkedIn's own list of the page's posts

    # -- the client -----------------------------------------------------------------------------

    def _client(self) -> Client:
        if not self.channel.account_id:
            raise Permanent("The LinkedIn channel has no organization: connect it with "
                            "“Connect account” and pick the page to post to.")
        token = self.channel.get_secret()
        if not token:
            raise NeedsReconnect("The LinkedIn channel has no access token: reconnect it.")
        return Client(token, timeout=self.timeout)

    @property
    def author(self) -> str:
        return organization_urn(self.channel.account_id)

    def _error(self, exc: LinkedInError, *, sent: bool, what: str) -> AdapterError:
        """Our error for LinkedIn's. ``sent``: the request may have made the post."""
        status = exc.status
        if status == 429:
            # LinkedIn's limits are per day and reset at midnight UTC; it sends no reset header.
            # A daily limit's 429 waits for the reset (every try before it would only count
            # against the post's attempts); any other 429 (LinkedIn also sheds load with it)
            # is left to the outbox's backoff.
            daily = "DAY" in exc.message.upper().split()
            wait = seconds_to_midnight_utc() if daily else None
            when = " after midnight UTC, when LinkedIn's daily limits reset" if daily else " later"
            return Transient(f"LinkedIn is limiting this app's or page's requests ({what}: "
                             f"{exc.message}); trying{when}.", retry_after=wait)
        if status == 403:
            return Permanent(f"LinkedIn refused ({what}, HTTP 403): {exc.message}. The member "
                             "who connected the channel may no longer be an administrator of "
                             "the page: reconnect it as one.")
        return api_error("LinkedIn", exc, sent=sent, what=what)

    # -- the adapter ----------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        if post.videos and post.images:
            raise Permanent("LinkedIn cannot show images and a video in one post: keep one "
                            "kind, or split them into two posts.")
        if len(post.videos) > 1:
            raise Permanent("LinkedIn takes one video a post: remove the others.")
        api = self._client()
        try:
            content = self._content(api, post)
            body = {
                "author": self.author,
                "commentary": little_text(post.text),
                "visibility": "PUBLIC",
                "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                                 "thirdPartyDistributionChannels": []},
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": False,
            }
            if content:
                body["content"] = content
            try:
                response = api.call("POST", "/rest/posts", json_body=body)
            except LinkedInError as exc:
                raise self._error(exc, sent=True, what="the post") from exc
            urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
            if not urn:
                raise Unknown("LinkedIn accepted the post without saying its URN (no "
                              "x-restli-id); it will be looked up.")
            published = Published(remote_id=urn, url=post_url(urn))
            if post.first_comment.strip():
                self._comment(api, urn, post)
            return published
        finally:
            api.close()

    def _comment(self, api: Client, urn: str, post: Outgoing) -> None:
        try:
            api.call("POST", f"/rest/socialActions/{path_key(urn)}/comments", json_body={
                "actor": self.author, "object": urn,
                "message": {"text": post.first_comment}})
        except LinkedInError as exc:
            log.warning("LinkedIn: the first comment of %s did not go out: %s",
                        post.idempotency_key, self._error(exc, sent=False,
                                                          what="the comment").message)

    def _content(self, api: Client, post: Outgoing) -> dict | None:
        if post.videos:
            video = post.videos[0]
            urn = self._upload_video(api, video.data)
            media = {"id": urn}
            if post.campaign_title:
                media["title"] = post.campaign_title[:200]
            return {"media": media}
        if len(post.images) == 1:
            image = post.images[0]
            return {"media": {"id": self._upload_image(api, image.data),
                              "altText": image.alt[:4086]}}
        if post.images:
            return {"multiImage": {"images": [
                {"id": self._upload_image(api, image.data), "altText": image.alt[:4086]}
                for image in post.images]}}
        if post.link:
            return {"article": {"source": post.link,
                                "title": (post.campaign_title or post.link)[:400]}}
        return None

    def _upload_image(self, api: Client, data: bytes) -> str:
        try:
            answer = api.call("POST", "/rest/images", params={"action": "initializeUpload"},
                              json_body={"initializeUploadRequest": {"owner": self.author}})
            value = answer.json().get("value") or {}
            api.call("PUT", value["uploadUrl"], data=data, versioned=False,
                     headers={"Content-Type": "application/octet-stream"})
        except LinkedInError as exc:
            raise self._error(exc, sent=False, what="an image upload") from exc
        except (KeyError, ValueError, TypeError) as exc:
            raise Transient("LinkedIn's answer to an image upload could not be read.") from exc
        return value["image"]

    def _upload_video(self, api: Client, data: bytes) -> str:
        try:
            answer = api.call("POST", "/rest/videos", params={"action": "initializeUpload"},
                              json_body={"initializeUploadRequest": {
                                  "owner": self.author, "fileSizeBytes": len(data),
                                  "uploadCaptions": False, "uploadThumbnail": False}})
            value = answer.json().get("value") or {}
            urn = value["video"]
            etags = []
            for part in value.get("uploadInstructions") or []:
                first, last = int(part["firstByte"]), int(part["lastByte"])
                uploaded = api.call("PUT", part["uploadUrl"], data=data[first:last + 1],
                                    versioned=False,
                                    headers={"Content-Type": "application/octet-stream"})
                etag = uploaded.headers.get("ETag") or uploaded.headers.get("etag")
                if not etag:
                    raise Transient("LinkedIn took a part of the video without its ETag; the "
                                    "upload will be started again.")
                etags.append(etag)
            api.call("POST", "/rest/videos", params={"action": "finalizeUpload"},
                     json_body={"finalizeUploadRequest": {
                         "video": urn, "uploadToken": value.get("uploadToken") or "",
                         "uploadedPartIds": etags}})
            self._wait_available(api, urn)
        except LinkedInError as exc:
            raise self._error(exc, sent=False, what="the video upload") from exc
        except (KeyError, ValueError, TypeError) as exc:
            raise Transient("LinkedIn's answer to the video upload could not be read.") from exc
        return urn

    @staticmethod
    def _wait_available(api: Client, urn: str) -> None:
        deadline = time.monotonic() + PROCESSING_WAIT
        while True:
            status = api.call("GET", f"/rest/videos/{path_key(urn)}").json().get("status")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise Permanent("LinkedIn could not process the video (PROCESSING_FAILED): "
                                "check its format (MP4, 3 s to 30 min, up to 5 GB) and try "
                                "another file.")
            if time.monotonic() + PROCESSING_POLL > deadline:
                raise Transient(f"LinkedIn was still processing the video ({status}) after "
                                f"{PROCESSING_WAIT:.0f} s; it will be sent again later.")
            time.sleep(PROCESSING_POLL)

    # -- did it go out? -------------------------------------------------------------------------

    def _same(self, post: Outgoing, element: dict, wanted: str) -> bool:
        if normalise(plain_text(element.get("commentary") or "")) != wanted:
            return False
        content = element.get("content") or {}
        if post.videos or len(post.images) == 1:
            return "media" in content
        if post.images:
            return len((content.get("multiImage") or {}).get("images") or []) \
                == len(post.images)
        return "media" not in content and "multiImage" not in content

    # -- results --------------------------------------------------------------------------------

    # ``organizationalEntityShareStatistics`` reads many of the page's posts in one call
    # (``shares=List(…)`` or ``ugcPosts=List(…)``, URNs encoded inside Rest.li's List); LinkedIn
    # states no maximum, 20 per call keeps the address short. Lifetime, organic figures: likes,
    # comments, reshares, impressions, clicks. A post LinkedIn no longer has has no element:
    # left out. Only organization pages (rw_organization_admin) have these statistics.
    metrics_batch = 20

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        if not remote_ids:
            return {}
        if len(remote_ids) > self.metrics_batch:
            raise ValueError(f"LinkedIn's statistics are read {self.metrics_batch} posts at a "
                             f"time, not {len(remote_ids)}.")
        shares = [urn for urn in remote_ids if urn.startswith("urn:li:share:")]
        ugc = [urn for urn in remote_ids if not urn.startswith("urn:li:share:")]
        elements = []
        with self._client() as api:
            # one call per kind: LinkedIn checks ``shares`` and ``ugcPosts`` separately
            for key, urns in (("shares", shares), ("ugcPosts", ugc)):
                if not urns:
                    continue
                query = (f"q=organizationalEntity&organizationalEntity="
                         f"{quote(self.author, safe='')}&{key}=List("
                         + ",".join(quote(urn, safe="") for urn in urns) + ")")
                try:
                    answer = api.call(
                        "GET", f"/rest/organizationalEntityShareStatistics?{query}").json()
                except (LinkedInError, ValueError) as exc:
                    error = self._error(exc, sent=False, what="the posts' statistics") \
                        if isinstance(exc, LinkedInError) else \
                        Transient("LinkedIn's statistics could not be read.")
                    error.partial = _statistics(elements, remote_ids)  # the kind read before
                    raise error from exc
                elements += answer.get("elements") or []
        return _statistics(elements, remote_ids)

    def followers(self) -> int:
        """``networkSizes`` of the organization: members following the page."""
        with self._client() as api:
            try:
                answer = api.call("GET", f"/rest/networkSizes/{quote(self.author, safe='')}",
                                  params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"}).json()
            except LinkedInError as exc:
                raise self._error(exc, sent=False, what="the follower count") from exc
            except ValueError as exc:
                raise Transient("LinkedIn's follower count could not be read.") from exc
        return int(answer.get("firstDegreeSize") or 0)

    def check_access(self) -> bool:
        """The organization's own record: 401 once the token is expired or revoked."""
        api = self._client()
        try:
            api.call("GET", f"/rest/organizations/{self.channel.account_id}")
        except LinkedInError as exc:
            raise self._error(exc, sent=False, what="the page's record") from exc
        return True

    def find(self, post: Outgoing, *, since) -> Published | None:
        api = self._client()
        wanted = normalise(post.text)
        moment = since if isinstance(since, datetime) else datetime.now(UTC)
        cutoff = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - FIND_SLACK
        try:
            for page in range(MAX_PAGES):
                try:
                    answer = api.call("GET", "/rest/posts", params={
                        "q": "author", "author": self.author, "count": PAGE_SIZE,
                        "start": page * PAGE_SIZE, "sortBy": "LAST_MODIFIED"},
                        headers={"X-RestLi-Method": "FINDER"}).json()
                except LinkedInError as exc:
                    raise Unknown("Could not ask LinkedIn whether the post is there: "
                                  f"{self._error(exc, sent=False, what='the list').message}"
                                  ) from exc
                except ValueError as exc:
                    raise Unknown("LinkedIn's list of the page's posts could not be read.") \
                        from exc
                elements = answer.get("elements") or []
                for element in elements:
                    changed = _moment(element.get("lastModifiedAt")) \
                        or _moment(element.get("createdAt"))
                    if changed is not None and changed < cutoff:
                        return None  # newest change first: the rest changed before the send
                    if self._same(post, element, wanted) and element.get("id"):
                        return Published(remote_id=element["id"], url=post_url(element["id"]))
                if len(elements) < PAGE_SIZE:
                    return None
        finally:
            api.close()
        raise Unknown(f"LinkedIn lists more than {MAX_PAGES * PAGE_SIZE} posts of the page "
                      "changed since the post was sent; cannot tell whether it is among them.")
