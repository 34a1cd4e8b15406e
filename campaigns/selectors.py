"""Reads about campaigns inside the active client schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, Count, F, Q, TextChoices
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.models import Revision

from campaigns import slots
from campaigns.editor import approval_lead_time
from campaigns.models import CampaignPage, Channel
from campaigns.publishing.models import HELD as HELD_STATE
from campaigns.publishing.models import (
    HELD_LABEL,
    OUT_OR_GOING,
    Delivery,
    State,
    shown_state,
)
from campaigns.revisions import read_content
from campaigns.status import CampaignStatus, with_status
from tenants.models import current_client, current_zone


class CalendarState(TextChoices):
    """A post as a whole (the API's ``state``, the portal's counts): its campaign's status until
    the outbox has it, then scheduled, published or failed (``_summary``). Each channel's own
    state is a ``ChannelState``."""

    DRAFT = CampaignStatus.DRAFT.value, CampaignStatus.DRAFT.label
    IN_REVIEW = CampaignStatus.IN_REVIEW.value, CampaignStatus.IN_REVIEW.label
    CHANGES_REQUESTED = (CampaignStatus.CHANGES_REQUESTED.value,
                         CampaignStatus.CHANGES_REQUESTED.label)
    APPROVED = CampaignStatus.APPROVED.value, CampaignStatus.APPROVED.label
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"


# The portal's card of a client: campaigns by status, then campaigns with posts waiting to go
# out and posts that did not go out.
CARD_COUNTS = (CalendarState.DRAFT, CalendarState.IN_REVIEW, CalendarState.CHANGES_REQUESTED,
               CalendarState.SCHEDULED, CalendarState.FAILED)


def campaign_status_counts() -> dict[str, int]:
    """Counts for the portal card of the active client: campaigns in each status (one grouped
    query), "scheduled" and "failed" (see ``CARD_COUNTS``)."""
    now = timezone.now()
    by_status = dict(with_status(CampaignPage.objects.all()).order_by().values_list("status")
                     .annotate(n=Count("pk")))
    deliveries = Delivery.objects.filter(client=current_client())
    return {
        **{status.value: by_status.get(status.value, 0) for status in CampaignStatus},
        # campaigns with posts waiting to go out
        "scheduled": deliveries.filter(state=State.SCHEDULED, publish_at__gt=now)
        .values("page_id").distinct().count(),
        # posts that did not go out, or whose outcome is not confirmed
        "failed": deliveries.filter(state__in=[State.FAILED, State.UNCONFIRMED]).count(),
    }


def client_status_counts(client) -> dict[str, int]:
    with schema_context(client.schema_name):
        return campaign_status_counts()


def client_card_counts(client) -> list[tuple[str, str, int]]:
    """``CARD_COUNTS`` of ``client`` as (key, label, count)."""
    counts = client_status_counts(client)
    return [(state.value, state.label, counts[state.value]) for state in CARD_COUNTS]


# --- The content calendar -------------------------------------------------------------------


class ChannelState(TextChoices):
    """A post on one of its channels, as the calendar, the dashboard and the API show it: the
    campaign's status until the outbox has the post for that channel, then the outbox's state in
    the publishing queue's words (a scheduled delivery under a crisis hold is "Held", as there)."""

    DRAFT = CampaignStatus.DRAFT.value, CampaignStatus.DRAFT.label
    IN_REVIEW = CampaignStatus.IN_REVIEW.value, CampaignStatus.IN_REVIEW.label
    CHANGES_REQUESTED = (CampaignStatus.CHANGES_REQUESTED.value,
                         CampaignStatus.CHANGES_REQUESTED.label)
    APPROVED = CampaignStatus.APPROVED.value, CampaignStatus.APPROVED.label
    SCHEDULED = State.SCHEDULED.value, State.SCHEDULED.label
    HELD = HELD_STATE, HELD_LABEL  # publishing.models.shown_state
    SENDING = State.CLAIMED.value, State.CLAIMED.label
    PUBLISHED = State.PUBLISHED.value, State.PUBLISHED.label
    FAILED = State.FAILED.value, State.FAILED.label
    UNCONFIRMED = State.UNCONFIRMED.value, State.UNCONFIRMED.label
    CANCELLED = State.CANCELLED.value, State.CANCELLED.label


# What staff may still move or cancel: a delivery that has not gone out (held ones included).
NOT_SENT_STATES = frozenset({ChannelState.SCHEDULED, ChannelState.HELD, ChannelState.FAILED})


