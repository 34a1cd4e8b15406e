"""Schemathesis against the brand API and the agency API, as an integrator's fuzzer meets them:
every check, data that fits the document and data that does not, and sequences that follow the
document's links (create a campaign, read it, change it with its ETag, submit it, follow it).

Each document is built at collection time (Schemathesis needs it to generate the tests) by the
same generator that serves ``/api/v1/schema/``; the first tests check that the served ones are
these very documents. ``schemathesis.toml`` (at the root) holds the run's settings: every check,
both kinds of data, and the few rules the document can only state in words.

Operations on one object get real ids for data that fits the document (an endpoint, a
delivery, a campaign), so their logic runs instead of answering 404 every time."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.file_samples import FILE_SAMPLES
from werkzeug.test import Client as WsgiClient

from agency.portal.api import PORTAL_SCHEMA_SETTINGS
from tests.api.conftest import make_key
from tests.api.test_portal_api import agency_key
from tests.conftest import PORTAL
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
    one, not a generated one, and probe the operation without it and with a wrong one)."""

    raw: str | None = None

    def get(self, case, context):
        return Key.raw

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

    def __init__(self, world, kit, key: str):  # noqa: F811 - the fixture
        self.world, self.kit, self.schema = world, kit, world.acme.client.schema_name
        self.key = key

    def etag(self, path: str) -> str | None:
        """The ETag a read of ``path`` gives now (what an integrator sends in If-Match)."""
        # Straight to the application (Django's test client would reconnect the signal that
        # closes the test's database connection after each request).
        response = WsgiClient(brand_api.app).get(path, headers={
            "Host": self.world.acme.host, "Authorization": f"Bearer {self.key}"})
        return response.headers.get("ETag")

    def for_path(self, path: str) -> int | None:
        with schema_context(self.schema):
            if path.startswith("/api/v1/webhooks/{id}"):
                return self.endpoint()
            if path.startswith("/api/v1/webhook-deliveries/{id}"):
                return self.webhook_delivery()
            if path.startswith("/api/v1/deliveries/{id}"):
                return self.delivery()
            if path.startswith(("/api/v1/campaigns/{id}", "/api/v1/campaigns/{campaign_pk}")):
                return self.campaign()
        return None

    def endpoint(self) -> int:
        from agency.webhooks.models import WebhookEndpoint

        endpoint = WebhookEndpoint.objects.order_by("id").first()
        if endpoint is None:
            endpoint = WebhookEndpoint(url="https://hooks.example.com/agency",
                                       events=["campaign.approved"])
            endpoint.set_secret("whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS1mdXp6ZXI=")
            endpoint.save()
        return endpoint.pk

    def webhook_delivery(self) -> int:
        from agency.webhooks import services
        from agency.webhooks.models import WebhookDelivery, WebhookEndpoint

        delivery = WebhookDelivery.objects.order_by("id").first()
        if delivery is None:
            endpoint = WebhookEndpoint.objects.get(pk=self.endpoint())
            delivery = services.endpoint_test(endpoint=endpoint, user=None)
        return delivery.pk

    def delivery(self) -> int:
        from campaigns.publishing.models import Delivery, State

        scheduled = Delivery.objects.filter(client=self.world.acme.client,
                                            state=State.SCHEDULED).order_by("id").first()
        if scheduled is None:
            page = make_campaign(self.schema, title="Fuzzed deliveries", posts=[
                ("Out soon", [self.kit["sandbox"]],
                 timezone.now() + dt.timedelta(days=2), None)])
            (scheduled,) = approve(self.schema, page)
        return scheduled.pk

    def campaign(self) -> int:
        from campaigns.models import CampaignPage

        page = CampaignPage.objects.order_by("-id").first()
        if page is None:
            page = make_campaign(self.schema, title="Fuzzed campaign")
        return page.pk


@pytest.fixture
def brand(world, kit, in_process):  # noqa: F811 - the fixture
    Key.raw = make_key(world.acme)
    yield {"base_url": f"http://{world.acme.host}", "ids": RealIds(world, kit, Key.raw)}
    Key.raw = None


@pytest.fixture
def agency(world, in_process):
    Key.raw = agency_key(world.agency_admin)
    yield {"base_url": f"http://{PORTAL}"}
    Key.raw = None


def _with_real_id(case, ids: RealIds | None) -> None:
    """For data that fits the document: an object that exists, and the ETag it has now."""
    if ids is None or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    for name in ("id", "campaign_pk"):
        if name in (case.path_parameters or {}):
            real = ids.for_path(case.operation.path)
            if real is not None:
                case.path_parameters[name] = real
                if "If-Match" in (case.headers or {}):
                    path = case.operation.path.replace("{" + name + "}", str(real))
                    case.headers["If-Match"] = ids.etag(path) or case.headers["If-Match"]


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
    _with_real_id(case, brand["ids"])
    case.call_and_validate(base_url=brand["base_url"])


@agency_api.parametrize()
@settings(SETTINGS, max_examples=6)  # provisioning a client takes about a second
@pytest.mark.django_db
def test_every_agency_operation_keeps_its_documented_contract(case, agency):
    case.call_and_validate(base_url=agency["base_url"])


def _run_statefully(schema, target: dict, run_settings: settings) -> None:
    class Sequences(schema.as_state_machine()):
        def before_call(self, case):
            _with_real_id(case, target.get("ids"))

        def get_call_kwargs(self, case):
            return {"base_url": target["base_url"]}

    Sequences.run(settings=run_settings)


@pytest.mark.django_db
def test_brand_sequences_through_links_keep_the_contract(brand):
    _run_statefully(brand_api, brand, STATEFUL)


@pytest.mark.django_db
def test_agency_sequences_through_links_keep_the_contract(agency):
    _run_statefully(agency_api, agency, settings(STATEFUL, max_examples=8))
