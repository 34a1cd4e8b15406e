"""The composer in a real browser: while a post is typed, a counter per network (counted as the
server counts) and a preview per selected channel; images dropped or uploaded in place with their
alt text asked once; a post inside the client's approval lead time flagged beside its time."""

from __future__ import annotations

import base64
import datetime as dt
import random
import uuid
import zoneinfo

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect
from wagtail.images.models import Image

from approvals.models import ApprovalSettings
from campaigns import networks
from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.factories import CampaignFactory, ChannelFactory
from tests.images import png_bytes

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

LONDON = zoneinfo.ZoneInfo("Europe/London")  # Acme's zone (tests/conftest.py)

# Texts on which the browser's count and the server's must agree, network by network.
SAMPLES = [
    "Plain words, nothing else.",
    "Coding all night 👩🏽‍💻 with friends 👨‍👩‍👧‍👦 and flags 🇬🇧🇫🇷🇺🇦",
    "Keycaps 1️⃣ 2️⃣, hearts ❤️ 🖤, rainbow 🏳️‍🌈, thumbs 👍🏿, odd flag 🇬🇧🇫",
    "Café with a combining accent: cafe\u0301, n\u0303, Z\u0324\u0354\u0367\u0311\u0313a\u0308",
    "Hangul jamo \u1100\u1161\u11a8, Devanagari नमस्ते, Thai สวัสดี, Tamil நன்றி",
    "Read https://example.com/autumn?utm_source=x&y=1 and http://short.example/z now",
    "UPPER HTTPS://EXAMPLE.COM/PATH, in brackets (https://ex.example/a) and quoted "
    "\"https://q.example/b\" then <https://angle.example/c>",
    "An address with Unicode https://例え.jp/パス/☕ and an emoji after https://e.example/☕👍",
    "Hi @alice@mastodon.social and @bob@example.com. Not x@carol@ex.org or a@b.c@d.e",
    "Mention with Unicode @zoë@café.example and trailing dot @dan@host.example.",
    "Line one\r\nLine two\r\n\r\nLine four\u2028after a line separator",
    "Tabs\tand  spaces   ",
    "",
    "☕" * 310,
    # X weighs characters: CJK and other wide scripts 2, Latin 1, an emoji 2, a link 23
    "東京でコーヒー ☕ at https://acme.example/tokyo — “quoted” ‘x’ ‰ ′ 한국어 العربية",
    "日本語" * 50,
    "Keycap 1️⃣, flag 🇯🇵, family 👨‍👩‍👧, © ® ™ … and\u200dzero\u200bwidth\u2060joiners",
]


# Each violation of the Content-Security-Policy the browser reports, handed to the test.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolation({directive: event.effectiveDirective, blocked: event.blockedURI,
                       source: event.sourceFile, sample: event.sample});
});
"""


@pytest.fixture
def csp_violations(context):
    found = []
    context.expose_function("cspViolation", lambda violation: found.append(violation))
    context.add_init_script(REPORT_VIOLATIONS)
    return found

# ... and, from these pieces, strings made at random (the same ones every run).
PIECES = ["a", "Z", " ", "  ", "\n", "\t", ".", ",", "-", "_", "@", "/", ":", "\"", "<", ">", "(",
          ")", "https://", "http://", "HTTPS://", "www.", "example.com", "/path?q=1&r=2",
          "@alice", "@alice@mastodon.social", "mastodon.social", "é", "e\u0301", "\u0308",
          "\u0300\u0301", "ñ", "ß", "İ", "日本語", "한국어", "\u1100\u1161\u11a8", "नमस्ते",
          "ก\u0e31", "\u200d", "\u200b", "\ufe0f", "☕", "👍🏽", "👩🏽\u200d💻", "🇬🇧", "🇺", "1️⃣",
          "🏳️\u200d🌈", "\u00a0", "\u2028", "\u3000", "#", "#hashtag", "٣"]


def _random_samples(count: int = 300) -> list[str]:
    rng = random.Random(16)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14))) for _ in range(count)]


@pytest.fixture
def studio(world, django_db_blocker):
    """Mastodon, Bluesky and sandbox channels the test server can see (committed), and the
    brand's approval lead time; removed and restored afterwards."""
    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channels = {
            network: ChannelFactory(name=f"{name} {tag}", network=network,
                                    handle=f"@{name.lower()}", secret="token",
                                    endpoint="https://mastodon.example"
                                    if network == "mastodon" else "")
            for network, name in [("mastodon", "Masto"), ("bluesky", "Sky"), ("sandbox", "Box")]}
        index = CampaignIndexPage.objects.get()
        approval = ApprovalSettings.load()
        lead_before = approval.due_hours_before_first_post
    connection.set_schema_to_public()
    yield {"tag": tag, "channels": channels, "index": index}
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        for page in CampaignPage.objects.filter(title__endswith=tag):
            page.delete()
        Channel.objects.filter(name__endswith=tag).delete()
        Image.objects.filter(title__endswith=tag).delete()
        ApprovalSettings.objects.update(due_hours_before_first_post=lead_before)
    connection.set_schema_to_public()


