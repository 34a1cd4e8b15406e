"""Studio screens for scheduling: the editor's "Next free slot", importing posts from CSV, and
the warning when a post's copy is already scheduled on the same channel."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.utils import dateformat
from django.views.decorators.http import require_POST
from wagtail.admin.widgets import AdminDateTimeInput
from wagtail.permission_policies.pages import PagePermissionPolicy

from campaigns import importing
from campaigns.models import CampaignIndexPage, Channel
from campaigns.selectors import copy_already_scheduled, next_free_slot
from tenants.models import current_zone

MAX_OTHER_POSTS = 1000


def _may_edit_campaigns(user) -> bool:
    return PagePermissionPolicy().user_has_any_permission(user, ["add", "change"])


def may_import(user) -> bool:
    index = CampaignIndexPage.objects.first()
    return index is not None and index.permissions_for_user(user).can_add_subpage()


def _moment(value) -> dt.datetime | None:
    """A post's time as the editor holds it: ISO with its offset (a closed post) or as typed in
    the date picker, in the brand's zone (an open one). None if it is neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=current_zone())
    return moment


def _ids(values) -> set[int]:
    if not isinstance(values, list):
        return set()
    return {int(v) for v in values if isinstance(v, int | str) and str(v).isdigit()
            and len(str(v)) < 10}


@require_POST
def next_slot_view(request):
    """The first free posting slot for a post of the editor: JSON in (``channels``, the
    ``campaign`` being edited, the times and channels of its ``others`` posts as the form holds
    them), JSON out (``value`` for the date box, ``label``) or ``problem``."""
    if not _may_edit_campaigns(request.user):
        return HttpResponseForbidden("You cannot edit campaigns in this brand.")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"problem": "The request was not understood. Reload the page."},
                            status=400)
    channels = list(Channel.objects.filter(pk__in=_ids(body.get("channels")), active=True))
    campaign = body.get("campaign")
    campaign = int(campaign) if isinstance(campaign, int) and 0 < campaign < 2**31 else None
    others = body.get("others") if isinstance(body.get("others"), list) else []
    also_taken = []
    for item in others[:MAX_OTHER_POSTS]:
        if isinstance(item, dict) and (moment := _moment(item.get("at"))) is not None:
            also_taken.append((moment, _ids(item.get("channels"))))
    found = next_free_slot(channels, exclude_campaign=campaign, also_taken=also_taken)
    if found.publish_at is None:
        return JsonResponse({"problem": found.problem})
    local = found.publish_at.astimezone(current_zone())
    return JsonResponse({
        "publish_at": found.publish_at.isoformat(),
        "value": AdminDateTimeInput().format_value(local),
        "label": dateformat.format(local, "D j M Y, H:i"),
    })


def import_view(request):
    """Upload a CSV of posts; a draft campaign with all of them, or every problem and nothing
    saved."""
    if not may_import(request.user):
        raise PermissionDenied("Your role cannot create campaigns in this brand.")
    context = {"columns": importing.COLUMNS, "max_rows": importing.MAX_ROWS,
               "max_mb": importing.MAX_BYTES // 1048576, "zone": current_zone().key,
               "channels": Channel.objects.filter(active=True)}
    if request.method == "POST":
        title = request.POST.get("title", "")
        upload = request.FILES.get("file")
        context["title"] = title
        if upload is None:
            context["file_problem"] = "Choose the CSV file to import."
        elif upload.size > importing.MAX_BYTES:
            context["file_problem"] = (f"The file is {upload.size / 1048576:.1f} MB; the limit "
                                       f"is {importing.MAX_BYTES // 1048576} MB. Split it into "
                                       "several files.")
        else:
            try:
                result = importing.import_campaign(title=title, data=upload.read(),
                                                   name=upload.name or "", user=request.user)
            except importing.FileProblem as exc:
                context["file_problem"] = str(exc)
            else:
                if result.campaign is not None:
                    page = result.campaign
                    messages.success(request, f"“{page.title}” is a new draft with "
                                              f"{result.rows} posts.")
                    for warning in copy_already_scheduled(
                            page.get_latest_revision_as_object().posts.all(),
                            campaign_id=page.pk):
                        messages.warning(request, warning)
                    return redirect("wagtailadmin_pages:edit", page.pk)
                context["result"] = result
        return render(request, "campaigns/import.html", context)
    return render(request, "campaigns/import.html", context)


def import_template_view(request):
    if not may_import(request.user):
        raise PermissionDenied("Your role cannot create campaigns in this brand.")
    names = list(Channel.objects.filter(active=True).values_list("name", flat=True)[:2])
    response = HttpResponse(importing.template_csv(names), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="posts-template.csv"'
    return response


def warn_copy_already_scheduled(request, page) -> None:
    """After the editor saves a campaign: a warning per post whose copy is already scheduled on
    one of its channels (not for the editor's background saves, which show no messages)."""
    if not request.accepts("text/html") or not hasattr(page, "posts"):
        return
    for warning in copy_already_scheduled(page.posts.all(), campaign_id=page.pk):
        messages.warning(request, warning)
