"""The results screens in each brand's admin: the "Results" menu item, a "Results" button on
each campaign, and their URLs."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button

from campaigns.models import CampaignPage
from campaigns.results import report_views, views


@hooks.register("register_admin_urls")
def results_urls():
    return [
        path("results/", views.brand_results_view, name="results_brand"),
        path("results/campaign/<int:page_id>/", views.campaign_results_view,
             name="results_campaign"),
        path("results/report-schedules/", report_views.report_schedules_view,
             name="results_report_schedules"),
        *_report_urls("campaign", "campaign/<int:page_id>/"),
        *_report_urls("month", "month/<int:year>/<int:month>/"),
    ]


def _report_urls(kind: str, prefix: str) -> list:
    """A report's page, PDF and CSV under /admin/results/report/<prefix>."""
    base = f"results/report/{prefix}"
    name = f"results_report_{kind}"
    return [
        path(base, report_views.report_view, {"kind": kind}, name=name),
        path(f"{base}pdf/", report_views.report_pdf, {"kind": kind}, name=f"{name}_pdf"),
        path(f"{base}csv/", report_views.report_csv, {"kind": kind}, name=f"{name}_csv"),
        path(f"{base}share/", report_views.report_share, {"kind": kind}, name=f"{name}_share"),
        path(f"{base}revoke/", report_views.report_revoke, {"kind": kind},
             name=f"{name}_revoke"),
    ]


@hooks.register("register_admin_menu_item")
def results_menu_item():
    return MenuItem("Results", reverse("results_brand"), icon_name="table", order=170)


def _is_campaign(page) -> bool:
    return page.specific_class is CampaignPage


@hooks.register("register_page_header_buttons")
def campaign_results_button(page, user, view_name, next_url=None):
    if _is_campaign(page) and page.pk:
        yield Button("Campaign results", reverse("results_campaign", args=[page.pk]),
                     icon_name="table", priority=40)


@hooks.register("register_page_listing_more_buttons")
def campaign_results_listing_button(page, user, next_url=None):
    if _is_campaign(page):
        yield Button("Campaign results", reverse("results_campaign", args=[page.pk]),
                     icon_name="table", priority=40)
