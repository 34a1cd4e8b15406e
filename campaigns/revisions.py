"""The one reader of a campaign revision's stored content (Wagtail's ``Revision.content``).

A campaign's revision holds the page as JSON: its title and its posts, each with its copy, link,
first comment, channel ids, time (ISO text) and media, a StreamField stored as a list of
``{"type", "value", "id"}`` blocks (or, in older revisions, as that list in JSON text).

Whatever reads a revision without rebuilding the page (``revision.as_object()``: the calendar,
the sensitivity review, the client's review images, the approval due date, webhooks) reads it
through ``read_revision`` / ``read_content``, so the shapes a stored revision may have are
tolerated here and nowhere else: a missing key reads as empty, media in JSON text is decoded,
and blocks that are not objects are skipped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils.dateparse import parse_datetime

if TYPE_CHECKING:
    from wagtail.models import Revision


@dataclass(frozen=True)
class RevisionImage:
    """An image block of a post: the image's id (None when the block has none) and alt text."""

    image_id: int | None
    alt_text: str


@dataclass(frozen=True)
class RevisionPost:
    """One post as the revision stored it."""

    pk: int | None  # the post's id (what the outbox's deliveries point at)
    copy: str
    link: str
    first_comment: str
    channel_ids: tuple[int, ...]
    publish_at: datetime | None
    images: tuple[RevisionImage, ...]  # the image blocks of its media, in order

    @property
    def image_ids(self) -> set[int]:
        return {image.image_id for image in self.images if image.image_id is not None}


@dataclass(frozen=True)
class RevisionContent:
    """A campaign revision: its title and its posts, in the editor's order."""

    title: str
    posts: tuple[RevisionPost, ...]

    @property
    def first_post_at(self) -> datetime | None:
        """The earliest post time (None when no post has a time)."""
        return min((post.publish_at for post in self.posts if post.publish_at is not None),
                   default=None)

    @property
    def image_ids(self) -> set[int]:
        """The ids of every image in the posts' media."""
        return {pk for post in self.posts for pk in post.image_ids}


def read_revision(revision: Revision) -> RevisionContent:
    """The content of a campaign revision."""
    return read_content(revision.content)


def read_content(content: dict[str, Any] | None) -> RevisionContent:
    """A campaign revision's content from its stored JSON (``Revision.content``)."""
    content = content or {}
    return RevisionContent(title=content.get("title") or "",
                           posts=tuple(_post(item) for item in content.get("posts") or ()))


def _post(data: dict[str, Any]) -> RevisionPost:
    return RevisionPost(
        pk=data.get("pk"), copy=data.get("copy") or "", link=data.get("link") or "",
        first_comment=data.get("first_comment") or "",
        channel_ids=tuple(data.get("channels") or ()),
        publish_at=parse_datetime(data.get("publish_at") or ""),
        images=tuple(RevisionImage(image_id=value.get("image"),
                                   alt_text=value.get("alt_text") or "")
                     for kind, value in _media(data.get("media")) if kind == "image"))


def _media(media: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """The (type, value) of each block of a post's media."""
    media = media or []
    if isinstance(media, str):  # a StreamField may be stored as JSON text
        media = json.loads(media)
    return [(block.get("type"), block.get("value") or {}) for block in media
            if isinstance(block, dict)]
