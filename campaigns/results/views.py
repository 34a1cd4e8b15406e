"""The results dashboards in the brand's admin: one campaign's posts side by side with their
figures, and the brand's results per channel and period with its best times to post.

Everything read here is in the brand's own schema; a campaign id of another brand is a 404."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from wagtail import hooks

from campaigns.models import CampaignPage, Channel
from campaigns.results import charts, selectors
from tenants.models import current_zone

PERIODS = [(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last year")]


def campaign_results_view(request, page_id: int):
    campaign = CampaignPage.objects.filter(pk=page_id).only("id", "title").first()
    if campaign is None:
        raise Http404("No such campaign in this brand.")
    found = selectors.campaign_results(page_id)
    chart = charts.bars([(f"Post {result.post_number} · {result.channel_name}",
                          result.interactions)
                         for post in found.posts for result in post["results"]])
    return render(request, "results/campaign.html", {
        "campaign": campaign, "found": found, "chart": chart, "zone": current_zone(),
        "shown": selectors.SHOWN,
    })


def brand_results_view(request):
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    if days not in dict(PERIODS):
        days = 30
    channels = list(Channel.objects.order_by("name").values("id", "name"))
    channel_id = request.GET.get("channel", "")
    channel_id = int(channel_id) if channel_id.isdigit() and any(
        c["id"] == int(channel_id) for c in channels) else None
    zone = current_zone()
    now = timezone.now()
    found = selectors.brand_results(days=days, zone=zone, channel_id=channel_id, now=now)
    # Figures other parts of the studio put on this page for the same period and channel (the
    # inbox's: registered by the studio, which sees both; results does not know them).
    panels = [panel for hook in hooks.get_hooks("results_brand_panels")
              if (panel := hook(request, since=found.since, now=now, channel_id=channel_id,
                                zone=zone))]
    week_chart = charts.columns([(week["start"].astimezone(zone).strftime("%-d %b"),
                                  week["interactions"]) for week in found.weeks])
    return render(request, "results/brand.html", {
        "found": found, "days": days, "periods": [
            (value, label, "?" + urlencode({"days": value, **({"channel": channel_id}
                                                              if channel_id else {})}))
            for value, label in PERIODS],
        "period_label": dict(PERIODS)[days], "channels": channels, "channel_id": channel_id,
        "week_chart": week_chart, "heat": charts.heat_map(found.heat),
        "best": selectors.heat_best(found.heat), "zone": zone, "shown": selectors.SHOWN,
        "report_months": _recent_months(now.astimezone(zone).date(), 6), "panels": panels,
    })


def _recent_months(today, count: int) -> list:
    """The first days of this month and the ``count - 1`` before it, newest first."""
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(today.replace(year=year, month=month, day=1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months
