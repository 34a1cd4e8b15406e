"""Writes for clients and memberships. Views, commands and tasks call these and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from agency.storage import schema_media_delete
from tenants import selectors
from tenants.links import brand_host
from tenants.models import AuditEvent, Client, Domain, Membership, Role, RoleGroup
from tenants.provisioning import (
    brand_schema_setup,
    role_groups_create,
    template_migrate,
    template_schema,
)
from tenants.spares import spare_count_wanted, spares_fill_later
from tenants.zones import validate_zone_choice

User = get_user_model()


class NotAllowed(PermissionDenied):
    """The acting person may not make this change; the message says why, for people to read.
    The portal shows it on its 403 page, the API as a 403 problem."""


class _System:
    """The platform itself acting, not a person: management commands, the brand import, demo
    data, tests' set-up. Pass ``SYSTEM`` explicitly, only from code no person's request reaches:
    no rule of who may grant what applies to it, and the audit records no person."""

    pk = None
    is_authenticated = False

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


def schema_name_for(slug: str) -> str:
    return "brand_" + slug.replace("-", "_")


def audit(*, actor, client_slug: str, action: str, **detail) -> AuditEvent:
    return AuditEvent.objects.create(actor=actor if getattr(actor, "pk", None) else None,
                                     client_slug=client_slug, action=action, detail=detail)


def client_provision(
    *,
    name: str,
    slug: str,
    time_zone: str = "Europe/London",
    brand_colour: str = "#2F5D62",
    logo=None,
    actor=None,
) -> Client:
    """Create a client brand: its schema (cloned from the template), host, role groups,
    Wagtail site and default approval workflow. All of it or nothing."""
    client = Client(name=name.strip(), slug=slug.strip().lower(), time_zone=time_zone,
                    brand_colour=brand_colour, schema_name=schema_name_for(slug.strip().lower()))
    _full_clean_with_offered_zone(client)
    host = brand_host(client.slug)
    if Domain.objects.filter(domain=host).exists():
        raise ValidationError({"slug": f"The address {host} is already in use. Choose another "
                                       "short name."})
    leftover = Path(settings.MEDIA_ROOT) / client.schema_name
    if leftover.exists() and any(leftover.iterdir()):
        raise ValidationError({"slug": f"Files of an earlier client “{client.slug}” are still in "
                                       f"{leftover}. Remove them, or choose another short name."})
    connection.set_schema_to_public()
    if not schema_exists(template_schema()):
        template_migrate(verbosity=0)  # a database migrated before the template existed
    with transaction.atomic():
        client.save(verbosity=0)  # clones the template schema
        Domain.objects.create(domain=host, tenant=client, is_primary=True)
        groups = role_groups_create(client)
        with schema_context(client.schema_name):
            brand_schema_setup(client, groups)
        if getattr(actor, "pk", None):  # whoever creates a client (an agency admin) opens it
            membership_set(client=client, user=actor, role=Role.AGENCY_ADMIN, actor=actor)
        if logo:  # kept in the public schema's folder: the portal shows it to members
            client.logo.save(f"{client.slug}{Path(logo.name).suffix.lower()}", logo, save=True)
        audit(actor=actor, client_slug=client.slug, action="client.provisioned",
              name=client.name, schema=client.schema_name)
        if spare_count_wanted() > 0:
            spares_fill_later()  # a worker makes the next brand's schema ahead of time
    return client


def _full_clean_with_offered_zone(client: Client) -> None:
    """The model's checks, and for a new brand a zone from the offered list: a region and city,
    not an old alias (brands that have one keep it)."""
    errors: dict[str, list[str]] = {}
    try:
        validate_zone_choice(client.time_zone)
    except ValidationError as error:
        errors["time_zone"] = error.messages
    try:
        client.full_clean()
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, messages)
    if errors:
        raise ValidationError(errors)


def client_archive(*, client: Client, actor) -> Client:
    """Close a client's host and hide it from lists; its data stays and can be restored."""
    if client.is_archived:
        return client
    client.archived_at = timezone.now()
    client.save(update_fields=["archived_at"])
    audit(actor=actor, client_slug=client.slug, action="client.archived")
    return client


