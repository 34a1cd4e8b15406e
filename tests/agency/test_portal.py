"""The agency portal: clients with their counts, creating clients, members and roles."""

import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context, schema_exists

from tenants.models import AuditEvent, Client, Membership, Role
from tests.factories import CampaignFactory, ClientFactory, submit
from tests.images import png_bytes

pytestmark = pytest.mark.django_db


def _count(html: str, slug: str, name: str) -> int:
    card = html.split(f'data-client="{slug}"')[1].split("</li>")[0]
    return int(re.search(rf'data-count="{name}">(\d+)<', card).group(1))


def test_home_lists_only_my_clients_with_their_counts(world, http):
    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        for title in ["One", "Two", "Three"]:
            page = CampaignFactory(title=title, author=editor)
        submit(page, editor)

    html = http(user=editor).get("/").content.decode()
    assert "Acme Coffee" in html and "Globex Outdoors" not in html
    assert (_count(html, "acme", "draft"), _count(html, "acme", "in_review")) == (2, 1)
    assert _count(html, "acme", "changes_requested") == 0
    assert _count(html, "acme", "scheduled") == 0 and _count(html, "acme", "failed") == 0
    assert "http://acme.agency.localhost/admin/" in html


def test_signed_out_visitors_are_sent_to_sign_in(world, http):
    response = http().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_agency_admin_creates_a_client_with_a_logo(world, http):
    admin = http(user=world.agency_admin)
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    response = admin.post("/clients/new/", {
        "name": "Umbrella Tea", "slug": "umbrella", "time_zone": "Europe/Berlin",
        "brand_colour": "#123456", "logo": logo})
    assert response.status_code == 302 and response["Location"] == "/clients/umbrella/"
    client = Client.objects.get(slug="umbrella")
    assert schema_exists(client.schema_name) and client.time_zone == "Europe/Berlin"
    assert admin.get("/clients/umbrella/logo/").status_code == 200
    assert http(user=world.acme.users[Role.EDITOR]).get(
        "/clients/umbrella/logo/").status_code == 404


def test_a_logo_on_object_storage_is_served_from_the_bucket_and_deleted_with_its_client(
        world, http, s3_media):
    import urllib.request

    from tenants.services import client_delete
    from tests.conftest import BUCKET

    png = png_bytes()
    admin = http(user=world.agency_admin)
    admin.post("/clients/new/", {
        "name": "Umbrella Tea", "slug": "umbrella", "time_zone": "Europe/Berlin",
        "brand_colour": "#123456",
        "logo": SimpleUploadedFile("logo.png", png, content_type="image/png")})
    client = Client.objects.get(slug="umbrella")
    key = f"media/public/{client.logo.name}"
    assert s3_media.get_object(Bucket=BUCKET, Key=key)["Body"].read() == png
    response = admin.get("/clients/umbrella/logo/")
    assert response.status_code == 302 and "X-Amz-Signature=" in response["Location"]
    assert f"/{BUCKET}/{key}?" in response["Location"]
    with urllib.request.urlopen(response["Location"], timeout=10) as body:  # noqa: S310
        assert body.read() == png and body.headers["Content-Type"] == "image/png"
    assert http(user=world.acme.users[Role.EDITOR]).get(
        "/clients/umbrella/logo/").status_code == 404

    client_delete(client=client, confirm_slug="umbrella", actor=world.agency_admin)
    listed = s3_media.list_objects_v2(Bucket=BUCKET, Prefix="media/public/logos/")
    assert key not in {item["Key"] for item in listed.get("Contents", [])}


