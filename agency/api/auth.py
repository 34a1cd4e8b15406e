"""Who is calling: API keys (``Authorization: Bearer agk_...``), their scopes, their rate.

A key acts for the person who created it, with that person's current rights in the brand (a
removed membership ends every key they made) and only within the key's scopes."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django_tenants.utils import get_public_schema_name
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import SimpleRateThrottle

from agency.api.models import KEY_PREFIX, ApiKey, Scope
from agency.api.services import api_key_find


def on_portal() -> bool:
    return connection.schema_name == get_public_schema_name()


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request)
        if not header:
            return None
        try:
            kind, _, raw = header.decode("ascii").partition(" ")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be plain ASCII: “Bearer agk_...”.") from None
        raw = raw.strip()
        if kind.lower() != "bearer" or not raw or " " in raw:
            raise exceptions.AuthenticationFailed(
                "Send the key as “Authorization: Bearer agk_...”.")
        if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
            raise exceptions.AuthenticationFailed(
                f"That is not an API key of this platform: keys start with “{KEY_PREFIX}”.")
        key = api_key_find(raw, brand=None if on_portal() else connection.tenant)
        if key is None:
            where = "the agency portal" if on_portal() else "this brand"
            raise exceptions.AuthenticationFailed(
                f"This key is not valid for {where}: it was revoked, or it belongs elsewhere (a "
                "brand's key works only on that brand's host). Ask an account manager for a "
                "key.")
        user = key.created_by
        # On a brand: still a member (read with the key). On the portal: still an agency admin.
        allowed = user.has_perm("tenants.add_client") if on_portal() else key.creator_is_member
        if not user.is_active or not allowed:
            raise exceptions.AuthenticationFailed(
                "The person who created this key no longer has access here, so the key does "
                "not either. Ask an account manager for a new key.")
        return user, key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class KeyScope(BasePermission):
    """Reads need the ``read`` scope; writes the scope the view names (``write`` unless it says
    otherwise, per action in ``scopes_by_action``)."""

    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        scope = required_scope(request, view)
        if not key.has_scope(scope):
            self.message = (f"This key lacks the “{scope}” scope this request needs. Create a key "
                            f"with it in the admin (Settings → API keys).")
            return False
        return True


def required_scope(request, view) -> str:
    by_action = getattr(view, "scopes_by_action", {})
    action = getattr(view, "action", None)
    if action in by_action:
        return by_action[action]
    if request.method in SAFE_METHODS:
        return Scope.READ
    return getattr(view, "write_scope", Scope.WRITE)


class KeyRateThrottle(SimpleRateThrottle):
    """Requests per key (per address before a key is known) in fixed windows; over the rate,
    429 with Retry-After (the seconds until the window ends). One atomic increment in the cache
    per request (Redis in production, shared by every web process), not DRF's list of every
    request's time, which grows with the rate."""

    scope = "api_key"

    def get_rate(self):
        return settings.API_RATE

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"{connection.schema_name}:{request.auth.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        now = self.timer()
        window = int(now // self.duration)
        count = window_count(self.cache, f"{key}:{window}", self.duration + 1)
        self.wait_seconds = (window + 1) * self.duration - now
        return count <= self.num_requests

    def wait(self):
        return self.wait_seconds


def window_count(cache, key: str, ttl: int) -> int:
    """Add one to the count under ``key`` (created with ``ttl`` seconds to live) and return it.

    On Redis that is one round trip: ``SET key 0 EX ttl NX`` and ``INCR key`` in a MULTI.
    Django's cache API would take three (``add``; then ``incr``, which checks ``EXISTS`` first)
    and build a Redis client for each. Other caches (per-process memory in development) go
    through the cache API."""
    if cache is default_cache:  # DRF's throttles hold the proxy, not the backend behind it
        cache = caches["default"]
    if isinstance(cache, RedisCache):
        full = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(full, write=True).pipeline()  # MULTI ... EXEC
        pipe.set(full, 0, ex=ttl, nx=True)
        pipe.incr(full)
        return pipe.execute()[1]
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, ttl)
        return 1


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "agency.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": f"{KEY_PREFIX}…",
                "description": "A brand's API key, created in the brand's admin (Settings → "
                               "API keys), sent as `Authorization: Bearer agk_…`."}