def client_update(*, client: Client, actor, name: str, time_zone: str, brand_colour: str,
                  logo=None) -> Client:
    """Change a client's name, time zone, colour or logo (a new logo replaces the old file).
    A new zone applies to every member's clock in the studio at once."""
    old_zone, old_logo = client.time_zone, client.logo.name
    client.name, client.time_zone, client.brand_colour = name.strip(), time_zone, brand_colour
    client.full_clean(exclude=["slug", "schema_name"])
    with transaction.atomic(), schema_context(get_public_schema_name()):
        client.save(update_fields=["name", "time_zone", "brand_colour"])
        if logo:  # in the public schema's folder, as at provisioning
            client.logo.save(f"{client.slug}{Path(logo.name).suffix.lower()}", logo, save=True)
            if old_logo and old_logo != client.logo.name:
                transaction.on_commit(lambda: _public_file_delete(old_logo))
        if client.time_zone != old_zone:
            brand_time_zone_apply(client=client)
        audit(actor=actor, client_slug=client.slug, action="client.updated", name=client.name,
              time_zone=client.time_zone, brand_colour=client.brand_colour,
              logo_replaced=bool(logo))
    return client


def _public_file_delete(name: str) -> None:
    with schema_context(get_public_schema_name()):  # the public folder, or the bucket's prefix
        default_storage.delete(name)


def client_restore(*, client: Client, actor) -> Client:
    client.archived_at = None
    client.save(update_fields=["archived_at"])
    audit(actor=actor, client_slug=client.slug, action="client.restored")
    return client


def _queued_work_delete(schema: str) -> dict[str, int]:
    """Remove django-q2 work naming ``schema``: queued jobs, results and schedules.

    ``tenants.tasks.enqueue_in_client`` puts the schema first in a job's args and makes it the
    job's group; webhook follow-ups are schedules named ``webhook:<schema>:...``."""
    from django_q.models import OrmQ, Schedule, Task

    def names_schema(args) -> bool:
        return isinstance(args, (list, tuple)) and bool(args) and args[0] == schema

    queued = [q.pk for q in OrmQ.objects.all()
              if q.task.get("group") == schema or names_schema(q.task.get("args"))]
    counts = {"queued": OrmQ.objects.filter(pk__in=queued).delete()[0]}
    counts["results"] = Task.objects.filter(group=schema).delete()[0]
    schedules = Schedule.objects.filter(name__startswith=f"webhook:{schema}:")
    prefix = f"({schema!r},"  # Schedule.args is the repr of the args tuple
    schedules = schedules | Schedule.objects.filter(func="tenants.tasks.run_in_client",
                                                    args__startswith=prefix)
    counts["schedules"] = schedules.delete()[0]
    return counts


def client_delete(*, client: Client, actor, confirm_slug: str) -> None:
    """Delete a client for good: schema, media, role groups, memberships, its outbox deliveries,
    pauses and crisis holds (cascading from the client row) and its queued django-q2 work.

    Refused unless ``confirm_slug`` repeats the client's short name, so it is never silent."""
    if confirm_slug.strip() != client.slug:
        raise ValidationError({"confirm_slug": f"Type the client's short name “{client.slug}” "
                                               "exactly to confirm deletion."})
    slug, schema, logo_name = client.slug, client.schema_name, client.logo.name
    connection.set_schema_to_public()
    with transaction.atomic():
        group_ids = list(RoleGroup.objects.filter(client=client).values_list("group_id", flat=True))
        with connection.cursor() as cursor:
            # Deferred foreign-key checks still pending in this transaction would block DROP.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        queued = _queued_work_delete(schema)
        client.delete(force_drop=True)  # cascades: memberships, deliveries, pauses, holds
        from django.contrib.auth.models import Group

        Group.objects.filter(pk__in=group_ids).delete()
        audit(actor=actor, client_slug=slug, action="client.deleted", schema=schema, **queued)
    media = Path(settings.MEDIA_ROOT) / schema
    if media.is_dir():
        shutil.rmtree(media)
    if settings.AWS_STORAGE_BUCKET_NAME:  # media in object storage: the brand's whole prefix

        schema_media_delete(schema)
    if logo_name:  # through the storage backend: the public folder, or the bucket's prefix
        with schema_context(get_public_schema_name()):
            default_storage.delete(logo_name)


