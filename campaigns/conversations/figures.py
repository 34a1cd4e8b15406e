"""The inbox's figures for a period, for the brand's Results page: how fast people were answered
and what moderation did. Two aggregate statements over the brand's ``Item`` and
``ModerationAction`` rows, whatever their number.

- Response time: from when the person posted (``Item.created_at``) to the brand's first reply
  sent (``responded_at``), over the replies, mentions and quotes posted in the period that were
  answered; median and 90th percentile.
- Within target: of the items posted in the period that were answered, or are still open and
  unanswered past the brand's response target, the share answered within the target. Items
  closed without an answer (spam, thanks) and hidden ones are not counted either way.
- Moderation: actions taken in the period (automatic and by staff): hidden on the network,
  escalated (pinned: a person may be at risk), flagged for staff (the network cannot hide it),
  and actions undone in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.aggregates import Aggregate

from campaigns.conversations.models import (
    ConversationSettings,
    Item,
    ItemState,
    ModerationAction,
    What,
)


class _Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)`` over an interval."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass
class InboxFigures:
    since: datetime
    target_hours: int  # 0: the brand set no target
    received: int  # replies, mentions and quotes posted in the period
    answered: int
    median: timedelta | None
    p90: timedelta | None
    counted_for_target: int  # answered, or open and unanswered past the target
    within_target: int
    hidden: int
    hidden_automatically: int
    escalated: int
    flagged: int
    undone: int

    @property
    def within_target_share(self) -> float | None:
        """Percent answered within the target (None without a target or anything counted)."""
        if not self.target_hours or not self.counted_for_target:
            return None
        return round(100 * self.within_target / self.counted_for_target, 1)


def inbox_figures(*, since: datetime, now: datetime, channel_id: int | None = None
                  ) -> InboxFigures:
    """The inbox's figures for items posted (and actions taken) from ``since`` to ``now``, on
    one channel or all of them (see the module's docstring for what each counts)."""
    target_hours = ConversationSettings.load().response_target_hours or 0
    items = Item.objects.filter(created_at__gte=since, created_at__lte=now)
    actions = ModerationAction.objects.all()
    if channel_id is not None:
        items = items.filter(channel_id=channel_id)
        actions = actions.filter(item__channel_id=channel_id)
    waited = ExpressionWrapper(F("responded_at") - F("created_at"), output_field=DurationField())
    answered = Q(responded_at__isnull=False)
    target = timedelta(hours=target_hours)
    overdue = Q(responded_at__isnull=True, hidden=False, created_at__lt=now - target) \
        & ~Q(state=ItemState.DONE)
    found = items.aggregate(
        received=Count("id"), answered=Count("id", filter=answered),
        median=_Percentile(waited, 0.5, filter=answered),
        p90=_Percentile(waited, 0.9, filter=answered),
        counted=Count("id", filter=answered | overdue),
        within=Count("id", filter=answered & Q(responded_at__lte=F("created_at") + target)))
    in_period = Q(at__gte=since, at__lte=now)
    undone = Q(undone_at__gte=since, undone_at__lte=now)
    moderation = actions.filter(in_period | undone).aggregate(
        hidden=Count("id", filter=in_period & Q(what=What.HIDE)),
        hidden_automatically=Count("id", filter=in_period & Q(what=What.HIDE, automatic=True)),
        escalated=Count("item_id", filter=in_period & Q(what=What.PIN), distinct=True),
        flagged=Count("id", filter=in_period & Q(what=What.FLAG)),
        undone=Count("id", filter=undone))
    return InboxFigures(
        since=since, target_hours=target_hours, received=found["received"],
        answered=found["answered"], median=found["median"], p90=found["p90"],
        counted_for_target=found["counted"] if target_hours else 0,
        within_target=found["within"] if target_hours else 0, **moderation)


def in_words(duration: timedelta | None) -> str:
    """A response time as people say it: "40 s", "25 min", "3 h 10 min", "2 d 4 h"."""
    if duration is None:
        return "–"
    seconds = max(0, round(duration.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
