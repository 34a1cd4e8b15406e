"""Threads, through its Graph API (graph.threads.net): text, an image, a video, a carousel (up
to 20); the first comment as a reply.

The same container flow as Instagram: the publishing limit is read, a container per item (media
fetched by Threads from short-lived, unguessable URLs, ``campaigns.publishing.media_links``),
each polled until ``FINISHED`` within the sending lease, then ``threads_publish``, the one call
that makes the post. The first comment is a reply container (``reply_to_id``), published the
same way. ``account_id`` is the Threads user id. After an unknown outcome ``find`` lists the
user's threads since the send and matches the text.

Conversations: the replies under the user's recent threads (``/{thread}/conversation``: every
level, flattened, newest first, each with ``replied_to`` and ``root_post``); a top-level reply
is hidden with ``POST /{reply}/manage_reply hide=true`` (which hides its nested replies too:
Threads hides no deeper reply on its own, so those are flagged); an answer is a reply container
(``reply_to_id``) published like a post. The user's own replies are left out.
"""

from __future__ import annotations

import logging

from campaigns import connections
from campaigns.publishing.adapters import (
    AdapterError,
    Counts,
    Incoming,
    Outgoing,
    Permanent,
    Published,
    Transient,
    register,
)
from campaigns.publishing.adapters.graph import (
    COMMENTS_PER_PAGE,
    CommentsAdapter,
    GraphClient,
    container_deadline,
    metric_values,
    pages,
    parse_time,
    publishing_quota,
    same_text,
    stop_if_near_limit,
    wait_for_container,
)
from campaigns.publishing.adapters.instagram import media_url

log = logging.getLogger(__name__)

API_VERSION = "v1.0"
MAX_CAROUSEL = 20


def graph_base() -> str:
    return f"{connections.base_url('threads_graph', 'https://graph.threads.net')}/{API_VERSION}"


