"""Importing posts from CSV into a new draft campaign: every row checked against the network
rules and the sensitivity linter, problems per row and column, all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.images.models import Image

from campaigns.importing import KNOWN
from campaigns.models import CampaignPage, Channel
from tenants.models import Role

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.fixture
def brand(world, acme_kit):
    with schema_context(world.acme.client.schema_name):
        Channel.objects.create(name="Acme Sandbox", network="sandbox", handle="@acme")
    return acme_kit


def good_rows(count: int = 50) -> list[dict]:
    start = timezone.now().astimezone(LONDON).date() + dt.timedelta(days=3)
    rows = []
    for n in range(count):
        day = start + dt.timedelta(days=n // 2)
        row = {"date": day.isoformat(), "time": "09:00" if n % 2 == 0 else "17:30",
               "channels": "Acme Masto; Acme Sky" if n % 3 == 0 else "Acme Sandbox",
               "copy": f"Post number {n + 1}: our autumn blend, roasted this week.",
               "link": f"https://acme.example/autumn/{n + 1}" if n % 4 == 0 else "",
               "first_comment": "Tell us your favourite cup." if n % 5 == 0 else "",
               "image": "", "alt_text": ""}
        if n % 7 == 0:
            row["image"], row["alt_text"] = "Cup", "A cup of coffee on a wooden table"
        rows.append(row)
    return rows


def as_csv(rows: list[dict], columns=KNOWN) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client, data: bytes, *, name="posts.csv", title="Autumn from CSV"):
    return client.post("/admin/campaigns/import/", {
        "title": title, "file": SimpleUploadedFile(name, data, content_type="text/csv")})


def problems(response) -> list[tuple[str, str, str]]:
    """(row, column, message) of each problem the page lists."""
    body = response.content.decode()
    table = re.search(r'<table class="listing csv-import__errors">(.*?)</table>', body, re.S)
    if table is None:
        return []
    return [tuple(html.unescape(cell) for cell in cells) for cells in re.findall(
        r"<tr data-row=\"\d+\"><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table[1])]


def test_fifty_rows_with_broken_ones_import_nothing_then_all_once_fixed(world, http, brand):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    rows = good_rows(50)
    broken = [dict(r) for r in rows]
    broken[3]["channels"] = "Acme Mastadon"                               # row 5
    broken[10]["copy"] = "x" * 320                                         # row 12: Bluesky 300
    broken[10]["channels"] = "Acme Sky"
    broken[17]["date"] = "14/10/2026"                                      # row 19
    broken[22]["copy"] = "Visit our gypsy caravan café this weekend."       # row 24: linter
    broken[30]["image"], broken[30]["alt_text"] = "Saucer", "A saucer"     # row 32
    broken[41]["link"] = "acme dot example"                                # row 43
    broken[42]["time"] = "25:00"                                           # row 44
    response = upload(editor, as_csv(broken))
    assert response.status_code == 200
    found = problems(response)
    by_row = {}
    for row, column, message in found:
        by_row.setdefault(int(row), []).append((column, message))
    assert sorted(by_row) == [5, 12, 19, 24, 32, 43, 44], found
    assert by_row[5][0][0] == "channels" and "“Acme Mastadon” is not one of this brand's " \
                                               "channels" in by_row[5][0][1]
    assert by_row[12] == [("copy", "On Acme Sky: Bluesky allows 300 characters (emoji count "
                                   "as one); this post has 320. Shorten it by 20.")]
    assert by_row[19][0][0] == "date" and "YYYY-MM-DD" in by_row[19][0][1]
    assert by_row[24][0][0] == "copy"
    assert by_row[24][0][1].startswith("Sensitivity check: “gypsy” is a slur")
    assert by_row[32][0][0] == "image" and "No image “Saucer”" in by_row[32][0][1]
    assert by_row[43][0][0] == "link" and "not a web address" in by_row[43][0][1]
    assert by_row[44][0][0] == "time" and "“25:00” is not a time" in by_row[44][0][1]
    assert "Nothing was imported: 7 of 50 rows need fixing" in html.unescape(
        response.content.decode())
    with schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title="Autumn from CSV").exists()

    response = upload(editor, as_csv(rows))
    assert response.status_code == 302, problems(response)
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(title="Autumn from CSV")
        assert response["Location"] == f"/admin/pages/{page.pk}/edit/"
        assert not page.live
        draft = page.get_latest_revision_as_object()
        posts = list(draft.posts.all())
        assert len(posts) == 50
        assert posts[0].copy == rows[0]["copy"]
        assert {c.name for c in posts[0].channels.all()} == {"Acme Masto", "Acme Sky"}
        assert posts[0].publish_at == dt.datetime.fromisoformat(
            f"{rows[0]['date']}T09:00").replace(tzinfo=LONDON)
        assert posts[0].link == "https://acme.example/autumn/1"
        assert posts[0].first_comment == "Tell us your favourite cup."
        [image] = list(posts[7].media)
        assert image.value["image"].title == "Cup"
        assert image.value["alt_text"] == "A cup of coffee on a wooden table"
        assert [c.name for c in posts[1].channels.all()] == ["Acme Sandbox"]


@pytest.mark.parametrize("data, name, says", [
    (b"PK\x03\x04\x14\x00\x00\x00binary", "posts.xlsx", "is not a CSV file"),
    (b"PK\x03\x04\x14\x00\x00\x00binary", "posts.csv", "This is not a CSV file"),
    ("date,time,channels,copy\n2030-01-01,09:00,Acme Sky,Caf\xe9\n".encode("latin-1"),
     "posts.csv", "The file is not UTF-8 text (first unreadable character on line 2)"),
    (b"date,time,copy\n2030-01-01,09:00,Hello\n", "posts.csv", "The file has no channels "
                                                               "column"),
    (b"date,time,channels,copy,colour\n2030-01-01,09:00,Acme Sky,Hi,red\n", "posts.csv",
     "Unknown column: colour"),
    (b"", "posts.csv", "The file is empty"),
    (b"date,time,channels,copy\n", "posts.csv", "has headings but no posts"),
    (b"date,time,channels,copy\n" + b"2030-01-01,09:00,Acme Sky,Hello\n" * 201, "posts.csv",
     "more than 200 posts"),
    (b"date,time,channels,copy\n" + b"2030-01-01,09:00,Acme Sky," + b"x" * (1024 * 1024) +
     b"\n", "posts.csv", "the limit is 1 MB"),
])
def test_a_bad_file_gets_a_clear_message_and_nothing_is_saved(world, http, brand, data, name,
                                                               says):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = upload(editor, data, name=name, title="Bad file")
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert "Nothing was imported." in body and says in body
    with schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title="Bad file").exists()


def test_excel_files_with_a_bom_and_semicolons_are_read(world, http, brand):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    day = timezone.now().astimezone(LONDON).date() + dt.timedelta(days=5)
    data = ("\ufeffDate;Time;Channels;Copy;Alt text;Image\r\n"
            f"{day};9:15;Acme Sandbox;\"Café, fresh; and warm\";;\r\n").encode()
    response = upload(editor, data, title="From Excel")
    assert response.status_code == 302, problems(response)
    with schema_context(world.acme.client.schema_name):
        post = CampaignPage.objects.get(title="From Excel").get_latest_revision_as_object() \
            .posts.first()
        assert post.copy == "Café, fresh; and warm"
        assert post.publish_at.astimezone(LONDON).time() == dt.time(9, 15)


def test_the_template_downloads_and_imports_as_it_is(world, http, brand):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.get("/admin/campaigns/import/template.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="posts-template.csv"'
    data = response.content
    assert data.decode().splitlines()[0] == ",".join(KNOWN)
    response = upload(editor, data, title="From the template")
    assert response.status_code == 302, problems(response)


def test_alt_text_without_image_and_image_without_alt_text_are_refused(world, http, brand):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    rows = good_rows(2)
    rows[0].update(image="", alt_text="A cup")
    rows[1].update(image="Cup", alt_text="", channels="Acme Masto")
    found = problems(upload(editor, as_csv(rows)))
    assert ("2", "alt_text", "Alt text without an image: name the image in the image column, "
                             "or leave the alt text empty.") in found
    assert ("3", "alt_text", "On Acme Masto: Image 1 has no alt text: describe it for people "
                             "who use screen readers.") in found


def test_two_images_with_one_title_ask_for_the_number(world, http, brand):
    with schema_context(world.acme.client.schema_name):
        second = Image.objects.create(title="Cup", file=brand.image.file.name)
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    rows = good_rows(1)
    rows[0].update(image="Cup", alt_text="A cup")
    found = problems(upload(editor, as_csv(rows)))
    assert found[0][1] == "image" and "2 images are called “Cup”" in found[0][2]
    assert str(second.pk) in found[0][2]
    rows[0]["image"] = str(second.pk)
    assert upload(editor, as_csv(rows)).status_code == 302


def test_only_people_who_may_create_campaigns_import(world, http, brand):
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    assert reviewer.get("/admin/campaigns/import/").status_code in (302, 403)
    outsider = http(world.acme.host, user=world.globex.users[Role.EDITOR])
    assert outsider.get("/admin/campaigns/import/").status_code in (302, 403)
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    page = editor.get("/admin/campaigns/import/")
    assert page.status_code == 200 and "Download the template" in page.content.decode()


def test_a_comma_outside_quotes_names_the_row_and_empty_trailing_cells_do_not(world, http,
                                                                              brand):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    day = timezone.now().astimezone(LONDON).date() + dt.timedelta(days=5)
    data = (f"date,time,channels,copy\n{day},09:00,Acme Sandbox,Fine,,\n"
            f"{day},10:00,Acme Sandbox,Hello, world\n").encode()
    assert problems(upload(editor, data)) == [
        ("3", "(whole row)", "This row has more cells than there are columns: a comma inside "
                             "a text needs the text in double quotes.")]
