"""Client reports in the brand's admin: the web page, its PDF and its CSV, per campaign and per
month. Everything is read in the brand's own schema: another brand's campaign id is a 404."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from campaigns.results import reports, sharing
from campaigns.results.models import ReportSchedule, ReportSent
from tenants import ratelimit
from tenants.models import Role, current_client
from tenants.selectors import client_role, is_agency_admin

logger = logging.getLogger(__name__)
SHARERS = (Role.AGENCY_ADMIN, Role.ACCOUNT_MANAGER)


def scope_of(kind: str, page_id: int | None = None, year: int | None = None,
             month: int | None = None) -> reports.Scope:
    try:
        if kind == reports.CAMPAIGN:
            return reports.Scope.campaign(page_id)
        return reports.Scope.of_month(year, month)
    except reports.ReportNotFound as refused:
        raise Http404(str(refused)) from None


def _args(scope: reports.Scope) -> list:
    return [scope.page_id] if scope.kind == reports.CAMPAIGN else \
        [scope.month.year, scope.month.month]


def url_of(scope: reports.Scope, what: str = "") -> str:
    """The admin address of a report (``what``: "", "pdf", "csv", "share", "revoke")."""
    name = f"results_report_{scope.kind}" + (f"_{what}" if what else "")
    return reverse(name, args=_args(scope))


def _build(scope: reports.Scope) -> reports.Report:
    try:
        return reports.build(scope)
    except reports.ReportNotFound as missing:
        raise Http404(str(missing)) from None


def page_context(request, scope: reports.Scope, report: reports.Report) -> dict:
    back = (reverse("results_campaign", args=[scope.page_id]) if scope.kind == reports.CAMPAIGN
            else reverse("results_brand"))
    return {"report": report, "back": back, "links": {
        what: url_of(scope, what) for what in ("pdf", "csv")}}


def can_share(user) -> bool:
    """Account managers and agency admins share reports with the client (as they send review
    links)."""
    return is_agency_admin(user) or client_role(user, current_client()) in SHARERS


def _report_page(request, scope: reports.Scope, *, new_link: dict | None = None):
    report = _build(scope)
    context = page_context(request, scope, report)
    if can_share(request.user):
        context["links"].update(share=url_of(scope, "share"), revoke=url_of(scope, "revoke"))
        context.update(can_share=True, share_days=sharing.SHARE_DAYS,
                       shares=list(sharing.shares_of(scope)[:50]), new_link=new_link)
    return render(request, "results/report.html", context)


@require_GET
def report_view(request, kind: str, page_id: int | None = None, year: int | None = None,
                month: int | None = None):
    return _report_page(request, scope_of(kind, page_id, year, month))


def _sharer_and_scope(request, kind, page_id, year, month) -> reports.Scope:
    if not can_share(request.user):
        raise PermissionDenied("Only account managers and agency admins share reports.")
    scope = scope_of(kind, page_id, year, month)
    _build(scope)  # a campaign of this brand, or 404
    return scope


@require_POST
def report_share(request, kind: str, page_id: int | None = None, year: int | None = None,
                 month: int | None = None):
    scope = _sharer_and_scope(request, kind, page_id, year, month)
    try:
        days = int(request.POST.get("days", ""))
        share, _token, url = sharing.share_create(scope, days=days, user=request.user)
    except (ValueError, sharing.ShareRefused) as refused:
        messages.error(request, str(refused) if isinstance(refused, sharing.ShareRefused) else
                       "Choose how many days the link lasts (7, 30 or 90).")
        return redirect(url_of(scope))
    # Shown once, in this answer: the token is kept nowhere (not in the session, an address or
    # a log line).
    response = _report_page(request, scope, new_link={"url": url,
                                                      "expires_at": share.expires_at})
    response["Cache-Control"] = "no-store, private"
    return response


@require_POST
def report_revoke(request, kind: str, page_id: int | None = None, year: int | None = None,
                  month: int | None = None):
    scope = _sharer_and_scope(request, kind, page_id, year, month)
    share = sharing.shares_of(scope).filter(pk=request.POST.get("share") or 0).first() \
        if (request.POST.get("share") or "").isdigit() else None
    if share is None:
        messages.error(request, "No such shared link of this report; nothing was revoked.")
    elif sharing.share_revoke(share, user=request.user):
        messages.success(request, "The shared link is revoked: it no longer opens the report.")
    return redirect(url_of(scope))


# --- The shared page: no sign-in, the token is the key ---------------------------------------

SHARE_PROBLEMS = {
    "unknown": (404, "This report link is not valid",
                "Check that the whole address was copied. If it still does not work, ask your "
                "contact at the agency for a new link."),
    "revoked": (410, "This report link was withdrawn",
                "The agency withdrew this link. Ask your contact there for a new one."),
    "expired": (410, "This report link has expired",
                "Ask your contact at the agency to send a new link."),
}


def _shared_headers(response):
    # As the review page: only the origin leaves in a Referer, nothing is cached or indexed.
    response["Referrer-Policy"] = "strict-origin"
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _shared_problem(request, problem: str):
    status, title, message = SHARE_PROBLEMS[problem]
    if problem == "unknown":
        if ratelimit.unknown_links_exceeded(request):
            status, message = 429, ("Many addresses that lead nowhere came from your network. "
                                    "Check that the whole address was copied, and try again in "
                                    f"{ratelimit.minutes_left()} minutes.")
        elif ratelimit.unknown_link_record(request) == settings.REVIEW_FAILURE_LIMIT:
            logger.warning("Report links: %s unknown tokens from %s; its unknown tokens now "
                           "get 429.", settings.REVIEW_FAILURE_LIMIT, ratelimit.client_ip(request))
    # nothing about the brand on a page anyone with a wrong address can see
    response = render(request, "results/shared_problem.html", {"title": title,
                                                               "message": message},
                      status=status)
    if status == 429:
        response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_S)
    return _shared_headers(response)


def _shared_report(request, token: str):
    share = sharing.share_find(token)
    if share is None:
        return None, _shared_problem(request, "unknown")
    if not share.is_usable:
        return None, _shared_problem(request, share.status)
    try:
        return reports.build(sharing.scope_of_share(share)), share
    except reports.ReportNotFound:  # the campaign was deleted since
        return None, _shared_problem(request, "unknown")


@require_GET
def shared_report(request, token: str):
    report, share = _shared_report(request, token)
    if report is None:
        return share
    sharing.share_opened(share)
    links = {"pdf": reverse("results_shared_pdf", args=[token]),
             "csv": reverse("results_shared_csv", args=[token])}
    return _shared_headers(HttpResponse(reports.html(report, links=links)))


@require_GET
def shared_report_pdf(request, token: str):
    report, share = _shared_report(request, token)
    return share if report is None else _shared_headers(pdf_response(report))


@require_GET
def shared_report_csv(request, token: str):
    report, share = _shared_report(request, token)
    return share if report is None else _shared_headers(csv_response(report))


def pdf_response(report: reports.Report) -> HttpResponse:
    response = HttpResponse(reports.pdf(report), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report.filename}.pdf"'
    return response


def csv_response(report: reports.Report) -> HttpResponse:
    response = HttpResponse(reports.csv_text(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report.filename}.csv"'
    return response


@require_GET
def report_pdf(request, kind: str, page_id: int | None = None, year: int | None = None,
               month: int | None = None):
    return pdf_response(_build(scope_of(kind, page_id, year, month)))


@require_GET
def report_csv(request, kind: str, page_id: int | None = None, year: int | None = None,
               month: int | None = None):
    return csv_response(_build(scope_of(kind, page_id, year, month)))


# --- Scheduled report emails -----------------------------------------------------------------


class ScheduleForm(forms.ModelForm):
    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The client contacts' email addresses, one a line or separated by commas.")

    class Meta:
        model = ReportSchedule
        fields = ["kind", "day", "recipients", "active"]

    def clean_recipients(self):
        raw = [part.strip() for part in
               self.cleaned_data["recipients"].replace(",", "\n").splitlines() if part.strip()]
        wrong = []
        for address in raw:
            try:
                validate_email(address)
            except ValidationError:
                wrong.append(address)
        if wrong:
            raise ValidationError(f"Not an email address: {', '.join(wrong[:5])}. Write each "
                                  "as name@example.com, one a line.")
        if not raw:
            raise ValidationError("Add at least one email address to send the reports to.")
        return list(dict.fromkeys(raw))


def report_schedules_view(request):
    """The brand's report schedules (account managers and agency admins): add one, switch one
    off or on, remove one; and what was sent."""
    if not can_share(request.user):
        raise PermissionDenied("Only account managers and agency admins schedule reports.")
    form = ScheduleForm(request.POST if request.POST.get("action") == "add" else None,
                        initial={"day": 1})
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add" and form.is_valid():
            form.save()
            messages.success(request, "The report schedule is saved.")
            return redirect(reverse("results_report_schedules"))
        if action in ("pause", "resume", "remove"):
            schedule = ReportSchedule.objects.filter(
                pk=int(request.POST.get("schedule") or 0)
                if (request.POST.get("schedule") or "").isdigit() else 0).first()
            if schedule is None:
                messages.error(request, "No such schedule here; nothing was changed.")
            elif action == "remove":
                schedule.delete()
            else:
                schedule.active = action == "resume"
                schedule.save(update_fields=["active"])
            return redirect(reverse("results_report_schedules"))
    return render(request, "results/report_schedules.html", {
        "form": form, "schedules": ReportSchedule.objects.all(),
        "sent": ReportSent.objects.select_related("schedule")[:50]})
