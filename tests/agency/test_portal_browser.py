"""The portal in a real browser: sign-in, the client list, creating clients, members, keyboard use
and accessibility, against `manage.py runserver` on the test database."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from campaigns.selectors import client_status_counts
from tenants.models import Client, Role
from tests.agency.browser import (
    axe_violations,
    brand_url,
    describe_violations,
    portal_url,
    sign_in,
)
from tests.conftest import PASSWORD

# Fixtures browser, context, page and signed_in.
pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

COUNT_LABELS = {"Draft": "draft", "In review": "in_review",
                "Changes requested": "changes_requested", "Scheduled": "scheduled",
                "Failed": "failed"}
WRONG_LOGIN = "That email and password do not match. Check both and try again."


def unique(prefix: str) -> str:
    """Names that do not clash with earlier runs in the same session (the database persists)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def created_clients(world, django_db_blocker):
    """{slug: name} of the clients this module created through the portal; deleted (committed)
    after the module, so the session's other tests see only the brands of `world`."""
    from tenants.services import client_delete

    created: dict[str, str] = {}
    yield created
    with django_db_blocker.unblock():
        for client in Client.objects.filter(slug__in=list(created)):
            client_delete(client=client, actor=None, confirm_slug=client.slug)


@pytest.fixture(scope="module")
def wrong_password_user(world, django_db_blocker):
    """An account of its own, so its failed sign-in counts against no other test's account."""
    from django.contrib.auth import get_user_model

    from tenants import ratelimit

    with django_db_blocker.unblock():
        user = get_user_model().objects.create_user(
            username=unique("typo-") + "@agency.test", password=PASSWORD)
        user.email = user.username
        user.save(update_fields=["email"])
    yield user
    with django_db_blocker.unblock():
        ratelimit.clear(username=user.username)


def card(page, name: str):
    return page.get_by_role("list", name="Clients").get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=name, exact=True))


def field(page, label: str):
    """The wrapper of one form field: its label, help, errors and control."""
    return page.locator(".field").filter(has=page.get_by_label(label, exact=True))


