"""Views of approvals: the linter endpoint, the sensitivity review, the client's review page
(by link), and staff's review links and approval history."""

from __future__ import annotations

import csv
import json
import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from wagtail.images import get_image_model
from wagtail.log_actions import log
from wagtail.models import TaskState

from approvals import links
from approvals.forms import ChecklistForm, ClientDecisionForm, RequestChangesForm, WaiverForm
from approvals.linting import brand_ruleset, post_findings
from approvals.models import (
    ClientApprovalTask,
    FindingWaiver,
    LinkStatus,
    ReviewLink,
    SensitivityReviewTask,
    status_of,
)
from approvals.review import (
    review_blockers,
    revision_findings,
    unresolved_errors,
    with_waivers,
)
from approvals.selectors import audit_actor, audit_details, audit_entries
from approvals.sensitivity import CATEGORIES
from approvals.workflows import approval_due_at
from campaigns.models import CampaignPage
from campaigns.revisions import read_revision
from tenants import ratelimit
from tenants.media import serve_stored
from tenants.models import current_client

logger = logging.getLogger(__name__)

MAX_ITEMS = 500
MAX_COPY = 10_000
MAX_ALT_TEXTS = 20
MAX_ALT = 2_000


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


@require_POST
def lint_view(request):
    """Findings for posts being edited: ``{"items": [{"key", "copy", "alt_texts": [...]}]}``
    in, the same keys with ``copy`` and ``alt_texts`` findings out (brand words included)."""
    try:
        items = json.loads(request.body or b"{}").get("items")
    except (ValueError, AttributeError):
        return _bad("Send JSON: {\"items\": [{\"key\": ..., \"copy\": ..., \"alt_texts\": []}]}.")
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        return _bad(f"“items” must be a list of at most {MAX_ITEMS} posts.")
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("key", ""), str)
                and isinstance(item.get("copy", ""), str)
                and isinstance(item.get("alt_texts", []), list)
                and all(isinstance(a, str) for a in item.get("alt_texts", []))):
            return _bad("Each item needs a text “key”, a text “copy” and a list of texts "
                        "“alt_texts”.")
        if len(item.get("copy", "")) > MAX_COPY or len(item.get("alt_texts", [])) > MAX_ALT_TEXTS \
                or any(len(a) > MAX_ALT for a in item.get("alt_texts", [])):
            return _bad(f"A post's copy is limited to {MAX_COPY} characters, and {MAX_ALT_TEXTS} "
                        f"alt texts of {MAX_ALT} characters each.")
    rules = brand_ruleset()
    return JsonResponse({
        "version": rules.version,
        "categories": CATEGORIES,
        "items": [{"key": item.get("key", ""),
                   **post_findings(item.get("copy", ""), item.get("alt_texts", []), rules)}
                  for item in items],
    })


