"""Absolute links to the portal and to each brand's own host (never one global host)."""

from __future__ import annotations

from django.conf import settings

from tenants.models import current_client


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
    client = current_client()
    return client_base_url(client) if client is not None else portal_base_url()
