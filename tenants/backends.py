"""Permissions that count only the groups of the client whose schema is active.

``auth`` is shared, so Django groups are global. Left alone, a user in brand A's editors group would
hold ``wagtailadmin.access_admin`` on brand B too. This backend counts a group only inside the
client its ``RoleGroup`` names (and agency-wide groups only on the portal), and refuses sign-in
while the account or address is over the failed sign-in limit.
"""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import connection
from django_tenants.utils import get_public_schema_name

from tenants import ratelimit


def current_schema() -> str:
    return getattr(connection, "schema_name", None) or get_public_schema_name()


class ClientRoleBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and ratelimit.is_blocked(username=username, request=request):
            # Stops every backend; the sign-in forms show the reason before getting here.
            raise PermissionDenied("Too many failed sign-ins.")
        return super().authenticate(request, username=username, password=password, **kwargs)

    def _get_user_permissions(self, user_obj):
        # A permission given to the account itself would hold in every client: count it only on
        # the portal. Inside a client, rights come from the client's role groups alone.
        if current_schema() != get_public_schema_name():
            return Permission.objects.none()
        return super()._get_user_permissions(user_obj)

    def _get_group_permissions(self, user_obj):
        schema = current_schema()
        if schema == get_public_schema_name():
            scope = {"group__role_scope__client__isnull": True}
        else:
            scope = {"group__role_scope__client__schema_name": schema}
        return Permission.objects.filter(group__user=user_obj, **scope)

    def _get_permissions(self, user_obj, obj, from_name):
        # ModelBackend caches on the user object; key the cache by schema so a user object that
        # crosses a schema switch (tasks, tests) never carries one client's grants into another.
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        cache_name = f"_{from_name}_perm_cache_{current_schema()}"
        if not hasattr(user_obj, cache_name):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                perms = getattr(self, f"_get_{from_name}_permissions")(user_obj)
            perms = perms.values_list("content_type__app_label", "codename").order_by()
            setattr(user_obj, cache_name, {f"{ct}.{name}" for ct, name in perms})
        return getattr(user_obj, cache_name)

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        cache_name = f"_perm_cache_{current_schema()}"
        if not hasattr(user_obj, cache_name):
            # BaseBackend's union, not ModelBackend's: the latter caches in one unscoped attribute.
            setattr(user_obj, cache_name, BaseBackend.get_all_permissions(self, user_obj, obj))
        return getattr(user_obj, cache_name)