@dataclass(frozen=True)
class PostChannel:
    """One channel of a post on the calendar."""

    channel_id: int
    name: str
    state: str  # a ChannelState
    delivery_id: int | None  # the post's delivery on this channel (the publishing queue's row)

    @property
    def state_label(self) -> str:
        return ChannelState(self.state).label

    @property
    def not_sent(self) -> bool:
        """In the outbox and not gone out: its time may still be moved."""
        return self.delivery_id is not None and self.state in NOT_SENT_STATES


@dataclass(frozen=True)
class CalendarEntry:
    campaign_id: int
    campaign_title: str
    campaign_status: str  # a CampaignStatus
    index: int  # position of the post in the campaign's latest revision
    copy: str
    publish_at: datetime
    channels: tuple[PostChannel, ...]  # its channels due at this time, each with its state
    state: str  # the post as a whole (a CalendarState), from its channels' states

    @property
    def channel_ids(self) -> tuple[int, ...]:
        return tuple(channel.channel_id for channel in self.channels)

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(channel.name for channel in self.channels)

    @property
    def state_label(self) -> str:
        return CalendarState(self.state).label


def calendar_entries(*, start: datetime, end: datetime, channel_id: int | None = None,
                     campaign_id: int | None = None) -> list[CalendarEntry]:
    """Every post due in [start, end) across the brand's campaigns, as its latest revision has
    it (drafts included), with each channel's state from the outbox. A post whose time was moved
    in the outbox on some channels (staff moving an approved post) is shown at each of its times
    with the channels due then. A fixed number of queries, however many campaigns and posts."""
    entries = _entries(campaign_id=campaign_id, start=start, end=end)
    return sorted((e for e in entries if start <= e.publish_at < end
                   and (not channel_id or channel_id in e.channel_ids)),
                  key=lambda e: (e.publish_at, e.campaign_title, e.index))


def post_entries(*, campaign_id: int, index: int) -> list[CalendarEntry]:
    """Post ``index`` of a campaign's latest revision as the calendar shows it, at each of its
    times (none when there is no such post or it has no time)."""
    return [e for e in _entries(campaign_id=campaign_id) if e.index == index]


# Does a revision (the query's ``wagtailcore_revision`` row) hold a post due in [%s, %s)? Read
# inside PostgreSQL, so the calendar of one month fetches and parses only the revisions with
# posts then, not every campaign's. A time that is not an ISO date and time counts as none
# (``read_content`` would not read it either).
POSTS_DUE_BETWEEN = r"""EXISTS (
    SELECT 1
    FROM jsonb_array_elements(CASE jsonb_typeof(wagtailcore_revision.content -> 'posts')
                              WHEN 'array' THEN wagtailcore_revision.content -> 'posts'
                              ELSE '[]'::jsonb END) AS post(value),
         LATERAL (SELECT post.value ->> 'publish_at' AS value) AS given,
         LATERAL (SELECT CASE WHEN given.value ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}'
                              THEN given.value::timestamptz END AS at) AS due
    WHERE due.at >= %s AND due.at < %s)"""


def _entries(*, campaign_id: int | None, start: datetime | None = None,
             end: datetime | None = None) -> list[CalendarEntry]:
    """The calendar's entries of every campaign's latest revision, or only of the campaigns
    that can have a post due in [start, end) when both are given: a post of the revision due
    then, or a delivery the outbox has due then (a time staff moved after approval)."""
    pages = with_status(CampaignPage.objects.all()).values("id", "title", "latest_revision_id",
                                                           "status")
    if campaign_id:
        pages = pages.filter(id=campaign_id)
    pages = {p["latest_revision_id"]: p for p in pages if p["latest_revision_id"]}
    revisions = Revision.objects.filter(id__in=list(pages))
    if start is not None and end is not None:
        moved_here = set(Delivery.objects.filter(
            client=current_client(), publish_at__gte=start, publish_at__lt=end,
            page_id__in=[p["id"] for p in pages.values()]).values_list("page_id", flat=True))
        due = RawSQL(POSTS_DUE_BETWEEN, (start, end), output_field=BooleanField())  # noqa: S611 - constant SQL, times as parameters
        revisions = revisions.alias(due=due).filter(
            Q(due=True) | Q(id__in=[r for r, p in pages.items() if p["id"] in moved_here]))
    revisions = list(revisions.values_list("id", "content"))
    names = dict(Channel.objects.values_list("id", "name"))
    outbox = _Outbox([pages[revision_id]["id"] for revision_id, _content in revisions])
    entries = []
    for revision_id, content in revisions:
        page = pages[revision_id]
        status = CampaignStatus(page["status"])
        for index, post in enumerate(read_content(content).posts):
            if post.publish_at is None:
                continue
            # its channels by the time they are due: the outbox's time once it has the post
            by_time: dict[datetime, list[PostChannel]] = {}
            if not post.channel_ids:
                by_time[post.publish_at] = []
            for channel in post.channel_ids:
                delivery = outbox.find(page["id"], revision_id, index, post, channel)
                by_time.setdefault(delivery.publish_at if delivery else post.publish_at, []
                                   ).append(PostChannel(
                    channel_id=channel, name=names.get(channel, "(removed channel)"),
                    state=delivery.shown_state if delivery else status.value,
                    delivery_id=delivery.id if delivery else None))
            for when, channels in by_time.items():
                entries.append(CalendarEntry(
                    campaign_id=page["id"], campaign_title=page["title"],
                    campaign_status=status.value, index=index, copy=post.copy, publish_at=when,
                    channels=tuple(channels), state=_summary(status, channels)))
    return entries


