"""A new brand's checklist on its admin home, its colour and logo in the studio, and time zones
offered by region and city."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from approvals.models import ApproverContact
from campaigns.models import Channel
from tenants.branding import colours_css, ink_on, safe_colour
from tenants.models import Client, Role
from tenants.services import SYSTEM, client_provision, membership_set
from tenants.zones import TimeZoneField, zone_choices, zone_names
from tests.conftest import _user, brand_host
from tests.images import png_bytes

pytestmark = pytest.mark.django_db

STEPS = ["Connect a channel", "Add client approvers", "Set approval deadlines", "Invite the team"]


@pytest.fixture
def fresh(world):
    """A brand just created by the agency admin (who is its only member), rolled back after."""
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    return client_provision(name="Fresh Fields", slug="fresh-fields", brand_colour="#C2410C",
                            logo=logo, actor=world.agency_admin)


def _checklist(html: str) -> dict[str, bool]:
    """{step label: done} as the checklist shows them; {} when it is not on the page."""
    if 'id="setup-heading"' not in html:
        return {}
    return {label: done == "true" for done, label in re.findall(
        r'data-done="(true|false)">.*?<a href="[^"]*">([^<]+)</a>', html, flags=re.S)}


def test_a_new_brand_opens_on_its_checklist_with_nothing_done(fresh, world, http):
    response = http(brand_host(fresh.slug), user=world.agency_admin).get("/admin/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Set up Fresh Fields" in html and "0 of 4 done" in html
    assert _checklist(html) == dict.fromkeys(STEPS, False)
    # each step links to where it is done
    assert '<a href="/admin/snippets/campaigns/channel/add/">Connect a channel</a>' in html
    assert '<a href="/admin/snippets/approvals/approvercontact/add/">Add client approvers' in html
    assert '<a href="/admin/settings/approvals/approvalsettings/' in html
    assert "http://agency.localhost/clients/fresh-fields/members/add/" in html


def test_each_step_ticks_itself_from_the_data_and_the_list_goes_when_all_are_done(
        fresh, world, http):
    admin = http(brand_host(fresh.slug), user=world.agency_admin)
    with schema_context(fresh.schema_name):
        Channel.objects.create(name="Sandbox", network="sandbox", handle="@fresh")
        ApproverContact.objects.create(name="Backup Bea", email="bea@client.test", backup=True)
    shown = _checklist(admin.get("/admin/").content.decode())
    # a backup approver is not enough: main approvers are asked first
    assert shown == {**dict.fromkeys(STEPS, False), "Connect a channel": True}

    with schema_context(fresh.schema_name):
        ApproverContact.objects.create(name="Cleo Client", email="cleo@client.test")
    # saving the deadlines page, even with its defaults, sets them
    page = admin.get("/admin/settings/approvals/approvalsettings/", follow=True)
    assert page.status_code == 200
    saved = admin.post(page.redirect_chain[-1][0], {  # the setting's own edit address
        "due_hours_before_first_post": 48, "remind_hours_before": 24, "backup_after_hours": 48})
    assert saved.status_code == 302
    html = admin.get("/admin/").content.decode()
    assert _checklist(html) == {**dict.fromkeys(STEPS, True), "Invite the team": False}
    assert "3 of 4 done" in html

    membership_set(client=fresh, user=_user("ed@fresh.test"), role=Role.EDITOR, actor=SYSTEM)
    html = admin.get("/admin/").content.decode()
    assert _checklist(html) == {} and "Set up Fresh Fields" not in html


def test_only_those_who_set_a_brand_up_see_the_checklist(world, http):
    # Acme has a member of every role but no channel: the checklist is there for managers
    assert _checklist(http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
                      .get("/admin/").content.decode())["Invite the team"] is True
    for role in (Role.EDITOR, Role.SENSITIVITY_REVIEWER):
        html = http(world.acme.host, user=world.acme.users[role]).get("/admin/").content.decode()
        assert _checklist(html) == {}


# --- colour and logo ------------------------------------------------------------------------


def test_the_studio_links_the_brands_colour_and_shows_its_logo(fresh, world, http):
    admin = http(brand_host(fresh.slug), user=world.agency_admin)
    html = admin.get("/admin/").content.decode()
    assert '<link rel="stylesheet" href="/admin/brand/colours.css?v=C2410C">' in html
    css = admin.get("/admin/brand/colours.css?v=C2410C")
    assert css["Content-Type"].startswith("text/css")
    assert css.content.decode() == ":root { --brand-colour: #C2410C; --brand-ink: #ffffff; }\n"
    assert re.search(r'<img class="brand-logo" src="/admin/brand/logo/\?v=[^"]+" '
                     r'alt="Fresh Fields logo">', html)
    logo = admin.get("/admin/brand/logo/")
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert b"".join(logo.streaming_content) == png_bytes()


def test_a_brand_without_a_logo_shows_its_initial_and_no_logo_address(world, http):
    acme = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    html = acme.get("/admin/").content.decode()
    assert '<span class="brand-initial">A</span>' in html
    assert acme.get("/admin/brand/logo/").status_code == 404


def test_a_brands_logo_is_for_its_own_members_only(fresh, world, http):
    assert http(world.acme.host, user=world.acme.users[Role.EDITOR]).get(
        "/admin/brand/logo/").status_code == 404  # Acme has none, and never Fresh's
    outsider = http(brand_host(fresh.slug), user=world.acme.users[Role.EDITOR])
    assert outsider.get("/admin/brand/logo/").status_code in {302, 403, 404}
    assert outsider.get("/admin/brand/colours.css").status_code in {302, 403, 404}


def test_only_a_hex_colour_is_ever_written_into_the_style_sheet():
    assert safe_colour("#abcdef") == "#abcdef"
    for bad in ["red", "#12345", "#1234567", "#12345g", "#fff; } body { display:none", ""]:
        assert safe_colour(bad) == "#2F5D62"
    assert "display" not in colours_css("#fff; } body { display:none")
    assert ink_on("#FFEB3B") == "#000000" and ink_on("#1B2A4A") == "#ffffff"


# --- time zones by region and city ----------------------------------------------------------


def test_time_zones_are_offered_by_region_and_city_without_old_aliases():
    groups = dict(zone_choices())
    assert ("Europe/London", "London") in groups["Europe"]
    assert ("America/New_York", "New York") in groups["Americas"]
    assert ("America/Argentina/Buenos_Aires", "Argentina – Buenos Aires") in groups["Americas"]
    assert groups["Other"] == [("UTC", "UTC")]
    assert list(groups)[-1] == "Other" and list(groups)[:-1] == sorted(list(groups)[:-1])
    offered = {value for choices in groups.values() for value, _ in choices}
    assert offered == zone_names() and 300 < len(offered) < 450
    for alias in ["GB", "US/Eastern", "Europe/Belfast", "Asia/Calcutta", "Etc/GMT+5", "Zulu",
                  "localtime", "Factory", "EST5EDT"]:
        assert alias not in offered
    assert all("/" in name for name in offered - {"UTC"})


@pytest.mark.parametrize("value, message", [
    ("Mars/Olympus", "“Mars/Olympus” is not a time zone we know. Choose a region and city, "
                     "such as Europe/London."),
    ("US/Eastern", "“US/Eastern” is an old name for America/New_York. Choose America/New_York "
                   "instead."),
    ("Etc/GMT+5", "“Etc/GMT+5” is not one of the time zones offered"),
])
def test_a_zone_outside_the_list_is_refused_saying_what_to_choose(value, message):
    field = TimeZoneField()
    with pytest.raises(ValidationError) as error:
        field.clean(value)
    assert error.value.messages[0].startswith(message)
    assert field.clean("Europe/London") == "Europe/London"


def test_a_brand_that_has_an_old_name_keeps_it_when_edited(world, http):
    Client.objects.filter(pk=world.acme.client.pk).update(time_zone="GB")
    manager = http(user=world.acme.users[Role.ACCOUNT_MANAGER])
    form = manager.get("/clients/acme/edit/").content.decode()
    assert '<optgroup label="Europe">' in form
    assert '<option value="GB" selected>GB (current setting)</option>' in form
    assert '<option value="US/Eastern"' not in form

    response = manager.post("/clients/acme/edit/", {"name": "Acme Coffee", "time_zone": "GB",
                                                   "brand_colour": "#2F5D62"})
    assert response.status_code == 302
    assert Client.objects.get(slug="acme").time_zone == "GB"

    refused = manager.post("/clients/acme/edit/", {"name": "Acme Coffee",
                                                  "time_zone": "US/Eastern",
                                                  "brand_colour": "#2F5D62"})
    assert "is an old name for America/New_York" in refused.content.decode()
    assert Client.objects.get(slug="acme").time_zone == "GB"


@pytest.fixture
def remove_acme_logo():
    """Files outlive the test's rolled-back transaction: remove the logo a test stored."""
    from django.core.files.storage import default_storage

    yield
    names = [Client.objects.get(slug="acme").logo.name]
    with schema_context("public"):
        for name in filter(None, names):
            default_storage.delete(name)


def test_editing_a_brand_changes_its_zone_colour_and_logo(world, http, remove_acme_logo):
    from wagtail.users.models import UserProfile

    manager = http(user=world.acme.users[Role.ACCOUNT_MANAGER])
    logo = SimpleUploadedFile("new.png", png_bytes(colour=(10, 20, 30)), content_type="image/png")
    response = manager.post("/clients/acme/edit/", {
        "name": "Acme Coffee", "time_zone": "Asia/Tokyo", "brand_colour": "#1B2A4A",
        "logo": logo})
    assert response.status_code == 302
    acme = Client.objects.get(slug="acme")
    assert (acme.time_zone, acme.brand_colour) == ("Asia/Tokyo", "#1B2A4A") and acme.logo
    with schema_context(acme.schema_name):  # every member's studio clock follows
        assert UserProfile.get_for_user(world.acme.users[Role.EDITOR]).current_time_zone \
            == "Asia/Tokyo"
    studio = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    assert b"".join(studio.get("/admin/brand/logo/").streaming_content) == png_bytes(
        colour=(10, 20, 30))
    assert http(user=world.acme.users[Role.EDITOR]).get("/clients/acme/edit/").status_code == 403
