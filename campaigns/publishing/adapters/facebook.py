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
from datetime import UTC, datetime, timedelta

from campaigns import connections
from campaigns.publishing.adapters import (
    Adapter,
    AdapterError,
    Outgoing,
    Permanent,
    Published,
    Unknown,
    register,
)
from campaigns.publishing.adapters.graph import GraphClient, parse_time, same_text

log = logging.getLogger(__name__)

GRAPH_VERSION = "v23.0"
FIND_SLACK = timedelta(minutes=5)
PAGE_SIZE = 50
MAX_PAGES = 5


def graph_base() -> str:
    return f"{connections.base_url('facebook_graph', 'https://graph.facebook.com')}/{GRAPH_VERSION}"


def post_url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


@register
class FacebookAdapter(Adapter):
    network = "facebook"
    resend_is_safe = True  # find lists the Page's own posts: its answer is authoritative

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

    def check_access(self) -> bool:
        with self._client() as client:
            client.get("me", fields="id")
        return True

    def find(self, post: Outgoing, *, since) -> Published | None:
        page = self.channel.account_id
        cutoff = (since or datetime.now(UTC)) - FIND_SLACK
        with self._client() as graph:
            try:
                after = None
                for _ in range(MAX_PAGES):
                    answer = graph.get(f"{page}/posts", fields="id,message,created_time",
                                       since=int(cutoff.timestamp()), limit=PAGE_SIZE,
                                       after=after)
                    for item in answer.get("data") or []:
                        created = parse_time(item.get("created_time"))
                        if created is not None and created < cutoff:
                            return None
                        if same_text(item.get("message"), post.text):
                            return Published(remote_id=str(item["id"]),
                                             url=post_url(item["id"]))
                    after = ((answer.get("paging") or {}).get("cursors") or {}).get("after")
                    if not (answer.get("paging") or {}).get("next") or not after:
                        return None
            except AdapterError as exc:
                raise Unknown("Could not ask Facebook whether the post is there: "
                              f"{exc.message}") from exc
        raise Unknown(f"The Page shows more than {MAX_PAGES * PAGE_SIZE} posts since the post "
                      "was sent; cannot tell whether it is among them.")