def _summary(status: CampaignStatus, channels: list[PostChannel]) -> str:
    """The post as a whole, from its channels: failed if any channel failed (or is not
    confirmed), published once every channel in the outbox has it, scheduled while an approved
    post waits; otherwise its campaign's status."""
    out = {c.state for c in channels if c.delivery_id is not None} - {ChannelState.CANCELLED}
    if out & {ChannelState.FAILED, ChannelState.UNCONFIRMED}:
        return CalendarState.FAILED
    if out == {ChannelState.PUBLISHED}:
        return CalendarState.PUBLISHED
    if out and status == CampaignStatus.APPROVED:
        return CalendarState.SCHEDULED
    return CalendarState(status.value)


@dataclass(frozen=True)
class _Delivery:
    id: int
    state: str
    hold_id: int | None
    publish_at: datetime

    @property
    def shown_state(self) -> str:
        """As the publishing queue shows it (``publishing.models.shown_state``)."""
        return shown_state(self.state, self.hold_id)


class _Outbox:
    """The deliveries of some campaigns (one query), found for a post of a revision and one of
    its channels: by the post's id; else, for the revision that was approved, by the post's
    number in it (a revision saved before its first publish stores its posts without ids); else
    one that went out for the campaign on that channel at the post's approved time (a post
    Wagtail recreated with a new id since, which the outbox did not send again). A delivery
    that was not cancelled wins over one that was; then the newest."""

    def __init__(self, page_ids: list[int]):
        self.by_post, self.by_number, self.by_time = {}, {}, {}
        rows = (Delivery.objects.filter(client=current_client(), page_id__in=page_ids)
                .order_by("id").values_list("id", "page_id", "revision_id", "post_id",
                                            "post_number", "channel_id", "state", "hold_id",
                                            "publish_at", "approved_time"))
        for pk, page_id, revision_id, post_id, number, channel, state, hold_id, when, approved \
                in rows:
            delivery = _Delivery(pk, state, hold_id, when)
            self._keep(self.by_post, (post_id, channel), delivery)
            self._keep(self.by_number, (revision_id, number, channel), delivery)
            if state in OUT_OR_GOING:
                self._keep(self.by_time, (page_id, channel, approved), delivery)

    @staticmethod
    def _keep(found: dict, key, delivery: _Delivery) -> None:
        if delivery.state != State.CANCELLED or found.get(key, delivery).state == State.CANCELLED:
            found[key] = delivery

    def find(self, page_id: int, revision_id: int, index: int, post, channel: int
             ) -> _Delivery | None:
        return ((post.pk is not None and self.by_post.get((post.pk, channel)))
                or self.by_number.get((revision_id, index + 1, channel))
                or self.by_time.get((page_id, channel, post.publish_at)))


# --- Scheduling: posting slots and copy already scheduled -----------------------------------

