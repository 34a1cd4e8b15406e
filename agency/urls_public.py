"""URLs on the agency portal's host (the public schema)."""

from django.urls import include, path

from agency import health

urlpatterns = [
    path("", include("agency.portal.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
