"""Schemathesis against the brand API and the agency API, as an integrator's fuzzer meets them:
every check, data that fits the document and data that does not, and sequences that follow the
document's links (create a campaign, read it, change it with its ETag, submit it, follow it).

Each document is built at collection time (Schemathesis needs it to generate the tests) by the
same generator that serves ``/api/v1/schema/``; the first tests check that the served ones are
these very documents. ``schemathesis.toml`` (at the root) holds the run's settings: every check,
both kinds of data, and the few rules the document can only state in words.

Operations on one object get real ids for data that fits the document (every kind of object of
the brand API, a failed delivery to retry, a client and its members on the agency API), so their
logic runs instead of answering 404 every time (see ``_made_real``)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.file_samples import FILE_SAMPLES
from werkzeug.test import Client as WsgiClient

from agency.portal.api import PORTAL_SCHEMA_SETTINGS
from tenants.models import Role
from tests.api.conftest import make_key
from tests.api.test_portal_api import agency_key
from tests.conftest import PORTAL
from tests.factories import MemberFactory, pass_sensitivity_review, submit
from tests.publishing.conftest import approve, kit, make_campaign  # noqa: F401 - fixture

CONFIG = schemathesis.Config.from_path(Path(__file__).resolve().parents[2] / "schemathesis.toml")


def _document(urlconf: str) -> dict:
    return json.loads(json.dumps(SchemaGenerator(urlconf=urlconf).get_schema(
        request=None, public=True), default=str))


BRAND_DOCUMENT = _document("agency.urls_tenant")
with patched_settings(PORTAL_SCHEMA_SETTINGS):
    AGENCY_DOCUMENT = _document("agency.urls_public")
brand_api = schemathesis.openapi.from_dict(BRAND_DOCUMENT, config=CONFIG)
agency_api = schemathesis.openapi.from_dict(AGENCY_DOCUMENT, config=CONFIG)
# Requests go to the application in this process (inside the test's transaction), checks'
# own probes too.
brand_api.app = agency_api.app = get_wsgi_application()

# Uploads are checked by content: what fits the document is a real file of a declared kind
# (the document names them in each upload's `encoding`).
for media_type, extension in (("image/png", "png"), ("image/jpeg", "jpg"), ("image/gif", "gif"),
                              ("image/webp", "webp")):
    schemathesis.openapi.media_type(media_type, st.just(FILE_SAMPLES[extension]))
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free"
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm"
for media_type in ("video/mp4", "video/x-m4v", "video/quicktime"):
    schemathesis.openapi.media_type(media_type, st.just(MP4))
schemathesis.openapi.media_type("video/webm", st.just(WEBM))

class Key:
    """The test's API key, sent as an integrator sends it (so the checks know it is a real
    one, not a generated one, and probe the operation without it and with a wrong one).
    The coverage phase's cases are made when the tests are collected, before the test's key
    exists: they carry a stand-in, which ``_with_real_key`` swaps for the key when sent."""

    STAND_IN = "key-of-the-running-test"
    raw: str | None = None

    def get(self, case, context):
        return Key.raw or Key.STAND_IN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


brand_api.auth(refresh_interval=None)(Key)
agency_api.auth(refresh_interval=None)(Key)

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
STATEFUL = settings(max_examples=25, stateful_step_count=6, deadline=None, derandomize=True,
                    database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def in_process(db, settings):
    settings.API_RATE = "1000000/min"  # the fuzzer is not what the throttle is tested with
    # As Django's test client does: a request must not close the test's connection (and its
    # transaction) when it finishes.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class RealIds:
    """Ids of objects that exist, made again when a DELETE took them, for the operations on
    one object (which would otherwise only ever answer 404)."""

    def __init__(self, world, host: str):
        self.world, self.host = world, host

    def etag(self, path: str) -> str | None:
        """The ETag a read of ``path`` gives now (what an integrator sends in If-Match)."""
        # Straight to the application (Django's test client would reconnect the signal that
        # closes the test's database connection after each request).
        response = WsgiClient(brand_api.app).get(path, headers={
            "Host": self.host, "Authorization": f"Bearer {Key.raw}"})
        return response.headers.get("ETag")

    def for_path(self, path: str) -> dict:
        """Real values for the path's parameters."""
        raise NotImplementedError

    def adjust(self, case) -> None:
        """What else an integrator's request would have right (a real id in the body)."""