def _sync_groups(membership: Membership | None, *, user, client: Client) -> None:
    groups = RoleGroup.objects.filter(client=client)
    user.groups.remove(*[rg.group_id for rg in groups])
    if membership is not None:
        user.groups.add(groups.get(role=membership.role).group_id)


def brand_time_zone_apply(*, client: Client, user=None) -> None:
    """Make Wagtail show and read times in the brand's zone for its members.

    Wagtail's admin runs every view in the user's profile time zone. Profiles live in each
    brand's schema, so setting them to the brand's zone gives every member of a brand the same
    clock (the personal choice is hidden: WAGTAIL_USER_TIME_ZONES is empty)."""
    from wagtail.users.models import UserProfile

    users = [user] if user is not None else [
        m.user for m in Membership.objects.filter(client=client).select_related("user")]
    with schema_context(client.schema_name):
        for person in users:
            profile = UserProfile.get_for_user(person)
            if profile.current_time_zone != client.time_zone:
                profile.current_time_zone = client.time_zone
                profile.save(update_fields=["current_time_zone"])


def check_grantable(actor, client: Client, role: str | None,
                    membership: Membership | None = None) -> None:
    """Raise ``NotAllowed`` unless ``actor`` may give ``role`` at ``client`` to the holder of
    ``membership`` (their membership there now; None for someone new), or, with ``role``
    None, remove them. The one statement of these rules:

    - agency admins, and the client's own agency admins and account managers, manage members;
    - only agency admins (of the agency, or of this client) give the agency admin role, or
      change or remove someone who has it;
    - only an agency admin removes themselves (others ask another manager).
    ``SYSTEM`` (commands, import, demo data) is not held to them."""
    if actor is SYSTEM:
        return
    if actor is None or not actor.is_authenticated \
            or not selectors.can_manage_members(actor, client):
        raise NotAllowed("Only the client's agency admins and account managers manage its "
                         "members.")
    grantable = {value for value, _ in selectors.roles_user_may_grant(actor, client)}
    if (role is not None and role not in grantable) \
            or (membership is not None and membership.role not in grantable):
        raise NotAllowed("Only agency admins can give, change or remove the agency admin role.")
    if role is None and membership is not None and membership.user_id == actor.pk \
            and not selectors.is_agency_admin(actor):
        raise NotAllowed("You cannot remove yourself. Ask another manager to do it.")


def membership_set(*, client: Client, user, role: str, actor) -> Membership:
    """Give ``user`` the ``role`` at ``client`` (replacing any role they had there), if
    ``actor`` may (``check_grantable``; ``SYSTEM`` for commands and imports)."""
    if role not in Role.values:
        raise ValidationError({"role": f"“{role}” is not a role. Choose one of: "
                                       + ", ".join(Role.labels) + "."})
    with transaction.atomic():
        current = Membership.objects.select_for_update().filter(user=user, client=client).first()
        check_grantable(actor, client, role, current)
        membership, created = Membership.objects.update_or_create(
            user=user, client=client, defaults={"role": role})
        _sync_groups(membership, user=user, client=client)
        brand_time_zone_apply(client=client, user=user)
        audit(actor=actor, client_slug=client.slug,
              action="member.added" if created else "member.role_changed",
              user=user.get_username(), role=role)
    return membership


def membership_remove(*, client: Client, user, actor) -> None:
    """End ``user``'s access to ``client``, if ``actor`` may (``check_grantable``)."""
    with transaction.atomic():
        current = Membership.objects.select_for_update().filter(user=user, client=client).first()
        check_grantable(actor, client, None, current)
        Membership.objects.filter(user=user, client=client).delete()
        _sync_groups(None, user=user, client=client)
        audit(actor=actor, client_slug=client.slug, action="member.removed",
              user=user.get_username())


def staff_user_get_or_create(*, email: str, first_name: str = "", last_name: str = ""):
    """The one global account for ``email``; new accounts get no password until they set one."""
    email = User.objects.normalize_email(email.strip()).lower()
    user = User.objects.filter(username__iexact=email).first()
    if user is None:
        user = User(username=email, email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.save()
    return user
