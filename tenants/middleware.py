"""Chooses the client (schema) from the request's host name."""

import zoneinfo

from django.core.exceptions import DisallowedHost
from django.db import connection
from django.shortcuts import render
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name
from wagtail.contrib.redirects.middleware import RedirectMiddleware

from agency.problems import problem_response


class ClientMiddleware(TenantMainMiddleware):
    """django-tenants' host routing, plus clear pages for unknown hosts and archived clients."""

    def get_tenant(self, domain_model, hostname):
        domain = domain_model.objects.select_related("tenant").get(domain=hostname)
        return domain.tenant

    def no_tenant_found(self, request, hostname):
        if request.path.startswith("/api/"):
            return problem_response(
                request, 404, "not-found", f"No brand has the host “{hostname}”. "
                "Send API requests to the brand's own host, as its admin shows it.")
        return render(request, "tenants/unknown_host.html", {"hostname": hostname}, status=404)

    def process_request(self, request):
        if request.path.startswith("/api/"):
            try:
                request.get_host()
            except DisallowedHost:
                return problem_response(request, 400, "invalid", "The Host header names no "
                                        "host of ours: send API requests to the brand's own host.")
        response = super().process_request(request)
        if response is not None:
            return response
        tenant = request.tenant
        if getattr(tenant, "archived_at", None):
            connection.set_schema_to_public()
            if request.path.startswith("/api/"):
                return problem_response(request, 410, "gone", f"{tenant.name} is archived: "
                                        "its API answers again once an agency admin restores "
                                        "the client.")
            return render(request, "tenants/archived.html", {"client": tenant}, status=410)
        # Forms and pages on a brand's host read and show times in the brand's time zone.
        if tenant.schema_name != get_public_schema_name():
            timezone.activate(zoneinfo.ZoneInfo(tenant.time_zone))
        else:
            timezone.deactivate()
        return None

    def process_response(self, request, response):
        timezone.deactivate()
        return response


class BrandRedirectMiddleware(RedirectMiddleware):
    """Wagtail's redirects live in each brand's schema; the portal (public schema) has none."""

    def process_response(self, request, response):
        if connection.schema_name == get_public_schema_name():
            return response
        return super().process_response(request, response)