class BrandIds(RealIds):
    def __init__(self, world, kit):  # noqa: F811 - the fixture
        super().__init__(world, world.acme.host)
        self.kit, self.schema = kit, world.acme.client.schema_name

    def for_path(self, path: str) -> dict:
        name = "campaign_pk" if "{campaign_pk}" in path else "id"
        real = self.object_for(path)
        return {} if real is None else {name: real}

    def adjust(self, case) -> None:
        query = case.query or {}
        body = case.body if isinstance(case.body, dict) else {}
        path = case.operation.path
        if path == "/api/v1/calendar/" and {"start", "end"} <= query.keys():
            start = parse_datetime(str(query["start"]))
            if start is not None and start.year < 9999:
                query["end"] = (start + dt.timedelta(days=1)).isoformat()
        if path.startswith("/api/v1/webhooks/") and isinstance(body.get("url"), str):
            parts = urlsplit(body["url"])
            body["url"] = urlunsplit((parts.scheme, "localhost", parts.path, parts.query, ""))
        if path == "/api/v1/review-links/" and "campaign_id" in body:
            with schema_context(self.schema):
                body["campaign_id"] = self.awaiting_client().pk
                if "approvers" in body:
                    body["approvers"] = [self.approver().pk]

    def object_for(self, path: str) -> int | None:
        with schema_context(self.schema):
            if path.startswith("/api/v1/webhooks/{id}"):
                return self.endpoint()
            if path == "/api/v1/webhook-deliveries/{id}/replay/":
                return self.webhook_delivery(failed=True)
            if path.startswith("/api/v1/webhook-deliveries/{id}"):
                return self.webhook_delivery()
            if path == "/api/v1/deliveries/{id}/retry/":
                return self.delivery(failed=True)
            if path.startswith("/api/v1/deliveries/{id}"):
                return self.delivery()
            if path.startswith(("/api/v1/campaigns/{id}", "/api/v1/campaigns/{campaign_pk}")):
                return self.campaign()
            if path.startswith("/api/v1/channels/{id}"):
                return self.kit.sandbox.pk
            if path.startswith("/api/v1/media/{id}"):
                return self.kit.image.pk
            if path.startswith("/api/v1/videos/{id}"):
                return self.video()
            if path.startswith("/api/v1/review-links/{id}"):
                return self.review_link()
        return None

    def video(self) -> int:
        from django.core.files.base import ContentFile
        from wagtail.documents import get_document_model

        Document = get_document_model()
        video = Document.objects.filter(file__endswith=".mp4").order_by("id").first()
        if video is None:
            video = Document.objects.create(title="Fuzzed clip",
                                            file=ContentFile(MP4, name="clip.mp4"))
        return video.pk

    def approver(self):
        from approvals.models import ApproverContact

        contact, _ = ApproverContact.objects.update_or_create(
            email="fuzz@acme.example", defaults={"name": "Fuzz Client", "active": True})
        return contact

    def awaiting_client(self):
        """A campaign waiting for the client's approval: its sensitivity review passed."""
        from approvals.models import ClientApprovalTask
        from campaigns.models import CampaignPage

        for page in CampaignPage.objects.filter(title="Fuzzed review"):
            state = page.current_workflow_task_state
            if state is not None and isinstance(state.task.specific, ClientApprovalTask):
                return page
        self.approver()
        page = make_campaign(self.schema, title="Fuzzed review")
        submit(page, self.world.acme.users[Role.EDITOR])
        pass_sensitivity_review(page, self.world.acme.users[Role.SENSITIVITY_REVIEWER])
        return page

    def review_link(self) -> int:
        """A link sent to a client approver and not yet decided, withdrawn or closed."""
        from wagtail.models import TaskState

        from approvals.links import issue_links
        from approvals.models import ReviewLink

        link = ReviewLink.objects.filter(decided_at=None, revoked_at=None,
                                         closed_at=None).order_by("id").first()
        if link is None:
            state = TaskState.objects.get(pk=self.awaiting_client().current_workflow_task_state.pk)
            ((link, _),) = issue_links(state, state.task.specific, [self.approver()])
        return link.pk

    def endpoint(self) -> int:
        from agency.webhooks.models import WebhookEndpoint

        endpoint = WebhookEndpoint.objects.order_by("id").first()
        if endpoint is None:
            endpoint = WebhookEndpoint(url="https://hooks.example.com/agency",
                                       events=["campaign.approved"])
            endpoint.set_secret("whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS1mdXp6ZXI=")
            endpoint.save()
        return endpoint.pk

    def webhook_delivery(self, *, failed: bool = False) -> int:
        """A delivery of a test event; ``failed``: one the receiver refused (replayable)."""
        from agency.webhooks import services
        from agency.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint

        state = DeliveryState.FAILED if failed else DeliveryState.PENDING
        delivery = WebhookDelivery.objects.filter(state=state).order_by("id").first()
        if delivery is None:
            endpoint = WebhookEndpoint.objects.get(pk=self.endpoint())
            delivery = services.endpoint_test(endpoint=endpoint, user=None)
            WebhookDelivery.objects.filter(pk=delivery.pk).update(state=state)
        # Switched on (the fuzzer may have switched it off), so a replay can go out.
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(active=True)
        return delivery.pk

    def delivery(self, *, failed: bool = False) -> int:
        """A scheduled delivery; ``failed``: one the network refused (retryable)."""
        from campaigns.publishing.models import Delivery, State

        state = State.FAILED if failed else State.SCHEDULED
        delivery = Delivery.objects.filter(client=self.world.acme.client,
                                           state=state).order_by("id").first()
        if delivery is None:
            page = make_campaign(self.schema, title="Fuzzed deliveries", posts=[
                ("Out soon", [self.kit.sandbox],
                 timezone.now() + dt.timedelta(days=2), None)])
            (delivery,) = approve(self.schema, page)
            Delivery.objects.filter(pk=delivery.pk).update(state=state)
        return delivery.pk

    def campaign(self) -> int:
        from campaigns.models import CampaignPage

        page = CampaignPage.objects.order_by("-id").first()
        if page is None:
            page = make_campaign(self.schema, title="Fuzzed campaign")
        return page.pk


