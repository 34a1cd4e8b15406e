"""The agency's API on the portal host, as an integrator and an agency admin meet it: agency keys
made in the portal, clients provisioned and listed, members added, changed and removed."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_tenants.utils import schema_exists

from tenants.models import AuditEvent, Client, Membership, Role
from tests.api.conftest import ApiClient, make_key
from tests.conftest import PORTAL, _user, brand_host

pytestmark = pytest.mark.django_db

RAW_KEY = re.compile(r"agk_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


def agency_key(user, *, scopes=("read", "write"), name="Portal test key") -> str:
    from agency.portal.services import agency_api_key_create

    _, raw = agency_api_key_create(name=name, scopes=list(scopes), user=user)
    return raw


@pytest.fixture
def portal_api(world):
    def make(*, user=None, scopes=("read", "write"), key: str | None = "default") -> ApiClient:
        if key == "default":
            key = agency_key(user or world.agency_admin, scopes=scopes)
        return ApiClient(PORTAL, key)

    return make


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


# --- Clients --------------------------------------------------------------------------------


def test_a_client_provisioned_through_the_api_is_ready_at_its_own_host(world, portal_api, http):
    api = portal_api()
    request = {"name": "Hooli Tea", "slug": "hp-hooli", "time_zone": "Europe/Berlin"}
    created = api.send("POST", "/api/v1/clients/", request, **{"Idempotency-Key": "hp-hooli-1"})
    assert created.status_code == 201, created.content
    assert created["Location"] == "/api/v1/clients/hp-hooli/"
    body = created.json()
    assert body["host"] == brand_host("hp-hooli") and body["time_zone"] == "Europe/Berlin"
    assert body["archived"] is False and body["member_count"] == 1
    assert re.search(r"(Z|[+-]\d\d:\d\d)$", body["created_at"])

    client = Client.objects.get(slug="hp-hooli")
    assert schema_exists(client.schema_name)
    # The key's person (an agency admin) can open the new brand's admin straight away.
    assert http(brand_host("hp-hooli"), user=world.agency_admin).get(
        "/admin/").status_code == 200
    assert AuditEvent.objects.filter(client_slug="hp-hooli", action="client.provisioned",
                                     actor=world.agency_admin).exists()

    replay = api.send("POST", "/api/v1/clients/", request, **{"Idempotency-Key": "hp-hooli-1"})
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Client.objects.filter(slug="hp-hooli").count() == 1

    read = api.send("GET", created["Location"])
    assert read.status_code == 200 and read.json() == body and read["ETag"]
    members = api.send("GET", "/api/v1/clients/hp-hooli/memberships/").json()["results"]
    assert [(m["email"], m["role"]) for m in members] == [("boss@agency.test", "agency_admin")]


def test_clients_are_listed_filtered_by_archive_state_and_searched(world, portal_api, http):
    from tests.factories import ClientFactory

    ClientFactory(name="Pied Piper Snacks", slug="hp-piper")
    api = portal_api()

    archived = api.send("POST", "/api/v1/clients/hp-piper/archive/")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert archived.json()["archived_at"].endswith("Z")
    assert http(brand_host("hp-piper")).get("/healthz").status_code == 410  # host closed

    def slugs(query: str) -> list[str]:
        response = api.send("GET", f"/api/v1/clients/{query}")
        assert response.status_code == 200, response.content
        return [c["slug"] for c in response.json()["results"]]

    assert slugs("?archived=true") == ["hp-piper"]
    assert "hp-piper" not in slugs("?archived=false") and "acme" in slugs("?archived=false")
    assert slugs("?search=GLOBEX") == ["globex"]
    assert slugs("?search=pied") == ["hp-piper"]
    problem = _problem(api.send("GET", "/api/v1/clients/?archived=maybe"), 400)
    assert "archived=true or archived=false" in problem["detail"]

    seen, url = [], "/api/v1/clients/?page_size=1"
    while url:
        page = api.send("GET", url).json()
        assert len(page["results"]) <= 1
        seen += [c["slug"] for c in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(Client.objects.brands().values_list("slug", flat=True))
    assert len(seen) >= 3

    restored = api.send("POST", "/api/v1/clients/hp-piper/restore/")
    assert restored.json()["archived"] is False
    assert http(brand_host("hp-piper")).get("/healthz").status_code == 200
    actions = set(AuditEvent.objects.filter(client_slug="hp-piper").values_list("action",
                                                                                flat=True))
    assert {"client.archived", "client.restored"} <= actions


@pytest.mark.parametrize("data, field, message", [
    ({"slug": "Bad Name!"}, "slug", "Use 3 to 40 lower-case letters"),
    ({"slug": "admin"}, "slug", "is reserved"),
    ({"time_zone": "Mars/Base"}, "time_zone", "Use a region and city name such as Europe/London"),
    ({"time_zone": "US/Eastern"}, "time_zone", "old names such as GB or US/Eastern are not taken"),
    ({"brand_colour": "red"}, "brand_colour", "#RRGGBB"),
    ({"name": ""}, "name", "may not be blank"),
])
def test_bad_client_input_is_explained_field_by_field_and_creates_nothing(
        world, portal_api, data, field, message):
    before = Client.objects.count()
    response = portal_api().send("POST", "/api/v1/clients/", {
        "name": "Wayne Foods", "slug": "hp-wayne", "time_zone": "Europe/London", **data})
    problem = _problem(response, 400)
    assert problem["type"] == "/api/v1/problems/invalid"
    details = {e["field"]: e["detail"] for e in problem["errors"]}
    assert message in details[field], details
    assert Client.objects.count() == before


def test_unknown_clients_and_addresses_are_problem_details(world, portal_api):
    api = portal_api()
    problem = _problem(api.send("GET", "/api/v1/clients/hp-nobody/"), 404)
    assert "no client with the short name “hp-nobody”" in problem["detail"]
    assert _problem(api.send("GET", "/api/v1/clients/acme/memberships/999999/"), 404)
    problem = _problem(api.send("GET", "/api/v1/no-such-thing/"), 404)
    assert "/api/v1/docs/" in problem["detail"]


# --- Memberships ----------------------------------------------------------------------------


def test_members_are_added_changed_and_removed_with_audit_and_etags(world, portal_api):
    api = portal_api()
    base = "/api/v1/clients/acme/memberships/"
    added = api.send("POST", base, {"email": "  New.Person@Example.com ", "role": "editor",
                                    "first_name": "New", "last_name": "Person"})
    assert added.status_code == 201, added.content
    member = added.json()
    assert (member["email"], member["role"], member["password_set"]) == (
        "new.person@example.com", "editor", False)
    assert added["Location"] == f"{base}{member['user_id']}/"
    assert [m.to for m in mail.outbox] == [["new.person@example.com"]]
    assert "/password/set/" in mail.outbox[0].body

    again = api.send("POST", base, {"email": "new.person@example.com", "role": "editor"})
    assert "already Editor at Acme Coffee" in _problem(again, 409)["detail"]

    url = added["Location"]
    etag = api.send("GET", url)["ETag"]
    assert etag == added["ETag"]
    _problem(api.send("PATCH", url, {"role": "sensitivity_reviewer"}), 428)
    changed = api.send("PATCH", url, {"role": "sensitivity_reviewer"}, **{"If-Match": etag})
    assert changed.status_code == 200, changed.content
    assert changed.json()["role"] == "sensitivity_reviewer" and changed["ETag"] != etag
    stale = api.send("PATCH", url, {"role": "account_manager"}, **{"If-Match": etag})
    assert "changed since you read it" in _problem(stale, 412)["detail"]
    membership = Membership.objects.get(client=world.acme.client, user_id=member["user_id"])
    assert membership.role == Role.SENSITIVITY_REVIEWER
    # The brand's own group follows the role, as it does when the portal changes it.
    assert membership.user.groups.filter(name="acme: Sensitivity reviewer").exists()

    reviewers = api.send("GET", f"{base}?role=sensitivity_reviewer").json()["results"]
    assert sorted(m["email"] for m in reviewers) == [
        "new.person@example.com", "sensitivity_reviewer@acme.test"]

    assert api.send("DELETE", url).status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert not membership.user.groups.filter(name__startswith="acme:").exists()
    _problem(api.send("GET", url), 404)
    actions = list(AuditEvent.objects.filter(client_slug="acme", detail__user=member["email"])
                   .order_by("at").values_list("action", "actor__username"))
    assert actions == [("member.added", "boss@agency.test"),
                       ("member.role_changed", "boss@agency.test"),
                       ("member.removed", "boss@agency.test")]


@pytest.mark.parametrize("data, field, message", [
    ({"email": "x@example.com", "role": "overlord"}, "role",
     "“overlord” is not a role. One of: agency_admin (Agency admin)"),
    ({"email": "not-an-email", "role": "editor"}, "email", "valid email"),
    ({"role": "editor"}, "email", "required"),
])
def test_bad_member_input_is_explained_and_adds_nobody(world, portal_api, data, field, message):
    before = Membership.objects.count()
    problem = _problem(portal_api().send("POST", "/api/v1/clients/acme/memberships/", data), 400)
    details = {e["field"]: e["detail"] for e in problem["errors"]}
    assert message in details[field], details
    assert Membership.objects.count() == before


def test_a_role_change_to_an_unknown_role_is_refused(world, portal_api):
    api = portal_api()
    url = f"/api/v1/clients/acme/memberships/{world.acme.users[Role.EDITOR].pk}/"
    etag = api.send("GET", url)["ETag"]
    problem = _problem(api.send("PATCH", url, {"role": "boss"}, **{"If-Match": etag}), 400)
    assert "“boss” is not a role" in problem["detail"]
    assert Membership.objects.get(client=world.acme.client,
                                  user=world.acme.users[Role.EDITOR]).role == Role.EDITOR


# --- Keys and scopes ------------------------------------------------------------------------


def test_a_brand_key_is_refused_on_the_portal_and_an_agency_key_on_a_brand(world):
    brand_key = ApiClient(PORTAL, make_key(world.acme, role=Role.AGENCY_ADMIN))
    problem = _problem(brand_key.send("GET", "/api/v1/clients/"), 401)
    assert "not valid for the agency portal" in problem["detail"]
    on_brand = ApiClient(world.acme.host, agency_key(world.agency_admin))
    _problem(on_brand.send("GET", "/api/v1/campaigns/"), 401)


def test_without_a_key_the_answer_says_where_agency_keys_are_made(world, portal_api):
    problem = _problem(portal_api(key=None).send("GET", "/api/v1/clients/"), 401)
    assert "agency API key" in problem["detail"] and "/api-keys/" in problem["detail"]


def test_a_key_works_only_while_its_person_is_an_agency_admin(world, portal_api):
    from tenants.provisioning import agency_group

    # A client's own agency admin is not an agency admin of the whole agency.
    client_admin = portal_api(user=world.acme.users[Role.AGENCY_ADMIN])
    problem = _problem(client_admin.send("GET", "/api/v1/clients/"), 401)
    assert "no longer has access" in problem["detail"]

    person = _user("hp-temp-admin@agency.test")
    person.groups.add(agency_group())
    api = portal_api(user=person)
    assert api.send("GET", "/api/v1/clients/").status_code == 200
    person.groups.remove(agency_group())
    _problem(api.send("GET", "/api/v1/clients/"), 401)


def test_a_read_only_key_reads_but_cannot_write(world, portal_api):
    api = portal_api(scopes=("read",))
    assert api.send("GET", "/api/v1/clients/").status_code == 200
    problem = _problem(api.send("POST", "/api/v1/clients/", {
        "name": "Read Only", "slug": "hp-readonly"}), 403)
    assert "“write” scope" in problem["detail"] and "API keys" in problem["detail"]
    _problem(api.send("POST", "/api/v1/clients/acme/memberships/", {
        "email": "ro@example.com", "role": "editor"}), 403)
    editor = world.acme.users[Role.EDITOR]
    _problem(api.send("DELETE", f"/api/v1/clients/acme/memberships/{editor.pk}/"), 403)
    _problem(api.send("POST", "/api/v1/clients/acme/archive/"), 403)
    assert not Client.objects.filter(slug="hp-readonly").exists()
    assert Membership.objects.filter(client=world.acme.client, user=editor).exists()
    assert Client.objects.get(slug="acme").archived_at is None


# --- The OpenAPI documents ------------------------------------------------------------------


def test_the_portal_and_brand_documents_each_describe_only_their_own_api(world, http):
    portal = http().get("/api/v1/schema/?format=json")
    assert portal.status_code == 200
    document = portal.json()
    assert document["info"]["title"] == "Agency portal API"
    assert "/api/v1/clients/{slug}/memberships/{user_id}/" in document["paths"]
    assert all(p.startswith("/api/v1/clients/") for p in document["paths"])
    assert "agency API key" in document["components"]["securitySchemes"]["apiKey"]["description"]

    brand = http(world.acme.host).get("/api/v1/schema/?format=json").json()
    assert "/api/v1/campaigns/" in brand["paths"]
    assert not any(p.startswith("/api/v1/clients") for p in brand["paths"])

    docs = http().get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert http().get("/api/v1/problems/precondition-failed").json()["meaning"]


# --- The key page in the portal -------------------------------------------------------------


def test_an_agency_admin_creates_a_key_that_is_shown_once(world, http):
    from agency.api.models import ApiKey

    admin = http(user=world.agency_admin)
    nav = admin.get("/").content.decode()
    assert 'href="http://agency.localhost/api-keys/"' in nav
    response = admin.post("/api-keys/", {"name": "Onboarding script", "scopes": ["read"]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [raw] = RAW_KEY.findall(response.content.decode())
    key = ApiKey.objects.get(name="Onboarding script")
    assert key.scopes == ["read"] and key.created_by == world.agency_admin
    assert raw not in (key.key_hash, key.public_id)

    later = admin.get("/api-keys/").content.decode()
    assert raw not in later and key.masked in later and "Onboarding script" in later

    api = ApiClient(PORTAL, raw)
    assert api.send("GET", "/api/v1/clients/").status_code == 200
    assert api.send("POST", "/api/v1/clients/acme/archive/").status_code == 403  # read only


def test_the_key_form_explains_what_is_missing(world, http):
    from agency.api.models import ApiKey

    before = ApiKey.objects.count()
    page = http(user=world.agency_admin).post("/api-keys/", {"name": " "}).content.decode()
    assert "This field is required." in page
    assert "Choose at least one scope" in page
    assert not RAW_KEY.search(page)
    assert ApiKey.objects.count() == before


def test_a_revoked_key_stops_working_at_once(world, http):
    from agency.api.models import ApiKey

    admin = http(user=world.agency_admin)
    page = admin.post("/api-keys/", {"name": "Short lived", "scopes": ["read", "write"]})
    [raw] = RAW_KEY.findall(page.content.decode())
    api = ApiClient(PORTAL, raw)
    assert api.send("GET", "/api/v1/clients/").status_code == 200
    key = ApiKey.objects.get(name="Short lived")
    response = admin.post(f"/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/api-keys/"
    _problem(api.send("GET", "/api/v1/clients/"), 401)
    listing = admin.get("/api-keys/").content.decode()
    assert f'data-revoked-key="{key.public_id}"' in listing
    assert f'data-key="{key.public_id}"' not in listing
    assert list(AuditEvent.objects.filter(detail__key=key.masked).order_by("at")
                .values_list("action", flat=True)) == ["api_key.created", "api_key.revoked"]


def test_only_agency_admins_see_create_or_revoke_agency_keys(world, http):
    from agency.api.models import ApiKey

    raw = agency_key(world.agency_admin, name="Not yours")
    key = ApiKey.objects.get(name="Not yours")
    manager = http(user=world.acme.users[Role.AGENCY_ADMIN])  # a client's admin, not the agency's
    assert "/api-keys/" not in manager.get("/").content.decode()
    assert manager.get("/api-keys/").status_code == 403
    assert manager.post("/api-keys/", {"name": "Sneaky", "scopes": ["read"]}).status_code == 403
    assert manager.post(f"/api-keys/{key.pk}/revoke/").status_code == 403
    assert not ApiKey.objects.filter(name="Sneaky").exists()
    assert ApiClient(PORTAL, raw).send("GET", "/api/v1/clients/").status_code == 200
    assert http().get("/api-keys/")["Location"].startswith("/login/")