@pytest.mark.parametrize("data, field, message", [
    ({"slug": "Bad Name!"}, "slug", "Use 3 to 40 lower-case letters"),
    ({"slug": "acme"}, "slug", "already exists"),
    ({"brand_colour": "red"}, "brand_colour", "#RRGGBB"),
    ({"time_zone": "Mars/Base"}, "time_zone", "is not a time zone we know"),
    ({"time_zone": "GB"}, "time_zone", "is an old name for Europe/London"),
    ({"name": ""}, "name", "This field is required"),
])
def test_create_client_form_explains_each_mistake_and_creates_nothing(world, http, data, field,
                                                                    message):
    before = Client.objects.count()
    form = {"name": "Wayne Foods", "slug": "wayne", "time_zone": "Europe/London",
            "brand_colour": "#123456", **data}
    response = http(user=world.agency_admin).post("/clients/new/", form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Client.objects.count() == before


def test_a_logo_that_is_not_an_image_is_refused(world, http):
    fake = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = http(user=world.agency_admin).post("/clients/new/", {
        "name": "Svg Co", "slug": "svgco", "time_zone": "UTC", "brand_colour": "#123456",
        "logo": fake})
    assert "Upload a valid image" in response.content.decode()
    assert not Client.objects.filter(slug="svgco").exists()


def test_only_agency_admins_create_archive_or_delete_clients(world, http):
    manager = http(user=world.acme.users[Role.ACCOUNT_MANAGER])
    assert manager.get("/clients/new/").status_code == 403
    assert manager.post("/clients/acme/archive/").status_code == 403
    assert manager.post("/clients/acme/delete/", {"confirm_slug": "acme"}).status_code == 403
    assert Client.objects.get(slug="acme").archived_at is None


def test_account_manager_adds_changes_and_removes_members(world, http):
    manager = http(user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.post("/clients/acme/members/add/", {
        "email": "Fresh@Example.com", "role": "editor"})
    assert response.status_code == 302
    member = Membership.objects.get(client=world.acme.client, user__email="fresh@example.com")
    assert member.role == Role.EDITOR
    assert not member.user.has_usable_password()

    manager.post(f"/clients/acme/members/{member.user_id}/role/", {"role": "sensitivity_reviewer"})
    member.refresh_from_db()
    assert member.role == Role.SENSITIVITY_REVIEWER

    manager.post(f"/clients/acme/members/{member.user_id}/remove/")
    assert not Membership.objects.filter(pk=member.pk).exists()
    actions = list(AuditEvent.objects.filter(client_slug="acme", detail__user="fresh@example.com")
                   .values_list("action", flat=True))
    assert set(actions) == {"member.added", "member.role_changed", "member.removed"}


def test_account_manager_cannot_hand_out_the_agency_admin_role(world, http):
    manager = http(user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.post("/clients/acme/members/add/", {
        "email": "climber@example.com", "role": "agency_admin"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    editor = world.acme.users[Role.EDITOR]
    assert manager.post(f"/clients/acme/members/{editor.pk}/role/",
                        {"role": "agency_admin"}).status_code in {302, 403}
    assert Membership.objects.get(client=world.acme.client, user=editor).role == Role.EDITOR


def test_editors_see_members_but_cannot_change_them(world, http):
    editor = http(user=world.acme.users[Role.EDITOR])
    page = editor.get("/clients/acme/").content.decode()
    assert "agency_admin@acme.test" in page and "Add a member" not in page
    assert editor.post("/clients/acme/members/add/", {
        "email": "x@example.com", "role": "editor"}).status_code == 403


def test_archive_asks_first_then_closes_the_host(world, http):
    ClientFactory(name="Closing Co", slug="closing")
    admin = http(user=world.agency_admin)
    confirm = admin.get("/clients/closing/archive/")
    assert b"Archive Closing Co?" in confirm.content
    assert Client.objects.get(slug="closing").archived_at is None  # a GET changes nothing
    admin.post("/clients/closing/archive/")
    assert Client.objects.get(slug="closing").archived_at is not None
    assert b'data-client="closing"' not in admin.get("/").content


def test_delete_needs_the_short_name_typed(world, http):
    ClientFactory(name="Gone Co", slug="goneco")
    admin = http(user=world.agency_admin)
    response = admin.post("/clients/goneco/delete/", {"confirm_slug": "gone"})
    assert "Type the client's short name" in html.unescape(response.content.decode())
    assert schema_exists("brand_goneco")
    response = admin.post("/clients/goneco/delete/", {"confirm_slug": "goneco"})
    assert response.status_code == 302
    assert not schema_exists("brand_goneco")


def test_provision_clients_command_shows_progress_and_reports_bad_lines(world, tmp_path):
    from django.core.management import CommandError, call_command

    csv_file = tmp_path / "clients.csv"
    csv_file.write_text("slug,name\nbulk-one,Bulk One\nBAD!,Broken\nbulk-two,Bulk Two\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="Some clients were not provisioned"):
        call_command("provision_clients", str(csv_file), stderr=err, stdout=io.StringIO())
    assert "3/3 100%" in err.getvalue()
    assert "line 2 (BAD!)" in err.getvalue()
    assert set(Client.objects.filter(slug__startswith="bulk-").values_list("slug", flat=True)) \
        == {"bulk-one", "bulk-two"}


def test_account_manager_cannot_demote_or_remove_an_agency_admin(world, http):
    manager = http(user=world.acme.users[Role.ACCOUNT_MANAGER])
    admin = world.acme.users[Role.AGENCY_ADMIN]
    assert manager.post(f"/clients/acme/members/{admin.pk}/role/",
                        {"role": "editor"}).status_code == 403
    assert manager.post(f"/clients/acme/members/{admin.pk}/remove/").status_code == 403
    assert Membership.objects.get(client=world.acme.client, user=admin).role == Role.AGENCY_ADMIN


def test_invited_people_without_a_password_can_ask_for_a_new_link(world, http):
    from django.core import mail

    from tenants.services import staff_user_get_or_create

    invited = staff_user_get_or_create(email="lost.invite@example.com")
    assert not invited.has_usable_password()
    http().post("/password/reset/", {"email": "lost.invite@example.com"})
    assert mail.outbox and "/password/set/" in mail.outbox[-1].body
