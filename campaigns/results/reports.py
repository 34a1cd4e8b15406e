"""Client reports: what a campaign, or a month of the brand's posts, achieved, as a client reads
it. One ``Report`` feeds the web page in the brand's admin, the shared read-only page, the PDF
(WeasyPrint, from the same templates) and the CSV.

A report holds the brand's and the agency's names and logos, the totals and per-channel
figures, a chart, every post as it went out (text, thumbnails, network, time, link, latest
counts) and the approvals on record (who approved which campaign, when). Images are embedded
as data URIs: the PDF needs no request back to the platform, and the page shared with a client
serves no media of the brand's.
"""

from __future__ import annotations

import base64
import calendar
import csv
import io
import logging
import mimetypes
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from approvals.selectors import audit_actor, audit_entries
from campaigns.models import CampaignPage
from campaigns.publishing.models import Delivery
from campaigns.results import charts
from campaigns.results.models import PostResult
from campaigns.results.selectors import SHOWN, Totals, latest_followers, rate, totals_of
from tenants.models import current_client, current_zone

logger = logging.getLogger(__name__)

CAMPAIGN, MONTH = "campaign", "month"
THUMBNAILS_PER_POST = 4
THUMBNAIL_SPEC = "fill-160x120"
# The log actions that record an approval: a staff step (the sensitivity review) and the
# client's own decision through a review link (or recorded by staff for the client).
APPROVAL_ACTIONS = {"wagtail.workflow.approve": "Approved", "approvals.client_approved":
                    "Approved by the client"}


class ReportNotFound(LookupError):
    """No such campaign or month in this brand."""


@dataclass(frozen=True)
class Scope:
    """What a report covers: one campaign (``page_id``) or one calendar month in the brand's
    time zone (``month``, its first day)."""

    kind: str
    page_id: int | None = None
    month: date | None = None

    @classmethod
    def campaign(cls, page_id: int) -> Scope:
        return cls(CAMPAIGN, page_id=page_id)

    @classmethod
    def of_month(cls, year: int, month: int) -> Scope:
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            raise ReportNotFound(f"{year}-{month:02d} is not a month a report can cover.")
        return cls(MONTH, month=date(year, month, 1))

    @property
    def slug(self) -> str:
        return f"campaign-{self.page_id}" if self.kind == CAMPAIGN else \
            f"month-{self.month:%Y-%m}"


@dataclass
class Report:
    scope: Scope
    title: str
    period: str
    brand_name: str
    brand_logo: str  # a data URI, or "" when the brand has none
    agency_name: str
    zone: object
    since: datetime | None
    until: datetime | None
    totals: Totals
    channels: list[dict]
    posts: list[dict]  # [{number, campaign, text, published_at, thumbnails, videos, results}]
    chart: dict
    approvals: list[dict] = field(default_factory=list)  # [{campaign, step, who, when}]
    generated_at: datetime = field(default_factory=timezone.now)

    @property
    def filename(self) -> str:
        brand = "".join(c if c.isalnum() else "-" for c in self.brand_name.lower()).strip("-")
        return f"{brand or 'brand'}-report-{self.scope.slug}"


def month_bounds(month: date, zone) -> tuple[datetime, datetime]:
    """The first instant of ``month`` and of the next one, in ``zone``."""
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=zone)


