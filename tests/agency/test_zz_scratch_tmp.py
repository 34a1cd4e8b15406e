import pytest
from playwright.sync_api import expect
from tenants.models import Role
from tests.agency.browser import axe_violations, browser, context, page, portal_url, brand_url, signed_in, _portal_cookies  # noqa
pytestmark = [pytest.mark.django_db]

def test_shots(page, signed_in, world, live_server_url):
    port = live_server_url
    page.goto(portal_url(port, "/login/"))
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x.png>')")
    v = axe_violations(page)
    print("sanity", [x["id"] for x in v])
    page.goto(portal_url(port, "/login/"))
    page.screenshot(path="/tmp/shot-login.png", full_page=True)
    page.get_by_label("Username").fill("x@y.z"); page.get_by_label("Password").fill("bad")
    page.get_by_role("button", name="Sign in").click()
    page.screenshot(path="/tmp/shot-login-error.png", full_page=True)
    signed_in(world.agency_admin)
    page.goto(portal_url(port, "/clients/new/"))
    page.get_by_label("Client name").fill("Bad")
    page.get_by_label("Short name").fill("Bad Name!")
    page.get_by_role("button", name="Create client").click()
    page.screenshot(path="/tmp/shot-new-client-errors.png", full_page=True)
    page.goto(portal_url(port, "/clients/acme/"))
    page.screenshot(path="/tmp/shot-detail.png", full_page=True)
    page.goto(portal_url(port, "/"))
    page.screenshot(path="/tmp/shot-home-admin.png", full_page=True)
    page.context.clear_cookies()
    signed_in(world.acme.users[Role.EDITOR])
    page.goto(portal_url(port, "/"))
    page.screenshot(path="/tmp/shot-home-editor.png", full_page=True)
    page.goto(brand_url("acme", port, "/admin/"))
    page.screenshot(path="/tmp/shot-acme-admin.png")
    page.goto(brand_url("globex", port, "/admin/"))
    page.screenshot(path="/tmp/shot-globex-admin.png")
