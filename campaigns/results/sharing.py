"""Read-only links to client reports, made like review links (``approvals.links``): a 256-bit
random token shown once and stored only as its SHA-256, bound to the brand (the row lives in the
brand's schema and is looked up on the brand's host), to one report, expiring and revocable.
Tokens that lead nowhere count against the address like unknown review links
(``tenants.ratelimit``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from campaigns.results.models import ReportShare
from campaigns.results.reports import CAMPAIGN, Scope
from tenants.links import client_base_url
from tenants.models import current_client

TOKEN_BYTES = 32  # 256 bits
SHARE_DAYS = (7, 30, 90)
MAX_DAYS = max(SHARE_DAYS)


class ShareRefused(ValueError):
    """A share that cannot be made: the message says why and what to do."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def share_create(scope: Scope, *, days: int, user=None) -> tuple[ReportShare, str, str]:
    """A new link to ``scope``'s report for ``days`` days; (share, token, its full address).
    The token is not stored anywhere."""
    if days not in SHARE_DAYS:
        raise ShareRefused(f"A shared link lasts {', '.join(map(str, SHARE_DAYS))} days; "
                           f"{days} is not one of them.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    share = ReportShare.objects.create(
        token_hash=token_hash(token), kind=scope.kind, page_id=scope.page_id,
        month=scope.month, created_by_id=getattr(user, "pk", None), created_by_name=_who(user),
        expires_at=timezone.now() + timedelta(days=days))
    return share, token, f"{client_base_url(current_client())}/report/{token}/"


def shares_of(scope: Scope):
    found = ReportShare.objects.filter(kind=scope.kind)
    return found.filter(page_id=scope.page_id) if scope.kind == CAMPAIGN else \
        found.filter(month=scope.month)


def share_revoke(share: ReportShare, *, user=None) -> bool:
    """Revoke ``share`` (no effect on one already revoked); True if this call revoked it."""
    return bool(ReportShare.objects.filter(pk=share.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by_name=_who(user)))


def share_find(token: str) -> ReportShare | None:
    """The link ``token`` leads to in the active brand's schema (any status), or None."""
    if not token or len(token) > 100:
        return None
    return ReportShare.objects.filter(token_hash=token_hash(token)).first()


def share_opened(share: ReportShare) -> None:
    from django.db.models import F

    ReportShare.objects.filter(pk=share.pk).update(opened_count=F("opened_count") + 1,
                                                   last_opened_at=timezone.now())


def scope_of_share(share: ReportShare) -> Scope:
    return Scope.campaign(share.page_id) if share.kind == CAMPAIGN else \
        Scope.of_month(share.month.year, share.month.month)