def build(scope: Scope, *, now: datetime | None = None) -> Report:
    """The report of ``scope`` in the active brand's schema (``ReportNotFound`` if the campaign
    is not this brand's)."""
    zone = current_zone()
    client = current_client()
    if scope.kind == CAMPAIGN:
        campaign = CampaignPage.objects.filter(pk=scope.page_id).only("id", "title").first()
        if campaign is None:
            raise ReportNotFound("No such campaign in this brand.")
        results = list(PostResult.objects.filter(page_id=scope.page_id)
                       .order_by("post_number", "channel_name", "id"))
        title, since, until = f"Campaign report: {campaign.title}", None, None
        page_ids = [campaign.pk]
    else:
        since, until = month_bounds(scope.month, zone)
        results = list(PostResult.objects.filter(published_at__gte=since, published_at__lt=until)
                       .order_by("published_at", "page_id", "post_number", "channel_name"))
        title = f"Monthly report: {calendar.month_name[scope.month.month]} {scope.month.year}"
        page_ids = sorted({r.page_id for r in results})
    followers = latest_followers({r.channel_id for r in results})
    totals = totals_of(results, followers)
    if scope.kind == CAMPAIGN:
        period = (f"Posts published from {_when(totals.since, zone)}"
                  if totals.since else "No post has been published yet")
    else:
        last = until - timedelta(days=1)
        period = f"Posts published {since:%-d %B %Y} to {last:%-d %B %Y} ({zone})"
    posts = _posts(results, followers)
    channels = _channels(results, followers)
    chart = charts.bars([(f"{_post_label(post)} · {r.channel_name}", r.interactions)
                         for post in posts for r in post["results"]][:40])
    return Report(scope=scope, title=title, period=period,
                  brand_name=client.name if client else "", brand_logo=_logo(client),
                  agency_name=settings.AGENCY_NAME, zone=zone, since=since, until=until,
                  totals=totals, channels=channels, posts=posts, chart=chart,
                  approvals=_approvals(page_ids), generated_at=now or timezone.now())


def _when(moment: datetime, zone) -> str:
    return moment.astimezone(zone).strftime("%a %-d %b %Y, %H:%M")


def _post_label(post: dict) -> str:
    return f"Post {post['number']}" if not post.get("campaign_shown") else \
        f"{post['campaign'][:24]} {post['number']}"


def _posts(results: list[PostResult], followers: dict[int, int]) -> list[dict]:
    media = _media_of([r.delivery_id for r in results])
    posts: dict[tuple[int, int], dict] = {}
    campaigns = {r.page_id for r in results}
    for result in results:
        result.followers = followers.get(result.channel_id)
        result.rate = rate(result.interactions, result.followers or 0)
        post = posts.get((result.page_id, result.post_number))
        if post is None:
            thumbnails, videos = media.get(result.delivery_id, ([], 0))
            post = posts[(result.page_id, result.post_number)] = {
                "number": result.post_number, "campaign": result.campaign_title,
                "campaign_shown": len(campaigns) > 1, "text": result.text,
                "published_at": result.published_at, "thumbnails": thumbnails,
                "videos": videos, "results": []}
        post["results"].append(result)
        post["published_at"] = min(post["published_at"], result.published_at)
    return list(posts.values())


def _channels(results: list[PostResult], followers: dict[int, int]) -> list[dict]:
    by_channel: dict[int, list] = {}
    for result in results:
        by_channel.setdefault(result.channel_id, []).append(result)
    return [{"channel_id": channel_id, "name": rows[0].channel_name, "network": rows[0].network,
             "totals": totals_of(rows, followers)}
            for channel_id, rows in sorted(by_channel.items(),
                                           key=lambda item: item[1][0].channel_name)]


def _media_of(delivery_ids: list[int]) -> dict[int, tuple[list[tuple[str, str]], int]]:
    """Each delivery's images as it went out (small data-URI thumbnails with their alt text),
    and how many videos it carried. One read of the outbox, one of the brand's images."""
    from wagtail.images import get_image_model

    contents = dict(Delivery.objects.filter(pk__in=delivery_ids).values_list("id", "content"))
    wanted = {item["id"] for content in contents.values()
              for item in (content or {}).get("images", [])[:THUMBNAILS_PER_POST]
              if item.get("id")}
    images = get_image_model().objects.in_bulk(list(wanted))
    drawn: dict[int, str] = {}
    for image_id, image in images.items():
        try:
            rendition = image.get_rendition(THUMBNAIL_SPEC)
            drawn[image_id] = _data_uri(rendition.file.storage, rendition.file.name)
        except (OSError, SuspiciousOperation, ValueError):
            logger.warning("report: image %s could not be drawn", image_id)
    found = {}
    for delivery_id, content in contents.items():
        content = content or {}
        thumbnails = [(drawn[item["id"]], item.get("alt", ""))
                      for item in content.get("images", [])[:THUMBNAILS_PER_POST]
                      if item.get("id") in drawn]
        found[delivery_id] = (thumbnails, len(content.get("videos", [])))
    return found


