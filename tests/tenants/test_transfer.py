"""Export a brand to one archive, import it elsewhere (here: the same database under a new short
name), and delete a brand with everything it left in the public schema and the task queue."""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from tenants.models import AuditEvent, Client, Domain, Membership, Role
from tenants.services import SYSTEM, client_delete
from tenants.transfer import TransferError, client_export, client_import
from tests.factories import (
    ChannelFactory,
    ClientFactory,
    DeliveryFactory,
    ImageFactory,
    MemberFactory,
)
from tests.images import png_bytes
from tests.publishing.conftest import make_campaign

pytestmark = pytest.mark.django_db


def _slug(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:6]}"


@dataclass
class ExportBrand:
    client: Client
    page: object  # its campaign "Autumn story"
    channel: object  # its sandbox, the campaign's one channel
    image: object  # in the campaign's one post
    editor: object  # its editor, who wrote the campaign (an account with no password)


@pytest.fixture
def brand(world) -> ExportBrand:
    """A brand with a campaign (one post with an image), an image file and two members."""
    client = ClientFactory(name="Export Me", slug=_slug("exp"), time_zone="Asia/Tokyo",
                           brand_colour="#112233")
    editor = MemberFactory(client=client, role=Role.EDITOR, user__password=None,
                           user__username=f"ed-{client.slug}@example.test",
                           user__first_name="Edna", user__last_name="Editor").user
    MemberFactory(client=client, user=world.agency_admin, role=Role.AGENCY_ADMIN)
    channel = ChannelFactory(brand=client, name="Sandbox", handle="@exp")
    image = ImageFactory(brand=client, title="Cup")
    when = timezone.now().replace(microsecond=0) + dt.timedelta(days=2)
    page = make_campaign(client.schema_name, title="Autumn story",
                         posts=[("Warm cups for everyone", [channel], when, image)])
    with schema_context(client.schema_name):
        from wagtail.models import Revision
        Revision.objects.filter(object_id=str(page.pk)).update(user=editor)
    yield ExportBrand(client=client, page=page, channel=channel, image=image, editor=editor)
    for slug in [client.slug]:
        left = Client.objects.filter(slug=slug).first()
        if left is not None:
            client_delete(client=left, actor=None, confirm_slug=slug)


def _leftovers(slug: str) -> list[str]:
    schema = "brand_" + slug.replace("-", "_")
    found = []
    if Client.objects.filter(slug=slug).exists():
        found.append("client row")
    if schema_exists(schema):
        found.append("schema")
    if Domain.objects.filter(domain__startswith=f"{slug}.").exists():
        found.append("domain")
    if Group.objects.filter(name__startswith=f"{slug}:").exists():
        found.append("groups")
    media = Path(settings.MEDIA_ROOT) / schema
    if media.exists() and any(media.iterdir()):
        found.append("media")
    return found