@pytest.fixture
def acme_db(world, django_db_blocker):
    from contextlib import contextmanager

    @contextmanager
    def inside():
        with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
            yield
        connection.set_schema_to_public()

    return inside


def _save_draft(page):
    """A draft's main button submits it for review; saving is in the footer's menu."""
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Save draft").click()


def _new_campaign_with_a_post(page, live_server_url, acme_db, title):
    """A draft campaign without posts, opened in the editor, with a new post added."""
    with acme_db():
        campaign = CampaignFactory(title=title)
    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{campaign.pk}/edit/"))
    page.get_by_role("button", name="Add post").click()
    return page.locator("#inline_child_posts-0")


def test_typing_the_copy_counts_and_previews_it_per_selected_network(
        page, signed_in, world, live_server_url, studio, acme_db, csp_violations):
    signed_in(world.acme.users[Role.EDITOR])
    post = _new_campaign_with_a_post(page, live_server_url, acme_db, f"Composer {studio['tag']}")
    masto, sky, box = (studio["channels"][n] for n in ("mastodon", "bluesky", "sandbox"))
    counts = post.locator("[data-composer-counts]")
    expect(counts).to_contain_text("Choose a channel")
    post.get_by_role("checkbox", name=masto.name).check()
    post.get_by_role("checkbox", name=sky.name).check()

    copy = post.locator("#id_posts-0-copy")
    text = "Autumn roast ☕👩🏽‍💻 is here: https://acme.example/autumn/roast-2026?ref=studio"
    copy.press_sequentially(text[:20])
    copy.fill(text)  # the rest at once: every keystroke updates alike
    m_count = networks.get("mastodon").length(text)
    b_count = networks.get("bluesky").length(text)
    assert m_count != b_count  # the URL counts 23 on Mastodon, in full on Bluesky
    expect(counts.locator('[data-network="mastodon"]')).to_have_text(
        f"Mastodon {m_count} / 500 · {500 - m_count} left")
    expect(counts.locator('[data-network="bluesky"]')).to_have_text(
        f"Bluesky {b_count} / 300 · {300 - b_count} left")
    expect(counts.locator('[data-network="sandbox"]')).to_have_count(0)
    m_card = post.get_by_role("article", name=f"Preview on {masto.name}")
    b_card = post.get_by_role("article", name=f"Preview on {sky.name}")
    expect(m_card).to_contain_text("Autumn roast ☕👩🏽‍💻 is here")
    expect(m_card).to_contain_text(f"{m_count} / 500")
    expect(b_card).to_contain_text(f"{b_count} / 300")
    # beside the copy, not below the form
    copy_box, card_box = copy.bounding_box(), m_card.bounding_box()
    assert card_box["x"] > copy_box["x"] + copy_box["width"] - 1
    assert card_box["y"] < copy_box["y"] + copy_box["height"]

    # A link typed in its own field goes after the copy: counted and shown
    post.locator("#id_posts-0-link").fill("https://acme.example/shops")
    with_link = f"{text}\n\nhttps://acme.example/shops"
    expect(counts.locator('[data-network="bluesky"]')).to_contain_text(
        f"{networks.get('bluesky').length(with_link)} / 300")
    expect(b_card).to_contain_text("https://acme.example/shops")

    # Too long for Bluesky, fine for Mastodon: said while typing, as saving would say it
    long = "Slow roasted, small batch. " * 12 + "Line two\nwith a break"
    copy.fill(long)
    b_long = networks.get("bluesky").length(long.replace("\n", "\r\n") + "\n\nhttps://acme.example/shops")
    over = counts.locator('[data-network="bluesky"]')
    expect(over).to_have_text(f"Bluesky {b_long} / 300 · {b_long - 300} over")
    expect(over).to_have_class("composer__count is-over")
    expect(post.locator("[data-composer-problems]")).to_contain_text(
        f"Bluesky allows 300 characters (emoji count as one); this post has {b_long}. Shorten "
        f"it by {b_long - 300}.")
    expect(counts.locator('[data-network="mastodon"]')).not_to_have_class("composer__count is-over")

    # Choosing another channel adds its preview; unticking one removes it
    post.get_by_role("checkbox", name=box.name).check()
    expect(post.get_by_role("article", name=f"Preview on {box.name}")).to_be_visible()
    post.get_by_role("checkbox", name=sky.name).uncheck()
    expect(b_card).to_have_count(0)
    expect(counts.locator('[data-network="bluesky"]')).to_have_count(0)

    # What the counter said is what saving says: over Bluesky's limit is refused with that count
    post.get_by_role("checkbox", name=sky.name).check()
    page.locator("#id_posts-0-publish_at").fill("2027-03-01 09:00")
    _save_draft(page)
    expect(page.get_by_text(f"Post 1 on {sky.name}: Bluesky allows 300 characters (emoji count "
                            f"as one); this post has {b_long}. Shorten it by {b_long - 300}.")
           ).to_be_visible()
    assert csp_violations == []  # static scripts only, under the admin's policy


