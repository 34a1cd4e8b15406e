"""Gathering the conversation: each channel's replies, mentions and quotes, polled with the
network's cursor through the channel's adapter (``Adapter.notifications``).

One page at a time: its new items and the advanced cursor are stored in one transaction (the
cursor row locked, so two polls of a channel never interleave), so a poll that fails halfway
loses nothing and takes nothing twice (``Item`` is unique per channel and remote id). Each new
item is classified and acted on after the commit (``actions.on_ingest``). A rate limit (429)
makes the channel wait (the network's Retry-After, else ``DEFER_MINUTES`` doubling) instead of
failing; other channels go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.conversations import actions
from campaigns.conversations.models import ConversationSettings, Item, PollCursor
from campaigns.models import Channel
from campaigns.publishing import adapters
from campaigns.publishing.adapters import Incoming, NotSupported, Transient
from campaigns.publishing.models import Delivery

log = logging.getLogger(__name__)

# The networks whose adapters read replies: Mastodon and Bluesky notifications, the comments
# under the account's recent posts on Facebook, Instagram and Threads, X mentions, YouTube's
# comment threads, a Google Business Profile location's reviews.
NETWORKS = ("mastodon", "bluesky", "facebook", "instagram", "threads", "x", "youtube",
            "google_business")
MAX_PAGES = 10  # per channel and poll


def _setting(name: str):
    return settings.CONVERSATIONS[name]


@dataclass
class PollReport:
    taken: int = 0
    pages: int = 0
    deferred: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    items: list[int] = field(default_factory=list)


def _links(client, channel: Channel, incoming: list[Incoming]) -> tuple[dict, dict]:
    """The brand's deliveries and known items the page's items answer, by remote id."""
    wanted = {ref for i in incoming for ref in (i.in_reply_to, i.thread_root) if ref}
    deliveries = {d.remote_id: d for d in Delivery.objects.filter(
        client=client, channel_id=channel.pk, remote_id__in=wanted).only(
        "id", "remote_id", "page_id", "campaign_title")}
    items = {i.remote_id: i for i in Item.objects.filter(channel=channel, remote_id__in=wanted)
             .only("id", "remote_id", "thread_root", "thread_root_cid", "delivery_id",
                   "page_id", "campaign_title")}
    return deliveries, items


def _insert(client, channel: Channel, incoming_items: list[Incoming], now,
            brand: ConversationSettings) -> list[Item]:
    """The items not taken yet, linked to their post and thread, classified and stored (in
    the caller's transaction, with the channel's cursor row locked)."""
    known = set(Item.objects.filter(channel=channel,
                                    remote_id__in=[i.remote_id for i in incoming_items])
                .values_list("remote_id", flat=True))
    deliveries, parents = _links(client, channel, incoming_items)
    created = []
    for incoming in incoming_items:
        if incoming.remote_id in known:
            continue
        known.add(incoming.remote_id)
        item = Item(channel=channel, network=channel.network, kind=incoming.kind,
                    remote_id=incoming.remote_id, remote_cid=incoming.remote_cid,
                    remote_url=incoming.remote_url[:500],
                    notification_id=incoming.notification_id[:300],
                    in_reply_to=incoming.in_reply_to, author_id=incoming.author_id[:200],
                    author_handle=incoming.author_handle[:300],
                    author_name=incoming.author_name[:300], text=incoming.text,
                    has_media=incoming.has_media, media=list(incoming.media),
                    created_at=incoming.created_at,
                    received_at=now, thread_root=incoming.thread_root,
                    thread_root_cid=incoming.thread_root_cid)
        delivery = deliveries.get(incoming.in_reply_to) or deliveries.get(
            incoming.thread_root)
        parent = parents.get(incoming.in_reply_to)
        if delivery is not None:
            item.delivery_id, item.page_id = delivery.id, delivery.page_id
            item.campaign_title = delivery.campaign_title
            if not item.thread_root or item.thread_root == item.remote_id:
                item.thread_root = delivery.remote_id
        elif parent is not None:  # a reply under a reply: the same thread and post
            item.delivery_id, item.page_id = parent.delivery_id, parent.page_id
            item.campaign_title = parent.campaign_title
            item.thread_root = parent.thread_root or parent.remote_id
            item.thread_root_cid = parent.thread_root_cid
        if not item.thread_root:
            item.thread_root = incoming.in_reply_to or incoming.remote_id
        created.append(item)
        parents[item.remote_id] = item
    actions.classify_items(created, brand)  # the model asked once for the page
    Item.objects.bulk_create(created)  # one INSERT for the page
    return created


def _store_page(client, channel: Channel, cursor: PollCursor, page, now,
                brand: ConversationSettings) -> list[Item]:
    """The page's new items, classified, and the cursor after it, in one transaction."""
    with transaction.atomic():
        locked = PollCursor.objects.select_for_update().get(pk=cursor.pk)
        if locked.cursor != cursor.cursor:  # another poll moved on meanwhile: its turn
            return []
        created = _insert(client, channel, page.items, now, brand)
        locked.cursor = page.cursor or locked.cursor
        locked.polled_at, locked.failures, locked.error = now, 0, ""
        locked.deferred_until = None
        locked.save()
        cursor.cursor = locked.cursor
    return created


