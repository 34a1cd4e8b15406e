"""Events fire when they happen: a campaign submitted, approved by the client through a review
link, sent back with a change request and resubmitted; a post published or failed by the
publishing engine. Each carries the same fields as the API's resource."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.webhooks.models import WebhookDelivery
from campaigns.publishing import transitions, worker
from campaigns.publishing.models import Delivery
from campaigns.publishing.transitions import Outcome
from tenants.models import Role
from tests.conftest import HostClient
from tests.factories import CampaignFactory, PostFactory, approve, pass_sensitivity_review, submit
from tests.webhooks.conftest import send_due

pytestmark = pytest.mark.django_db


def _events(world) -> list[tuple[str, dict]]:
    with schema_context(world.acme.client.schema_name):
        return [(d.event, d.payload) for d in WebhookDelivery.objects.order_by("id")]


@dataclass
class InReview:
    page: object
    revision: object
    token: str  # the client's review link


@pytest.fixture
def in_review(world, endpoint, django_capture_on_commit_callbacks) -> InReview:
    """A campaign submitted by its editor and passed by the sensitivity reviewer: the client
    has review links."""
    from approvals.models import ApproverContact

    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        ApproverContact.objects.create(name="Jo Client", email="jo@acme.example")
        page = CampaignFactory(title="Winter roast", goal="Sell the winter roast", author=editor,
                               posts=[PostFactory(copy="Winter roast is here", publish_at=(
                                   timezone.now() + dt.timedelta(days=30)))])
        with django_capture_on_commit_callbacks(execute=True):
            submit(page, editor)
        with django_capture_on_commit_callbacks(execute=True):
            pass_sensitivity_review(page, world.acme.users[Role.SENSITIVITY_REVIEWER])
    connection.set_schema_to_public()
    token = re.search(r"/review/([\w-]+)/", next(
        m for m in mail.outbox if m.to == ["jo@acme.example"]).body).group(1)
    return InReview(page=page, revision=page.latest_revision, token=token)


def test_submitting_a_campaign_sends_campaign_submitted(world, in_review, receiver):
    page, revision = in_review.page, in_review.revision
    (event, payload), = _events(world)  # the reviewer's approval is no event of its own
    assert event == "campaign.submitted"
    assert payload["data"] == {"id": page.pk, "title": "Winter roast",
                               "revision_id": revision.pk, "status": "in_review"}
    assert send_due(world.acme.client.schema_name) == ["delivered"]
    assert receiver.verified == [True] and receiver.payloads[0] == payload


def test_the_clients_approval_sends_campaign_approved(world, in_review, api_client):
    done = HostClient(world.acme.host).post(f"/review/{in_review.token}/",
                                            {"decision": "approved"})
    assert done.status_code == 200
    events = _events(world)
    assert [e for e, _ in events] == ["campaign.submitted", "campaign.approved"]
    data = events[1][1]["data"]
    assert data == {"id": in_review.page.pk, "title": "Winter roast",
                    "revision_id": in_review.revision.pk, "status": "approved"}
    # The same fields, with the same values, as the API's campaign
    shown = api_client.send("GET", f"/api/v1/campaigns/{data['id']}/").json()
    assert {name: shown[name] for name in data} == data


def test_a_change_request_sends_changes_requested_and_a_resubmission_submitted(
        world, in_review, django_capture_on_commit_callbacks):
    from campaigns.models import CampaignPage
    from campaigns.services import campaign_submit

    done = HostClient(world.acme.host).post(f"/review/{in_review.token}/", {
        "decision": "changes_requested", "comment": "Add the price, please."})
    assert done.status_code == 200
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(pk=in_review.page.pk)
        page.title = "Winter roast, £4"
        edited = page.save_revision(user=world.acme.users[Role.EDITOR])
        campaign_submit(campaign=page, user=world.acme.users[Role.EDITOR])
    events = _events(world)
    assert [e for e, _ in events] == ["campaign.submitted", "campaign.changes_requested",
                                      "campaign.submitted"]
    assert events[1][1]["data"] == {"id": page.pk, "title": "Winter roast",
                                    "revision_id": in_review.revision.pk,
                                    "status": "changes_requested"}
    assert events[2][1]["data"] == {"id": page.pk, "title": "Winter roast, £4",
                                    "revision_id": edited.pk, "status": "in_review"}
    assert len({payload["id"] for _, payload in events}) == 3  # every event its own id


@pytest.fixture
def api_client(world):
    from tests.api.conftest import ApiClient, make_key

    return ApiClient(world.acme.host, make_key(world.acme))


def _due(kit, channels):
    page = CampaignFactory(brand=kit.schema, title="Spring launch", goal="Launch spring",
                           tags=("coffee",), posts=[PostFactory(
                               copy="Spring is here", channels=channels,
                               publish_at=timezone.now() + dt.timedelta(hours=1))])
    deliveries = approve(page, brand=kit.schema)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now())
    return deliveries


def _delivery_fields(api_client, delivery_id: int, names) -> dict:
    shown = api_client.send("GET", f"/api/v1/deliveries/{delivery_id}/").json()
    return {name: shown[name] for name in names}


def test_a_published_post_sends_delivery_published(
        world, kit, endpoint, receiver, api_client, django_capture_on_commit_callbacks):
    (delivery,) = _due(kit, [kit.sandbox])
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [worker.deliver(pk, claim) for pk, claim in transitions.claim_due()]
    assert outcomes == [Outcome.PUBLISHED]
    connection.set_schema_to_public()  # the engine works from the public schema
    (event, payload), = [e for e in _events(world) if e[0].startswith("delivery.")]
    assert event == "delivery.published"
    data = payload["data"]
    assert data["id"] == delivery.pk and data["state"] == "published"
    assert data["network"] == "sandbox" and data["remote_url"]
    assert data == _delivery_fields(api_client, delivery.pk, data)
    send_due(world.acme.client.schema_name)
    assert receiver.verified and all(receiver.verified)
    assert "delivery.published" in [p["event"] for p in receiver.payloads]


def test_a_failed_post_sends_delivery_failed(world, kit, endpoint, api_client,
                                             django_capture_on_commit_callbacks):
    from campaigns.models import Channel

    with schema_context(kit.schema):
        Channel.objects.filter(pk=kit.sandbox.pk).update(active=False)
    (delivery,) = _due(kit, [kit.sandbox])
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [worker.deliver(pk, claim) for pk, claim in transitions.claim_due()]
    assert outcomes == [Outcome.FAILED]
    (event, payload), = [e for e in _events(world) if e[0].startswith("delivery.")]
    assert event == "delivery.failed"
    data = payload["data"]
    assert data["state"] == "failed" and "switched off" in data["error"]
    assert data["campaign_id"] == delivery.page_id and data["post_number"] == 1
    assert data == _delivery_fields(api_client, delivery.pk, data)


def test_another_brands_events_do_not_reach_acmes_endpoints(world, endpoint,
                                                            django_capture_on_commit_callbacks):
    from agency.webhooks.services import event_emit

    with schema_context(world.globex.client.schema_name):
        assert event_emit(event="campaign.approved", payload={"id": 1}) == []
    assert _events(world) == []


def test_staff_confirming_an_unknown_outcome_sends_delivery_published(
        world, kit, endpoint, django_capture_on_commit_callbacks):
    from campaigns.publishing.models import State

    (delivery,) = _due(kit, [kit.sandbox])
    Delivery.objects.filter(pk=delivery.pk).update(state=State.UNCONFIRMED)
    with schema_context(kit.schema), django_capture_on_commit_callbacks(execute=True):
        transitions.confirm(delivery.pk, "https://example.social/@acme/1",
                       user=world.acme.users[Role.ACCOUNT_MANAGER])
    (event, payload), = [e for e in _events(world) if e[0].startswith("delivery.")]
    assert event == "delivery.published"
    assert payload["data"]["remote_url"] == "https://example.social/@acme/1"
