"""The public schema's own tenant row: the agency portal on AGENCY_BASE_DOMAIN."""

from django.conf import settings
from django_tenants.utils import get_public_schema_name

from tenants.models import Client, Domain


def public_tenant_ensure() -> Client:
    """Idempotent: the public row and the portal's host, as settings name it now."""
    public, _ = Client.objects.get_or_create(
        schema_name=get_public_schema_name(),
        defaults={"name": settings.AGENCY_NAME, "slug": "agency-portal"},
    )
    Domain.objects.get_or_create(domain=settings.AGENCY_BASE_DOMAIN,
                                 defaults={"tenant": public, "is_primary": True})
    return public
