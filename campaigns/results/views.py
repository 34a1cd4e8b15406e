"""The results dashboards in the brand's admin: one campaign's posts side by side with their
figures, and the brand's results per channel and period with its best times to post.

Everything read here is in the brand's own schema; a campaign id of another brand is a 404."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
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
    zone = current_zone()
    # The figures' tables and chart, kept rendered under a digest of what they are drawn from
    # (every field of the campaign's results, the follower counts, the zone): the same figures
    # draw the same body, so a kept body is never out of date. Reading the campaign's rows is
    # one indexed query; drawing them was most of the page's own time.
    key = f"results:campaign:{page_id}:{selectors.campaign_digest(found, zone)}"
    body = cache.get(key)
    if body is None:
        chart = charts.bars([(f"Post {result.post_number} · {result.channel_name}",
                              result.interactions)
                             for post in found.posts for result in post["results"]])
        body = render_to_string("results/_campaign_body.html", {
            "campaign": campaign, "found": found, "chart": chart, "zone": zone,
            "shown": selectors.SHOWN}, request=request)
        cache.set(key, body, selectors.CACHE_SECONDS)
    return render(request, "results/campaign.html", {"campaign": campaign, "body": body})


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
    # The figures, charts and tables, kept rendered per brand (the cache's keys carry the
    # schema), period, channel and time zone until the results change or CACHE_SECONDS pass:
    # reading and drawing 20,000 posts' history on every request was most of the page's time.
    key = f"results:brand:{selectors.results_version()}:{days}:{channel_id or 0}:{zone}"
    body = cache.get(key)
    if body is None:
        body = _brand_body(request, days=days, zone=zone, channel_id=channel_id, now=now)
        cache.set(key, body, selectors.CACHE_SECONDS)
    # Figures other parts of the studio put on this page for the same period and channel (the
    # inbox's: registered by the studio, which sees both; results does not know them).
    since = now - timedelta(days=days)
    panels = [panel for hook in hooks.get_hooks("results_brand_panels")
              if (panel := hook(request, since=since, now=now, channel_id=channel_id,
                                zone=zone))]
    return render(request, "results/brand.html", {
        "body": body, "panels": panels, "days": days, "periods": [
            (value, label, "?" + urlencode({"days": value, **({"channel": channel_id}
                                                              if channel_id else {})}))
            for value, label in PERIODS],
        "channels": channels, "channel_id": channel_id,
        "report_months": _recent_months(now.astimezone(zone).date(), 6),
    })


def _brand_body(request, *, days: int, zone, channel_id: int | None, now) -> str:
    found = selectors.brand_results(days=days, zone=zone, channel_id=channel_id, now=now)
    week_chart = charts.columns([(week["start"].astimezone(zone).strftime("%-d %b"),
                                  week["interactions"]) for week in found.weeks])
    return render_to_string("results/_brand_body.html", {
        "found": found, "days": days, "period_label": dict(PERIODS)[days],
        "channel_id": channel_id, "week_chart": week_chart, "heat": charts.heat_map(found.heat),
        "best": selectors.heat_best(found.heat), "zone": zone, "shown": selectors.SHOWN,
    }, request=request)


def _recent_months(today, count: int) -> list:
    """The first days of this month and the ``count - 1`` before it, newest first."""
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(today.replace(year=year, month=month, day=1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months
