"""Clients (one schema each), their host names, and who may reach them in which role."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_public_schema_name

from tenants.clone import schema_clone
from tenants.spares import spare_claim

SLUG_RE = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
RESERVED_SLUGS = {"www", "api", "admin", "static", "media", "public", "agency", "mail", "portal"}


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"“{value}” is not a time zone we know. Use an IANA name such as Europe/London."
        )


def validate_slug(value: str) -> None:
    if value in RESERVED_SLUGS or value.startswith("pg") or value == "tenant-template":
        raise ValidationError(f"“{value}” is reserved. Choose another short name for the client.")


class Role(models.TextChoices):
    AGENCY_ADMIN = "agency_admin", "Agency admin"
    ACCOUNT_MANAGER = "account_manager", "Account manager"
    EDITOR = "editor", "Editor"
    SENSITIVITY_REVIEWER = "sensitivity_reviewer", "Sensitivity reviewer"


class ClientQuerySet(models.QuerySet):
    def brands(self):
        """Every client brand: never the public schema's own row."""
        return self.exclude(schema_name=get_public_schema_name())

    def active(self):
        return self.brands().filter(archived_at__isnull=True)

    def visible_to(self, user):
        """The brands ``user`` sees in the portal: all for agency admins, else their own."""
        qs = self.active()
        if user.is_superuser or user.has_perm("tenants.add_client"):  # agency admins
            return qs
        return qs.filter(memberships__user=user).distinct()


class Client(TenantMixin):
    """A client brand. Its content lives in its own PostgreSQL schema (``schema_name``)."""

    name = models.CharField(max_length=100)
    slug = models.CharField(
        max_length=40,
        unique=True,
        validators=[
            RegexValidator(
                SLUG_RE,
                "Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter "
                "(it becomes the client's web address).",
            ),
            validate_slug,
        ],
        help_text="Short name used in the client's web address, e.g. “acme” for acme.agency.com.",
    )
    time_zone = models.CharField(max_length=64, default="Europe/London",
                                 validators=[validate_time_zone])
    brand_colour = models.CharField(
        max_length=7,
        default="#2F5D62",
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$",
                                   "Give the colour as #RRGGBB, e.g. #2F5D62.")],
    )
    logo = models.ImageField(upload_to="logos/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    # Dropping a schema happens only through tenants.services.client_delete, never as a side effect.
    auto_drop_schema = False
    auto_create_schema = True

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Clone the template schema, tables, data and migration records alike (or rename a
        spare copy of it made ahead of time: ``tenants.spares``).

        ``tenants.clone.schema_clone`` replaces django-tenants' clone, whose cost grows with the
        number of schemas. django-tenants also follows a clone with a faked ``migrate`` of the new
        schema; the clone already carries the template's ``django_migrations`` rows, so that pass
        only costs time (0.5 s). ``manage.py migrate`` keeps the template current, and a client
        cloned from a stale template is brought up to date by the next ``migrate``.
        """
        from django.db import connection, transaction
        from django_tenants.utils import schema_exists

        base = self.get_base_schema()
        if not (sync_schema and base and schema_exists(base)):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        with transaction.atomic():  # a failed clone leaves nothing, and its error shows
            if not spare_claim(self.schema_name, base):  # a copy made ahead of time (0.03 s)
                schema_clone(base, self.schema_name)
        connection.set_schema_to_public()
        return True

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def host(self) -> str:
        domain = self.get_primary_domain()
        return domain.domain if domain else ""


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]


class Membership(models.Model):
    """A person's role at one client. The only way a staff account reaches a client."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "client"], name="one_membership_per_client"),
        ]
        ordering = ["client__name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.client}"


class RoleGroup(models.Model):
    """Ties a Django group to one client and role (or, with no client, to the agency portal).

    Groups are global because ``auth`` is shared, so the permission backend counts a group only
    inside the client it belongs to.
    """

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="role_scope")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="role_groups")
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "role"], name="one_group_per_client_role"),
            models.UniqueConstraint(fields=["role"], condition=Q(client__isnull=True),
                                    name="one_agency_group_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.client or 'Agency'}: {self.get_role_display()}"


class LoginFailure(models.Model):
    """One failed sign-in, kept for the rate limit window (public schema, shared by all hosts)."""

    username = models.CharField(max_length=254, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)


class AuditEvent(models.Model):
    """Who did what to a client, kept in the public schema so it outlives the client's schema."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    client_slug = models.CharField(max_length=40, db_index=True)
    action = models.CharField(max_length=64)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.client_slug}"


def current_client() -> Client | None:
    """The client whose schema is active (None on the public schema)."""
    from django.db import connection

    schema = getattr(connection, "schema_name", get_public_schema_name())
    if schema == get_public_schema_name():
        return None
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Client):
        return tenant
    return Client.objects.filter(schema_name=schema).first()


def current_zone() -> zoneinfo.ZoneInfo:
    """The active brand's time zone (UTC on the public schema)."""
    client = current_client()
    return zoneinfo.ZoneInfo(client.time_zone if client else "UTC")
