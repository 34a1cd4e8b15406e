"""Moving a post on the content calendar, by dragging it to another day or with its date box.

While its campaign is open for edits, the move is a new revision of the draft
(``services.post_move``). Once approved, the post's time is part of what the client approved: its
deliveries that have not gone out are moved in the outbox (``transitions.reschedule``), and only
where the brand lets staff move approved posts (Settings → Publishing) and by people who look
after the publishing queue. ``refusal`` is that rule, for the calendar to say in advance why a
post cannot move and for ``post_move`` to refuse with the same words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from campaigns import services
from campaigns.models import CampaignPage
from campaigns.publishing import transitions
from campaigns.selectors import PostChannel, post_entries
from campaigns.status import CampaignStatus
from tenants.models import current_zone

NOTHING_LEFT = ("This post has gone out (or is going out) on every channel: there is nothing left "
                "to move.")
PUBLISHING_STAFF_ONLY = ("Only account managers and agency admins move approved posts (they look "
                         "after the publishing queue).")
NO_SUCH_POST = "That post is no longer in the campaign, or has no time. Reload the calendar."


@dataclass(frozen=True)
class MoveRule:
    approved_posts: bool  # the brand lets staff move approved posts
    publishing_staff: bool  # the person may change the brand's deliveries

    @classmethod
    def of(cls, user) -> MoveRule:
        return cls(approved_posts=transitions.staff_may_move_approved_posts(),
                   publishing_staff=user.has_perm("publishing.change_delivery"))


def refusal(status: str, channels: tuple[PostChannel, ...], rule: MoveRule) -> str:
    """Why a post of a campaign in ``status`` on ``channels`` cannot be moved ("" if it can)."""
    if status == CampaignStatus.IN_REVIEW:
        return services.MOVE_IN_REVIEW
    if status != CampaignStatus.APPROVED:
        return ""
    if not any(channel.not_sent for channel in channels):
        return NOTHING_LEFT
    if not rule.approved_posts:
        return transitions.MOVE_NEEDS_CLIENT
    if not rule.publishing_staff:
        return PUBLISHING_STAFF_ONLY
    return ""


def post_move(*, campaign: CampaignPage, index: int, day: dt.date, user) -> str:
    """Move post ``index`` of ``campaign`` to ``day``, keeping its time of day in the brand's
    zone on each channel. Returns what was done, in words; raises ValidationError (nothing moved)
    with the reason when it may not move."""
    entries = post_entries(campaign_id=campaign.pk, index=index)
    if not entries:
        raise ValidationError(NO_SUCH_POST)
    status = entries[0].campaign_status
    where = f"post {index + 1} of “{campaign.title}”"
    if status != CampaignStatus.APPROVED:
        services.post_move(campaign=campaign, index=index, day=day, user=user)
        return f"Moved {where} to {day:%-d %B}."
    channels = tuple(channel for entry in entries for channel in entry.channels)
    reason = refusal(status, channels, MoveRule.of(user))
    if reason:
        raise ValidationError(reason)
    zone = current_zone()
    times = {channel.channel_id: entry.publish_at for entry in entries
             for channel in entry.channels}
    moved = [channel for channel in channels if channel.not_sent]
    with transaction.atomic():  # every channel moves, or none
        for channel in moved:
            local = times[channel.channel_id].astimezone(zone)
            transitions.reschedule(channel.delivery_id,
                                   dt.datetime.combine(day, local.time(), tzinfo=zone), user)
    message = (f"Moved {where} to {day:%-d %B} on "
               f"{', '.join(channel.name for channel in moved)}.")
    stay = [f"{channel.name} ({channel.state_label.lower()})" for channel in channels
            if not channel.not_sent]
    if stay:
        message += f" It stays where it is on {', '.join(stay)}."
    return message