class AgencyIds(RealIds):
    """Acme's short name, and one of its members besides the key's own person (added again
    when a DELETE removed the last)."""

    def __init__(self, world):
        super().__init__(world, PORTAL)

    def for_path(self, path: str) -> dict:
        if "{slug}" not in path:
            return {}
        if "{user_id}" not in path:
            return {"slug": self.world.acme.client.slug}
        return {"slug": self.world.acme.client.slug, "user_id": self.member()}

    def member(self) -> int:
        from tenants.models import Membership

        client = self.world.acme.client
        membership = (Membership.objects.filter(client=client)
                      .exclude(user=self.world.agency_admin).order_by("id").first())
        if membership is None:
            membership = MemberFactory(client=client, user=self.world.acme.users[Role.EDITOR],
                                       role=Role.EDITOR)
        return membership.user_id


@dataclass
class Target:
    """An API under fuzzing: where it is served and what fills its paths."""

    base_url: str
    ids: RealIds


@pytest.fixture
def brand(world, kit, in_process):  # noqa: F811 - the fixture
    Key.raw = make_key(world.acme)
    yield Target(base_url=f"http://{world.acme.host}", ids=BrandIds(world, kit))
    Key.raw = None


@pytest.fixture
def agency(world, in_process):
    Key.raw = agency_key(world.agency_admin)
    yield Target(base_url=f"http://{PORTAL}", ids=AgencyIds(world))
    Key.raw = None


def _with_real_key(case) -> None:
    if (case.headers or {}).get("Authorization") == f"Bearer {Key.STAND_IN}":
        case.headers["Authorization"] = f"Bearer {Key.raw}"


def _made_real(case, ids: RealIds) -> None:
    """For data that fits the document, what an integrator would send: objects that exist
    (with the ETag they have now), a calendar range the server serves, a webhook address that
    resolves (tests allow local ones), so the operation's logic runs rather than its 404 or its
    400 for a rule the document can only state in words."""
    _with_real_key(case)
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    real = ids.for_path(case.operation.path)
    if real and real.keys() <= (case.path_parameters or {}).keys():
        case.path_parameters.update(real)
        if "If-Match" in (case.headers or {}):
            path = case.operation.path.format(**case.path_parameters)
            case.headers["If-Match"] = ids.etag(path) or case.headers["If-Match"]
    ids.adjust(case)


@pytest.mark.django_db
def test_the_served_documents_are_the_ones_fuzzed(world, api):
    served = api(key=None).get("/api/v1/schema/?format=json")
    assert served.status_code == 200
    assert served.json()["paths"].keys() == BRAND_DOCUMENT["paths"].keys()
    assert served.json()["components"] == BRAND_DOCUMENT["components"]
    portal = api(key=None).get("/api/v1/schema/?format=json", HTTP_HOST=PORTAL)
    assert portal.status_code == 200
    assert portal.json()["paths"] == AGENCY_DOCUMENT["paths"]


@brand_api.parametrize()
@SETTINGS
@pytest.mark.django_db
def test_every_brand_operation_keeps_its_documented_contract(case, brand):
    _made_real(case, brand.ids)
    case.call_and_validate(base_url=brand.base_url)


@agency_api.parametrize()
@settings(SETTINGS, max_examples=6)  # provisioning a client takes about a second
@pytest.mark.django_db
def test_every_agency_operation_keeps_its_documented_contract(case, agency):
    _made_real(case, agency.ids)
    case.call_and_validate(base_url=agency.base_url)


def _run_statefully(schema, target: Target, run_settings: settings) -> None:
    class Sequences(schema.as_state_machine()):
        # Each sequence starts from the same data, so Hypothesis can replay one to shrink it
        # (the answers, and so the links it may follow, would differ otherwise).
        def setup(self):
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def step(self, input):
            # A step that follows a link has its ids from the answer before; a first step
            # gets real ones.
            if input.transition is None:
                _made_real(input.case, target.ids)
            else:
                _with_real_key(input.case)
            return super().step(input)

        def get_call_kwargs(self, case):
            return {"base_url": target.base_url}

    Sequences.run(settings=run_settings)


@pytest.mark.django_db
def test_brand_sequences_through_links_keep_the_contract(brand):
    _run_statefully(brand_api, brand, STATEFUL)


@pytest.mark.django_db
def test_agency_sequences_through_links_keep_the_contract(agency):
    _run_statefully(agency_api, agency, settings(STATEFUL, max_examples=8))