def test_export_then_import_under_a_new_slug(brand, world, tmp_path):
    from wagtail.images.models import Image
    from wagtail.models import Revision, Site

    from campaigns.models import CampaignPage

    source = brand.client
    archive = client_export(client=source, path=tmp_path / "brand.tar.gz",
                            actor=world.agency_admin)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert {"manifest.json", "schema.sql", "public.json"} <= set(names)
    assert any(n.startswith("media/original_images/") for n in names)
    assert manifest["slug"] == source.slug and manifest["time_zone"] == "Asia/Tokyo"
    assert manifest["brand_colour"] == "#112233"
    assert ["campaigns", "0001_initial"] in manifest["migrations"]
    assert AuditEvent.objects.filter(client_slug=source.slug, action="client.exported").exists()

    new_slug = _slug("imp")
    try:
        copy = client_import(path=archive, slug=new_slug, actor=world.agency_admin)
        assert copy.schema_name == "brand_" + new_slug.replace("-", "_")
        assert copy.name == "Export Me" and copy.time_zone == "Asia/Tokyo"
        assert copy.brand_colour == "#112233"
        assert Domain.objects.get(tenant=copy).domain == f"{new_slug}.agency.localhost"
        assert dict(Membership.objects.filter(client=copy).values_list("user__email", "role")) == {
            brand.editor.email: Role.EDITOR, world.agency_admin.email: Role.AGENCY_ADMIN}
        # Members of the copy get the copy's role groups, not the source's.
        assert brand.editor.groups.filter(name=f"{new_slug}: Editor").exists()
        with schema_context(copy.schema_name):
            page = CampaignPage.objects.get(title="Autumn story")
            revision = Revision.objects.get(object_id=str(page.pk))
            assert revision.user_id == brand.editor.pk
            assert page.latest_revision_id == revision.pk
            post = revision.as_object().posts.get()  # the post lives in the revision (draft)
            assert post.copy == "Warm cups for everyone"
            image = Image.objects.get(title="Cup")
            assert Path(image.file.path).read_bytes() == png_bytes()
            assert str(copy.schema_name) in image.file.path
            from wagtail.models import GroupPagePermission

            granted = set(GroupPagePermission.objects.values_list("group__name", flat=True))
            assert granted and all(name.startswith(f"{new_slug}: ") for name in granted)
            assert Site.objects.get(is_default_site=True).hostname == f"{new_slug}.agency.localhost"
            # Identity sequences continue after the imported rows.
            later = ImageFactory(title="Later")
            assert later.pk > image.pk
        assert AuditEvent.objects.filter(client_slug=new_slug, action="client.imported").exists()

        # The source is untouched.
        with schema_context(source.schema_name):
            assert CampaignPage.objects.filter(title="Autumn story").count() == 1
            assert Path(Image.objects.get(title="Cup").file.path).is_file()
        assert Membership.objects.filter(client=source).count() == 2
    finally:
        imported = Client.objects.filter(slug=new_slug).first()
        if imported:
            client_delete(client=imported, actor=None, confirm_slug=new_slug)
    assert _leftovers(new_slug) == []


def test_import_creates_missing_users_without_a_password(brand, tmp_path):
    archive = client_export(client=brand.client, path=tmp_path / "b.tar.gz")
    email = brand.editor.email
    # As if this installation had never seen the editor (a user row cannot simply be deleted
    # here: brand schemas refer to it).
    get_user_model().objects.filter(pk=brand.editor.pk).update(
        username=f"gone-{email}", email=f"gone-{email}")
    new_slug = _slug("imp")
    copy = client_import(path=archive, slug=new_slug, actor=SYSTEM)
    try:
        user = get_user_model().objects.get(username=email)
        assert user.pk != brand.editor.pk and not user.has_usable_password()
        with schema_context(copy.schema_name):
            from wagtail.models import Revision

            assert set(Revision.objects.values_list("user_id", flat=True)) == {user.pk}
        assert Membership.objects.get(client=copy, user=user).role == Role.EDITOR
    finally:
        client_delete(client=copy, actor=None, confirm_slug=new_slug)


def test_import_refuses_an_existing_slug_and_leaves_nothing(brand, tmp_path):
    archive = client_export(client=brand.client, path=tmp_path / "b.tar.gz")
    before = Client.objects.count()
    with pytest.raises(ValidationError, match="exists already"):
        client_import(path=archive, actor=SYSTEM)  # the archive's own slug: the source still has it
    assert Client.objects.count() == before
    with pytest.raises(CommandError, match="exists already"):
        call_command("import_client", str(archive), slug=brand.client.slug)


def _rewrite(archive: Path, target: Path, change) -> Path:
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


@pytest.mark.parametrize("change, message", [
    (lambda m: m["migrations"].append(["campaigns", "9999_from_the_future"]),
     "newer version of the platform"),
    (lambda m: m.update(format_version=99), "format version"),
    (lambda m: m.update(schema_sql_sha256="0" * 64), "was changed or damaged"),
])
def test_import_refuses_a_newer_or_tampered_archive(brand, tmp_path, change, message):
    archive = client_export(client=brand.client, path=tmp_path / "b.tar.gz")
    bad = _rewrite(archive, tmp_path / "bad.tar.gz", change)
    new_slug = _slug("bad")
    with pytest.raises(TransferError, match=message):
        client_import(path=bad, slug=new_slug, actor=SYSTEM)
    assert _leftovers(new_slug) == []