def sensitivity_review_view(request, task_state_id: int):
    """The sensitivity review of one campaign revision: its findings (waive the error-level ones
    that can stand, with a reason), the checklist, and the decision."""
    task_state = get_object_or_404(TaskState.objects.select_related("revision", "workflow_state"),
                                   pk=task_state_id)
    task = task_state.task.specific
    if not isinstance(task, SensitivityReviewTask):
        raise Http404
    if not (request.user.is_superuser or task._user_in_groups(request.user)):
        raise PermissionDenied
    revision = task_state.revision
    page = revision.content_object.specific
    in_progress = task_state.status == TaskState.STATUS_IN_PROGRESS
    findings = with_waivers(revision, revision_findings(revision))
    forms = {"waive": WaiverForm(), "approve": ChecklistForm(), "reject": RequestChangesForm()}
    failed_key = None
    if request.method == "POST":
        action = request.POST.get("action")
        if not in_progress:
            messages.error(request, "This review has already been decided; nothing was changed.")
            return redirect(request.path)
        if action == "waive":
            form = forms["waive"] = WaiverForm(request.POST)
            target = next((f for f in findings if form.is_valid()
                           and f.key == form.cleaned_data["key"]), None)
            failed_key = request.POST.get("key")
            if form.is_valid() and target is None:
                messages.error(request, "That finding is not in this revision any more.")
                return redirect(request.path)
            if form.is_valid():
                try:
                    with transaction.atomic():
                        FindingWaiver.objects.create(
                            revision=revision, key=target.key, rule=target.finding.rule,
                            match=target.finding.match[:400], reason=form.cleaned_data["reason"],
                            waived_by_id=request.user.pk,
                            waived_by_name=request.user.get_full_name()
                            or request.user.get_username())
                except IntegrityError:
                    messages.warning(request, "Someone else waived that finding a moment ago.")
                    return redirect(request.path)
                log(instance=page, action="approvals.finding_waived", user=request.user,
                    revision=revision, data={"rule": target.finding.rule,
                                             "match": target.finding.match,
                                             "post": target.post_number, "where": target.where,
                                             "reason": form.cleaned_data["reason"]})
                messages.success(request, f"Waived “{target.finding.match}” in post "
                                          f"{target.post_number}.")
                return redirect(request.path)
        elif action in ("approve", "reject"):
            form = forms[action] = (ChecklistForm if action == "approve"
                                    else RequestChangesForm)(request.POST)
            blockers = (review_blockers(task_state, request.user, findings)
                        if action == "approve" else [])
            if form.is_valid() and not blockers:
                task.on_action(task_state, request.user, action, **form.cleaned_data)
                task_state.refresh_from_db()
                if task_state.status == TaskState.STATUS_IN_PROGRESS:
                    messages.error(request, "The review could not be decided; try again.")
                    return redirect(request.path)
                decided = ("approved" if task_state.status == TaskState.STATUS_APPROVED
                           else "sent back to its editors")
                messages.success(request, f"“{page.title}” {decided}.")
                return redirect("wagtailadmin_home")
            for blocker in blockers:
                messages.error(request, blocker)
        else:
            messages.error(request, "Choose what to do: waive a finding, approve or request "
                                    "changes.")
    posts = {}
    for item in findings:
        posts.setdefault(item.post_number, []).append(item)
    return render(request, "approvals/sensitivity_review.html", {
        "page": page, "revision": revision, "task_state": task_state, "in_progress": in_progress,
        "posts": sorted(posts.items()), "findings": findings,
        "errors_open": unresolved_errors(revision, findings),
        "blockers": review_blockers(task_state, request.user, findings) if in_progress else [],
        "forms": forms, "failed_key": failed_key,
    }, status=400 if request.method == "POST" else 200)


# --- The client's review page (no account: the link is the key) ------------------------------

UNKNOWN = "unknown"  # no link of this brand has the token
# What the approver reads for each status of a link that no longer takes a decision (a decided
# link shows the decision instead).
PROBLEM_PAGES = {
    UNKNOWN: (404, "This review link is not valid",
              "Check that the whole address was copied from the email. If it still does not "
              "work, ask your contact at the agency for a new link."),
    LinkStatus.WITHDRAWN: (410, "This review link was withdrawn",
                           "The agency withdrew this link. Ask your contact there for a new one."),
    LinkStatus.EXPIRED: (410, "This review link has expired",
                         "Ask your contact at the agency to send a new link."),
    LinkStatus.SUPERSEDED: (410, "There is a newer version of this campaign",
                            "The campaign changed after this link was sent. Once the new "
                            "version has been checked, you will get a new link by email."),
    LinkStatus.CLOSED: (410, "This review is closed",
                        "The campaign's approval was completed or sent back for changes; "
                        "nothing more is needed from this link."),
}


def _review_headers(response):
    # Only the origin, never the path (which holds the token), leaves in a Referer header.
    # Not "no-referrer": browsers then send "Origin: null" with the decision form, and Django's
    # CSRF check rightly refuses it.
    response["Referrer-Policy"] = "strict-origin"
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _problem_page(request, problem: str):
    status, title, message = PROBLEM_PAGES[problem]
    # nothing about the brand on a page anyone with a wrong address can see
    return _review_headers(render(request, "approvals/review_problem.html", {
        "title": title, "message": message}, status=status))


def _unknown_link_refused(request):
    """A token that leads to no link here. Counted per client address (on every brand's host):
    past REVIEW_FAILURE_LIMIT in the window, returns the 429 answer, else None. Asked only after
    the lookup, so a valid link always opens, whatever else its address sent: an approver
    behind the same office address as a stray client is never locked out."""
    if ratelimit.unknown_links_exceeded(request):
        response = render(request, "approvals/review_problem.html", {
            "title": "This review link is not valid",
            "message": "Many addresses that lead nowhere came from your network. Check that the "
                       "whole address was copied from the email, and try again in "
                       f"{ratelimit.minutes_left()} minutes."}, status=429)
        response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_S)
        return _review_headers(response)
    if ratelimit.unknown_link_record(request) == settings.REVIEW_FAILURE_LIMIT:
        logger.warning("Review links: %s unknown tokens from %s in %s minutes; its unknown "
                       "tokens now get 429.", settings.REVIEW_FAILURE_LIMIT,
                       ratelimit.client_ip(request), ratelimit.minutes_left())
    return None


