"""Failed sign-ins, and review-link addresses that lead nowhere, counted in the public schema
so every host shares one count."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tenants.models import LoginFailure


def _normal(username: str) -> str:
    return username.strip().lower()


def client_ip(request) -> str | None:
    if request is None:
        return None
    # Behind a proxy the deployment sets DJANGO_TRUSTED_PROXY_HEADER; never trust it by default.
    header = getattr(settings, "TRUSTED_PROXY_IP_HEADER", "")
    if header and request.META.get(header):
        # The right-most entry is the one our own proxy appended; the rest the client wrote.
        return request.META[header].split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def _recent(username: str, ip: str | None):
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_S)
    match = Q(username=_normal(username))
    if ip:
        match |= Q(ip_address=ip)
    return LoginFailure.objects.filter(match, at__gte=since)


def is_blocked(*, username: str, request) -> bool:
    """True once the account, or the address it signs in from, has too many recent failures."""
    ip = client_ip(request)
    recent = _recent(username, ip)
    by_user = recent.filter(username=_normal(username)).count()
    by_ip = recent.filter(ip_address=ip).count() if ip else 0
    # An address may try a few accounts (shared office networks), an account only the limit.
    return by_user >= settings.LOGIN_FAILURE_LIMIT or by_ip >= settings.LOGIN_FAILURE_LIMIT * 4


def minutes_left() -> int:
    return max(1, settings.LOGIN_FAILURE_WINDOW_S // 60)


def record_failure(*, username: str, request) -> None:
    LoginFailure.objects.create(username=_normal(username)[:254], ip_address=client_ip(request))
    # Rows past the window count for nothing: keep the table as small as the window.
    LoginFailure.objects.filter(
        at__lt=timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_S)).delete()


def clear(*, username: str) -> None:
    LoginFailure.objects.filter(username=_normal(username)).delete()


def _unknown_link_key(request) -> str:
    # Kept apart from sign-in failures (no ip_address): a stray review address must not pause
    # sign-ins from a shared office network.
    return f"review-link@{client_ip(request)}"


def unknown_links_exceeded(request) -> bool:
    """True once this address sent REVIEW_FAILURE_LIMIT unknown review-link tokens within the
    window (on any brand's host)."""
    return _recent(_unknown_link_key(request), None).count() >= settings.REVIEW_FAILURE_LIMIT


def unknown_link_record(request) -> int:
    """Count an unknown review-link token from this address; returns its count in the window."""
    record_failure(username=_unknown_link_key(request), request=None)
    return _recent(_unknown_link_key(request), None).count()
