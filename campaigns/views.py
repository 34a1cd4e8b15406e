"""Admin views of the campaign studio: the content calendar, previews for everyone who sees a
campaign."""

from __future__ import annotations

import calendar as cal
import datetime as dt
import re

import icalendar
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from wagtail.admin.views.generic.preview import PreviewRevision
from wagtail.admin.views.pages.preview import PreviewOnEditView

from campaigns.editor import posts_panel
from campaigns.forms import SUMMARY_UNREADABLE
from campaigns.models import CalendarFeed, CampaignPage, Channel, Post
from campaigns.moves import MoveRule, post_move, refusal
from campaigns.selectors import CalendarState, calendar_entries
from campaigns.services import (
    calendar_feed_find,
    calendar_feed_issue,
    calendar_feed_revoke,
    campaign_duplicate,
    image_upload,
)
from tenants.media import is_member_here
from tenants.models import current_client, current_zone


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
    rule = MoveRule.of(request.user)
    by_day: dict[dt.date, list] = {}
    for entry in entries:  # each with why it cannot be moved ("" if it can)
        by_day.setdefault(entry.publish_at.astimezone(zone).date(), []).append(
            (entry, refusal(entry.campaign_status, entry.channels, rule)))
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
        "channel_id": channel_id, "campaign_id": campaign_id, "states": CalendarState.choices,
        "prev_url": f"?{prev_param}&{keep}", "next_url": f"?{next_param}&{keep}",
        "month_param": f"{grid_start + dt.timedelta(days=7):%Y-%m}", "week_param": grid_start,
        "feeds": CalendarFeed.objects.filter(revoked_at__isnull=True),
        # Posts to a channel that needs reconnecting wait: shown at risk.
        "at_risk_channels": {pk for pk, c in channels.items() if c.needs_reconnect},
        "at_risk_states": ("scheduled", "held", "approved"),
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
            done = post_move(campaign=campaign, index=index, day=day, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except PermissionDenied as error:
            messages.error(request, str(error) or "You cannot move posts of this campaign.")
        else:
            messages.success(request, done)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("campaign_calendar")
    return redirect(back)


@never_cache
@require_POST
def calendar_feed_create(request):
    feed, token = calendar_feed_issue(label=request.POST.get("label", ""), user=request.user)
    url = request.build_absolute_uri(reverse("campaign_calendar_ics", args=[token]))
    # Rendered, not redirected with a message: messages travel in a cookie sent to every host.
    return render(request, "campaigns/calendar_feed_created.html", {"feed": feed, "url": url})


@require_POST
def calendar_feed_revoke_view(request, feed_id: int):
    feed = get_object_or_404(CalendarFeed, pk=feed_id)
    calendar_feed_revoke(feed=feed)
    messages.success(request, f"“{feed.label}” no longer works; calendars subscribed to it stop "
                              "updating.")
    return redirect("campaign_calendar")


@never_cache
@require_GET
def calendar_ics(request, token: str):
    """The brand's posts as iCalendar, for calendar apps. The token is the only credential."""
    feed = calendar_feed_find(token)
    if feed is None:
        raise Http404("No such calendar feed.")
    now = dt.datetime.now(dt.UTC)
    entries = calendar_entries(start=now - dt.timedelta(days=60), end=now + dt.timedelta(days=400))
    client = current_client()
    ical = icalendar.Calendar()
    ical.add("prodid", "-//Agency platform//Content calendar//EN")
    ical.add("version", "2.0")
    ical.add("x-wr-calname", f"{client.name if client else ''} posts")
    seen = set()
    for entry in entries:
        event = icalendar.Event()
        uid = f"campaign-{entry.campaign_id}-post-{entry.index}"
        if uid in seen:  # a post moved on some channels only: one event per time
            uid += "-channels-" + "-".join(map(str, entry.channel_ids))
        seen.add(uid)
        event.add("uid", f"{uid}@{request.get_host()}")
        event.add("summary", f"{entry.campaign_title}: {entry.copy[:60]}")
        event.add("dtstart", entry.publish_at)
        event.add("dtend", entry.publish_at + dt.timedelta(minutes=15))
        event.add("dtstamp", now)
        channels = "\n".join(f"{c.name}: {c.state_label}" for c in entry.channels)
        event.add("description", f"{entry.copy}\n\n{channels or 'No channel'}\n"
                                 f"State: {entry.state_label}")
        ical.add_component(event)
    response = HttpResponse(ical.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, max-age=300"
    return response


def campaign_duplicate_view(request, campaign_id: int):
    """Confirm (GET), then make a new draft copy (POST)."""
    campaign = get_object_or_404(CampaignPage, pk=campaign_id)
    if request.method == "POST":
        copy = campaign_duplicate(campaign=campaign, user=request.user)
        messages.success(request, f"“{copy.title}” is a new draft: its posts have no times yet "
                                  "and it needs its own review and approval.")
        return redirect("wagtailadmin_pages:edit", copy.pk)
    return render(request, "campaigns/duplicate.html", {"campaign": campaign})


@require_POST
def post_editor_view(request):
    """The full editing form of one post of the campaign editor, from the values its closed
    row carries (so edits made since the page loaded are kept). Errors are shown in place."""
    from wagtail.permission_policies.pages import PagePermissionPolicy

    if not PagePermissionPolicy().user_has_any_permission(request.user, ["add", "change"]):
        return HttpResponseForbidden("You cannot edit campaigns in this brand.")
    prefix = request.POST.get("prefix", "")
    if not re.fullmatch(r"posts-\d{1,5}", prefix):
        return HttpResponseBadRequest("Which post to open is missing. Reload the page.")
    edit_handler = CampaignPage.get_edit_handler()
    form_class = edit_handler.get_form_class().formsets["posts"].form
    form = form_class(data={f"{prefix}-summary": request.POST.get("summary", "")},
                      prefix=prefix, instance=Post())
    if form.summary_unreadable:
        return HttpResponseBadRequest(SUMMARY_UNREADABLE)
    form.is_valid()  # so the opened form shows what is wrong, as after saving
    publish_at = form.cleaned_data.get("publish_at")
    if publish_at:  # shown as typed: in the brand's zone, in the date picker's format
        field = form.fields["publish_at"]
        form.summary["publish_at"] = field.widget.format_value(field.prepare_value(publish_at))
    panel = posts_panel(edit_handler).child_edit_handler.get_bound_panel(
        instance=form.instance, request=request, form=form, prefix=prefix)
    return HttpResponse(panel.render_html())


@require_POST
def post_image_upload_view(request):
    """An image dropped on (or uploaded into) a post in the editor: added to the brand's image
    library with the alt text asked for it (as its description and title), and answered with
    the post's image block as the editor's media field takes it, alt text filled in, so the
    alt text is asked once. Errors come back as ``{"error": …}`` saying what to change."""
    file = request.FILES.get("file")
    alt_text = request.POST.get("alt_text", "").strip()
    if file is None:
        return JsonResponse({"error": "No image arrived: choose or drop an image file."},
                            status=400)
    if not alt_text:
        return JsonResponse({"error": "Describe the image in the alt text first, for people "
                                      "who use screen readers."}, status=400)
    try:
        image = image_upload(file=file, title=alt_text[:255], alt_text=alt_text,
                             user=request.user)
    except PermissionDenied as error:
        return JsonResponse({"error": str(error)}, status=403)
    except ValidationError as error:
        found = []
        by_field = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        for name, errors in by_field.items():
            label = {"alt_text": "Alt text: ", "title": "Alt text: "}.get(name, "")
            found += [f"{label}{message}" for message in errors]
        return JsonResponse({"error": " ".join(dict.fromkeys(found))}, status=400)
    block = Post._meta.get_field("media").stream_block.child_blocks["image"]
    value = block.to_python({"image": image.pk, "alt_text": alt_text})
    return JsonResponse({"type": "image", "value": block.get_form_state(value)})


# --- Previews (Wagtail's views for CampaignPage, through wagtail_hooks.CampaignPageViewSet) ---


class CampaignPreviewOnEdit(PreviewOnEditView):
    """The editor's preview panel, for everyone the editor opens for.

    Wagtail's view first asks for the "change" page permission somewhere in the brand, which a
    sensitivity reviewer does not hold: her review task alone opens the editor to her (locked).
    The page's own check stays (``can_edit``, which counts that task), so the panel shows for
    exactly the people who see the editor; a preview stores only their own form state."""

    permission_required = None


class CampaignRevisionPreview(PreviewRevision):
    """One revision of a campaign, every post as each network shows it, for every member of the
    brand: editors, sensitivity reviewers, account managers and agency admins (view only; no
    page permission is needed or granted). Wagtail's own view asks for edit or publish rights."""

    def setup(self, request, page_id, revision_id, *args, **kwargs):  # the URL's names
        super().setup(request, page_id, revision_id, *args, **kwargs)

    def get_object(self):
        if not is_member_here(self.request.user):
            raise PermissionDenied
        return get_object_or_404(CampaignPage, pk=self.pk)
