"""Channel adapters: one small interface between the outbox and each network.

An adapter publishes one frozen post and answers, when the outcome of a call is unknown, whether
the post is on the network. It reports what happened by return value or by one of three errors:

- ``Transient``: nothing was published and trying again later may work (timeout before the
  request was sent, 429, 5xx). ``retry_after`` carries the network's wish, in seconds.
- ``Permanent``: the network refused for good (bad credentials, content refused); the message is
  the network's reason, shown to staff.
- ``Unknown``: the request may have been accepted (a timeout after it was sent). The outbox never
  sends again blindly; it asks the network with ``find``.
- ``NeedsReconnect`` (a ``Permanent``): the token no longer works; the channel needs reconnecting.

Results: ``metrics(remote_ids)`` reads the public counts of published posts (``Counts``), as many
per network call as the network allows; ``followers()`` the account's follower count. An adapter
whose network gives neither raises ``NotSupported`` (the base's default).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from agency import outbound
from campaigns import connections


class AdapterError(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class Transient(AdapterError):
    pass


class Permanent(AdapterError):
    pass


class Unknown(AdapterError):
    pass


class NeedsReconnect(Permanent):
    """The network no longer takes the channel's token (expired, revoked, password changed):
    nothing was published. The channel needs someone to reconnect it; its posts wait."""


class NotSupported(Permanent):
    """The network (or this adapter) does not give what was asked, e.g. a post's counts."""


@dataclass(frozen=True)
class Counts:
    """A published post's public counts at one moment. ``None``: the network does not give
    that figure (Mastodon and Bluesky give no impressions); 0 is a real zero."""

    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    impressions: int | None = None
    views: int | None = None
    saves: int | None = None
    clicks: int | None = None

    FIELDS = ("likes", "reposts", "replies", "quotes", "impressions", "views", "saves", "clicks")

    @property
    def interactions(self) -> int:
        """What people did with the post: likes, reposts, replies, quotes, saves and clicks."""
        return sum(getattr(self, name) or 0
                   for name in ("likes", "reposts", "replies", "quotes", "saves", "clicks"))


@dataclass(frozen=True)
class Image:
    data: bytes
    mime_type: str
    alt: str
    name: str
    file: str = ""  # its name in the brand's storage (for networks that fetch media by URL)


@dataclass(frozen=True)
class Video:
    data: bytes
    mime_type: str
    description: str  # what happens in it, for people who cannot watch it
    name: str
    file: str = ""  # its name in the brand's storage (for networks that fetch media by URL)


@dataclass(frozen=True)
class Outgoing:
    """What goes out: the frozen content of one delivery, with its media read from storage."""

    idempotency_key: str
    text: str
    link: str = ""
    first_comment: str = ""
    images: list[Image] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    campaign_title: str = ""
    created_at_us: int = 0  # the delivery's creation time in microseconds (Bluesky record keys)
    delivery_id: int = 0
    # The post's choices for this network (``networks.Option``: a board, a privacy level...).
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str = ""


@dataclass(frozen=True)
class Incoming:
    """A reply, mention or quote read from the channel's notifications (conversations)."""

    notification_id: str
    remote_id: str  # the post's id on the network (Mastodon status id, Bluesky at:// URI)
    kind: str  # reply, mention or quote
    author_id: str
    author_handle: str
    text: str
    created_at: object  # an aware datetime
    author_name: str = ""
    has_media: bool = False
    remote_url: str = ""
    remote_cid: str = ""
    in_reply_to: str = ""  # the remote id of the post it answers
    thread_root: str = ""  # the remote id of the thread's first post, where the network says
    thread_root_cid: str = ""
    # The photos and videos it carries: ({"url", "kind": "image"|"video", "alt"}, ...).
    media: tuple = ()


@dataclass(frozen=True)
class NotificationPage:
    """One page of notifications newer than a cursor, oldest first, and the cursor after it
    (``more``: the network has more pages after this one)."""

    items: list[Incoming]
    cursor: str
    more: bool = False


