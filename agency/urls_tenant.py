"""URLs on a brand's own host (<slug>.<base domain>). Everything here requires a membership."""

from django.urls import include, path, re_path
from django.views.generic import RedirectView
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.utils.urlpatterns import decorate_urlpatterns

from agency import health
from agency.api import views as api_views
from approvals import views as approval_views
from campaigns import views as campaign_views
from campaigns.publishing import media_links
from campaigns.results import report_views
from tenants import media
from tenants.scoping import PORTAL_ONLY_ADMIN, managed_in_portal

# Wagtail's admin without its "failwhale" page, which raises on purpose: a 500 (and in development
# a full debug page) on demand for any signed-in member. Its address now finds nothing (404).
wagtailadmin_patterns = [pattern for pattern in wagtailadmin_urls.urlpatterns
                         if getattr(pattern, "name", None) != "wagtailadmin_error_test"]
# Its screens for accounts and groups answer 404 too (their menu items are hidden): people are
# managed in the portal (tenants.scoping.managed_in_portal says why).
decorate_urlpatterns([pattern for pattern in wagtailadmin_patterns
                      if getattr(pattern, "namespace", None) in PORTAL_ONLY_ADMIN],
                     managed_in_portal)

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="brand_home"),
    path("login/", RedirectView.as_view(url="/admin/login/", query_string=True),
         name="brand_login"),
    path("admin/", include(wagtailadmin_patterns)),
    path("api/v1/", include("agency.urls_api")),
    # Whatever else is under /api/ (an id that is no number, an unknown path): a problem
    # detail, not an HTML page.
    re_path(r"^api/", api_views.unmatched),
    path("documents/<int:document_id>/<str:document_filename>", media.document_serve,
         name="wagtaildocs_serve"),
    path("media/<path:path>", media.media_serve, name="brand_media"),
    # Instagram and Threads fetch a post's media here: the signed token is the credential.
    path("media-link/<str:token>/", media_links.media_link, name="publishing_media_link"),
    path("healthz", health.healthz, name="brand_healthz"),
    # Calendar apps cannot sign in: the secret token in the address is the credential.
    path("calendar/<str:token>.ics", campaign_views.calendar_ics, name="campaign_calendar_ics"),
    path("review/<str:token>/", approval_views.client_review_view, name="client_review"),
    path("review/<str:token>/opened/", approval_views.client_review_opened,
         name="client_review_opened"),
    path("review/<str:token>/images/<int:image_id>/", approval_views.client_review_image,
         name="client_review_image"),
    # A client report shared read-only (campaigns.results.sharing): the token is the key.
    path("report/<str:token>/", report_views.shared_report, name="results_shared"),
    path("report/<str:token>/pdf/", report_views.shared_report_pdf, name="results_shared_pdf"),
    path("report/<str:token>/csv/", report_views.shared_report_csv, name="results_shared_csv"),
]


# API addresses answer in problem details, everything else with the usual page.
handler404 = "agency.api.views.handler404"
handler500 = "agency.api.views.handler500"
