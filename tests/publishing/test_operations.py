"""Crisis holds, pauses, replay and the queue: in the portal, the brand admin and manage.py."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.publishing import operations, transitions, worker
from campaigns.publishing.models import CrisisHold, Delivery, Pause, State
from campaigns.publishing.transitions import Outcome
from tenants.models import AuditEvent, Role
from tests.conftest import PORTAL
from tests.factories import ChannelFactory, DeliveryFactory

pytestmark = pytest.mark.django_db


def _campaign(kit, copy, tags, *, schema=None, channel=None, when=None):
    """The delivery of a campaign with one post, ``copy`` on ``channel`` (the kit's sandbox)."""
    return DeliveryFactory(brand=schema or kit.schema, copy=copy, tags=tags,
                           channel=channel or kit.sandbox, publish_at=when or kit.soon)


@pytest.fixture
def globex_sandbox(world):
    return ChannelFactory(brand=world.globex, name="Globex Sandbox", handle="@gx")


def test_a_crisis_hold_in_the_portal_holds_matching_posts_across_brands(
        world, kit, http, globex_sandbox):
    flood = _campaign(kit, "Stay dry this week", ("floods", "coffee"))
    storm = _campaign(kit, "Storm-proof coffee, only today", ("coffee",))
    calm = _campaign(kit, "Sunny mornings", ("coffee",))
    other = _campaign(kit, "A storm of deals", ("outdoors",),
                      schema=world.globex.client.schema_name, channel=globex_sandbox)
    admin = http(PORTAL, world.agency_admin)
    page = admin.get("/crisis-holds/")
    assert page.status_code == 200 and "Hold matching posts" in page.content.decode()
    missing = admin.post("/crisis-holds/", {"reason": "Storm warning", "match": "word",
                                            "value": ""})
    assert "Type the tag or word to hold" in missing.content.decode()
    assert not CrisisHold.objects.exists()
    response = admin.post("/crisis-holds/", {"reason": "Storm warning", "match": "word",
                                             "value": "storm", "brand": ""}, follow=True)
    html = response.content.decode()
    assert "Held 2 scheduled posts" in html
    assert "Storm-proof coffee" in html and "A storm of deals" in html
    assert "Sunny mornings" not in html
    held = set(Delivery.objects.filter(hold__isnull=False).values_list("id", flat=True))
    assert held == {storm.pk, other.pk}
    tag = admin.post("/crisis-holds/", {"reason": "Floods", "match": "tag", "value": "Floods",
                                        "brand": "acme"}, follow=True)
    assert "Held 1 scheduled posts" in tag.content.decode()
    assert Delivery.objects.get(pk=flood.pk).hold.tag == "floods"
    assert Delivery.objects.get(pk=calm.pk).hold is None
    # held posts are never claimed, even when due
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert {pk for pk, _ in transitions.claim_due()} == {calm.pk}
    # a newly approved post that matches an active hold is held at once
    later = _campaign(kit, "After the storm", ("coffee",))
    assert Delivery.objects.get(pk=later.pk).hold is not None
    # release one, then all
    storm_hold = CrisisHold.objects.get(word="storm")
    admin.post(f"/crisis-holds/{storm_hold.pk}/release/", {"delivery": other.pk})
    assert Delivery.objects.get(pk=other.pk).hold is None
    assert Delivery.objects.get(pk=storm.pk).hold == storm_hold
    admin.post(f"/crisis-holds/{storm_hold.pk}/release/")
    storm_hold.refresh_from_db()
    assert storm_hold.released_at is not None and storm_hold.released_by == world.agency_admin
    assert not Delivery.objects.filter(hold=storm_hold).exists()
    actions = list(AuditEvent.objects.filter(action__startswith="publishing.")
                   .order_by("at").values_list("action", "client_slug"))
    assert actions == [("publishing.hold", "*"), ("publishing.hold", "acme"),
                       ("publishing.release", "*"), ("publishing.release", "*")]
    assert Delivery.objects.get(pk=storm.pk).events.filter(kind="held").get().actor \
        == world.agency_admin


def test_only_agency_admins_hold_posts(world, http):
    for user in (world.acme.users[Role.AGENCY_ADMIN], world.outsider):
        client = http(PORTAL, user, raise_request_exception=False)
        assert client.get("/crisis-holds/").status_code == 403
        assert client.post("/crisis-holds/", {"reason": "x", "match": "everything"}) \
            .status_code == 403
    assert not CrisisHold.objects.exists()
    assert http(PORTAL).get("/crisis-holds/").status_code == 302  # sign in first


def test_hold_everything_in_one_brand_and_release_from_the_command_line(world, kit,
                                                                        globex_sandbox):
    mine = _campaign(kit, "Anything at all", ("coffee",))
    theirs = _campaign(kit, "Theirs", ("x",), schema=world.globex.client.schema_name,
                       channel=globex_sandbox)
    out = io.StringIO()
    call_command("publishing", "hold", "--reason", "Brand crisis", "--everything", "--brand",
                 "acme", stdout=out)
    assert "every scheduled post in Acme Coffee): 1 posts held" in out.getvalue()
    assert Delivery.objects.get(pk=mine.pk).hold is not None
    assert Delivery.objects.get(pk=theirs.pk).hold is None
    hold = CrisisHold.objects.get()
    out = io.StringIO()
    call_command("publishing", "holds", stdout=out)
    assert "active" in out.getvalue() and "1 held" in out.getvalue()
    call_command("publishing", "release", str(hold.pk), stdout=io.StringIO())
    assert Delivery.objects.get(pk=mine.pk).hold is None
    with pytest.raises(CommandError, match="No brand “nope”"):
        call_command("publishing", "hold", "--reason", "x", "--everything", "--brand", "nope")
    with pytest.raises(CommandError, match="Say why"):
        call_command("publishing", "hold", "--reason", " ", "--tag", "x")


def test_pause_resume_drain_and_replay_from_the_command_line(world, kit):
    delivery = _campaign(kit, "Paused post", ("coffee",))
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    call_command("publishing", "pause", "--brand", "acme", stdout=io.StringIO())
    assert transitions.claim_due() == []
    call_command("publishing", "resume", "--brand", "acme", stdout=io.StringIO())
    call_command("publishing", "pause", "--brand", "acme", "--channel", str(kit.sandbox.pk),
                 stdout=io.StringIO())
    assert transitions.claim_due() == []
    call_command("publishing", "resume", "--brand", "acme", "--channel",
                 str(kit.sandbox.pk), stdout=io.StringIO())
    out = io.StringIO()
    call_command("publishing", "drain", "--timeout", "1", stdout=out)
    assert "Drained" in out.getvalue() and transitions.claim_due() == []
    call_command("publishing", "resume", stdout=io.StringIO())
    assert not Pause.objects.exists()
    Delivery.objects.filter(pk=delivery.pk).update(state=State.FAILED, error="HTTP 500")
    call_command("publishing", "replay", "--brand", "acme", stdout=io.StringIO())
    assert Delivery.objects.get(pk=delivery.pk).state == State.SCHEDULED
    (claim,) = transitions.claim_due()
    assert worker.deliver(*claim) == Outcome.PUBLISHED
    out = io.StringIO()
    call_command("publishing", "queue", stdout=out)
    line = next(row for row in out.getvalue().splitlines() if row.startswith("acme"))
    assert line.split()[1:8] == ["0", "0", "0", "0", "0", "1", "0"]


def test_the_brands_queue_lists_its_posts_and_staff_retry_a_failed_one(world, kit, http):
    delivery = _campaign(kit, "Queue me", ("coffee",))
    Delivery.objects.filter(pk=delivery.pk).update(state=State.FAILED,
                                                   error="HTTP 401: The access token is invalid")
    manager = http(world.acme.host, world.acme.users[Role.ACCOUNT_MANAGER])
    queue = manager.get("/admin/publishing/?state=failed").content.decode()
    assert "Queue me" in queue and "HTTP 401: The access token is invalid" in queue
    detail = manager.get(f"/admin/publishing/{delivery.pk}/").content.decode()
    assert "Retry now" in detail and "Created from an approved revision" in detail
    manager.post(f"/admin/publishing/{delivery.pk}/retry/")
    assert Delivery.objects.get(pk=delivery.pk).state == State.SCHEDULED
    moved = manager.post(f"/admin/publishing/{delivery.pk}/reschedule/",
                         {"publish_at": "2030-01-01T09:00"}, follow=True).content.decode()
    assert "needs the client&#x27;s approval" in moved
    # editors see the queue but cannot change it
    editor = http(world.acme.host, world.acme.users[Role.EDITOR], raise_request_exception=False)
    assert editor.get("/admin/publishing/").status_code == 200
    refused = editor.post(f"/admin/publishing/{delivery.pk}/cancel/")
    assert refused.status_code == 302 and refused["Location"] == "/admin/"  # Wagtail's refusal
    assert Delivery.objects.get(pk=delivery.pk).state == State.SCHEDULED


def test_another_brands_deliveries_and_feeds_are_not_found_here(world, kit, http,
                                                               globex_sandbox):
    theirs = _campaign(kit, "Globex only", ("x",), schema=world.globex.client.schema_name,
                       channel=globex_sandbox)
    admin = http(world.acme.host, world.acme.users[Role.AGENCY_ADMIN],
                 raise_request_exception=False)
    assert "Globex only" not in admin.get("/admin/publishing/").content.decode()
    assert admin.get(f"/admin/publishing/{theirs.pk}/").status_code == 404
    assert admin.post(f"/admin/publishing/{theirs.pk}/cancel/").status_code == 404
    assert Delivery.objects.get(pk=theirs.pk).state == State.SCHEDULED
    assert admin.get(f"/admin/publishing/sandbox/{globex_sandbox.pk}/").status_code == 404
    outsider = http(world.acme.host, world.globex.users[Role.AGENCY_ADMIN],
                    raise_request_exception=False)
    assert outsider.get("/admin/publishing/").status_code in (302, 403)


def test_the_sandbox_feed_shows_what_went_out_and_the_calendar_says_published(world, kit, http):
    delivery = _campaign(kit, "Out in the sandbox", ("coffee",))
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    (claim,) = transitions.claim_due()
    worker.deliver(*claim)
    editor = http(world.acme.host, world.acme.users[Role.EDITOR])
    feed = editor.get(f"/admin/publishing/sandbox/{kit.sandbox.pk}/").content.decode()
    assert "Out in the sandbox" in feed
    month = kit.soon.strftime("%Y-%m")
    calendar = editor.get(f"/admin/calendar/?month={month}").content.decode()
    assert "state-published" in calendar


def test_the_dashboard_and_the_portal_card_show_failed_posts(world, kit, http):
    delivery = _campaign(kit, "Will fail", ("coffee",))
    Delivery.objects.filter(pk=delivery.pk).update(state=State.FAILED, error="HTTP 422: nope")
    editor = http(world.acme.host, world.acme.users[Role.EDITOR])
    dashboard = editor.get("/admin/").content.decode()
    assert "Posts that did not go out" in dashboard and "HTTP 422: nope" in dashboard
    month = kit.soon.strftime("%Y-%m")
    assert "state-failed" in editor.get(f"/admin/calendar/?month={month}").content.decode()
    portal = http(PORTAL, world.acme.users[Role.EDITOR]).get("/").content.decode()
    assert 'data-count="failed">1<' in portal


def test_hold_matching_is_by_whole_word(world, kit):
    _campaign(kit, "Brainstorming session", ("coffee",))
    hit = _campaign(kit, "The STORM is coming", ("coffee",))
    hold, count = operations.hold_create(reason="Storm", word="storm")
    assert count == 1 and Delivery.objects.get(pk=hit.pk).hold == hold
    assert timezone.now() - hold.created_at < dt.timedelta(minutes=1)


def test_the_portal_shows_a_brands_held_posts_at_the_brands_own_time(world, kit, http):
    from tenants.models import Client

    Client.objects.filter(pk=world.acme.client.pk).update(time_zone="America/New_York")
    _campaign(kit, "Snow day special", ("snow",),
              when=dt.datetime(2031, 1, 15, 14, 30, tzinfo=dt.UTC))
    admin = http(PORTAL, world.agency_admin)
    admin.post("/crisis-holds/", {"reason": "Blizzard", "match": "tag", "value": "snow",
                                  "brand": "acme"})
    html = admin.get("/crisis-holds/").content.decode()
    assert "<td>15 Jan, 09:30 (America/New_York)" in html  # 14:30 UTC, labelled
    hold = CrisisHold.objects.get(reason="Blizzard")
    created = hold.created_at.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert f"since {created:%-d %b %Y, %H:%M} (America/New_York)" in html


def test_the_menus_sandbox_feed_opens_the_one_feed_or_lists_them(world, kit, http):
    from campaigns.models import Channel

    editor = http(world.acme.host, world.acme.users[Role.EDITOR])
    one = editor.get("/admin/publishing/sandbox/")
    assert one.status_code == 302
    assert one["Location"] == f"/admin/publishing/sandbox/{kit.sandbox.pk}/"
    second = ChannelFactory(brand=kit.schema, name="Acme Rehearsal", network="sandbox",
                            handle="@r")
    listing = editor.get("/admin/publishing/sandbox/").content.decode()
    assert f'href="/admin/publishing/sandbox/{second.pk}/">Acme Rehearsal</a>' in listing
    assert f'href="/admin/publishing/sandbox/{kit.sandbox.pk}/">Acme Sandbox</a>' in listing
    with schema_context(kit.schema):
        Channel.objects.filter(network="sandbox").delete()
    none = editor.get("/admin/publishing/sandbox/").content.decode()
    assert "This brand has no sandbox channel. Add one under Channels" in none
