"""Reads about approvals inside the active brand's schema."""

from __future__ import annotations

from wagtail.models import PageLogEntry

# The log actions that make up a campaign's approval history.
AUDIT_ACTIONS = ("wagtail.workflow.", "approvals.", "wagtail.publish", "wagtail.unpublish",
                 "wagtail.create", "wagtail.edit")


def audit_entries(page_id: int):
    """Every submission, finding waived, decision, comment and link event of a campaign,
    oldest first, with the person (or approver) and revision."""
    query = None
    from django.db.models import Q

    for prefix in AUDIT_ACTIONS:
        part = Q(action__startswith=prefix)
        query = part if query is None else query | part
    return (PageLogEntry.objects.filter(query, page_id=page_id)
            .select_related("user").order_by("timestamp", "pk"))


def audit_actor(entry) -> str:
    if entry.user_id and entry.user is not None:
        return entry.user.get_full_name() or entry.user.get_username()
    return (entry.data or {}).get("approver", "")


def audit_details(entry) -> dict:
    return {k: v for k, v in sorted((entry.data or {}).items())
            if k not in ("workflow",) and v not in ("", None, {}, [])}
