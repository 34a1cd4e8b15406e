"""URLs on the agency portal's host (the public schema)."""

from django.urls import include, path

from agency import health

urlpatterns = [
    path("", include("agency.portal.urls")),
    path("api/v1/", include("agency.api.portal_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]


# API addresses answer in problem details, everything else with the usual page.
handler404 = "agency.api.views.handler404"
handler500 = "agency.api.views.handler500"
