"""Scheduling conveniences: posting slots and the next free one, UTM presets added when a post is
frozen for publishing, and the warning when the same copy is already scheduled on a channel."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns import slots, utm
from campaigns.models import CampaignIndexPage, CampaignPage, Channel, PublishingSettings
from campaigns.selectors import copy_already_scheduled, next_free_slot
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.campaigns.test_studio import _campaign_form, _post
from tests.publishing.conftest import approve, make_campaign

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _weekday_after(days: int, weekday: int) -> dt.date:
    """The first ``weekday`` at least ``days`` days from today."""
    day = timezone.now().astimezone(LONDON).date() + dt.timedelta(days=days)
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


# --- Posting slots ----------------------------------------------------------------------------


def test_slots_are_read_as_people_write_them():
    found = slots.parse("Mon-Fri 09:00, 17:30\nSat 11:00")
    assert len(found) == 11
    assert slots.Slot(0, dt.time(9)) in found and slots.Slot(4, dt.time(17, 30)) in found
    assert slots.Slot(5, dt.time(11)) in found and slots.Slot(5, dt.time(9)) not in found
    assert slots.describe(found) == "Mon-Fri 09:00, 17:30\nSat 11:00"
    assert len(slots.parse("daily 8:00")) == 7
    assert {s.weekday for s in slots.parse("Fri-Mon 10:00")} == {4, 5, 6, 0}


@pytest.mark.parametrize("text, says", [
    ("Mon-Fry 09:00", "“fry” is not a day"),
    ("Mon-Fri", "has no time"),
    ("09:00", "has no days"),
    ("Mon 25:00", "25:00 is not a time of day"),
])
def test_a_wrong_slot_line_says_which_line_and_how_to_write_it(text, says):
    with pytest.raises(ValidationError) as caught:
        slots.parse("Sat 11:00\n" + text)
    message = " ".join(caught.value.messages)
    assert "Line 2" in message and says in message


def test_the_next_free_slot_skips_taken_ones_and_clocks_that_do_not_exist():
    after = dt.datetime(2026, 3, 27, 12, 0, tzinfo=LONDON)  # a Friday, clocks change Sunday
    mon_fri = slots.parse("Mon-Fri 09:00, 17:30\nSun 01:30")
    taken = {slots.minute(dt.datetime(2026, 3, 27, 17, 30, tzinfo=LONDON))}
    found = slots.next_free([mon_fri], after=after, zone=LONDON, taken=taken)
    # Friday 17:30 is taken and Sunday 01:30 does not exist (clocks go forward at 01:00).
    assert found == dt.datetime(2026, 3, 30, 9, 0, tzinfo=LONDON)
    # Two channels: only the times both have.
    other = slots.parse("Mon 17:30")
    assert slots.next_free([mon_fri, other], after=after, zone=LONDON, taken=set()) == \
        dt.datetime(2026, 3, 30, 17, 30, tzinfo=LONDON)


def test_a_channel_refuses_slots_it_cannot_read(world):
    with schema_context(world.acme.client.schema_name):
        channel = Channel(name="Acme sandbox", network="sandbox", handle="@acme",
                          posting_slots="Weekdays 09:00")
        with pytest.raises(ValidationError) as caught:
            channel.full_clean()
        assert "posting_slots" in caught.value.message_dict
        assert "“weekdays” is not a day" in caught.value.message_dict["posting_slots"][0]


@pytest.fixture
def slotted(world):
    """Acme: a sandbox channel posting Mon-Fri at 09:00 and 17:30, one without slots."""
    with schema_context(world.acme.client.schema_name):
        first = Channel.objects.create(name="Acme Slots", network="sandbox", handle="@a",
                                       posting_slots="Mon-Fri 09:00, 17:30")
        bare = Channel.objects.create(name="Acme Bare", network="sandbox", handle="@b")
    return {"schema": world.acme.client.schema_name, "channel": first, "bare": bare}


def test_next_free_slot_leaves_out_times_other_campaigns_take(world, slotted):
    monday = _weekday_after(7, 0)
    nine = dt.datetime.combine(monday, dt.time(9), tzinfo=LONDON)
    after = dt.datetime.combine(monday - dt.timedelta(days=1), dt.time(12), tzinfo=LONDON)
    channel = slotted["channel"]
    with schema_context(slotted["schema"]):
        assert next_free_slot([channel], after=after).publish_at == nine
        make_campaign(slotted["schema"], title="Taken", posts=[("Hi", [channel], nine, None)])
        assert next_free_slot([channel], after=after).publish_at == nine.replace(hour=17,
                                                                                  minute=30)
        # ...and times the editor's unsaved posts hold.
        found = next_free_slot([channel], after=after,
                               also_taken=[(nine.replace(hour=17, minute=30), {channel.pk})])
        assert found.publish_at == nine + dt.timedelta(days=1)
        # A post on another channel at that time takes nothing here.
        found = next_free_slot([channel], after=after,
                               also_taken=[(nine + dt.timedelta(days=1), {slotted["bare"].pk})])
        assert found.publish_at == nine.replace(hour=17, minute=30)
        problem = next_free_slot([slotted["bare"]], after=after)
        assert problem.publish_at is None
        assert "Acme Bare has no posting slots yet" in problem.problem


def test_the_editors_button_gets_the_next_free_slot_in_the_date_box_format(world, http,
                                                                           slotted):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    channel = slotted["channel"]
    response = editor.post("/admin/campaigns/next-slot/", json.dumps(
        {"channels": [str(channel.pk)], "campaign": None, "others": []}),
        content_type="application/json")
    assert response.status_code == 200
    data = response.json()
    moment = dt.datetime.fromisoformat(data["publish_at"]).astimezone(LONDON)
    assert moment > timezone.now() and moment.weekday() < 5
    assert f"{moment:%H:%M}" in ("09:00", "17:30")
    assert data["value"] == f"{moment:%Y-%m-%d %H:%M}"
    # The same time held by another (unsaved) post of the form: the next one.
    response = editor.post("/admin/campaigns/next-slot/", json.dumps(
        {"channels": [str(channel.pk)], "others": [
            {"at": data["value"], "channels": [str(channel.pk)]}]}),
        content_type="application/json")
    assert dt.datetime.fromisoformat(response.json()["publish_at"]) > moment
    response = editor.post("/admin/campaigns/next-slot/", json.dumps({"channels": []}),
                           content_type="application/json")
    assert "Choose the post's channels first" in response.json()["problem"]
    outsider = http(world.acme.host, user=world.globex.users[Role.EDITOR])
    response = outsider.post("/admin/campaigns/next-slot/", "{}",
                             content_type="application/json")
    assert response.status_code in (302, 403)


def test_the_api_gives_a_channels_next_free_slot(world, slotted):
    client = ApiClient(world.acme.host, make_key(world.acme))
    channel = slotted["channel"]
    monday = _weekday_after(7, 0)
    after = dt.datetime.combine(monday, dt.time(10), tzinfo=LONDON)
    response = client.send("GET", f"/api/v1/channels/{channel.pk}/next-slot/?after="
                                  f"{after.isoformat().replace('+', '%2B')}")
    assert response.status_code == 200, response.content
    evening = dt.datetime.combine(monday, dt.time(17, 30), tzinfo=LONDON).astimezone(dt.UTC)
    assert response.json()["publish_at"] == f"{evening:%Y-%m-%dT%H:%M:%SZ}"
    response = client.send("GET", f"/api/v1/channels/{slotted['bare'].pk}/next-slot/")
    assert response.json()["publish_at"] is None
    assert "no posting slots" in response.json()["detail"]
    response = client.send("GET", f"/api/v1/channels/{channel.pk}/next-slot/?after=9999-01-01"
                                  "T00:00:00Z")
    assert response.status_code == 200 and response.json()["publish_at"] is None
    assert "more than 3660 days ahead" in response.json()["detail"]
    listed = client.send("GET", f"/api/v1/channels/{channel.pk}/").json()
    assert listed["posting_slots"] == "Mon-Fri 09:00, 17:30"


# --- UTM presets ------------------------------------------------------------------------------


def test_utm_parameters_are_added_and_a_links_own_query_is_kept():
    params = utm.expand(utm.parse("utm_source={network}\nutm_medium=social\n"
                                  "utm_campaign={campaign}"), network="mastodon",
                        campaign="spring-launch")
    assert utm.tag_url("https://acme.example/shop?ref=home&utm_medium=email#beans", params) == (
        "https://acme.example/shop?ref=home&utm_medium=email&utm_source=mastodon"
        "&utm_campaign=spring-launch#beans")
    assert utm.tag_text("New: https://acme.example/a. And http://b.example/x?y=1!", params) == (
        "New: https://acme.example/a?utm_source=mastodon&utm_medium=social"
        "&utm_campaign=spring-launch. And http://b.example/x?y=1&utm_source=mastodon"
        "&utm_medium=social&utm_campaign=spring-launch!")
    for wrong, says in [("utm_source", "name=value"), ("utm source=x", "cannot be a "),
                        ("utm_source={brand}", "{brand} is not something we can fill in"),
                        ("a=1\na=2", "given twice")]:
        with pytest.raises(ValidationError, match=says):
            utm.parse(wrong)


def test_utm_preset_goes_into_the_frozen_post_not_the_draft(world, kit_sandbox):
    schema, channel = kit_sandbox["schema"], kit_sandbox["channel"]
    with schema_context(schema):
        settings = PublishingSettings.load()
        settings.utm_parameters = ("utm_source={network}\nutm_medium=social\n"
                                   "utm_campaign={campaign}")
        settings.full_clean()
        settings.save()
    page = make_campaign(schema, title="Spring launch", posts=[
        ("Beans https://acme.example/beans?ref=feed", [channel], kit_sandbox["soon"], None)])
    with schema_context(schema):
        post = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object().posts.first()
        post.link = "https://acme.example/shop#top"
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        draft.posts = [post]
        draft.save_revision()
    [delivery] = approve(schema, page)
    tags = "utm_source=sandbox&utm_medium=social&utm_campaign=spring-launch"
    assert delivery.content["text"] == (f"Beans https://acme.example/beans?ref=feed&{tags}\n\n"
                                        f"https://acme.example/shop?{tags}#top")
    assert delivery.content["link"] == f"https://acme.example/shop?{tags}#top"
    with schema_context(schema):
        kept = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        assert kept.posts.first().link == "https://acme.example/shop#top"
        assert "utm_" not in kept.posts.first().copy


def test_a_wrong_utm_preset_is_refused_in_settings(world):
    with schema_context(world.acme.client.schema_name):
        settings = PublishingSettings.load()
        settings.utm_parameters = "utm_source={netwrk}"
        with pytest.raises(ValidationError) as caught:
            settings.full_clean()
        assert "{netwrk} is not something we can fill in" in \
            caught.value.message_dict["utm_parameters"][0]


@pytest.fixture
def kit_sandbox(world):
    with schema_context(world.acme.client.schema_name):
        channel = Channel.objects.create(name="Acme Sandbox", network="sandbox", handle="@acme")
    return {"schema": world.acme.client.schema_name, "channel": channel,
            "soon": timezone.now().replace(microsecond=0) + dt.timedelta(days=2)}


# --- The same copy already scheduled ----------------------------------------------------------


def test_the_same_copy_on_the_same_channel_is_a_warning(world, kit_sandbox):
    schema, channel = kit_sandbox["schema"], kit_sandbox["channel"]
    soon = kit_sandbox["soon"]
    make_campaign(schema, title="Autumn", posts=[("Autumn blend is back!", [channel], soon,
                                                   None)])
    page = make_campaign(schema, title="Repeat", posts=[
        ("autumn  blend is BACK!", [channel], soon + dt.timedelta(days=1), None),
        ("Something new", [channel], soon + dt.timedelta(days=2), None),
        ("Something new", [channel], soon + dt.timedelta(days=3), None)])
    with schema_context(schema):
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        warnings = copy_already_scheduled(draft.posts.all(), campaign_id=page.pk)
    assert len(warnings) == 2
    assert warnings[0].startswith("Post 1: the same copy is already scheduled on Acme Sandbox "
                                  "by “Autumn”")
    assert warnings[1].startswith("Post 3: the same copy is already scheduled on Acme Sandbox "
                                  "by post 2 of this campaign")


def test_saving_in_the_editor_warns_about_copy_already_scheduled(world, http, kit_sandbox):
    schema, channel = kit_sandbox["schema"], kit_sandbox["channel"]
    when = kit_sandbox["soon"]
    make_campaign(schema, title="Autumn", posts=[("Autumn blend is back!", [channel], when,
                                                   None)])
    with schema_context(schema):
        index = CampaignIndexPage.objects.get()
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    local = (when + dt.timedelta(days=1)).astimezone(LONDON)
    response = editor.post(f"/admin/pages/add/campaigns/campaignpage/{index.pk}/",
                           _campaign_form("Again", [_post("Autumn blend is back!", [channel],
                                                          publish_at=f"{local:%Y-%m-%d %H:%M}")]),
                           follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "the same copy is already scheduled on Acme Sandbox by “Autumn”" in text
    with schema_context(schema):
        assert CampaignPage.objects.filter(title="Again").exists()


def test_the_next_free_slot_is_never_inside_the_clients_approval_lead_time(world, http,
                                                                          slotted):
    """A post offered a slot inside the lead time would be due for the client's approval
    already: the editor's button offers the first slot after it."""
    from approvals.models import ApprovalSettings

    with schema_context(slotted["schema"]):
        channel = Channel.objects.create(name="Acme Every Six Hours", network="sandbox",
                                         handle="@six", posting_slots="Daily 00:00, 06:00, "
                                                                      "12:00, 18:00")
        settings = ApprovalSettings.load()
        settings.due_hours_before_first_post = 0
        settings.save()
        assert next_free_slot([channel]).publish_at <= timezone.now() + dt.timedelta(hours=6)
        settings.due_hours_before_first_post = 72
        settings.save()
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    asked_at = timezone.now()
    response = editor.post("/admin/campaigns/next-slot/", json.dumps(
        {"channels": [channel.pk], "campaign": None, "others": []}),
        content_type="application/json")
    offered = dt.datetime.fromisoformat(response.json()["publish_at"])
    assert offered >= asked_at + dt.timedelta(hours=72)
    assert offered <= timezone.now() + dt.timedelta(hours=72 + 6)  # the first one after it
    with schema_context(slotted["schema"]):
        # an explicit earlier start (the API's ``after``) does not reach inside it either
        assert next_free_slot([channel], after=asked_at).publish_at == offered
