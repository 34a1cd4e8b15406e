"""The studio's sidebar kept rendered per brand and account (campaigns/sidebar.py): a change of
what the menu is made of shows on the next page, and no brand or account is shown another's."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import sidebar
from tenants.models import Role
from tenants.services import SYSTEM, membership_set
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def _menu(response) -> set[str]:
    """The names of the menu items in the page's sidebar."""
    assert response.status_code == 200
    props = re.search(rb'<script id="wagtail-sidebar-props"[^>]*>(.*?)</script>',
                      response.content, re.S).group(1).decode()
    return set(re.findall(r'\{"name": "([^"]+)", "label"', props))


def _role_group(brand, role):
    return brand.client.role_groups.get(role=role).group


@pytest.fixture(autouse=True)
def _no_kept_menus():
    """Every test's world is built alike (same accounts, ids and grants), so an earlier test's
    page may have kept this test's menu under the same digest: start with none kept."""
    from django.core.cache import cache

    cache.clear()


def test_a_change_shows_in_the_menu_at_once(world, http):
    editor = world.acme.users[Role.EDITOR]
    admin = http(world.acme.host, user=editor)
    with CaptureQueriesContext(connection) as built:
        before = _menu(admin.get("/admin/"))
    with CaptureQueriesContext(connection) as kept:
        assert _menu(admin.get("/admin/")) == before
    assert len(kept.captured_queries) < len(built.captured_queries)  # the kept menu is used
    assert "api-keys" not in before and "sandbox-feed" not in before

    # A role's permission granted: the next page shows its item, and drops it once revoked.
    view_keys = Permission.objects.get(content_type__app_label="api", codename="view_apikey")
    _role_group(world.acme, Role.EDITOR).permissions.add(view_keys)
    assert _menu(admin.get("/admin/")) == before | {"settings", "api-keys"}
    _role_group(world.acme, Role.EDITOR).permissions.remove(view_keys)
    assert _menu(admin.get("/admin/")) == before

    # Data a menu item depends on: the brand's first sandbox channel.
    ChannelFactory(brand=world.acme, name="Acme sandbox", network="sandbox")
    assert "sandbox-feed" in _menu(admin.get("/admin/"))


def test_brands_and_accounts_never_see_each_others_kept_menu(world, http):
    view_keys = Permission.objects.get(content_type__app_label="api", codename="view_apikey")
    _role_group(world.acme, Role.EDITOR).permissions.add(view_keys)
    editor = world.acme.users[Role.EDITOR]
    membership_set(client=world.globex.client, user=editor, role=Role.EDITOR, actor=SYSTEM)
    seen = {}
    for _ in range(2):  # built, then kept: the same for each brand and account
        for brand, user in [(world.acme, editor), (world.globex, editor),
                            (world.globex, world.globex.users[Role.EDITOR]),
                            (world.acme, world.acme.users[Role.SENSITIVITY_REVIEWER])]:
            names = _menu(http(brand.host, user=user).get("/admin/"))
            assert seen.setdefault((brand.client.slug, user.pk), names) == names
    # The editor's grant at Acme shows at Acme only; Globex's editors have no such grant.
    assert "api-keys" in seen["acme", editor.pk]
    assert "api-keys" not in seen["globex", editor.pk]
    assert "api-keys" not in seen["globex", world.globex.users[Role.EDITOR].pk]
    assert "api-keys" not in seen["acme", world.acme.users[Role.SENSITIVITY_REVIEWER].pk]


def test_without_the_cache_the_menu_is_built(world, http):
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    expected = _menu(admin.get("/admin/"))
    real = sidebar.cache.get

    def down(key, *args, **kwargs):  # the sidebar's entries unreadable, Wagtail's own readable
        if key.startswith("sidebar:"):
            raise ConnectionError("down")
        return real(key, *args, **kwargs)

    with mock.patch.object(sidebar.cache, "get", side_effect=down) as get:
        assert _menu(admin.get("/admin/")) == expected
    assert any(call.args[0].startswith("sidebar:") for call in get.call_args_list)
