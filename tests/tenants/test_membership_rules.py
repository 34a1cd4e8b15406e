"""Who may give, change or take away which role at a client: one rule
(``tenants.services.check_grantable``), enforced by the services that change memberships, so the
portal's pages, its API and the services themselves refuse the same things for the same reason."""

from __future__ import annotations

import html

import pytest

from tenants import selectors
from tenants.models import Membership, Role
from tenants.provisioning import agency_group
from tenants.services import SYSTEM, NotAllowed, membership_remove, membership_set
from tests.api.conftest import ApiClient
from tests.api.test_portal_api import agency_key
from tests.conftest import PORTAL

pytestmark = pytest.mark.django_db

ADMIN_ONLY = "Only agency admins can give, change or remove the agency admin role."
MANAGERS_ONLY = "Only the client's agency admins and account managers manage its members."

# (the actor's role at Acme, the member's role there, the role asked for; None: remove them)
REFUSED = [
    (Role.ACCOUNT_MANAGER, Role.EDITOR, Role.AGENCY_ADMIN, ADMIN_ONLY),
    (Role.ACCOUNT_MANAGER, Role.AGENCY_ADMIN, Role.EDITOR, ADMIN_ONLY),
    (Role.ACCOUNT_MANAGER, Role.AGENCY_ADMIN, None, ADMIN_ONLY),
    (Role.EDITOR, Role.SENSITIVITY_REVIEWER, Role.EDITOR, MANAGERS_ONLY),
    (Role.SENSITIVITY_REVIEWER, Role.EDITOR, None, MANAGERS_ONLY),
]
IDS = [f"{a}-{'remove' if w is None else 'make-' + w}-{m}" for a, m, w, _ in REFUSED]


def _role_of(world, member_role):
    return Membership.objects.get(client=world.acme.client,
                                  user=world.acme.users[member_role]).role


@pytest.mark.parametrize("actor_role, member_role, wanted, reason", REFUSED, ids=IDS)
def test_the_service_refuses(world, actor_role, member_role, wanted, reason):
    actor, member = world.acme.users[actor_role], world.acme.users[member_role]
    with pytest.raises(NotAllowed, match=reason):
        if wanted is None:
            membership_remove(client=world.acme.client, user=member, actor=actor)
        else:
            membership_set(client=world.acme.client, user=member, role=wanted, actor=actor)
    assert _role_of(world, member_role) == member_role


@pytest.mark.parametrize("actor_role, member_role, wanted, reason", REFUSED, ids=IDS)
def test_the_portal_page_refuses_with_the_reason(world, http, actor_role, member_role, wanted,
                                                 reason):
    page = http(user=world.acme.users[actor_role])
    member = world.acme.users[member_role]
    base = f"/clients/acme/members/{member.pk}"
    response = (page.post(f"{base}/remove/") if wanted is None
                else page.post(f"{base}/role/", {"role": wanted}))
    assert response.status_code == 403
    assert reason in html.unescape(response.content.decode())
    assert _role_of(world, member_role) == member_role


@pytest.mark.parametrize("actor_role, member_role, wanted, reason", REFUSED, ids=IDS)
def test_the_portal_api_refuses_with_the_reason(world, monkeypatch, actor_role, member_role,
                                                wanted, reason):
    """An agency key acts only while its person is an agency admin, who may grant every role.
    To see the API answer the rule's refusal, the rule (not the key) is made to see the key's
    person only as their role at Acme."""
    actor, member = world.acme.users[actor_role], world.acme.users[member_role]
    actor.groups.add(agency_group())
    api = ApiClient(PORTAL, agency_key(actor))
    monkeypatch.setattr(selectors, "is_agency_admin", lambda user: False)
    url = f"/api/v1/clients/acme/memberships/{member.pk}/"
    if wanted is None:
        response = api.send("DELETE", url)
    else:
        etag = api.send("GET", url)["ETag"]
        response = api.send("PATCH", url, {"role": wanted}, **{"If-Match": etag})
    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == reason
    assert _role_of(world, member_role) == member_role


def test_managers_cannot_remove_themselves_but_are_told_why_on_the_page(world, http):
    manager = world.acme.users[Role.ACCOUNT_MANAGER]
    reason = "You cannot remove yourself. Ask another manager to do it."
    with pytest.raises(NotAllowed, match=reason):
        membership_remove(client=world.acme.client, user=manager, actor=manager)
    page = http(user=manager)
    response = page.post(f"/clients/acme/members/{manager.pk}/remove/", follow=True)
    assert response.status_code == 200 and reason in html.unescape(response.content.decode())
    assert _role_of(world, Role.ACCOUNT_MANAGER) == Role.ACCOUNT_MANAGER


def test_what_the_rule_allows_goes_through_and_the_platform_is_held_to_none(world):
    manager, editor = world.acme.users[Role.ACCOUNT_MANAGER], world.acme.users[Role.EDITOR]
    membership_set(client=world.acme.client, user=editor, role=Role.SENSITIVITY_REVIEWER,
                   actor=manager)
    assert _role_of(world, Role.EDITOR) == Role.SENSITIVITY_REVIEWER
    membership_set(client=world.acme.client, user=world.outsider, role=Role.AGENCY_ADMIN,
                   actor=SYSTEM)  # a command or an import: no person, no rule
    with pytest.raises(NotAllowed):
        membership_remove(client=world.acme.client, user=world.outsider, actor=manager)
    membership_remove(client=world.acme.client, user=world.outsider, actor=world.agency_admin)
    assert not Membership.objects.filter(user=world.outsider).exists()
    with pytest.raises(NotAllowed):  # someone has to act: no actor is no permission
        membership_set(client=world.acme.client, user=editor, role=Role.EDITOR, actor=None)


def test_an_account_that_worked_in_a_brand_is_kept_not_deleted(world):
    """Brands' rows name accounts without a foreign key (tenants.clone): the account of a member,
    present or past, is refused deletion, with the brands named."""
    from django.db import transaction
    from django.db.models import ProtectedError

    from tests.factories import UserFactory

    editor = world.acme.users[Role.EDITOR]
    with pytest.raises(ProtectedError, match="Acme Coffee"), transaction.atomic():
        editor.delete()
    former = UserFactory(username="former@example.com")
    membership_set(client=world.globex.client, user=former, role=Role.EDITOR, actor=SYSTEM)
    membership_remove(client=world.globex.client, user=former, actor=SYSTEM)
    assert not Membership.objects.filter(user=former).exists()
    with pytest.raises(ProtectedError, match="Globex Outdoors"), transaction.atomic():
        former.delete()
