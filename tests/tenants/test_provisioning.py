"""Provisioning a client: one call gives a schema, a host, roles, a site and a workflow."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Q
from django_tenants.utils import schema_context, schema_exists

from approvals.workflows import WORKFLOW_NAME
from tenants.models import AuditEvent, Client, Domain, Role, RoleGroup
from tenants.provisioning import WAGTAIL_GROUPS, template_schema, wagtail_groups_remove
from tenants.services import client_archive, client_delete, client_provision, client_restore

pytestmark = pytest.mark.django_db


def test_provisioned_client_has_schema_host_roles_site_and_workflow(world):
    from wagtail.models import GroupPagePermission, Site, Workflow, WorkflowPage

    from campaigns.models import CampaignIndexPage

    client = client_provision(name="Initech", slug="initech", time_zone="Asia/Tokyo")

    assert schema_exists(client.schema_name)
    assert Domain.objects.get(tenant=client).domain == "initech.agency.localhost"
    assert set(RoleGroup.objects.filter(client=client).values_list("role", flat=True)) == set(
        Role.values)
    with schema_context(client.schema_name):
        site = Site.objects.get()
        assert site.hostname == "initech.agency.localhost"
        assert site.site_name == "Initech"
        assert site.root_page.specific.__class__ is CampaignIndexPage
        workflow = Workflow.objects.get()
        assert workflow.name == WORKFLOW_NAME and workflow.active
        assert [t.name for t in workflow.tasks.all()] == ["Sensitivity review", "Client approval"]
        assert WorkflowPage.objects.get().page_id == site.root_page_id
        granted = set(GroupPagePermission.objects.values_list("group__name", flat=True))
    assert granted == {"initech: Agency admin", "initech: Account manager", "initech: Editor"}
    assert AuditEvent.objects.filter(client_slug="initech", action="client.provisioned").exists()


def test_wagtails_global_editor_and_moderator_groups_are_gone(world):
    """Wagtail's migrations create them; a fresh install (this database was made by
    ``manage.py migrate``) and every brand since end without them, or any grant to a group
    that is not the brand's."""
    from wagtail.models import GroupCollectionPermission, GroupPagePermission

    client_provision(name="Initech", slug="initech")
    assert not Group.objects.filter(name__in=WAGTAIL_GROUPS).exists()
    for client in [world.acme.client, world.globex.client, Client.objects.get(slug="initech")]:
        with schema_context(client.schema_name):
            own = Q(group__role_scope__client=client)
            assert not GroupPagePermission.objects.exclude(own).exists()
            assert not GroupCollectionPermission.objects.exclude(own).exists()


def test_removing_them_clears_what_points_at_them_in_every_schema(world):
    """An installation from before: the groups exist, with grants, a task assignment and a
    member in the public schema and in a brand's. Only what belongs to them goes."""
    from wagtail.models import GroupPagePermission, Page

    from approvals.models import SensitivityReviewTask

    moderators = Group.objects.create(name="Moderators")
    Group.objects.create(name="Editors")
    world.outsider.groups.add(moderators)
    change_page = Permission.objects.get(content_type__app_label="wagtailcore",
                                         codename="change_page")
    moderators.permissions.add(change_page)
    for schema in ["public", world.acme.client.schema_name]:
        with schema_context(schema):
            GroupPagePermission.objects.create(group=moderators, page=Page.get_first_root_node(),
                                               permission=change_page)
    with schema_context(world.acme.client.schema_name):
        review = SensitivityReviewTask.objects.get()
        review.groups.add(moderators)
        grants_before = GroupPagePermission.objects.exclude(group=moderators).count()

    assert wagtail_groups_remove() == 2
    assert not Group.objects.filter(name__in=WAGTAIL_GROUPS).exists()
    assert not world.outsider.groups.exists()
    with schema_context(world.acme.client.schema_name):
        assert GroupPagePermission.objects.count() == grants_before > 0
        assert [g.name for g in SensitivityReviewTask.objects.get().groups.all()] == [
            "acme: Sensitivity reviewer"]
    with schema_context("public"):
        assert not GroupPagePermission.objects.filter(permission=change_page,
                                                      page__depth=1).exists()
    assert wagtail_groups_remove() == 0


def test_clients_are_cloned_from_an_up_to_date_template(world):
    for schema in [template_schema(), world.acme.client.schema_name]:
        with schema_context(schema):
            executor = MigrationExecutor(connection)
            targets = executor.loader.graph.leaf_nodes()
            assert executor.migration_plan(targets) == [], f"{schema} has unapplied migrations"


@pytest.mark.parametrize("slug, message", [
    ("A", "Use 3 to 40 lower-case letters"),
    ("admin", "is reserved"),
    ("acme", "already exists"),
    ("bad_slug!", "Use 3 to 40 lower-case letters"),
])
def test_bad_slug_is_refused_with_a_clear_message_and_nothing_is_left(world, slug, message):
    schemas_before = _schemas()
    with pytest.raises(ValidationError) as error:
        client_provision(name="Whatever", slug=slug)
    assert message in str(error.value)
    assert _schemas() == schemas_before
    assert Client.objects.filter(name="Whatever").count() == 0


def test_bad_time_zone_is_refused(world):
    with pytest.raises(ValidationError, match="not a time zone we know"):
        client_provision(name="Zoned", slug="zoned", time_zone="Mars/Olympus")
    assert not schema_exists("brand_zoned")


def test_failure_midway_leaves_no_schema_or_rows(world, monkeypatch):
    import tenants.services as services

    def explode(client, groups):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "brand_schema_setup", explode)
    with pytest.raises(RuntimeError):
        client_provision(name="Halfway", slug="halfway")
    assert not schema_exists("brand_halfway")
    assert not Client.objects.filter(slug="halfway").exists()
    assert not Group.objects.filter(name__startswith="halfway:").exists()


def test_delete_needs_the_short_name_typed_and_then_removes_everything(world):
    client = client_provision(name="Doomed", slug="doomed")
    with pytest.raises(ValidationError, match="Type the client's short name"):
        client_delete(client=client, actor=world.agency_admin, confirm_slug="dooomed")
    assert schema_exists("brand_doomed")

    client_delete(client=client, actor=world.agency_admin, confirm_slug="doomed")
    assert not schema_exists("brand_doomed")
    assert not Client.objects.filter(slug="doomed").exists()
    assert not Group.objects.filter(name__startswith="doomed:").exists()
    assert AuditEvent.objects.filter(client_slug="doomed", action="client.deleted").exists()


def test_archived_client_host_is_closed_until_restored(world, http):
    client = client_provision(name="Sleepy", slug="sleepy")
    editor = world.agency_admin
    client_archive(client=client, actor=editor)
    response = http("sleepy.agency.localhost").get("/admin/")
    assert response.status_code == 410
    assert b"archived" in response.content
    client_restore(client=client, actor=editor)
    assert http("sleepy.agency.localhost").get("/admin/").status_code == 302  # to sign-in


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}
