"""Reads about clients and who may do what with them (portal side, public schema)."""

from __future__ import annotations

from tenants.models import Client, Membership, Role
from tenants.roles import MEMBER_MANAGERS


def is_agency_admin(user) -> bool:
    """May create, archive and delete clients (agency-wide group, counted on the portal)."""
    return user.is_authenticated and user.has_perm("tenants.add_client")


def client_role(user, client: Client) -> str | None:
    memberships = Membership.objects.filter(user=user, client=client)
    return memberships.values_list("role", flat=True).first()


def client_for_user(user, slug: str) -> Client | None:
    """The client ``slug`` if ``user`` may see it in the portal, else None (never a hint)."""
    client = Client.objects.brands().filter(slug=slug).first()
    if client is None:
        return None
    if is_agency_admin(user) or Membership.objects.filter(user=user, client=client).exists():
        return client
    return None


def can_manage_members(user, client: Client) -> bool:
    return is_agency_admin(user) or client_role(user, client) in MEMBER_MANAGERS


def roles_user_may_grant(user, client: Client) -> list[tuple[str, str]]:
    """Agency admins (of the agency, or of this client) hand out the agency admin role."""
    if is_agency_admin(user) or client_role(user, client) == Role.AGENCY_ADMIN:
        return list(Role.choices)
    return [(value, label) for value, label in Role.choices if value != Role.AGENCY_ADMIN]


def client_members(client: Client):
    return Membership.objects.filter(client=client).select_related("user").order_by(
        "user__last_name", "user__first_name", "user__email")
