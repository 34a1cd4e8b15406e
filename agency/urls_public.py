"""URLs on the agency portal's host (the public schema)."""

from django.urls import include, path, re_path

from agency import health
from agency.api import views as api_views
from campaigns.conversations import push

urlpatterns = [
    path("", include("agency.portal.urls")),
    path("api/v1/", include("agency.urls_portal_api")),
    # Whatever else is under /api/ (a short name with capitals, an unknown path): a problem
    # detail, not an HTML page.
    re_path(r"^api/", api_views.unmatched),
    path("webhooks/meta", push.meta, name="meta-webhook"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]


# API addresses answer in problem details, everything else with the usual page.
handler404 = "agency.api.views.handler404"
handler500 = "agency.api.views.handler500"
