"""Facebook Pages, through the Graph API (``graph.GraphClient``): text, link, one or many
photos, a video; the first comment under the post.

The channel holds the Page's own access token (from the person's long-lived user token at
connection) and the Page's id as ``account_id``. Photos are uploaded as files: one photo is
published with its caption; several are uploaded unpublished, then attached to one feed post
(``attached_media``). A video is uploaded to the Page's videos with the text as its description.

Facebook takes no idempotency key. After an unknown outcome ``find`` lists the Page's posts since
the send and matches the text; the outbox asks only after ``PUBLISHING_CHECK_AFTER_SECONDS``, so
the list is the network's answer, and a post it does not show was not made.

Conversations: the comments under the Page's recent posts (``/{post}/comments`` with
``filter=stream``, every level, newest first, each with its ``parent``); a comment is hidden with
``POST /{comment} is_hidden=true`` and answered under its top-level comment
(``POST /{comment}/comments``). The Page's own comments are left out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from campaigns import connections
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
from campaigns.publishing.adapters.graph import (
    COMMENTS_PER_PAGE,
    IDS_PER_READ,
    CommentsAdapter,
    GraphClient,
    metric_values,
    pages,
    parse_time,
    read_many,
    same_text,
    stop_if_near_limit,
)

log = logging.getLogger(__name__)

GRAPH_VERSION = "v23.0"


def graph_base() -> str:
    return f"{connections.base_url('facebook_graph', 'https://graph.facebook.com')}/{GRAPH_VERSION}"


def post_url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


@register
class FacebookAdapter(CommentsAdapter):
    network = "facebook"
    resend_is_safe = True  # find lists the Page's own posts: its answer is authoritative

    label = "Facebook"
    recent_edge = "posts"
    recent_fields = "id,message,created_time"
    text_key, time_key = "message", "created_time"

    def post_url(self, item: dict) -> str:
        return post_url(item["id"])

    # Results: reactions (every kind: like, love...), comments and shares are the post's own
    # fields; views (``post_media_view``, which replaced ``post_impressions`` in the Page
    # Insights of November 2025) and clicks (``post_clicks``) its insights. Up to 50 posts in
    # one ``GET /?ids=…`` read; a Page gives no saves and no quotes.
    metrics_batch = IDS_PER_READ
    METRIC_FIELDS = ("shares,reactions.summary(total_count).limit(0),"
                     "comments.summary(total_count).limit(0),"
                     "insights.metric(post_media_view,post_clicks)")

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        if not remote_ids:
            return {}
        with self._client() as graph:
            posts = read_many(graph, remote_ids, fields=self.METRIC_FIELDS)
            found = {}
            for remote_id, post in posts.items():
                insights = metric_values(post.get("insights"))
                found[remote_id] = Counts(
                    likes=((post.get("reactions") or {}).get("summary") or {}).get("total_count"),
                    replies=((post.get("comments") or {}).get("summary") or {}).get(
                        "total_count"),
                    reposts=int((post.get("shares") or {}).get("count") or 0),  # absent: none
                    views=insights.get("post_media_view"), clicks=insights.get("post_clicks"))
            stop_if_near_limit(graph, found)
            return found

    def followers(self) -> int:
        """The Page's ``followers_count``."""
        with self._client() as graph:
            page = graph.get(self.channel.account_id, fields="followers_count")
        return int(page.get("followers_count") or 0)

    def _client(self) -> GraphClient:
        token = self.channel.get_secret()
        if not token or not self.channel.account_id:
            raise Permanent("The Facebook channel is not connected to a Page: connect it "
                            "(Channels → Connect account).")
        return GraphClient(base=graph_base(), token=token, timeout=self.timeout,
                           label="Facebook")

    def publish(self, post: Outgoing) -> Published:
        page = self.channel.account_id
        with self._client() as graph:
            if post.videos:
                video = post.videos[0]
                answer = graph.post(f"{page}/videos", sends=True,
                                    files={"source": (video.name, video.data, video.mime_type)},
                                    description=post.text)
                published = Published(remote_id=str(answer["id"]),
                                      url=f"https://www.facebook.com/{page}/videos/{answer['id']}")
            elif len(post.images) == 1:
                image = post.images[0]
                answer = graph.post(f"{page}/photos", sends=True,
                                    files={"source": (image.name, image.data, image.mime_type)},
                                    message=post.text, published=True,
                                    alt_text_custom=image.alt)
                remote = str(answer.get("post_id") or answer["id"])
                published = Published(remote_id=remote, url=post_url(remote))
            elif post.images:
                photos = []
                for image in post.images:  # unpublished: nothing shows until the feed post
                    answer = graph.post(f"{page}/photos",
                                        files={"source": (image.name, image.data,
                                                          image.mime_type)},
                                        published=False, alt_text_custom=image.alt)
                    photos.append({"media_fbid": str(answer["id"])})
                answer = graph.post(f"{page}/feed", sends=True, message=post.text,
                                    attached_media=photos)
                published = Published(remote_id=str(answer["id"]), url=post_url(answer["id"]))
            else:
                answer = graph.post(f"{page}/feed", sends=True, message=post.text,
                                    link=post.link or None)
                published = Published(remote_id=str(answer["id"]), url=post_url(answer["id"]))
            if post.first_comment.strip():
                try:
                    graph.post(f"{published.remote_id}/comments", message=post.first_comment)
                except AdapterError as exc:
                    log.warning("Facebook: the first comment of %s did not go out: %s",
                                post.idempotency_key, exc.message)
            return published

    # -- conversations ------------------------------------------------------------------------

    COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},attachment,permalink_url"

    def _comments(self, graph: GraphClient, post_id: str, since):
        for comment in pages(graph, f"{post_id}/comments", fields=self.COMMENT_FIELDS,
                             filter="stream", order="reverse_chronological",
                             limit=COMMENTS_PER_PAGE):
            created = parse_time(comment.get("created_time"))
            if created is None:
                continue
            if created < since:
                return  # newest first: the rest is older
            author = comment.get("from") or {}
            if str(author.get("id") or "") == str(self.channel.account_id):
                continue  # the Page's own comment (a reply as the brand, a first comment)
            parent = str((comment.get("parent") or {}).get("id") or "")
            name = str(author.get("name") or "Someone on Facebook")
            yield Incoming(
                notification_id=str(comment["id"]), remote_id=str(comment["id"]), kind="reply",
                author_id=str(author.get("id") or ""), author_handle=name, author_name=name,
                text=str(comment.get("message") or ""), created_at=created,
                has_media=bool(comment.get("attachment")),
                remote_url=str(comment.get("permalink_url") or ""),
                in_reply_to=parent or post_id, thread_root=post_id)

    def _hide(self, graph: GraphClient, remote_id: str, hide: bool) -> dict:
        return graph.post(remote_id, is_hidden=hide)

    def _existing_reply(self, graph: GraphClient, to, text: str) -> Published | None:
        for comment in pages(graph, f"{reply_target(to)}/comments",
                             fields="id,message,from{id},permalink_url", filter="stream",
                             order="reverse_chronological", limit=COMMENTS_PER_PAGE):
            if str((comment.get("from") or {}).get("id") or "") == str(
                    self.channel.account_id) and same_text(comment.get("message"), text):
                return Published(remote_id=str(comment["id"]),
                                 url=str(comment.get("permalink_url") or ""))
        return None

    def _send_reply(self, graph: GraphClient, to, text: str) -> Published:
        answer = graph.post(f"{reply_target(to)}/comments", sends=True, message=text)
        return Published(remote_id=str(answer["id"]))

    def pushed(self, value: dict, *, time: int | None = None) -> Incoming | None:
        """A Page webhook's ``feed`` change as an item: a comment added by someone else
        (``item`` comment, ``verb`` add), else None."""
        if value.get("item") != "comment" or value.get("verb") != "add":
            return None
        author = value.get("from") or {}
        if str(author.get("id") or "") == str(self.channel.account_id) or \
                not value.get("comment_id") or not value.get("post_id"):
            return None
        post_id, parent = str(value["post_id"]), str(value.get("parent_id") or "")
        try:
            created = datetime.fromtimestamp(int(value.get("created_time") or time), UTC)
        except (TypeError, ValueError, OverflowError):
            created = datetime.now(UTC)
        name = str(author.get("name") or "Someone on Facebook")
        return Incoming(
            notification_id=str(value["comment_id"]), remote_id=str(value["comment_id"]),
            kind="reply", author_id=str(author.get("id") or ""), author_handle=name,
            author_name=name, text=str(value.get("message") or ""), created_at=created,
            has_media=bool(value.get("photo") or value.get("video")),
            in_reply_to=parent or post_id, thread_root=post_id)