class Adapter:
    """Base for adapters. ``resend_is_safe``: after ``find`` says the post is not there, sending
    again with the same idempotency key cannot make a second post (the network or receiver drops
    repeats, or ``find`` is authoritative). ``reads_media``: ``publish`` uses the media's bytes
    (else only their stored names, ``Image.file`` / ``Video.file``)."""

    network = ""
    resend_is_safe = True
    # Whether publish reads the media's bytes; networks that fetch media from a link
    # (Instagram, Threads) do not, and a 300 MB video is then not read into memory.
    reads_media = True

    def __init__(self, channel, *, timeout: float):
        self.channel = channel
        self.timeout = timeout

    def publish(self, post: Outgoing) -> Published:
        raise NotImplementedError

    def renew_token(self, *, unless_valid_for: timedelta | None = None) -> None:
        """Renew the channel's access token with its refresh token (``Provider.refresh``) and
        keep it, encrypted. Workers renewing one channel at once renew it once: the row is
        locked, and a token another worker stored meanwhile is used (networks that replace the
        refresh token at each use would refuse the second). ``unless_valid_for``: leave a token
        that stays valid that long. A network that refuses makes it ``NeedsReconnect``; one
        that cannot be reached, ``Transient``."""
        channel = self.channel
        provider = connections.get(self.network)
        label = provider.label if provider is not None else self.network
        if provider is None or not channel.get_refresh_token():
            raise NeedsReconnect(f"{label} gave this channel no refresh token, so its access "
                                 "cannot be renewed: reconnect the channel.")

        def renewed(current) -> None:
            try:
                current.store_tokens(provider.refresh(current))
            except connections.ConnectionError_ as exc:
                if exc.transient:
                    raise Transient(f"{label}: could not renew the channel's access "
                                    f"({exc.message}).") from exc
                raise NeedsReconnect(f"{label} refused to renew the channel's access "
                                     f"({exc.message}): reconnect the channel.") from exc

        if channel.pk is None:  # not saved (an adapter on its own): renewed in memory
            renewed(channel)
            return
        fields = list(type(channel).TOKEN_FIELDS)
        with transaction.atomic():
            locked = type(channel).objects.select_for_update().get(pk=channel.pk)
            valid = (unless_valid_for is not None and locked.token_expires_at is not None
                     and locked.token_expires_at - timezone.now() > unless_valid_for)
            if locked.secret_encrypted == channel.secret_encrypted and not valid:
                renewed(locked)
                locked.save(update_fields=fields)
        channel.refresh_from_db(fields=fields)

    def find(self, post: Outgoing, *, since) -> Published | None:
        """The post if the network has it, None if it does not; ``Unknown`` if it cannot tell."""
        raise NotImplementedError

    def check_access(self) -> bool:
        """Ask the network, cheaply and without posting, whether it still takes the channel's
        token: ``NeedsReconnect`` if not. False where the network cannot be asked so (the token
        job then relies on the token's expiry and on the first send)."""
        return False

    # Results. How many remote ids one ``metrics`` call takes at most (the caller splits a
    # longer list): the network's own batch size, or how many single reads share one session.
    metrics_batch = 1

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        """The counts of these published posts, by remote id; a post the network no longer has
        is left out. ``Transient`` (429, 5xx, no answer) may carry ``partial``: the counts read
        before it happened."""
        raise NotSupported(f"{self.network or 'This network'} gives no counts of posts here.")

    def followers(self) -> int:
        """How many accounts follow the channel's account now."""
        raise NotSupported(f"{self.network or 'This network'} gives no follower count here.")

    def counts_unavailable(self, remote_id: str) -> str:
        """Why the network gives no counts of this one post ("" when it does): e.g. a private
        TikTok post has no public id to ask about. Such posts are not read at all."""
        return ""

    # Conversations: reading replies and mentions, answering in the thread.

    def notifications(self, cursor: str) -> NotificationPage:
        """The next page of replies, mentions and quotes after ``cursor`` ("" the first time)."""
        raise NotSupported(f"{self.network or 'This network'} gives no replies here.")

    def reply(self, text: str, *, key: str, to: Incoming | object, created_at_us: int = 0,
              reply_id: int = 0) -> Published:
        """Answer ``to`` (an item: ``remote_id``, ``remote_cid``, ``thread_root``...) in its
        thread, once per ``key``."""
        raise NotSupported(f"{self.network or 'This network'} takes no replies here.")

    def can_hide(self, item) -> bool:
        """Whether ``hide_reply`` can hide this item on the network (else it is flagged)."""
        return False

    def hide_reply(self, thread_root: str, remote_id: str, *, hide: bool) -> None:
        """Hide (or show again) a reply under the brand's post, where the network allows."""
        raise NotSupported(f"{self.network or 'This network'} cannot hide replies here.")