def test_the_browser_counts_every_sample_as_the_server_does(
        page, signed_in, world, live_server_url, studio, acme_db):
    signed_in(world.acme.users[Role.EDITOR])
    _new_campaign_with_a_post(page, live_server_url, acme_db, f"Counting {studio['tag']}")
    samples = SAMPLES + _random_samples()
    got = page.evaluate(
        """([samples, names]) => samples.map(text => names.map(
               name => window.campaignComposer.length(name, text)))""",
        [samples, list(networks.NETWORKS)])
    expected = [[networks.get(name).length(text) for name in networks.NETWORKS]
                for text in samples]
    mismatches = [(text, name, js, py) for text, js_row, py_row in zip(samples, got, expected,
                                                                         strict=True)
                  for name, js, py in zip(networks.NETWORKS, js_row, py_row, strict=True)
                  if js != py]
    assert mismatches == []
    # the samples do tell the methods apart
    assert len({tuple(row) for row in expected}) > 5
    assert any(row[list(networks.NETWORKS).index("mastodon")]
               != row[list(networks.NETWORKS).index("bluesky")] for row in expected)

    # and typed into the copy (a textarea's line breaks travel as CRLF), the counter agrees
    post = page.locator("#inline_child_posts-0")
    post.get_by_role("checkbox", name=studio["channels"]["mastodon"].name).check()
    post.get_by_role("checkbox", name=studio["channels"]["bluesky"].name).check()
    for text in SAMPLES[1:5] + [SAMPLES[8], "Two\nlines 👩🏽‍💻 https://a.example/x"]:
        post.locator("#id_posts-0-copy").fill(text)
        submitted = text.replace("\r\n", "\n").replace("\n", "\r\n")
        for name in ("mastodon", "bluesky"):
            expect(post.locator(f'[data-composer-counts] [data-network="{name}"]')).to_contain_text(
                f" {networks.get(name).length(submitted)} / {networks.get(name).max_length}")


def _drop(page, target, name: str, content: bytes, mime: str = "image/png") -> None:
    """Drop a file on ``target`` as a person dragging it from their desktop would."""
    transfer = page.evaluate_handle(
        """([data, name, mime]) => {
               const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
               const transfer = new DataTransfer();
               transfer.items.add(new File([bytes], name, {type: mime}));
               return transfer;
           }""", [base64.b64encode(content).decode(), name, mime])
    target.dispatch_event("dragover", {"dataTransfer": transfer})
    target.dispatch_event("drop", {"dataTransfer": transfer})


def test_an_image_dropped_or_uploaded_asks_its_alt_text_once_and_is_saved_with_it(
        page, signed_in, world, live_server_url, studio, acme_db, csp_violations):
    signed_in(world.acme.users[Role.EDITOR])
    title = f"Images {studio['tag']}"
    post = _new_campaign_with_a_post(page, live_server_url, acme_db, title)
    post.get_by_role("checkbox", name=studio["channels"]["bluesky"].name).check()
    post.locator("#id_posts-0-copy").fill("A flat white, poured slowly.")
    page.locator("#id_posts-0-publish_at").fill("2027-03-01 09:00")
    zone = post.locator("[data-composer-drop]")

    # Not an image: said at once, nothing asked
    _drop(page, zone, "notes.txt", b"hello", mime="text/plain")
    expect(zone).to_contain_text("“notes.txt” is not an image: drop a JPEG, PNG, GIF or WebP file.")
    dialog = page.get_by_role("dialog", name="Describe this image")
    expect(dialog).to_be_hidden()

    # Dropped: the alt text is asked for, and must be given
    _drop(page, zone, f"flat-white-{studio['tag']}.png", png_bytes((640, 480)))
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Add image").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "Describe the image first: say what it shows, e.g. “A barista pours a flat white”.")
    alt = f"A barista pours a flat white {studio['tag']}"
    dialog.get_by_label("Alt text").fill(alt)
    dialog.get_by_role("button", name="Add image").click()
    expect(dialog).to_be_hidden()
    expect(zone).to_contain_text(f"Added “{alt}” to this post and to the brand's image library.")
    # the post's image block holds the image and that alt text: nothing more to fill in
    expect(page.locator('[id="posts-0-media-0-value-alt_text"]')).to_have_value(alt)
    expect(page.locator('[id="posts-0-media-0-value-image-chooser"]')).to_contain_text(alt)
    card = post.get_by_role("article", name=f"Preview on {studio['channels']['bluesky'].name}")
    expect(card.get_by_role("img", name=alt)).to_be_visible()

    # Uploaded with the button: the same, once more
    with page.expect_file_chooser() as chooser:
        zone.get_by_role("button", name="Upload an image").click()
    chooser.value.set_files(files=[{"name": "latte.png", "mimeType": "image/png",
                                    "buffer": png_bytes((320, 240), (30, 90, 160))}])
    second = f"Latte art shaped like a leaf {studio['tag']}"
    dialog.get_by_label("Alt text").fill(second)
    dialog.get_by_role("button", name="Add image").click()
    expect(page.locator('[id="posts-0-media-1-value-alt_text"]')).to_have_value(second)
    expect(card.get_by_role("img")).to_have_count(2)

    _save_draft(page)
    expect(page.get_by_text(f"Campaign “{title}” saved.")).to_be_visible()
    with acme_db():
        library = {image.title: image
                   for image in Image.objects.filter(title__endswith=studio["tag"])}
        assert set(library) == {alt, second}
        assert library[alt].description == alt and library[second].description == second
        draft = CampaignPage.objects.get(title=title).get_latest_revision_as_object()
        [saved] = list(draft.posts.all())
        assert [(b.value["image"].pk, b.value["alt_text"]) for b in saved.media] == [
            (library[alt].pk, alt), (library[second].pk, second)]
    assert csp_violations == []  # the dropped file's preview (blob:) and the upload included


