"""A brand's own colour and logo in its campaign studio (Wagtail's admin).

The colour reaches pages as a CSS custom property in a style sheet of its own
(``/admin/brand/colours.css``), so no page carries an inline style or script for it; the value is
checked again as #RRGGBB before it is written. The logo is read through the storage backend from
the public schema's folder, where the portal keeps it (``tenants.media.serve_stored``)."""

from __future__ import annotations

import re

from django.db import connection
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.media import members_only, serve_stored
from tenants.models import Client

COLOUR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEFAULT_COLOUR = "#2F5D62"


def brand_of_request() -> Client | None:
    tenant = getattr(connection, "tenant", None)
    return tenant if isinstance(tenant, Client) else None


def safe_colour(value: str) -> str:
    """``value`` if it is #RRGGBB, else the default: nothing else is ever written into CSS."""
    return value if COLOUR_RE.match(value or "") else DEFAULT_COLOUR


def ink_on(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (WCAG relative luminance)."""
    channels = []
    for start in (1, 3, 5):
        c = int(colour[start:start + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    # contrast with white (1.05 / (L + .05)) against contrast with black ((L + .05) / .05)
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#000000"


def colours_css(colour: str) -> str:
    colour = safe_colour(colour)
    return f":root {{ --brand-colour: {colour}; --brand-ink: {ink_on(colour)}; }}\n"


@require_GET
@members_only
def brand_colours_css(request):
    client = brand_of_request()
    if client is None:
        raise Http404("No brand here.")
    response = HttpResponse(colours_css(client.brand_colour), content_type="text/css")
    # The address carries the colour (?v=), so a changed colour is a new address.
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@members_only
def brand_logo(request):
    client = brand_of_request()
    if client is None or not client.logo:
        raise Http404("This brand has no logo.")
    with schema_context(get_public_schema_name()):  # kept in the public schema's folder
        return serve_stored(client.logo.storage, client.logo.name)
