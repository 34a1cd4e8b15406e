"""Client reports in the brand's admin: the web page, its PDF and its CSV, per campaign and per
month. Everything is read in the brand's own schema: another brand's campaign id is a 404."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from campaigns.results import reports


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


@require_GET
def report_view(request, kind: str, page_id: int | None = None, year: int | None = None,
                month: int | None = None):
    scope = scope_of(kind, page_id, year, month)
    report = _build(scope)
    return render(request, "results/report.html", page_context(request, scope, report))


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