def _when(hours: float) -> dt.datetime:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return moment.replace(second=0, microsecond=0)


def _shown(moment: dt.datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def test_a_post_inside_the_clients_lead_time_is_flagged_beside_its_time(
        page, signed_in, world, live_server_url, studio, acme_db):
    signed_in(world.acme.users[Role.EDITOR])
    title = f"Deadlines {studio['tag']}"
    sky = studio["channels"]["bluesky"]
    soon, later = _when(30), _when(24 * 9)
    with acme_db():
        approval = ApprovalSettings.load()
        approval.due_hours_before_first_post = 72  # the brand's own setting
        approval.save()
        campaign = CampaignFactory(title=title, author=world.acme.users[Role.EDITOR], posts=[
            Post(copy="Soon", channels=[sky], publish_at=soon),
            Post(copy="Later", channels=[sky], publish_at=later)])

    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{campaign.pk}/edit/"))
    closed = page.locator("[data-post-closed]")
    expect(closed).to_have_count(2)
    warning = closed.nth(0).locator("[data-post-deadline]")
    expect(warning).to_contain_text(
        "Inside the client's approval lead time: approval is due 72 hours before the first post, "
        f"so this one needed it by {_shown(soon - dt.timedelta(hours=72))}.")
    # right under the post's time
    expect(closed.nth(0).locator(".post-closed__meta")).to_contain_text(_shown(soon))
    expect(closed.nth(0).locator(".post-closed__meta + [data-post-deadline]")).to_be_visible()
    expect(closed.nth(1).locator("[data-post-deadline]")).to_have_count(0)

    # Opened, the later post is fine; typed inside the lead time, it is flagged at once
    closed.nth(1).get_by_role("button", name="Edit post").click()
    time_box = page.locator("#id_posts-1-publish_at")
    expect(time_box).to_have_value(f"{later.astimezone(LONDON):%Y-%m-%d %H:%M}")
    wrapper = page.locator("#inline_child_posts-1 [data-post-deadline]")
    expect(wrapper).to_have_count(0)
    inside = _when(48)
    typed = inside.astimezone(LONDON).replace(tzinfo=None)
    time_box.fill(f"{typed:%Y-%m-%d %H:%M}")
    due = typed - dt.timedelta(hours=72)  # wall clock, as the editor shows it
    expect(wrapper).to_contain_text(
        f"approval is due 72 hours before the first post, so this one needed it by "
        f"{due:%a} {due.day} {due:%b %Y, %H:%M}.")
    expect(wrapper).to_contain_text("or agree a quicker approval with the client.")
    # beside the time box, not somewhere else on the page
    assert page.locator("#inline_child_posts-1 .w-field__wrapper").filter(
        has=time_box).locator("[data-post-deadline]").count() == 1
    # a time in the past says so
    time_box.fill("2020-01-06 09:00")
    expect(wrapper).to_have_text("This time has passed: choose a later one.")
    # moved out of the lead time, the warning goes
    time_box.fill(f"{later.astimezone(LONDON):%Y-%m-%d %H:%M}")
    expect(wrapper).to_have_count(0)