def scheduled_posts(*, start: datetime, end: datetime, exclude_campaign: int | None = None
                    ) -> list[tuple[datetime, frozenset[int], str, str]]:
    """(time, channel ids, copy, campaign title) of every post due in [start, end): each
    campaign's latest revision (drafts included, as the calendar shows them) and the outbox's
    scheduled deliveries (a time staff moved after approval), except ``exclude_campaign``'s."""
    found = [(e.publish_at, frozenset(e.channel_ids), e.copy, e.campaign_title)
             for e in calendar_entries(start=start, end=end) if e.campaign_id != exclude_campaign]
    moved = (Delivery.objects.filter(client=current_client(), state=State.SCHEDULED,
                                     publish_at__gte=start, publish_at__lt=end)
             .exclude(publish_at=F("approved_time")))
    if exclude_campaign:
        moved = moved.exclude(page_id=exclude_campaign)
    for when, channel_id, text, title in moved.values_list("publish_at", "channel_id",
                                                          "content__text", "campaign_title"):
        found.append((when, frozenset({channel_id}), text or "", title))
    return found


@dataclass(frozen=True)
class FreeSlot:
    publish_at: datetime | None
    problem: str = ""  # why there is none, and what to do


def next_free_slot(channels: list[Channel], *, after: datetime | None = None,
                   exclude_campaign: int | None = None,
                   also_taken: list[tuple[datetime, set[int]]] = ()) -> FreeSlot:
    """The first posting slot after ``after`` (now) shared by ``channels`` (those with slots)
    that no other post takes on any of them: other campaigns' posts, moved deliveries, and
    ``also_taken`` (time, channel ids: e.g. the other posts of the campaign being edited, whose
    saved revision ``exclude_campaign`` leaves out). Never one inside the client's approval
    lead time (``campaign_approval_lead_time``): a post then would be due for approval
    already."""
    if not channels:
        return FreeSlot(None, "Choose the post's channels first: the slot comes from them.")
    with_slots = [c for c in channels if c.parsed_slots]
    if not with_slots:
        names = ", ".join(c.name for c in channels)
        return FreeSlot(None, f"{names} {'has' if len(channels) == 1 else 'have'} no posting "
                              "slots yet: set them on the channel (menu: Channels).")
    lead = approval_lead_time()
    earliest = timezone.now() + (lead or timedelta(0))
    after = max(after or earliest, earliest)
    zone = current_zone()
    end = after + timedelta(days=slots.HORIZON_DAYS + 1)
    ids = {c.pk for c in channels}
    taken = {slots.minute(when) for when, on, _copy, _title in
             scheduled_posts(start=after, end=end, exclude_campaign=exclude_campaign)
             if on & ids}
    taken |= {slots.minute(when) for when, on in also_taken if set(on) & ids}
    moment = slots.next_free([c.parsed_slots for c in with_slots], after=after, zone=zone,
                             taken=taken)
    if moment is None:
        names = " and ".join(c.name for c in with_slots)
        return FreeSlot(None, f"No free slot shared by {names} in the next "
                              f"{slots.HORIZON_DAYS} days: add slots to the channel, or pick a "
                              "time yourself.")
    return FreeSlot(moment)


def _same_copy(text: str) -> str:
    return " ".join(text.split()).casefold()


def copy_already_scheduled(posts, *, campaign_id: int | None = None) -> list[str]:
    """Warnings for posts (of one campaign, in order) whose copy is already scheduled on one of
    their channels: by another campaign, or by an earlier post of the same one. Advice, not an
    error: a repeat may be intended."""
    now = timezone.now()
    mine = [(n, p) for n, p in enumerate(posts, start=1)
            if p.publish_at and p.publish_at > now and p.copy.strip()]
    if not mine:
        return []
    others: dict[tuple[int, str], tuple[str, datetime]] = {}
    for when, on, text, title in scheduled_posts(start=now, end=now + timedelta(days=800),
                                                 exclude_campaign=campaign_id):
        for channel_id in on:
            others.setdefault((channel_id, _same_copy(text)), (f"“{title}”", when))
    names = dict(Channel.objects.values_list("id", "name"))
    zone = current_zone()
    warnings = []
    for number, post in mine:
        key = _same_copy(post.copy)
        for channel in post.channels.all():
            found = others.get((channel.pk, key))
            if found is not None:
                where, when = found
                warnings.append(
                    f"Post {number}: the same copy is already scheduled on "
                    f"{names.get(channel.pk, channel.name)} by {where} for "
                    f"{when.astimezone(zone):%a %-d %b %Y, %H:%M}. Change the copy if it should "
                    "not go out twice.")
            else:
                others[(channel.pk, key)] = (f"post {number} of this campaign", post.publish_at)
    return warnings