def _defer(cursor: PollCursor, error, *, now, transient: bool) -> None:
    cursor.failures += 1
    seconds = getattr(error, "retry_after", None)
    if seconds is None:
        seconds = _setting("DEFER_MINUTES") * 60 * 2 ** min(cursor.failures - 1, 6)
    cursor.deferred_until = now + timedelta(seconds=seconds)
    cursor.error = (getattr(error, "message", None) or str(error))[:500]
    PollCursor.objects.filter(pk=cursor.pk).update(
        failures=cursor.failures, deferred_until=cursor.deferred_until, error=cursor.error)


def poll_channel(client, channel: Channel, report: PollReport, *, now=None,
                 brand: ConversationSettings | None = None) -> None:
    now = now or timezone.now()
    brand = brand or ConversationSettings.load()
    cursor, _ = PollCursor.objects.get_or_create(channel=channel)
    if cursor.deferred_until and cursor.deferred_until > now:
        report.deferred.append(channel.pk)
        return
    adapter = adapters.for_channel(channel, timeout=_setting("TIMEOUT_SECONDS"))
    for _ in range(MAX_PAGES):
        try:
            page = adapter.notifications(cursor.cursor)
        except NotSupported:
            return
        except Exception as exc:  # noqa: BLE001 - one channel's failure never stops the others
            transient = isinstance(exc, Transient)
            log.warning("conversations: channel %s could not be polled: %s", channel.pk,
                        getattr(exc, "message", None) or type(exc).__name__)
            (report.deferred if transient else report.failed).append(channel.pk)
            _defer(cursor, exc, now=now, transient=transient)
            return
        report.pages += 1
        created = _store_page(client, channel, cursor, page, now, brand)
        report.taken += len(created)
        report.items.extend(item.pk for item in created)
        for item in created:
            actions.on_ingest(client, item, brand)
        if not page.more or not page.items:
            return


def take_pushed(client, channel: Channel, incoming_items: list[Incoming], *,
                now=None) -> list[Item]:
    """Items a network pushed (a signed webhook), stored as a poll stores them: the same
    linking and classification, the channel's cursor row locked so a poll running meanwhile
    waits, and one item per remote id (a poll that sees them later takes nothing). The cursor
    does not move: the poll still reads whatever the push did not bring. Returns the new
    items; their actions (``actions.on_ingest``) are for the caller, after the commit."""
    now = now or timezone.now()
    brand = ConversationSettings.load()
    PollCursor.objects.get_or_create(channel=channel)
    with transaction.atomic():
        PollCursor.objects.select_for_update().get(channel=channel)
        return _insert(client, channel, incoming_items, now, brand)


def poll_brand(client, *, now=None) -> PollReport:
    """One poll of every active channel of the brand whose network gives notifications, and
    another try of replies whose outcome was unknown."""
    report = PollReport()
    brand = ConversationSettings.load()
    for channel in Channel.objects.filter(active=True, network__in=NETWORKS,
                                          needs_reconnect_since__isnull=True):
        poll_channel(client, channel, report, now=now, brand=brand)
    actions.recheck_replies(client)
    actions.notify_missed_targets(client, now=now)
    log.debug("conversations: %s took %s items in %s", connection.schema_name, report.taken,
              report.pages)
    return report