def reply_target(to) -> str:
    """Where an answer to the item ``to`` goes on a network whose threads are one level deep
    (Facebook, Instagram, YouTube): under its top-level comment; a reply to a reply goes under
    the comment it answers."""
    remote_id = str(getattr(to, "remote_id", "") or "")
    parent = str(getattr(to, "in_reply_to", "") or "")
    root = str(getattr(to, "thread_root", "") or "")
    return parent if parent and root and parent != root else remote_id


ADAPTERS: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    ADAPTERS[cls.network] = cls
    return cls


def for_channel(channel, *, timeout: float) -> Adapter:
    try:
        cls = ADAPTERS[channel.network]
    except KeyError:
        raise Permanent(f"No adapter publishes to {channel.network!r} channels.") from None
    return cls(channel, timeout=timeout)


def guess_mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def api_error(label: str, exc, *, sent: bool, what: str, thing: str = "post") -> AdapterError:
    """Our error for a network client's error ``exc`` (``status``: the HTTP status, or None when
    the network did not answer; ``message``; ``sent``: the request may have reached the
    network; ``cause``: the transport's error), after the network's own cases (its rate limits,
    its refusals) were taken: an address the guard refuses is permanent; no answer after the
    request may have made the ``thing`` (``sent``) is unknown, else worth another try; 401 is a
    token the network no longer takes; 5xx, 408 and 425 after the ``thing`` may have been made
    are unknown, else worth another try; any other status is the network refusing."""
    status = exc.status
    if status is None:
        if isinstance(exc.cause, outbound.Refused):
            return Permanent(f"{label} ({what}): {exc.message}")
        if sent and exc.sent:
            return Unknown(f"{label} ({what}): {exc.message} after the {thing} was sent; the "
                           f"{thing} may have been made.")
        return Transient(f"{label} ({what}): {exc.message}")
    if status == 401:
        return NeedsReconnect(f"{label} no longer accepts the channel's token ({exc.message}): "
                              "reconnect the channel.")
    if status >= 500 or status in (408, 425):
        if sent:
            return Unknown(f"{label} answered HTTP {status} after the {thing} was sent "
                           f"({exc.message}); the {thing} may have been made.")
        return Transient(f"{label} answered HTTP {status} ({what}): {exc.message}")
    return Permanent(f"{label} refused the {thing} ({what}, HTTP {status}): {exc.message}")


def http_error(status: int, reason: str, *, retry_after: str | None = None) -> AdapterError:
    """The error for an HTTP answer that is not a success: 408, 425, 429 and 5xx are worth
    another try later; any other 4xx (or a redirect, never followed) is the network refusing
    the post. ``reason`` is what the network said, kept to a short, single-line excerpt."""
    seconds = None
    if retry_after:
        try:
            seconds = max(0.0, float(retry_after))
        except ValueError:
            seconds = None
    text = f"HTTP {status}: {outbound.excerpt(reason)}".strip().rstrip(":")
    if 300 <= status < 400:
        text += " (redirects are not followed: give the final address)"
    if status in (408, 425, 429) or status >= 500:
        return Transient(text, retry_after=seconds)
    return Permanent(text)


from campaigns.publishing.adapters import (  # noqa: E402,F401,I001
    bluesky, facebook, google_business, instagram, linkedin, mastodon, pinterest, sandbox,
    threads, tiktok, webhook, x, youtube,
)
