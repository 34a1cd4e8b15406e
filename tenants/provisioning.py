"""The template schema and everything a new client's schema gets at birth.

New clients are cloned from ``settings.TENANT_BASE_SCHEMA`` (0.6 s) instead of running every
migration (7 s). ``manage.py migrate`` keeps the template migrated before it migrates any client,
and ``template_prepare`` strips what Wagtail's migrations leave there that no brand should inherit.

The apps built on tenants add their own part through two registries, so this base imports none
of them: ``register_template_step`` (run inside the template schema, once per migrate: campaigns
puts its campaigns index there) and ``register_brand_step`` (run inside a new brand's schema:
campaigns names the index and grants the roles on it, approvals starts the approval workflow).
Steps run in ``order``, lowest first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Q
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists
from wagtail.models import (
    Collection,
    GroupCollectionPermission,
    GroupPagePermission,
    Site,
    Task,
    Workflow,
    WorkflowPage,
)

from tenants.models import Client, Role, RoleGroup
from tenants.roles import COLLECTION_PERMISSIONS, MODEL_PERMISSIONS
from tenants.rollout import client_schemas, unapplied_in

# Wagtail's migrations create these global groups, with grants in whichever schema they run in.
# Nothing here uses them: brands have their own role groups.
WAGTAIL_GROUPS = ("Moderators", "Editors")


@dataclass(frozen=True)
class SetupStep:
    name: str
    func: Callable
    order: int


_TEMPLATE_STEPS: dict[str, SetupStep] = {}
_BRAND_STEPS: dict[str, SetupStep] = {}


def register_template_step(func: Callable[[], None], *, order: int = 100) -> Callable:
    """Run ``func()`` inside the template schema each time it is prepared (idempotent steps)."""
    _TEMPLATE_STEPS[f"{func.__module__}.{func.__qualname__}"] = SetupStep(
        func.__qualname__, func, order)
    return func


def register_brand_step(func: Callable[[Client, dict[str, Group]], None], *,
                        order: int = 100) -> Callable:
    """Run ``func(client, groups)`` inside each new brand's schema (``groups``: role → group)."""
    _BRAND_STEPS[f"{func.__module__}.{func.__qualname__}"] = SetupStep(
        func.__qualname__, func, order)
    return func


def _ordered(steps: dict[str, SetupStep]) -> list[SetupStep]:
    return sorted(steps.values(), key=lambda step: (step.order, step.name))


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


def template_migrate(*, verbosity: int = 1) -> None:
    """Create the template schema if needed, migrate it, and prepare its content."""
    name = template_schema()
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    if unapplied_in(name):  # Django's executor costs seconds more with every thousand brands
        call_command("migrate_schemas", schema_name=name, tenant=True, interactive=False,
                     verbosity=verbosity)
    with schema_context(name):
        template_prepare()
    connection.set_schema_to_public()
    wagtail_groups_remove()


@transaction.atomic
def wagtail_groups_remove() -> int:
    """Delete Wagtail's global "Moderators" and "Editors" groups, which its migrations create
    wherever they run (a fresh install, the template), and every row of any schema that points at
    them: grants, task assignments, members. Idempotent; one query when they are gone. Returns
    the number of groups removed."""
    groups = Group.objects.filter(name__in=WAGTAIL_GROUPS, role_scope__isnull=True)
    ids = list(groups.values_list("pk", flat=True))
    if not ids:
        return 0
    quote = connection.ops.quote_name
    template = template_schema()
    with connection.cursor() as cursor:
        # The columns that hold a group's id: public's and the template's carry foreign keys to
        # the group table; brands do not (tenants.clone) and have the template's tables.
        cursor.execute("""
            SELECT n.nspname, c.relname, a.attname
              FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
             WHERE k.contype = 'f' AND k.confrelid = %s::regclass""",
                       [f"{quote(get_public_schema_name())}.{quote(Group._meta.db_table)}"])
        found = set(cursor.fetchall())
        in_template = sorted({(table, column) for schema, table, column in found
                              if schema == template})
        brands = [schema for schema in client_schemas()
                  if schema not in {schema for schema, _, _ in found}]
        if in_template and brands:
            cursor.execute("SELECT n.nspname, c.relname FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE c.relkind = 'r' AND n.nspname = ANY(%s) AND c.relname = ANY(%s)",
                           [brands, [table for table, _ in in_template]])
            present = set(cursor.fetchall())
            found |= {(schema, table, column) for schema in brands
                      for table, column in in_template if (schema, table) in present}
        for schema, table, column in sorted(found):
            cursor.execute(f"DELETE FROM {quote(schema)}.{quote(table)} "  # noqa: S608
                           f"WHERE {quote(column)} = ANY(%s)", [ids])
    Group.objects.filter(pk__in=ids).delete()
    return len(ids)


@transaction.atomic
def template_prepare() -> None:
    """Make the active (template) schema the starting point of every brand. Idempotent."""
    # Wagtail's migrations grant its global "Editors" and "Moderators" groups rights here (and
    # start a workflow for them); with a shared auth app those groups would reach every brand.
    # Brands get their own groups instead, and template_migrate removes Wagtail's.
    GroupPagePermission.objects.all().delete()
    GroupCollectionPermission.objects.all().delete()
    WorkflowPage.objects.all().delete()
    Workflow.objects.all().delete()
    Task.objects.all().delete()
    for step in _ordered(_TEMPLATE_STEPS):
        step.func()


