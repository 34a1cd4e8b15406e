"""Writes of the portal itself: the agency's API keys (the portal API's credentials)."""

from __future__ import annotations

from django_tenants.utils import get_public_schema_name, schema_context

from agency.api.models import ApiKey
from agency.api.services import api_key_create, api_key_revoke
from tenants.services import audit

# Audit events that concern the whole agency rather than one client use this in place of a slug.
AGENCY_WIDE = "*"


def agency_api_key_create(*, name: str, scopes: list[str], user) -> tuple[ApiKey, str]:
    """A key for the portal API, acting for ``user`` (an agency admin). Returns the key and its
    secret, which is shown once and stored only as a hash."""
    # The api_apikey table exists in every brand's schema too: pin the public one, so a caller
    # left on a brand's schema cannot make a brand key by mistake.
    with schema_context(get_public_schema_name()):
        key, raw = api_key_create(name=name, scopes=scopes, user=user)
        audit(actor=user, client_slug=AGENCY_WIDE, action="api_key.created",
              key=key.masked, name=key.name, scopes=key.scopes)
    return key, raw


def agency_api_key_revoke(*, key: ApiKey, user) -> None:
    """Stop ``key`` working at once; it stays listed as revoked."""
    with schema_context(get_public_schema_name()):
        if key.revoked_at is None:
            api_key_revoke(key=key)
            audit(actor=user, client_slug=AGENCY_WIDE, action="api_key.revoked",
                  key=key.masked, name=key.name)
