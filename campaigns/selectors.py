"""Reads about campaigns inside the active client schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, TextChoices
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.models import Revision

from campaigns import slots
from campaigns.models import CampaignPage, Channel
from campaigns.publishing.models import Delivery, State
from campaigns.revisions import read_content
from campaigns.status import OPEN_FOR_EDITS, CampaignStatus, with_status
from tenants.models import current_client, current_zone


class CalendarState(TextChoices):
    """A post on the calendar: its campaign's status until the campaign is approved, then where
    the post is (approved but its time passed without being sent, scheduled, published or
    failed: the outbox's word wins over the campaign's)."""

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

@dataclass(frozen=True)
class CalendarEntry:
    campaign_id: int
    campaign_title: str
    index: int  # position of the post in the campaign's latest revision
    copy: str
    publish_at: datetime
    channel_ids: tuple[int, ...]
    channel_names: tuple[str, ...]
    state: str

    @property
    def movable(self) -> bool:
        return self.state in OPEN_FOR_EDITS

    @property
    def state_label(self) -> str:
        return CalendarState(self.state).label


def calendar_entries(*, start: datetime, end: datetime, channel_id: int | None = None,
                     campaign_id: int | None = None) -> list[CalendarEntry]:
    """Every post due in [start, end) across the brand's campaigns, as its latest revision has
    it (drafts included). A fixed number of queries, however many campaigns and posts."""
    pages = with_status(CampaignPage.objects.all()).values("id", "title", "latest_revision_id",
                                                           "status")
    if campaign_id:
        pages = pages.filter(id=campaign_id)
    pages = {p["latest_revision_id"]: p for p in pages if p["latest_revision_id"]}
    now = timezone.now()
    names = dict(Channel.objects.values_list("id", "name"))
    delivered = _delivery_states([p["id"] for p in pages.values()])
    entries = []
    for revision_id, content in Revision.objects.filter(id__in=list(pages)).values_list(
            "id", "content"):
        page = pages[revision_id]
        status = CampaignStatus(page["status"])
        for index, post in enumerate(read_content(content).posts):
            when = post.publish_at
            if when is None or not (start <= when < end):
                continue
            channels = post.channel_ids
            if channel_id and channel_id not in channels:
                continue
            outbox = delivered.get(post.pk)
            if outbox in (CalendarState.PUBLISHED, CalendarState.FAILED):
                state = CalendarState(outbox)
            elif status == CampaignStatus.APPROVED and when > now:
                state = CalendarState.SCHEDULED
            else:
                state = CalendarState(status.value)
            entries.append(CalendarEntry(
                campaign_id=page["id"], campaign_title=page["title"], index=index,
                copy=post.copy, publish_at=when, channel_ids=channels,
                channel_names=tuple(names.get(c, "(removed channel)") for c in channels),
                state=state))
    return sorted(entries, key=lambda e: (e.publish_at, e.campaign_title, e.index))


def _delivery_states(page_ids: list[int]) -> dict[int, str]:
    """Per post id, what the outbox says: "failed" if any of its channels failed (or is not
    confirmed), "published" once every channel has it, "scheduled" while waiting. One query."""
    by_post: dict[int, set] = {}
    for post_id, state in (Delivery.objects.filter(client=current_client(), page_id__in=page_ids)
                           .exclude(state=State.CANCELLED).values_list("post_id", "state")):
        by_post.setdefault(post_id, set()).add(state)
    result = {}
    for post_id, states in by_post.items():
        if states & {State.FAILED, State.UNCONFIRMED}:
            result[post_id] = "failed"
        elif states == {State.PUBLISHED}:
            result[post_id] = "published"
        else:
            result[post_id] = "scheduled"
    return result


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
    saved revision ``exclude_campaign`` leaves out)."""
    if not channels:
        return FreeSlot(None, "Choose the post's channels first: the slot comes from them.")
    with_slots = [c for c in channels if c.parsed_slots]
    if not with_slots:
        names = ", ".join(c.name for c in channels)
        return FreeSlot(None, f"{names} {'has' if len(channels) == 1 else 'have'} no posting "
                              "slots yet: set them on the channel (menu: Channels).")
    after = after or timezone.now()
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