def test_failed_import_leaves_no_schema_rows_or_files(brand, tmp_path, monkeypatch):
    from tenants import transfer

    archive = client_export(client=brand.client, path=tmp_path / "b.tar.gz")
    new_slug = _slug("half")

    def explode(**kwargs):
        raise RuntimeError("audit store is down")

    monkeypatch.setattr(transfer, "audit", explode)  # the last step, after files are written
    with pytest.raises(RuntimeError):
        client_import(path=archive, slug=new_slug, actor=SYSTEM)
    assert _leftovers(new_slug) == []


def test_commands_export_and_import(brand, tmp_path):
    path = tmp_path / "cmd.tar.gz"
    out = io.StringIO()
    call_command("export_client", brand.client.slug, str(path), stdout=out)
    assert "was exported" in out.getvalue()
    with pytest.raises(CommandError, match="exists already"):
        call_command("export_client", brand.client.slug, str(path))
    with pytest.raises(CommandError, match="No client"):
        call_command("export_client", "no-such-brand", str(tmp_path / "x.tar.gz"))
    with pytest.raises(CommandError, match="There is no file"):
        call_command("import_client", str(tmp_path / "missing.tar.gz"))
    new_slug = _slug("cmd")
    out = io.StringIO()
    call_command("import_client", str(path), slug=new_slug, stdout=out)
    assert f"imported as “{new_slug}”" in out.getvalue()
    client_delete(client=Client.objects.get(slug=new_slug), actor=None, confirm_slug=new_slug)


def test_delete_removes_schema_media_memberships_queued_work_and_outbox(brand, world):
    from django_q.models import OrmQ, Schedule, Task
    from django_q.tasks import async_task, schedule

    from campaigns.publishing.models import CrisisHold, Delivery, Pause

    client = brand.client
    schema, slug = client.schema_name, client.slug
    other = world.acme.client.schema_name
    async_task("tenants.tasks.run_in_client", schema, "x.y", [], {}, group=schema)
    async_task("tenants.tasks.run_in_client", other, "x.y", [], {}, group=other)
    schedule("tenants.tasks.run_in_client", schema, "agency.webhooks.services.send", [1], {},
             name=f"webhook:{schema}:1:1", schedule_type=Schedule.ONCE)
    schedule("tenants.tasks.run_in_client", schema, "x.y", [], {}, name=f"other-{slug}",
             schedule_type=Schedule.ONCE)
    schedule("tenants.tasks.run_in_client", other, "x.y", [], {}, name=f"keep-{slug}",
             schedule_type=Schedule.ONCE)
    now = timezone.now()
    Task.objects.create(id=uuid.uuid4().hex, name=f"done-{slug}", func="x.y", group=schema,
                        started=now, stopped=now, success=True)
    Pause.objects.create(client=client, reason="test")
    CrisisHold.objects.create(client=client, reason="test")
    DeliveryFactory(brand=client, channel=brand.channel)
    media = Path(settings.MEDIA_ROOT) / schema
    assert media.is_dir()
    queued_before = [q.pk for q in OrmQ.objects.all() if q.task.get("group") == schema]
    assert queued_before

    client_delete(client=client, actor=world.agency_admin, confirm_slug=slug)

    assert _leftovers(slug) == []
    assert not media.exists()
    assert not Membership.objects.filter(client_id=client.pk).exists()
    assert not [q for q in OrmQ.objects.all() if q.task.get("group") == schema]
    assert [q for q in OrmQ.objects.all() if q.task.get("group") == other]
    assert not Schedule.objects.filter(name__in=[f"webhook:{schema}:1:1", f"other-{slug}"]).exists()
    assert Schedule.objects.filter(name=f"keep-{slug}").exists()
    assert not Task.objects.filter(group=schema).exists()
    assert not Pause.objects.filter(client_id=client.pk).exists()
    assert not CrisisHold.objects.filter(client_id=client.pk).exists()
    assert not Delivery.objects.filter(schema_name=schema).exists()
    event = AuditEvent.objects.get(client_slug=slug, action="client.deleted")
    assert event.actor == world.agency_admin
    assert event.detail["queued"] == 1 and event.detail["schedules"] == 2
    assert event.detail["results"] == 1
