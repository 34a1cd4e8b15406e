"""Inside a brand, every picker of groups or accounts offers only the brand's own.

``auth`` is shared, so a form field over groups or accounts would list the whole agency's: other
brands' role groups (and so their clients' names), the agency-wide groups, every account. While a
brand's schema is active, every model choice field over ``Group`` offers only the brand's role
groups, and every one over the user model only the brand's members, whichever form holds it:
Wagtail's task types (present and future), privacy settings, settings, snippets, listing filters,
and ours. The portal (public schema) is left as it is.
"""

from __future__ import annotations

from functools import wraps

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django_tenants.utils import get_public_schema_name

from tenants.models import Membership


def brand_groups_q() -> Q:
    """Groups of the brand whose schema is active: its role groups, nothing agency-wide."""
    return Q(role_scope__client__schema_name=connection.schema_name)


def brand_members_q() -> Exists:
    """Accounts with a membership of the brand whose schema is active."""
    return Exists(Membership.objects.filter(user=OuterRef("pk"),
                                            client__schema_name=connection.schema_name))


def brand_scoped(queryset):
    """``queryset`` narrowed to the active brand's own if it lists groups or accounts."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    if queryset is None or connection.schema_name == get_public_schema_name():
        return queryset
    if issubclass(queryset.model, Group):
        return queryset.filter(brand_groups_q())
    if issubclass(queryset.model, get_user_model()):
        return queryset.filter(brand_members_q())
    return queryset


def choice_fields_scope() -> None:
    """Scope Django's ``ModelChoiceField`` (and so ``ModelMultipleChoiceField`` and the fields of
    django-filter and Wagtail built on them) when its choices are read, so the brand is the one
    of the request that shows or validates the form, not the one that built the form class."""
    from django.forms.models import ModelChoiceField

    plain = ModelChoiceField.queryset
    if getattr(plain.fget, "brand_scoped", False):
        return

    def scoped_get(field):
        return brand_scoped(plain.fget(field))

    scoped_get.brand_scoped = True
    ModelChoiceField.queryset = property(scoped_get, plain.fset)


# Wagtail's Users and Groups screens (viewset namespaces). They span every brand: inside one they
# would list the whole agency's accounts, and a person's groups saved there would keep only that
# brand's (its picker offers no other), silently taking away their other brands.
PORTAL_ONLY_ADMIN = {"wagtailusers_users", "wagtailusers_groups"}


def managed_in_portal(view):
    """Wrap a brand admin view that must not serve: it answers 404, for superusers too."""

    @wraps(view)
    def closed(request, *args, **kwargs):
        raise Http404("People and their groups are managed in the agency portal.")

    return closed
