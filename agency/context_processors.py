from django.conf import settings
from django_tenants.utils import get_public_schema_name

from tenants.links import portal_base_url


def agency(request):
    return {
        "agency_name": settings.AGENCY_NAME,
        "portal_url": portal_base_url(),
        "current_client": getattr(request, "tenant", None),
        "on_portal": getattr(getattr(request, "tenant", None), "schema_name", "public")
        == get_public_schema_name(),
    }
