"""Memberships decide who reaches which client and what they may do there."""

import pytest
from django.contrib.auth.models import Permission
from django_tenants.utils import schema_context

from tenants.models import Role
from tenants.services import SYSTEM, membership_remove, membership_set

pytestmark = pytest.mark.django_db


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_role_grants_hold_only_inside_the_members_own_client(world):
    editor = _fresh(world.acme.users[Role.EDITOR])
    with schema_context(world.acme.client.schema_name):
        assert editor.has_perm("wagtailadmin.access_admin")
    with schema_context(world.globex.client.schema_name):
        assert not editor.has_perm("wagtailadmin.access_admin")
        assert editor.get_all_permissions() == set()


def test_a_permission_given_to_the_account_itself_counts_on_no_brand(world):
    outsider = _fresh(world.outsider)
    outsider.user_permissions.add(Permission.objects.get(codename="access_admin"))
    outsider = _fresh(outsider)
    with schema_context(world.acme.client.schema_name):
        assert not outsider.has_perm("wagtailadmin.access_admin")


def test_page_rights_follow_the_role(world):
    from wagtail.models import Page
    from wagtail.permission_policies.pages import PagePermissionPolicy

    policy = PagePermissionPolicy()
    with schema_context(world.acme.client.schema_name):
        index = Page.objects.get(depth=2)
        can = {role: {action for action in ("add", "change", "publish")
                      if policy.user_has_permission_for_instance(
                          _fresh(world.acme.users[role]), action, index)}
               for role in Role}
    assert can[Role.AGENCY_ADMIN] == {"add", "change", "publish"}
    assert can[Role.ACCOUNT_MANAGER] == {"add", "change", "publish"}
    assert can[Role.EDITOR] == {"add", "change"}
    assert can[Role.SENSITIVITY_REVIEWER] == set()


def test_a_member_of_acme_sees_no_page_of_globex_in_its_explorer(world, http):
    editor = world.acme.users[Role.EDITOR]
    own = http(world.acme.host, user=editor).get("/admin/pages/", follow=True)
    assert own.status_code == 200 and b"Acme Coffee campaigns" in own.content
    response = http(world.globex.host, user=editor).get("/admin/pages/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_changing_and_removing_a_role_takes_effect_at_once(world, http):
    person = _fresh(world.outsider)
    client = world.acme.client
    membership_set(client=client, user=person, role=Role.SENSITIVITY_REVIEWER, actor=SYSTEM)
    with schema_context(client.schema_name):
        assert _fresh(person).has_perm("wagtailadmin.access_admin")
    membership_set(client=client, user=person, role=Role.EDITOR, actor=SYSTEM)
    assert [g.name for g in _fresh(person).groups.all()] == ["acme: Editor"]
    membership_remove(client=client, user=person, actor=SYSTEM)
    assert _fresh(person).groups.count() == 0
    assert http(world.acme.host, user=person).get("/admin/").status_code == 302


def test_wagtails_user_and_group_screens_are_closed_inside_a_brand(world, http):
    """auth is shared: these screens would list every account of the agency, and a person's
    groups saved there would keep only this brand's. Closed to superusers too."""
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root@agency.test", "root@agency.test",
                                                     "correct-horse-battery")
    editor = world.acme.users[Role.EDITOR]
    for user in [world.acme.users[Role.AGENCY_ADMIN], root]:
        admin = http(world.acme.host, user=user)
        for path in ["/admin/users/", "/admin/groups/", f"/admin/users/edit/{editor.pk}/",
                     "/admin/users/add/", "/admin/groups/add/"]:
            response = admin.get(path)
            assert response.status_code == 404, (user, path, response.status_code)
            assert b"nobody@agency.test" not in response.content
        home = admin.get("/admin/")
        assert home.status_code == 200
        assert b'href="/admin/users/"' not in home.content
        assert b'href="/admin/groups/"' not in home.content
    response = http(world.acme.host, user=root).post(f"/admin/users/edit/{editor.pk}/",
                                                     {"groups": []})
    assert response.status_code == 404
    assert list(editor.groups.values_list("name", flat=True)) == ["acme: Editor"]


def test_one_sign_in_covers_the_portal_and_every_brand_host(world, http, settings):
    """The session cookie is set for the parent domain, so every brand host receives it."""
    portal = http()
    # A fresh copy: the shared user object keeps its password hash for later tests' force_login.
    editor = type(world.acme.users[Role.EDITOR]).objects.get(pk=world.acme.users[Role.EDITOR].pk)
    editor.set_password("correct-horse-battery")
    editor.save()
    response = portal.post("/login/", {"username": editor.username,
                                       "password": "correct-horse-battery"})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["domain"] == ".agency.localhost"
    brand = http(world.acme.host)
    brand.cookies[settings.SESSION_COOKIE_NAME] = cookie.value
    assert brand.get("/admin/").status_code == 200