@require_http_methods(["GET", "POST"])
def client_review_view(request, token: str):
    """The approver's page: the brief and every post as each network will show it; approve or
    request changes (POST, with CSRF like every form here). GET never changes the workflow, and
    records only that the link was fetched; a POST is a person, so it records the opening."""
    found = links.check(token)
    if found.link is None:
        return _unknown_link_refused(request) or _problem_page(request, UNKNOWN)
    client = current_client()
    if found.status == LinkStatus.DECIDED:
        link = found.link
        return _review_headers(render(request, "approvals/review_done.html", {
            "link": link, "client": client, "title": link.revision.object_str}))
    if not found.usable:
        return _problem_page(request, found.status)
    link = found.link
    campaign = link.revision.as_object()
    posts = list(campaign.posts.all())
    form = ClientDecisionForm(request.POST or None, post_count=len(posts))
    status = 200
    if request.method == "POST":
        links.mark_opened(link, request)
        if form.is_valid():
            outcome = links.decide(link, decision=form.cleaned_data["decision"],
                                   comment=form.cleaned_data["comment"].strip(),
                                   post_comments=form.post_comments(), request=request)
            if outcome in PROBLEM_PAGES:
                return _problem_page(request, outcome)
            link.refresh_from_db()
            return _review_headers(render(request, "approvals/review_done.html", {
                "link": link, "client": client, "title": link.revision.object_str,
                "outcome": outcome}))
        status = 400
    else:
        links.mark_fetched(link, request)
    cards = campaign.preview_cards()
    by_post = {}
    for card in cards:
        # the brand's media is for its members; the link holder gets the images through the link
        card["image_urls"] = [(f"/review/{token}/images/{item['image'].pk}/", item["alt_text"])
                              for item in card["images"] if item.get("image")]
        by_post.setdefault(card["number"], []).append(card)
    due = approval_due_at(link.revision)
    return _review_headers(render(request, "approvals/review.html", {
        "client": client, "campaign": campaign, "link": link, "form": form,
        "opened_url": reverse("client_review_opened", args=[token]),
        "decide_by": min(due, link.expires_at) if due else link.expires_at,
        "posts": [(n, post, by_post.get(n, []), form[f"post_{n}"])
                  for n, post in enumerate(posts, start=1)],
    }, status=status))


@require_POST
def client_review_opened(request, token: str):
    """The review page's beacon (static/approvals/review_opened.js), sent on the first scroll,
    touch, key or pointer movement: a person has the page open. With CSRF, like every POST."""
    found = links.check(token)
    if found.link is None:
        return _unknown_link_refused(request) or _problem_page(request, UNKNOWN)
    if found.usable:
        links.mark_opened(found.link, request)
    return _review_headers(HttpResponse(status=204))


REVIEW_IMAGE_SPEC = "fill-600x400"


def client_review_image(request, token: str, image_id: int):
    """An image of the campaign under review, for the holder of a valid link (the brand's media
    is otherwise for its members only). Only images of that revision's posts are served."""
    found = links.check(token)
    if found.link is None and (refused := _unknown_link_refused(request)):
        return refused
    if not found.usable or image_id not in read_revision(found.link.revision).image_ids:
        raise Http404("No such image.")
    image = get_image_model().objects.filter(pk=image_id).first()
    if image is None:
        raise Http404("No such image.")
    rendition = image.get_rendition(REVIEW_IMAGE_SPEC)
    # Through the storage backend: the bytes from disk, or a signed URL of the bucket.
    return _review_headers(serve_stored(rendition.file.storage, rendition.file.name))


# --- Staff: the client's review links of a campaign, and its approval history ---------------


def _campaign_for_staff(request, page_id: int):
    page = get_object_or_404(CampaignPage, pk=page_id)
    perms = page.permissions_for_user(request.user)
    if not (perms.can_edit() or perms.can_publish()):
        raise PermissionDenied
    return page


