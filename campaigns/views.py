"""Admin views of the campaign studio: the content calendar."""

from __future__ import annotations

import calendar as cal
import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from campaigns.models import CampaignPage, Channel
from campaigns.selectors import STATES, calendar_entries
from campaigns.services import post_move
from tenants.models import current_zone


def _month(value: str | None, today: dt.date) -> dt.date:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def _week(value: str | None, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return today


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def calendar_view(request):
    """Month (default) or week view of every post across campaigns, coloured by state."""
    zone = current_zone()
    today = dt.datetime.now(zone).date()
    view = "week" if request.GET.get("view") == "week" else "month"
    if view == "month":
        first = _month(request.GET.get("month"), today)
        grid_start = first - dt.timedelta(days=first.weekday())
        last = first.replace(day=cal.monthrange(first.year, first.month)[1])
        grid_end = last + dt.timedelta(days=7 - last.weekday())
        prev_param = f"month={(first - dt.timedelta(days=1)):%Y-%m}"
        next_param = f"month={(last + dt.timedelta(days=1)):%Y-%m}"
        heading = f"{first:%B %Y}"
    else:
        day = _week(request.GET.get("week"), today)
        grid_start = day - dt.timedelta(days=day.weekday())
        grid_end = grid_start + dt.timedelta(days=7)
        prev_param = f"view=week&week={grid_start - dt.timedelta(days=7)}"
        next_param = f"view=week&week={grid_end}"
        heading = f"Week of {grid_start:%-d %B %Y}"
    channel_id, campaign_id = _int(request.GET.get("channel")), _int(request.GET.get("campaign"))
    start = dt.datetime.combine(grid_start, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(grid_end, dt.time(), tzinfo=zone)
    entries = calendar_entries(start=start, end=end, channel_id=channel_id,
                               campaign_id=campaign_id)
    by_day: dict[dt.date, list] = {}
    for entry in entries:
        by_day.setdefault(entry.publish_at.astimezone(zone).date(), []).append(entry)
    days = [grid_start + dt.timedelta(days=n) for n in range((grid_end - grid_start).days)]
    weeks = [[{"date": d, "entries": by_day.get(d, []),
               "in_month": view == "week" or d.month == first.month} for d in days[i:i + 7]]
             for i in range(0, len(days), 7)]
    channels = {c.pk: c for c in Channel.objects.all()}
    keep = "&".join(f"{k}={v}" for k, v in (("channel", channel_id), ("campaign", campaign_id))
                    if v)
    return render(request, "campaigns/calendar.html", {
        "view": view, "heading": heading, "weeks": weeks, "zone": zone.key, "today": today,
        "channels": channels, "campaigns": CampaignPage.objects.order_by("title").only(
            "id", "title"),
        "channel_id": channel_id, "campaign_id": campaign_id, "states": STATES,
        "prev_url": f"?{prev_param}&{keep}", "next_url": f"?{next_param}&{keep}",
        "month_param": f"{grid_start + dt.timedelta(days=7):%Y-%m}", "week_param": grid_start,
    })


@require_POST
def calendar_move(request, campaign_id: int, index: int):
    campaign = get_object_or_404(CampaignPage, pk=campaign_id)
    try:
        day = dt.date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, "Choose the new day as a date, e.g. 2026-10-14.")
    else:
        try:
            post_move(campaign=campaign, index=index, day=day, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Moved post {index + 1} of “{campaign.title}” to "
                                      f"{day:%-d %B}.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("campaign_calendar")
    return redirect(back)