def test_one_sign_in_opens_the_portal_and_own_brand_but_not_another(page, world,
                                                                     live_server_url):
    port = live_server_url
    sign_in(page, port, world.acme.users[Role.EDITOR].username, PASSWORD)

    expect(page).to_have_url(portal_url(port, "/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your clients")
    cards = page.get_by_role("list", name="Clients").get_by_role("listitem")
    expect(cards).to_have_count(1)
    acme = card(page, "Acme Coffee")
    expect(acme).to_be_visible()
    counts = client_status_counts(world.acme.client)
    for label, key in COUNT_LABELS.items():
        pair = acme.locator(".counts > div").filter(has=page.get_by_text(label, exact=True))
        expect(pair.locator("dd")).to_have_text(str(counts[key]))
    expect(page.get_by_text("Globex")).to_have_count(0)

    acme.get_by_role("link", name="Open Acme Coffee").click()
    expect(page).to_have_url(brand_url("acme", port, "/admin/"))  # no sign-in form on the way
    expect(page).to_have_title(re.compile(r"^Dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Coffee")
    expect(page.get_by_role("heading", name="Site summary")).to_be_visible()

    page.goto(brand_url("globex", port, "/admin/"))
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.get_by_text("You do not have permission to access the admin.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page).not_to_have_title(re.compile("Dashboard"))
    expect(page.get_by_text("Globex")).to_have_count(0)


def test_wrong_password_says_so_and_keeps_the_username(page, wrong_password_user,
                                                       live_server_url):
    port = live_server_url
    page.goto(portal_url(port, "/login/"))
    page.get_by_label("Email").fill(wrong_password_user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text(WRONG_LOGIN)
    expect(page).to_have_url(portal_url(port, "/login/"))
    expect(page.get_by_label("Email")).to_have_value(wrong_password_user.username)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("heading", name="Your clients")).to_have_count(0)


def test_agency_admin_creates_a_client_after_fixing_the_short_name(page, signed_in, world,
                                                                   live_server_url,
                                                                   created_clients):
    port = live_server_url
    name, slug = unique("Browser Brand "), unique("bb-")
    signed_in(world.agency_admin)
    page.goto(portal_url(port, "/"))
    page.get_by_role("link", name="New client").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New client")

    page.get_by_label("Client name").fill(name)
    page.get_by_label("Short name").fill("Bad Name!")
    page.get_by_role("button", name="Create client").click()

    expect(page).to_have_url(portal_url(port, "/clients/new/"))
    short_name = field(page, "Short name")
    expect(short_name.locator(".error")).to_contain_text(
        "Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter")
    expect(page.get_by_label("Short name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Short name")).to_have_accessible_description(
        re.compile("Use 3 to 40 lower-case letters"))
    expect(page.locator(".field.has-error")).to_have_count(1)  # only the short name is wrong
    expect(page.get_by_label("Client name")).to_have_value(name)
    assert not Client.objects.filter(name=name).exists()

    page.get_by_label("Short name").fill(slug)
    page.get_by_role("button", name="Create client").click()
    created_clients[slug] = name

    expect(page).to_have_url(portal_url(port, f"/clients/{slug}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("status")).to_contain_text(
        f"{name} is ready at {brand_url(slug, port, '')}")
    expect(page.get_by_role("link", name="Open campaign studio")).to_have_attribute(
        "href", brand_url(slug, port, "/admin/"))
    assert Client.objects.filter(slug=slug, name=name).exists()

    page.get_by_role("link", name=re.compile("Agency portal")).click()
    expect(page).to_have_url(portal_url(port, "/"))
    expect(card(page, name)).to_be_visible()


def test_creator_opens_the_new_clients_studio(page, signed_in, world, live_server_url,
                                              created_clients):
    if not created_clients:
        pytest.skip("the client creation test did not create a client")
    slug, name = list(created_clients.items())[-1]
    signed_in(world.agency_admin)
    page.goto(portal_url(live_server_url, f"/clients/{slug}/"))
    page.get_by_role("link", name="Open campaign studio").click()
    expect(page).to_have_url(brand_url(slug, live_server_url, "/admin/"), timeout=2_000)
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_agency_admin_adds_changes_and_removes_a_member(page, signed_in, world, live_server_url):
    port = live_server_url
    email = unique("new-") + "@example.test"
    signed_in(world.agency_admin)
    page.goto(portal_url(port, "/clients/acme/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Coffee")

    add = page.locator("section", has=page.get_by_role("heading", name="Add a member"))
    add.get_by_label("Email").fill(email)
    add.get_by_label("First name").fill("Nadia")
    add.get_by_label("Last name").fill("Newcomer")
    add.get_by_label("Role").select_option(label="Editor")
    add.get_by_role("button", name="Add member").click()

    expect(page).to_have_url(portal_url(port, "/clients/acme/"))
    expect(page.get_by_role("status")).to_have_text(
        f"{email} is now Editor at Acme Coffee. We emailed them.")
    members = page.get_by_role("table", name=re.compile("People who can work on Acme Coffee"))
    row = members.get_by_role("row").filter(has=page.get_by_role("cell", name=email, exact=True))
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").first).to_have_text("Nadia Newcomer")
    role = row.get_by_label(f"Role of {email}")
    expect(role.locator("option:checked")).to_have_text("Editor")

    role.select_option(label="Sensitivity reviewer")
    row.get_by_role("button", name=f"Change role of {email}").click()
    expect(page.get_by_role("status")).to_have_text(f"{email} is now Sensitivity reviewer.")
    expect(row.get_by_label(f"Role of {email}").locator("option:checked")).to_have_text(
        "Sensitivity reviewer")

    row.get_by_role("button", name=f"Remove {email}").click()
    expect(page.get_by_role("status")).to_have_text(
        f"{email} no longer has access to Acme Coffee.")
    expect(row).to_have_count(0)
    # The invitation email goes out from the server process (locmem), out of this test's reach.


def _is_focused(locator) -> bool:
    return locator.evaluate("element => element === document.activeElement")


def test_sign_in_with_the_keyboard_only_then_skip_to_content(page, world, live_server_url):
    port = live_server_url
    page.goto(portal_url(port, "/login/"))
    username = page.get_by_label("Email")
    for _ in range(4):  # skip link, portal link, Username: wherever focus starts
        if _is_focused(username):
            break
        page.keyboard.press("Tab")
    expect(username).to_be_focused()
    page.keyboard.type(world.acme.users[Role.EDITOR].username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(portal_url(port, "/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your clients")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).not_to_be_in_viewport()  # hidden until focused
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Open Acme Coffee")).to_be_focused()


def test_first_tab_on_a_fresh_login_page_reaches_the_skip_link(page, live_server_url):
    page.goto(portal_url(live_server_url, "/login/"))
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).not_to_be_in_viewport()

    page.keyboard.press("Tab")
    expect(skip).to_be_focused(timeout=1_000)
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()


def _login_page(page, world, port):
    page.goto(portal_url(port, "/login/"))


def _login_page_with_error(page, world, port):
    page.goto(portal_url(port, "/login/"))
    page.get_by_label("Email").fill(unique("nobody-") + "@agency.test")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()


def _client_list(page, world, port):
    page.goto(portal_url(port, "/"))
    expect(card(page, "Acme Coffee")).to_be_visible()


def _client_detail(page, world, port):
    page.goto(portal_url(port, "/clients/acme/"))
    expect(page.get_by_role("heading", name="Add a member")).to_be_visible()


def _new_client_with_errors(page, world, port):
    page.goto(portal_url(port, "/clients/new/"))
    page.get_by_label("Client name").fill("Axe Check")
    page.get_by_label("Short name").fill("Bad Name!")
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_label("Short name")).to_have_attribute("aria-invalid", "true")


@pytest.mark.parametrize(("who", "open_page"), [
    (None, _login_page),
    (None, _login_page_with_error),
    ("acme editor", _client_list),
    ("agency admin", _client_detail),
    ("agency admin", _new_client_with_errors),
], ids=["login", "login-error", "client-list", "client-detail", "new-client-errors"])
def test_pages_have_no_accessibility_violations(page, signed_in, world, live_server_url, who,
                                                open_page):
    if who is not None:
        signed_in({"acme editor": world.acme.users[Role.EDITOR],
                   "agency admin": world.agency_admin}[who])
    open_page(page, world, live_server_url)
    violations = axe_violations(page)
    assert not violations, "axe-core found:\n" + describe_violations(violations)