def review_links_view(request, page_id: int):
    """Who was sent a review link for this campaign, what they did; withdraw a link or send a
    fresh one (account managers and agency admins: those who may publish)."""
    page = _campaign_for_staff(request, page_id)
    can_manage = page.permissions_for_user(request.user).can_publish()
    now = timezone.now()
    rows = list(ReviewLink.objects.with_status(now).filter(revision__object_id=str(page.pk))
                .select_related("approver", "revision").prefetch_related("comments"))
    current = page.current_workflow_task_state
    client_step = (current if current is not None
                   and isinstance(current.task.specific, ClientApprovalTask) else None)
    if request.method == "POST":
        if not can_manage:
            messages.error(request, "Only account managers and agency admins manage links.")
            return redirect(request.path)
        link = next((r for r in rows if str(r.pk) == request.POST.get("link")), None)
        resend = request.POST.get("action") == "resend"
        try:
            if link is None:
                raise ValueError
            fresh = links.revoke(link, user=request.user, resend=resend)
        except ValueError:
            messages.error(request, "That link cannot be changed any more.")
            return redirect(request.path)
        if fresh is not None:
            messages.success(request, f"A new link is on its way to {link.approver.email}; "
                                      "the old one no longer works.")
        else:
            messages.success(request, f"{link.approver.name}'s link no longer works.")
        return redirect(request.path)
    for row in rows:
        row.status = status_of(row, now)
        row.changeable = can_manage and row.status in (*LinkStatus.usable(), LinkStatus.EXPIRED)

    latest = page.get_latest_revision()
    due = approval_due_at(latest) if latest else None
    return render(request, "approvals/review_links.html", {
        "page": page, "rows": rows, "can_manage": can_manage, "client_step": client_step,
        "due": due, "overdue": due is not None and due <= now and not page.live})


def approval_history_csv(request, page_id: int):
    """Every submission, finding waived, decision, comment and link event of a campaign, with
    who, when and which revision, as CSV (opens in a spreadsheet)."""
    page = _campaign_for_staff(request, page_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="approval-history-{page.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(["time (UTC)", "action", "by", "revision", "details"])
    for entry in audit_entries(page.pk):
        details = "; ".join(f"{k}: {v}" for k, v in audit_details(entry).items())
        writer.writerow([entry.timestamp.strftime("%Y-%m-%d %H:%M:%S"), entry.message,
                         _csv_safe(audit_actor(entry)), entry.revision_id or "",
                         _csv_safe(details)])
    return response


def _csv_safe(value: str) -> str:
    """No spreadsheet formulas from user text (CSV injection)."""
    value = value.replace("\r", " ").replace("\n", " / ")
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t") else value


# --- A review decision from the campaign editor's footer ---------------------------------------

DECIDED = "Your decision on campaign “{title}” is recorded, on the version under review."


def decide_from_editor(request, page):
    """``before_edit_page``: a review decision taken from a campaign's editor footer (approve,
    request changes, record the client's decision) is taken on the revision under review, and
    nothing in the form is saved. (Wagtail's editor saves the form as a new revision first when
    anything in it differs, and a new revision starts the review over: the decision would be
    lost, or taken on content nobody reviewed.) A sensitivity reviewer's approval goes to the
    review page, where the findings and the checklist are."""
    if not (request.method == "POST" and request.POST.get("action-workflow-action")
            and page.specific_class is CampaignPage):
        return None
    if any(request.POST.get(name) for name in ("action-publish", "action-submit",
                                               "action-restart-workflow")):
        return None  # Wagtail's (or governance's) own handling of those comes first
    edit = redirect("wagtailadmin_pages:edit", page.pk)
    task_state = page.current_workflow_task_state
    action = request.POST.get("workflow-action-name", "")
    if task_state is None:
        messages.error(request, "The campaign is no longer in review: nothing to decide.")
        return edit
    task = task_state.task.specific
    if action not in {name for name, _label, _modal in task.get_actions(page, request.user)}:
        messages.error(request, "That decision is not yours to take on this review step.")
        return edit
    if isinstance(task, SensitivityReviewTask) and action == "approve":
        return redirect("sensitivity_review", task_state.pk)
    try:
        extra = json.loads(request.POST.get("workflow-action-extra-data") or "{}")
    except ValueError:
        extra = None
    if isinstance(extra, dict):  # the decision form's fields (a comment), nothing else
        extra = {key: value for key, value in extra.items()
                 if key not in ("task_state", "user", "action_name")}
    else:
        messages.error(request, "The decision's details were not understood: reload the "
                                "campaign and decide again.")
        return edit
    try:
        task.on_action(task_state.specific, request.user, action, **extra)
    except PermissionDenied as refused:
        messages.error(request, str(refused))
        return edit
    messages.success(request, DECIDED.format(title=page.get_admin_display_title()))
    return redirect("wagtailadmin_explore", page.get_parent().pk)
