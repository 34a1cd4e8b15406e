"""An integrator's journey with a key and the OpenAPI document alone: upload an image, draft a
campaign with posts, submit it, follow its review, see its deliveries and audit trail."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from approvals.models import ApproverContact
from campaigns.publishing import transitions, worker
from campaigns.publishing.models import Delivery
from campaigns.publishing.transitions import Outcome
from tenants.models import Role
from tests.conftest import HostClient
from tests.factories import ChannelFactory, pass_sensitivity_review
from tests.images import png_bytes
from tests.webhooks.conftest import send_due

pytestmark = pytest.mark.django_db


@dataclass
class Setup:
    channel: object  # Acme's sandbox, where the journey's posts go


@pytest.fixture
def setup(world) -> Setup:
    """Acme with two client approvers and a sandbox channel."""
    with schema_context(world.acme.client.schema_name):
        for name, email in [("Jo Client", "jo@acme.example"), ("Sam Client", "sam@acme.example")]:
            ApproverContact.objects.create(name=name, email=email)
    return Setup(channel=ChannelFactory(brand=world.acme, name="Acme Feed", handle="@acme"))


def _reviewer_approves(world, campaign_id, capture):
    from campaigns.models import CampaignPage

    reviewer = world.acme.users[Role.SENSITIVITY_REVIEWER]
    with schema_context(world.acme.client.schema_name), capture(execute=True):
        pass_sensitivity_review(CampaignPage.objects.get(pk=campaign_id), reviewer)


def test_draft_submit_review_approve_and_deliver(world, api, setup, receiver,
                                                 django_capture_on_commit_callbacks):
    client = api()
    hook = client.send("POST", "/api/v1/webhooks/", {
        "url": receiver.url, "description": "Our CRM",
        "events": ["campaign.submitted", "campaign.approved", "delivery.published"]})
    assert hook.status_code == 201, hook.content
    receiver.secret = hook.json()["secret"]  # shown this once; the receiver checks signatures
    upload = client.post("/api/v1/media/", {
        "file": SimpleUploadedFile("cup.png", png_bytes(), content_type="image/png"),
        "title": "Cup", "alt_text": "A steaming cup"})
    assert upload.status_code == 201, upload.content
    image = upload.json()
    assert image["alt_text"] == "A steaming cup" and image["width"] == 64

    when = (timezone.now() + dt.timedelta(days=10)).replace(microsecond=0)
    created = client.send("POST", "/api/v1/campaigns/", {
        "title": "Spring roast", "goal": "Launch",
        "posts": [{"copy": "Spring roast is here", "channels": [setup.channel.pk],
                   "publish_at": when.isoformat(),
                   "media": [{"image": image["id"], "alt_text": "A steaming cup"}]},
                  {"copy": "Second post", "channels": [setup.channel.pk],
                   "publish_at": (when + dt.timedelta(hours=2)).isoformat()}]})
    assert created.status_code == 201, created.content
    campaign = created.json()
    assert campaign["posts"][0]["media"] == [{"image": image["id"],
                                              "alt_text": "A steaming cup"}]
    url = created["Location"]

    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.send("POST", f"{url}submit/")
    assert submitted.status_code == 202, submitted.content
    assert submitted.json()["status"] == "in_review"
    assert client.send("POST", f"{url}submit/").status_code == 409  # already in review
    listed = client.send("GET", "/api/v1/campaigns/?status=in_review").json()["results"]
    assert campaign["id"] in [c["id"] for c in listed]

    _reviewer_approves(world, campaign["id"], django_capture_on_commit_callbacks)
    links = client.send("GET", f"/api/v1/review-links/?campaign={campaign['id']}").json()
    assert {row["approver"]["email"] for row in links["results"]} == {"jo@acme.example",
                                                                      "sam@acme.example"}
    assert all(row["status"] == "sent" for row in links["results"])
    sam = next(r for r in links["results"] if r["approver"]["email"] == "sam@acme.example")
    revoked = client.send("POST", f"/api/v1/review-links/{sam['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "withdrawn"
    assert client.send("POST", f"/api/v1/review-links/{sam['id']}/revoke/").status_code == 409

    token = next(re.search(r"/review/([\w-]+)/", m.body).group(1) for m in mail.outbox
                 if m.to == ["jo@acme.example"])
    with django_capture_on_commit_callbacks(execute=True):
        decided = HostClient(world.acme.host).post(f"/review/{token}/",
                                                   {"decision": "approved"})
    assert decided.status_code == 200
    status = client.send("GET", url).json()
    assert status["status"] == "approved" and status["approved_at"]
    progress = client.send("GET", f"{url}status/").json()
    assert [(s["name"], s["status"]) for s in progress["steps"]] == [
        ("Sensitivity review", "approved"), ("Client approval", "approved")]
    assert progress["workflow_status"] == "approved"

    deliveries = client.send("GET", f"/api/v1/deliveries/?campaign={campaign['id']}").json()
    rows = deliveries["results"]
    assert [(d["post_number"], d["state"]) for d in rows] == [(1, "scheduled"),
                                                              (2, "scheduled")]
    assert rows[0]["publish_at"] == when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    cancelled = client.send("POST", f"/api/v1/deliveries/{rows[1]['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    refused = client.send("POST", f"/api/v1/deliveries/{rows[1]['id']}/retry/")
    assert refused.status_code == 409
    assert "only a failed or unconfirmed post" in refused.json()["detail"]
    newest_first = client.send("GET", f"/api/v1/deliveries/?campaign={campaign['id']}"
                                      "&ordering=-publish_at").json()["results"]
    assert [d["post_number"] for d in newest_first] == [2, 1]
    only_scheduled = client.send("GET", "/api/v1/deliveries/?state=scheduled&campaign="
                                        f"{campaign['id']}").json()["results"]
    assert [d["id"] for d in only_scheduled] == [rows[0]["id"]]

    # The post's time comes: the engine publishes it, and the integrator hears of each step.
    Delivery.objects.filter(pk=rows[0]["id"]).update(next_attempt_at=timezone.now(),
                                                     publish_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [worker.deliver(pk, claim) for pk, claim in transitions.claim_due()]
    assert outcomes == [Outcome.PUBLISHED]
    send_due(world.acme.client.schema_name)
    assert receiver.verified and all(receiver.verified)
    events = [(p["event"], p["data"]["id"]) for p in receiver.payloads]
    assert events == [("campaign.submitted", campaign["id"]),
                      ("campaign.approved", campaign["id"]),
                      ("delivery.published", rows[0]["id"])]
    published = client.send("GET", f"/api/v1/deliveries/{rows[0]['id']}/").json()
    assert published["state"] == "published" and published["remote_url"]
    assert receiver.payloads[-1]["data"]["remote_url"] == published["remote_url"]

    audit = client.send("GET", f"/api/v1/campaigns/{campaign['id']}/audit/").json()["results"]
    actions = [a["action"] for a in audit]
    assert "wagtail.workflow.start" in actions
    assert "approvals.links_issued" in actions and "approvals.link_revoked" in actions
    assert "approvals.client_approved" in actions
    assert all(a["at"].endswith("Z") for a in audit)


def test_issuing_links_needs_the_client_step_and_the_approve_scope(world, api, setup):
    client = api()
    campaign = client.send("POST", "/api/v1/campaigns/", {"title": "Not yet"}).json()
    response = client.send("POST", "/api/v1/review-links/", {"campaign_id": campaign["id"]})
    assert response.status_code == 409
    assert "not waiting for the client" in response.json()["detail"]
    writer = api(scopes=("read", "write"))
    assert writer.send("POST", "/api/v1/review-links/",
                       {"campaign_id": campaign["id"]}).status_code == 403


def test_an_editor_key_cannot_change_deliveries(world, api):
    editor = api(role=Role.EDITOR)
    assert editor.send("POST", "/api/v1/deliveries/1/cancel/").status_code in (403, 404)


def test_an_upload_that_is_not_an_image_is_refused_with_the_reason(world, api):
    response = api().post("/api/v1/media/", {
        "file": SimpleUploadedFile("notes.png", b"not an image", content_type="image/png")})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "file"


def test_changes_requested_then_fixed_and_resubmitted(world, api, setup,
                                                     django_capture_on_commit_callbacks):
    client = api()
    created = client.send("POST", "/api/v1/campaigns/", {
        "title": "Autumn blend", "posts": [{"copy": "Autumn blend is here",
                                            "channels": [setup.channel.pk]}]})
    url = created["Location"]
    client.send("POST", f"{url}submit/")
    _reviewer_approves(world, created.json()["id"], django_capture_on_commit_callbacks)
    token = next(re.search(r"/review/([\w-]+)/", m.body).group(1) for m in mail.outbox
                 if m.to == ["jo@acme.example"] and "Autumn blend" in m.subject)
    HostClient(world.acme.host).post(f"/review/{token}/", {
        "decision": "changes_requested", "comment": "Say 'blend' less.",
        "post_1": "Mention the price."})
    progress = client.send("GET", f"{url}status/").json()
    assert progress["status"] == "changes_requested"
    client_step = progress["steps"][-1]
    assert client_step["status"] == "rejected" and "Mention the price." in client_step["comment"]

    current = client.send("GET", url)
    fixed = client.send("PATCH", url, {"posts": [{"copy": "Autumn blend, now £4",
                                                  "channels": [setup.channel.pk]}]},
                        **{"If-Match": current["ETag"]})
    assert fixed.status_code == 200, fixed.content
    resubmitted = client.send("POST", f"{url}submit/")
    assert resubmitted.status_code == 202 and resubmitted.json()["status"] == "in_review"