def _permissions(names: list[str]) -> list[Permission]:
    """The permissions ``names`` lists ("app_label.codename"), in one query; all must exist."""
    wanted = {tuple(name.split(".")) for name in names}
    if not wanted:
        return []
    match = Q()
    for app_label, codename in wanted:
        match |= Q(content_type__app_label=app_label, codename=codename)
    found = {(p.content_type.app_label, p.codename): p
             for p in Permission.objects.filter(match).select_related("content_type")}
    missing = sorted(".".join(key) for key in wanted - found.keys())
    if missing:
        raise Permission.DoesNotExist(f"No such permission: {', '.join(missing)} (run "
                                      "`manage.py migrate`, which creates them).")
    return [found[tuple(name.split("."))] for name in names]


def role_groups_create(client: Client) -> dict[str, Group]:
    """One Django group per role for ``client``, each with exactly the role's model permissions.
    Set-wise (six statements for the four roles, not nine per role); idempotent: groups and
    grants that exist are kept."""
    names = {role: f"{client.slug}: {role.label}" for role in Role}
    found = {g.name: g for g in Group.objects.filter(name__in=names.values())}
    found |= {g.name: g for g in Group.objects.bulk_create(
        [Group(name=name) for name in names.values() if name not in found])}
    groups = {role: found[name] for role, name in names.items()}
    RoleGroup.objects.bulk_create(
        [RoleGroup(group=groups[role], client=client, role=role) for role in Role],
        ignore_conflicts=True)  # one per group: a group that has one keeps it
    wanted = sorted({name for role in Role for name in MODEL_PERMISSIONS[role]})
    permissions = dict(zip(wanted, _permissions(wanted), strict=True))
    through = Group.permissions.through
    want = {(groups[role].pk, permissions[name].pk)
            for role in Role for name in MODEL_PERMISSIONS[role]}
    have = set(through.objects.filter(group__in=groups.values())
               .values_list("group_id", "permission_id"))
    if have - want:
        stale = Q()
        for group_id, permission_id in have - want:
            stale |= Q(group_id=group_id, permission_id=permission_id)
        through.objects.filter(stale).delete()
    through.objects.bulk_create([through(group_id=g, permission_id=p)
                                 for g, p in sorted(want - have)])
    return groups


def role_permissions_sync() -> int:
    """Give every client's role groups exactly the model permissions ``tenants.roles`` names now
    (after a release adds a model or changes a role). Set-based: two statements per role whatever
    the number of clients, and none writes when nothing changed. Returns the number of grants
    added or removed."""
    through = Group.permissions.through
    table = connection.ops.quote_name(through._meta.db_table)
    role_groups = connection.ops.quote_name(RoleGroup._meta.db_table)
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for role in Role:
            wanted = [p.pk for p in _permissions(MODEL_PERMISSIONS[role])]
            cursor.execute(
                f"DELETE FROM {table} t USING {role_groups} rg "  # noqa: S608 - quoted names
                "WHERE rg.group_id = t.group_id AND rg.client_id IS NOT NULL AND rg.role = %s "
                "AND NOT (t.permission_id = ANY(%s))", [role.value, wanted])
            changed += cursor.rowcount
            cursor.execute(
                f"INSERT INTO {table} (group_id, permission_id) "  # noqa: S608 - quoted names
                f"SELECT rg.group_id, p.id FROM {role_groups} rg "
                "CROSS JOIN unnest(%s::integer[]) AS p(id) "
                "WHERE rg.client_id IS NOT NULL AND rg.role = %s AND NOT EXISTS "
                f"(SELECT 1 FROM {table} t WHERE t.group_id = rg.group_id "
                "AND t.permission_id = p.id)", [wanted, role.value])
            changed += cursor.rowcount
    return changed


def agency_group(role: str = Role.AGENCY_ADMIN) -> Group:
    """The agency-wide group for ``role``: counted on the portal only (creating clients, ...)."""
    group, _ = Group.objects.get_or_create(name=f"Agency: {Role(role).label}")
    RoleGroup.objects.get_or_create(group=group, defaults={"client": None, "role": role})
    if role == Role.AGENCY_ADMIN:
        group.permissions.set(_permissions([
            "tenants.add_client", "tenants.change_client", "tenants.delete_client",
            "tenants.add_membership", "tenants.change_membership", "tenants.delete_membership",
            # Crisis holds across brands and the publishing queue of every brand.
            "publishing.add_crisishold", "publishing.change_crisishold",
            "publishing.view_delivery",
        ]))
    return group


def brand_schema_setup(client: Client, groups: dict[str, Group]) -> None:
    """Inside ``client``'s schema: the Site on the brand's host, media grants, then each
    registered step (the campaigns index and its grants, the approval workflow, ...)."""
    site = Site.objects.get(is_default_site=True)
    site.hostname = client.host
    site.port = int(settings.AGENCY_PORT or (443 if settings.AGENCY_SCHEME == "https" else 80))
    site.site_name = client.name
    site.save()

    own = [g.pk for g in groups.values()]
    GroupPagePermission.objects.exclude(group_id__in=own).delete()
    GroupCollectionPermission.objects.exclude(group_id__in=own).delete()
    root_collection = Collection.get_first_root_node()
    media_perms = {p.codename: p for p in Permission.objects.filter(
        content_type__app_label__in=["wagtailimages", "wagtaildocs"])}
    GroupCollectionPermission.objects.bulk_create([
        GroupCollectionPermission(group=groups[role], collection=root_collection,
                                  permission=media_perms[codename])
        for role, codenames in COLLECTION_PERMISSIONS.items() for codename in codenames
    ])
    for step in _ordered(_BRAND_STEPS):
        step.func(client, groups)
