"""Facebook Pages, through the Graph API (``graph.GraphClient``): text, link, one or many
photos, a video; the first comment under the post.

The channel holds the Page's own access token (from the person's long-lived user token at
connection) and the Page's id as ``account_id``. Photos are uploaded as files: one photo is
published with its caption; several are uploaded unpublished, then attached to one feed post
(``attached_media``). A video is uploaded to the Page's videos with the text as its description.

Facebook takes no idempotency key. After an unknown outcome ``find`` lists the Page's posts since
the send and matches the text; the outbox asks only after ``PUBLISHING_CHECK_AFTER_SECONDS``, so
the list is the network's answer, and a post it does not show was not made.
"""

from __future__ import annotations

import logging

from campaigns import connections
from campaigns.publishing.adapters import (
    AdapterError,
    Counts,
    Outgoing,
    Permanent,
    Published,
    register,
)
from campaigns.publishing.adapters.graph import (
    IDS_PER_READ,
    GraphAdapter,
    GraphClient,
    metric_values,
    read_many,
    stop_if_near_limit,
)

log = logging.getLogger(__name__)

GRAPH_VERSION = "v23.0"


def graph_base() -> str:
    return f"{connections.base_url('facebook_graph', 'https://graph.facebook.com')}/{GRAPH_VERSION}"


def post_url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


@register
class FacebookAdapter(GraphAdapter):
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
