"""Schemathesis against the brand host's OpenAPI document, with a valid key: generated requests
(valid and invalid) to every operation get no 5xx, and every response matches the document
(status code, content type, headers, body).

The document is built at collection time (schemathesis needs it to generate the tests) by the
same generator that serves ``/api/v1/schema/``; the first test checks that the served one is
that very document."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_key

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance,
          content_type_conformance, response_headers_conformance, response_schema_conformance]

DOCUMENT = json.loads(json.dumps(SchemaGenerator(urlconf="agency.urls_tenant")
                                 .get_schema(request=None, public=True), default=str))
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture
def wsgi(world, db, settings):
    settings.API_RATE = "100000/min"  # the fuzzer is not what the throttle is tested with
    # As Django's test client does: a request must not close the test's connection (and its
    # transaction) when it finishes.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"host": world.acme.host, "key": make_key(world.acme), "app": get_wsgi_application()}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_served_document_is_the_one_fuzzed(world, api):
    served = api(key=None).get("/api/v1/schema/?format=json")
    assert served.status_code == 200
    assert served.json()["paths"].keys() == DOCUMENT["paths"].keys()
    assert served.json()["components"] == DOCUMENT["components"]


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_every_operation_answers_within_its_documented_shape(case, wsgi):
    case.call_and_validate(base_url=f"http://{wsgi['host']}",
                           headers={"Authorization": f"Bearer {wsgi['key']}"},
                           checks=CHECKS, app=wsgi["app"])
