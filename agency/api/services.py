"""Creating, revoking and checking API keys."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agency.api.models import ApiKey, Scope, key_generate, key_hash

# How stale ``last_used_at`` may get before a request writes it again (one write a minute at
# most, not one per request).
LAST_USED_RESOLUTION = timedelta(seconds=60)


def api_key_create(*, name: str, scopes: list[str], user) -> tuple[ApiKey, str]:
    """A new key for the active schema (a brand's, or the agency's on the portal). Returns the
    key and its secret value, which is shown once and stored only as a hash."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the key after what will use it, e.g. "
                                       "“Reporting dashboard”."})
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope {', '.join(unknown)}; choose from "
                                         f"{', '.join(Scope.values)}."})
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope (read, write, approve)."})
    public_id, raw = key_generate()
    key = ApiKey.objects.create(name=name[:80], public_id=public_id, key_hash=key_hash(raw),
                                scopes=[s for s in Scope.values if s in scopes], created_by=user)
    return key, raw


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_find(raw: str, *, brand_schema: str | None = None) -> ApiKey | None:
    """The active key whose secret is ``raw``, with its creator, in the active schema. With
    ``brand_schema``, ``key.creator_is_member`` says whether its creator still belongs to that
    brand, read in the same query (every role of a brand may use its admin and API)."""
    keys = ApiKey.objects.active().select_related("created_by").filter(key_hash=key_hash(raw))
    if brand_schema:
        from tenants.models import Membership

        keys = keys.annotate(creator_is_member=Exists(Membership.objects.filter(
            user_id=OuterRef("created_by_id"), client__schema_name=brand_schema,
            client__archived_at__isnull=True)))
    key = keys.first()
    if key is not None:
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
    return key
