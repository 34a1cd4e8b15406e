"""The outbox: built from exactly what was approved, and changed only in ways staff expect."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.publishing import transitions
from campaigns.publishing.models import Delivery, State
from tests.publishing.conftest import approve, make_campaign

pytestmark = pytest.mark.django_db


def _posts(kit, when=None):
    when = when or kit.soon
    return [("Spring is here ☕ https://acme.example/spring", [kit.sandbox, kit.hook], when,
             kit.image),
            ("Second post", [kit.sandbox], when + dt.timedelta(hours=2), None),
            ("No time yet", [kit.sandbox], None, None)]


def test_approval_creates_one_delivery_per_post_and_channel_from_the_revision(world, kit):
    page = make_campaign(kit.schema, posts=_posts(kit))
    created = approve(kit.schema, page)
    assert len(created) == 3  # 2 channels + 1 channel; the post without a time waits
    rows = list(Delivery.objects.filter(client=world.acme.client).order_by("post_number",
                                                                             "channel_name"))
    assert [(d.post_number, d.channel_name, d.state) for d in rows] == [
        (1, "Acme Hook", "scheduled"), (1, "Acme Sandbox", "scheduled"),
        (2, "Acme Sandbox", "scheduled")]
    first = rows[1]
    assert first.content["text"] == "Spring is here ☕ https://acme.example/spring"
    assert first.content["images"][0]["alt"] == "Alt for Spring is here ☕ https://acme.example" \
                                                "/spring"
    assert first.publish_at == kit.soon and first.next_attempt_at == kit.soon
    assert first.tags == ["coffee"] and first.schema_name == kit.schema
    assert len({d.idempotency_key for d in rows}) == 3
    assert first.events.get().kind == "created"


def test_editing_after_approval_changes_the_outbox_only_where_the_campaign_changed(world, kit):
    from campaigns.models import CampaignPage

    page = make_campaign(kit.schema, posts=_posts(kit))
    approve(kit.schema, page)
    kept = Delivery.objects.get(client=world.acme.client, post_number=2)
    out = Delivery.objects.get(client=world.acme.client, post_number=1, channel_name="Acme Hook")
    Delivery.objects.filter(pk=out.pk).update(state=State.PUBLISHED)
    with schema_context(kit.schema):
        page = CampaignPage.objects.get(pk=page.pk)
        posts = list(page.posts.order_by("sort_order"))
        posts[0].copy = "Spring is here, edited"
        page.posts = [posts[0], posts[1]]  # the third post is dropped
        page.save_revision()
    approve(kit.schema, page)
    rows = {(d.post_number, d.channel_name, d.state): d
            for d in Delivery.objects.filter(client=world.acme.client)}
    assert (2, "Acme Sandbox", "scheduled") in rows and kept.pk in {d.pk for d in rows.values()}
    assert Delivery.objects.get(pk=kept.pk).state == State.SCHEDULED  # unchanged: kept
    # the edited post: the sandbox delivery is replaced, the published one is not sent again
    assert rows[(1, "Acme Sandbox", "cancelled")].events.last().detail.startswith("Replaced")
    assert rows[(1, "Acme Sandbox", "scheduled")].content["text"] == "Spring is here, edited"
    assert Delivery.objects.filter(client=world.acme.client, channel_name="Acme Hook").count() == 1
    assert Delivery.objects.get(pk=out.pk).events.last().kind == "not_resent"


def test_unpublishing_a_campaign_cancels_what_has_not_gone_out(world, kit):
    from campaigns.models import CampaignPage

    page = make_campaign(kit.schema, posts=_posts(kit))
    approve(kit.schema, page)
    Delivery.objects.filter(client=world.acme.client, post_number=2).update(
        state=State.PUBLISHED)
    with schema_context(kit.schema):
        CampaignPage.objects.get(pk=page.pk).unpublish()
    states = sorted(Delivery.objects.filter(client=world.acme.client)
                    .values_list("state", flat=True))
    assert states == ["cancelled", "cancelled", "published"]


def test_a_post_approved_after_its_time_waits_as_failed_instead_of_going_out_late(world, kit):
    late = timezone.now() - dt.timedelta(hours=1)
    page = make_campaign(kit.schema, posts=[("Late", [kit.sandbox], late, None)])
    (delivery,) = approve(kit.schema, page)
    assert delivery.state == State.FAILED and "Approved after its time" in delivery.error
    with schema_context(kit.schema):
        transitions.retry(delivery.pk)
    assert Delivery.objects.get(pk=delivery.pk).state == State.SCHEDULED


def test_moving_an_approved_post_needs_the_brands_permission(world, kit):
    from campaigns.models import PublishingSettings

    page = make_campaign(kit.schema, posts=_posts(kit)[:1])
    delivery = approve(kit.schema, page)[0]
    later = kit.soon + dt.timedelta(days=1)
    with schema_context(kit.schema):
        with pytest.raises(ValidationError, match="needs the client's approval"):
            transitions.reschedule(delivery.pk, later)
        settings = PublishingSettings.load()
        settings.staff_may_move_approved_posts = True
        settings.save()
        with pytest.raises(ValidationError, match="future"):
            transitions.reschedule(delivery.pk, timezone.now() - dt.timedelta(minutes=1))
        moved = transitions.reschedule(delivery.pk, later, user=world.acme.users["account_manager"])
    assert moved.publish_at == later and moved.next_attempt_at == later
    assert moved.events.last().actor == world.acme.users["account_manager"]
    Delivery.objects.filter(pk=delivery.pk).update(state=State.PUBLISHED)
    with schema_context(kit.schema), pytest.raises(ValidationError, match="published"):
        transitions.reschedule(delivery.pk, later)


def test_another_brands_delivery_cannot_be_touched_from_this_brand(world, kit):
    page = make_campaign(kit.schema, posts=_posts(kit)[:1])
    delivery = approve(kit.schema, page)[0]
    with schema_context(world.globex.client.schema_name):
        with pytest.raises(Delivery.DoesNotExist):
            transitions.cancel(delivery.pk)
    assert Delivery.objects.get(pk=delivery.pk).state == State.SCHEDULED


def test_a_post_recreated_with_a_new_id_is_not_sent_again(world, kit):
    """Wagtail recreates an inline post with a new id when an edit starts from a revision saved
    before the publish (wagtail#1853): what went out is not sent again."""
    from campaigns.models import CampaignPage, Post

    page = make_campaign(kit.schema, posts=_posts(kit)[1:2])
    (delivery,) = approve(kit.schema, page)
    Delivery.objects.filter(pk=delivery.pk).update(state=State.PUBLISHED)
    with schema_context(kit.schema):
        page = CampaignPage.objects.get(pk=page.pk)
        old = page.posts.get()
        page.posts = [Post(copy=old.copy, channels=[kit.sandbox], publish_at=old.publish_at),
                      Post(copy="A new one", channels=[kit.sandbox],
                           publish_at=old.publish_at)]
        page.save_revision()
    created = approve(kit.schema, page)
    assert [d.content["text"] for d in created] == ["A new one"]


def test_re_approval_keeps_a_time_staff_moved(world, kit):
    from campaigns.models import CampaignPage, PublishingSettings

    page = make_campaign(kit.schema, posts=_posts(kit)[:2])
    approve(kit.schema, page)
    second = Delivery.objects.get(client=world.acme.client, post_number=2)
    later = kit.soon + dt.timedelta(days=2)
    with schema_context(kit.schema):
        settings = PublishingSettings.load()
        settings.staff_may_move_approved_posts = True
        settings.save()
        transitions.reschedule(second.pk, later)
        page = CampaignPage.objects.get(pk=page.pk)
        posts = list(page.posts.order_by("sort_order"))
        posts[0].copy = "First post, edited"
        page.posts = posts
        page.save_revision()
    approve(kit.schema, page)
    second.refresh_from_db()
    assert second.state == State.SCHEDULED and second.publish_at == later


def test_the_new_time_must_exist_in_the_brands_zone(world, kit, http):
    from campaigns.models import PublishingSettings

    page = make_campaign(kit.schema, posts=_posts(kit)[:1])
    delivery = approve(kit.schema, page)[0]
    with schema_context(kit.schema):
        settings = PublishingSettings.load()
        settings.staff_may_move_approved_posts = True
        settings.save()
    manager = http(world.acme.host, world.acme.users["account_manager"])
    for value, message in [("2030-03-31T01:30", "does not exist"),
                           ("2030-10-27T01:30", "happens twice"),
                           ("next tuesday", "Give the new time as date and time")]:
        html = manager.post(f"/admin/publishing/{delivery.pk}/reschedule/",
                            {"publish_at": value}, follow=True).content.decode()
        assert message in html, value
    assert Delivery.objects.get(pk=delivery.pk).publish_at == kit.soon
    manager.post(f"/admin/publishing/{delivery.pk}/reschedule/",
                 {"publish_at": "2030-07-01T09:30"})
    moved = Delivery.objects.get(pk=delivery.pk).publish_at
    assert moved == dt.datetime(2030, 7, 1, 8, 30, tzinfo=dt.UTC)  # London summer time