def _data_uri(storage, name: str) -> str:
    with storage.open(name, "rb") as handle:
        data = handle.read()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _logo(client) -> str:
    if client is None or not client.logo:
        return ""
    try:
        with schema_context(get_public_schema_name()):  # kept in the public schema's folder
            return _data_uri(client.logo.storage, client.logo.name)
    except (OSError, SuspiciousOperation):
        logger.warning("report: the logo of %s could not be read", client.schema_name)
        return ""


def _approvals(page_ids: list[int]) -> list[dict]:
    if not page_ids:
        return []
    titles = dict(CampaignPage.objects.filter(pk__in=page_ids).values_list("id", "title"))
    found = []
    for page_id in page_ids:
        for entry in audit_entries(page_id).filter(action__in=list(APPROVAL_ACTIONS)):
            task = ((entry.data or {}).get("workflow") or {}).get("task") or {}
            step = task.get("title") or APPROVAL_ACTIONS[entry.action]
            if entry.action == "approvals.client_approved":
                step = "Client approval"
            found.append({"campaign": titles.get(page_id, ""), "step": step,
                          "who": audit_actor(entry) or "–", "when": entry.timestamp})
    return found


# --- Rendering -----------------------------------------------------------------------------


def html(report: Report, *, for_pdf: bool = False, links: dict | None = None) -> str:
    """The report as a whole HTML document (the shared page and the PDF)."""
    return render_to_string("results/report_document.html", {
        "report": report, "for_pdf": for_pdf, "links": links or {}, "shown": SHOWN,
        "css": _css() if for_pdf else ""})


def _css() -> str:
    from django.contrib.staticfiles import finders

    with open(finders.find("campaigns/report.css"), encoding="utf-8") as handle:
        return handle.read()


def pdf(report: Report) -> bytes:
    """The report as a PDF, drawn by WeasyPrint from the same template as the web page."""
    import weasyprint  # loads Pango through cffi: only where a PDF is made

    # Everything a report shows is in the document (data URIs): nothing is fetched from
    # anywhere else, so a post's text can never make the server request an address.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=html(report, for_pdf=True), url_fetcher=fetcher)
    return document.write_pdf()


CSV_COUNTS = ("likes", "reposts", "replies", "quotes", "impressions", "views", "saves", "clicks",
              "interactions")


def csv_text(report: Report) -> str:
    """One row per post and channel with its latest counts. The headers say what each column
    counts and since when (the post went out; read as of ``counted at``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    zone = report.zone
    writer.writerow(["campaign", "post number", "channel", "network",
                     f"published at ({zone})", "post text", "link on the network",
                     *[f"{name} since published" for name in CSV_COUNTS],
                     "followers (last counted)", "engagement rate (% of followers)",
                     f"counted at ({zone})"])
    for post in report.posts:
        for r in post["results"]:
            writer.writerow([
                _csv_safe(r.campaign_title), r.post_number, _csv_safe(r.channel_name), r.network,
                r.published_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), _csv_safe(r.text),
                r.remote_url,
                *["" if getattr(r, name) is None else getattr(r, name) for name in CSV_COUNTS],
                "" if r.followers is None else r.followers,
                "" if r.rate is None else r.rate,
                r.collected_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                if r.collected_at else "not counted yet"])
    return out.getvalue()


def _csv_safe(value: str) -> str:
    """No spreadsheet formulas from people's text (CSV injection)."""
    value = (value or "").replace("\r", " ").replace("\n", " / ")
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t") else value