@register
class ThreadsAdapter(CommentsAdapter):
    network = "threads"
    resend_is_safe = True  # find lists the user's own threads: its answer is authoritative
    reads_media = False  # the network fetches each file from its media link
    _deadline: float | None = None  # one wait for all of a post's containers (set per publish)

    label = "Threads"
    recent_edge = "threads"
    recent_fields = "id,text,timestamp,permalink"
    text_key, time_key = "text", "timestamp"
    recent_what = "threads"

    # Results: Threads has no multi-id read: ``GET /{thread}/insights?metric=…`` one thread at
    # a time, the calls of a batch sharing one session. ``shares`` (sent in messages) has no
    # place in the counts.
    metrics_batch = 25
    METRICS = "views,likes,replies,reposts,quotes"
    GONE_SUBCODE = 33  # "Object with ID … does not exist"

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        found: dict[str, Counts] = {}
        if not remote_ids:
            return found
        with self._client() as graph:
            for remote_id in remote_ids:
                try:
                    answer = graph.get(f"{remote_id}/insights", metric=self.METRICS)
                except Transient as exc:
                    exc.partial = dict(found)
                    raise
                except Permanent as exc:
                    if f"subcode {self.GONE_SUBCODE})" in exc.message:
                        continue  # deleted on Threads: left out, marked gone
                    raise
                values = metric_values(answer)
                found[remote_id] = Counts(
                    likes=values.get("likes"), replies=values.get("replies"),
                    reposts=values.get("reposts"), quotes=values.get("quotes"),
                    views=values.get("views"))
                if remote_id != remote_ids[-1]:
                    stop_if_near_limit(graph, found)
        return found

    def followers(self) -> int:
        """``threads_insights?metric=followers_count`` (its ``total_value``)."""
        with self._client() as graph:
            answer = graph.get(f"{self.channel.account_id}/threads_insights",
                               metric="followers_count")
        return metric_values(answer).get("followers_count", 0)

    def _client(self) -> GraphClient:
        token = self.channel.get_secret()
        if not token or not self.channel.account_id:
            raise Permanent("The Threads channel is not connected to an account: connect it "
                            "(Channels → Connect account).")
        return GraphClient(base=graph_base(), token=token, timeout=self.timeout,
                           label="Threads")

    def _container(self, graph: GraphClient, what: str, **fields) -> str:
        answer = graph.post(f"{self.channel.account_id}/threads", **fields)
        container = str(answer["id"])
        wait_for_container(graph, container, field="status", error_field="error_message",
                           what=what, deadline=self._deadline)
        return container

    def _publish(self, graph: GraphClient, container: str) -> str:
        answer = graph.post(f"{self.channel.account_id}/threads_publish", sends=True,
                            creation_id=container)
        return str(answer["id"])

    def publish(self, post: Outgoing) -> Published:
        user = self.channel.account_id
        items = [("image", image) for image in post.images] + \
                [("video", video) for video in post.videos]
        if len(items) > MAX_CAROUSEL:
            raise Permanent(f"Threads takes at most {MAX_CAROUSEL} images and videos in one "
                            f"post; this one has {len(items)}.")
        with self._client() as graph:
            publishing_quota(graph, f"{user}/threads_publishing_limit",
                             fields="quota_usage,config")
            self._deadline = container_deadline()
            if not items:
                container = self._container(graph, "post", media_type="TEXT", text=post.text)
            elif len(items) == 1:
                kind, item = items[0]
                if kind == "image":
                    container = self._container(graph, "image", media_type="IMAGE",
                                                image_url=media_url(item, "image"),
                                                alt_text=item.alt, text=post.text)
                else:
                    container = self._container(graph, "video", media_type="VIDEO",
                                                video_url=media_url(item, "video"),
                                                text=post.text)
            else:
                children = []
                for number, (kind, item) in enumerate(items, start=1):
                    what = f"carousel item {number} ({kind})"
                    if kind == "image":
                        children.append(self._container(
                            graph, what, media_type="IMAGE", is_carousel_item=True,
                            image_url=media_url(item, "image"), alt_text=item.alt))
                    else:
                        children.append(self._container(
                            graph, what, media_type="VIDEO", is_carousel_item=True,
                            video_url=media_url(item, "video")))
                container = self._container(graph, "carousel", media_type="CAROUSEL",
                                            children=",".join(children), text=post.text)
            thread_id = self._publish(graph, container)
            url = ""
            try:
                url = str(graph.get(thread_id, fields="permalink").get("permalink") or "")
            except AdapterError as exc:
                log.info("Threads: no permalink for %s yet: %s", thread_id, exc.message)
            if post.first_comment.strip():
                try:
                    reply = self._container(graph, "reply", media_type="TEXT",
                                            text=post.first_comment, reply_to_id=thread_id)
                    self._publish(graph, reply)
                except AdapterError as exc:
                    log.warning("Threads: the first comment of %s did not go out: %s",
                                post.idempotency_key, exc.message)
            return Published(remote_id=thread_id, url=url[:500])

    # -- conversations ------------------------------------------------------------------------

    REPLY_FIELDS = ("id,text,username,permalink,timestamp,media_type,replied_to,root_post,"
                    "is_reply_owned_by_me,hide_status")

    def _comments(self, graph: GraphClient, post_id: str, since):
        for reply in pages(graph, f"{post_id}/conversation", fields=self.REPLY_FIELDS,
                           reverse="true", limit=COMMENTS_PER_PAGE):
            created = parse_time(reply.get("timestamp"))
            if created is None:
                continue
            if created < since:
                return  # newest first: the rest is older
            if reply.get("is_reply_owned_by_me"):
                continue
            username = str(reply.get("username") or "")
            yield Incoming(
                notification_id=str(reply["id"]), remote_id=str(reply["id"]), kind="reply",
                author_id=username, author_handle=f"@{username}" if username else
                "Someone on Threads", author_name=username, text=str(reply.get("text") or ""),
                created_at=created, has_media=str(reply.get("media_type") or "TEXT") not in (
                    "TEXT", "TEXT_POST"),
                remote_url=str(reply.get("permalink") or ""),
                in_reply_to=str((reply.get("replied_to") or {}).get("id") or post_id),
                thread_root=str((reply.get("root_post") or {}).get("id") or post_id))

    def can_hide(self, item) -> bool:
        # manage_reply takes top-level replies only (and hides their nested replies with them)
        return item.kind == "reply" and bool(item.thread_root) and \
            item.in_reply_to == item.thread_root

    def _hide(self, graph: GraphClient, remote_id: str, hide: bool) -> dict:
        return graph.post(f"{remote_id}/manage_reply", hide=hide)

    def _existing_reply(self, graph: GraphClient, to, text: str) -> Published | None:
        for reply in pages(graph, f"{to.remote_id}/replies",
                           fields="id,text,permalink,is_reply_owned_by_me", reverse="true",
                           limit=COMMENTS_PER_PAGE):
            if reply.get("is_reply_owned_by_me") and same_text(reply.get("text"), text):
                return Published(remote_id=str(reply["id"]),
                                 url=str(reply.get("permalink") or ""))
        return None

    def _send_reply(self, graph: GraphClient, to, text: str) -> Published:
        self._deadline = container_deadline()
        container = self._container(graph, "reply", media_type="TEXT", text=text,
                                    reply_to_id=str(to.remote_id))
        return Published(remote_id=self._publish(graph, container))
