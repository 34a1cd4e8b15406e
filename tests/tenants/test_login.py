"""Failed sign-ins are limited, on the portal and on every brand host alike."""

import pytest

from tenants.models import LoginFailure, Role

pytestmark = pytest.mark.django_db


def _with_password(user, password: str):
    """A fresh copy of a shared test user with ``password`` set (rolled back after the test).
    The shared object keeps its own password hash, so later tests' force_login still holds."""
    user = type(user).objects.get(pk=user.pk)
    user.set_password(password)
    user.save()
    return user


def _fail(client, path, username, times):
    for _ in range(times):
        client.post(path, {"username": username, "password": "wrong-password"})


def test_wrong_password_says_what_to_check(world, http):
    response = http().post("/login/", {"username": "amy@x.test", "password": "nope"})
    assert response.status_code == 200
    assert "do not match" in response.content.decode()


def test_after_five_failures_even_the_right_password_is_refused_with_a_reason(world, http,
                                                                           settings):
    user = _with_password(world.acme.users[Role.EDITOR], "right-password-123")
    portal = http()
    _fail(portal, "/login/", user.username, settings.LOGIN_FAILURE_LIMIT)
    response = portal.post("/login/", {"username": user.username,
                                       "password": "right-password-123"})
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in portal.session


def test_the_limit_is_shared_by_the_brand_hosts_admin_sign_in(world, http, settings):
    user = _with_password(world.acme.users[Role.ACCOUNT_MANAGER], "right-password-123")
    _fail(http(), "/login/", user.username, settings.LOGIN_FAILURE_LIMIT)
    brand = http(world.acme.host)
    response = brand.post("/admin/login/", {"username": user.username,
                                            "password": "right-password-123"})
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in brand.session


def test_a_success_clears_the_count_and_old_failures_expire(world, http, settings):
    user = _with_password(world.acme.users[Role.SENSITIVITY_REVIEWER], "right-password-123")
    portal = http()
    _fail(portal, "/login/", user.username, settings.LOGIN_FAILURE_LIMIT - 1)
    response = portal.post("/login/", {"username": user.username,
                                       "password": "right-password-123"})
    assert response.status_code == 302
    assert not LoginFailure.objects.filter(username=user.username).exists()

    settings.LOGIN_FAILURE_WINDOW_S = 0  # every earlier failure is now outside the window
    _fail(http(), "/login/", user.username, settings.LOGIN_FAILURE_LIMIT)
    assert http().post("/login/", {"username": user.username,
                                   "password": "right-password-123"}).status_code == 302
