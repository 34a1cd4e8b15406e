"""Instagram professional accounts, through the Graph API's content publishing: one image, a
carousel (up to 10 images or videos), a Reel; alt text on images; the first comment.

Instagram fetches every image and video itself, from a public URL: each one gets a short-lived,
unguessable address (``campaigns.publishing.media_links``). The post is made in steps: the
account's publishing limit is read (``content_publishing_limit``: at the limit the attempt is
transient), a container per image or video (children of a carousel container when there are
several), each polled until ``FINISHED`` within the sending lease (``graph.wait_for_container``),
then ``media_publish``: only that call makes the post.

The channel's ``account_id`` is the Instagram user id; its token is the Facebook Page's token
(the Page the account is linked to, ``settings["page_id"]``). After an unknown outcome ``find``
lists the account's media since the send and matches the caption.

Conversations: the comments under the account's recent media (``/{media}/comments``: top-level
comments, newest first, each with its ``replies``); a comment is hidden with
``POST /{comment} hide=true`` and answered with ``POST /{comment}/replies`` under its top-level
comment (Instagram nests one level). The account's own comments are left out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from campaigns.publishing import media_links
from campaigns.publishing.adapters import (
    AdapterError,
    Counts,
    Incoming,
    Outgoing,
    Permanent,
    Published,
    register,
    reply_target,
)
from campaigns.publishing.adapters.facebook import graph_base
from campaigns.publishing.adapters.graph import (
    COMMENTS_PER_PAGE,
    IDS_PER_READ,
    CommentsAdapter,
    GraphClient,
    container_deadline,
    metric_values,
    pages,
    parse_time,
    publishing_quota,
    read_many,
    same_text,
    stop_if_near_limit,
    wait_for_container,
)

log = logging.getLogger(__name__)

MAX_CAROUSEL = 10


def media_url(item, kind: str) -> str:
    if not item.file:
        raise Permanent(f"The {kind} {item.name} has no stored file to link to; replace it in "
                        "the campaign and approve it again.")
    return media_links.public_url(item.file)


@register
class InstagramAdapter(CommentsAdapter):
    network = "instagram"
    resend_is_safe = True  # find lists the account's own media: its answer is authoritative
    reads_media = False  # the network fetches each file from its media link
    _deadline: float | None = None  # one wait for all of a post's containers (set per publish)

    label = "Instagram"
    recent_edge = "media"
    recent_fields = "id,caption,timestamp,permalink"
    text_key, time_key = "caption", "timestamp"
    recent_since = False

    # Results: ``like_count`` and ``comments_count`` are the media's fields; views, saves and
    # shares its insights (``views`` replaced ``impressions``, refused since v22.0; ``reach``,
    # people rather than views, has no place in the counts). Up to 50 media per read.
    metrics_batch = IDS_PER_READ
    METRIC_FIELDS = "like_count,comments_count,insights.metric(views,saved,shares)"

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        if not remote_ids:
            return {}
        with self._client() as graph:
            media = read_many(graph, remote_ids, fields=self.METRIC_FIELDS)
            found = {}
            for remote_id, item in media.items():
                insights = metric_values(item.get("insights"))
                found[remote_id] = Counts(
                    likes=item.get("like_count"), replies=item.get("comments_count"),
                    reposts=insights.get("shares"), views=insights.get("views"),
                    saves=insights.get("saved"))
            stop_if_near_limit(graph, found)
            return found

    def followers(self) -> int:
        """The Instagram user's ``followers_count``."""
        with self._client() as graph:
            user = graph.get(self.channel.account_id, fields="followers_count")
        return int(user.get("followers_count") or 0)

    def _client(self) -> GraphClient:
        token = self.channel.get_secret()
        if not token or not self.channel.account_id:
            raise Permanent("The Instagram channel is not connected to an account: connect it "
                            "(Channels → Connect account).")
        return GraphClient(base=graph_base(), token=token, timeout=self.timeout,
                           label="Instagram")

    def _container(self, graph: GraphClient, **fields) -> str:
        answer = graph.post(f"{self.channel.account_id}/media", **fields)
        return str(answer["id"])

    def _wait(self, graph: GraphClient, container: str, what: str) -> None:
        wait_for_container(graph, container, field="status_code", error_field="status",
                           what=what, deadline=self._deadline)

    def publish(self, post: Outgoing) -> Published:
        user = self.channel.account_id
        items = [("image", image) for image in post.images] + \
                [("video", video) for video in post.videos]
        if not items:
            raise Permanent("Instagram needs an image or a video: add one to the post.")
        if len(items) > MAX_CAROUSEL:
            raise Permanent(f"Instagram takes at most {MAX_CAROUSEL} images and videos in one "
                            f"post; this one has {len(items)}.")
        with self._client() as graph:
            publishing_quota(graph, f"{user}/content_publishing_limit",
                             fields="config,quota_usage")
            self._deadline = container_deadline()
            if len(items) == 1:
                kind, item = items[0]
                if kind == "image":
                    container = self._container(graph, image_url=media_url(item, "image"),
                                                caption=post.text, alt_text=item.alt)
                else:
                    container = self._container(graph, media_type="REELS",
                                                video_url=media_url(item, "video"),
                                                caption=post.text)
                self._wait(graph, container, kind)
            else:
                children = []
                for number, (kind, item) in enumerate(items, start=1):
                    if kind == "image":
                        child = self._container(graph, image_url=media_url(item, "image"),
                                                is_carousel_item=True, alt_text=item.alt)
                    else:
                        child = self._container(graph, media_type="VIDEO",
                                                video_url=media_url(item, "video"),
                                                is_carousel_item=True)
                    self._wait(graph, child, f"carousel item {number} ({kind})")
                    children.append(child)
                container = self._container(graph, media_type="CAROUSEL",
                                            children=",".join(children), caption=post.text)
                self._wait(graph, container, "carousel")
            answer = graph.post(f"{user}/media_publish", sends=True, creation_id=container)
            media_id = str(answer["id"])
            url = ""
            try:
                url = str(graph.get(media_id, fields="permalink").get("permalink") or "")
            except AdapterError as exc:
                log.info("Instagram: no permalink for %s yet: %s", media_id, exc.message)
            if post.first_comment.strip():
                try:
                    graph.post(f"{media_id}/comments", message=post.first_comment)
                except AdapterError as exc:
                    log.warning("Instagram: the first comment of %s did not go out: %s",
                                post.idempotency_key, exc.message)
            return Published(remote_id=media_id, url=url[:500])

    # -- conversations ------------------------------------------------------------------------

    COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},parent_id,media{id}"

    def _incoming(self, comment: dict, post_id: str, top: str = "") -> Incoming | None:
        created = parse_time(comment.get("timestamp"))
        author = comment.get("from") or {}
        if created is None or str(author.get("id") or "") == str(self.channel.account_id):
            return None  # unreadable, or the account's own comment
        username = str(author.get("username") or comment.get("username") or "")
        return Incoming(
            notification_id=str(comment["id"]), remote_id=str(comment["id"]), kind="reply",
            author_id=str(author.get("id") or ""),
            author_handle=f"@{username}" if username else "Someone on Instagram",
            author_name=username, text=str(comment.get("text") or ""), created_at=created,
            in_reply_to=str(comment.get("parent_id") or top or post_id), thread_root=post_id)

    def _comments(self, graph: GraphClient, post_id: str, since):
        # Top-level comments come newest first, but an older one may have new replies: every
        # comment on the read pages is looked at (with its replies in the same answer).
        fields = f"{self.COMMENT_FIELDS},replies{{{self.COMMENT_FIELDS}}}"
        for comment in pages(graph, f"{post_id}/comments", fields=fields,
                             limit=COMMENTS_PER_PAGE):
            found = self._incoming(comment, post_id)
            if found is not None:
                yield found
            for reply in (comment.get("replies") or {}).get("data") or []:
                found = self._incoming(reply, post_id, top=str(comment["id"]))
                if found is not None:
                    yield found

    def _hide(self, graph: GraphClient, remote_id: str, hide: bool) -> dict:
        return graph.post(remote_id, hide=hide)

    def _existing_reply(self, graph: GraphClient, to, text: str) -> Published | None:
        for reply in pages(graph, f"{reply_target(to)}/replies", fields="id,text,from{id}",
                           limit=COMMENTS_PER_PAGE):
            if str((reply.get("from") or {}).get("id") or "") == str(
                    self.channel.account_id) and same_text(reply.get("text"), text):
                return Published(remote_id=str(reply["id"]))
        return None

    def _send_reply(self, graph: GraphClient, to, text: str) -> Published:
        answer = graph.post(f"{reply_target(to)}/replies", sends=True, message=text)
        return Published(remote_id=str(answer["id"]))

    def pushed(self, value: dict, *, time: int | None = None) -> Incoming | None:
        """An Instagram webhook's ``comments`` change as an item (someone else's comment on
        the account's media), else None. The change carries no time: the entry's is used."""
        media = str((value.get("media") or {}).get("id") or "")
        if not value.get("id") or not media:
            return None
        try:
            created = datetime.fromtimestamp(int(time), UTC)
        except (TypeError, ValueError, OverflowError):
            created = datetime.now(UTC)
        return self._incoming({**value, "timestamp": created.isoformat()}, media)
