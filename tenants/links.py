"""Absolute links to the portal and to each brand's own host (never one global host)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name


def _origin(host: str) -> str:
    port = settings.AGENCY_PORT
    return f"{settings.AGENCY_SCHEME}://{host}{':' + port if port else ''}"


def brand_host(slug: str) -> str:
    return f"{slug}.{settings.AGENCY_BASE_DOMAIN}"


def portal_base_url() -> str:
    return _origin(settings.AGENCY_BASE_DOMAIN)


def client_base_url(client) -> str:
    """The origin of ``client``'s own host, e.g. ``https://acme.agency.example``."""
    return _origin(client.host or brand_host(client.slug))


def current_base_url() -> str:
    """The origin of the brand whose schema is active, or the portal's on the public schema."""
    tenant = getattr(connection, "tenant", None)
    schema = getattr(connection, "schema_name", get_public_schema_name())
    if tenant is None or schema == get_public_schema_name():
        return portal_base_url()
    slug = getattr(tenant, "slug", None)
    if slug is None:  # a schema_context() carries only the schema name
        from tenants.models import Client

        slug = Client.objects.filter(schema_name=schema).values_list("slug", flat=True).first()
        if slug is None:
            return portal_base_url()
        client = Client.objects.get(schema_name=schema)
        return client_base_url(client)
    return client_base_url(tenant)
