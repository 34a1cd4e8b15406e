"""The API keeps its own document, for bad input too: errors in one shape at every address,
input read as the document types it, and the reasons the library gives for a refused upload."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from tests.api.test_portal_api import agency_key
from tests.conftest import PORTAL
from tests.images import png_bytes

pytestmark = pytest.mark.django_db


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def _fields(body: dict) -> set:
    return {error["field"] for error in body.get("errors", [])}


# --- Errors in one shape everywhere -----------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/campaigns/abc/"), ("GET", "/api/v1/campaigns/1234567890/"),
    ("POST", "/api/v1/deliveries/x/cancel/"), ("PATCH", "/api/v1/webhooks/-1/"),
    ("GET", "/api/v1/nothing-here/"), ("GET", "/api/v2/campaigns/"),
])
def test_an_address_no_endpoint_takes_answers_a_problem_not_a_page(api, settings, debug,
                                                                   method, path):
    settings.DEBUG = debug  # in development too: not Django's debug page
    body = _problem(api().send(method, path), 404)
    assert body["instance"] == path and body["request_id"]


def test_a_missing_trailing_slash_is_named_in_the_problem(api):
    body = _problem(api().send("POST", "/api/v1/campaigns", {"title": "x"}), 404)
    assert "/api/v1/campaigns/" in body["detail"]


def test_the_agency_api_answers_problems_for_unmatched_addresses_too(world, settings):
    from tests.api.conftest import ApiClient

    settings.DEBUG = True
    client = ApiClient(PORTAL, agency_key(world.agency_admin))
    _problem(client.send("GET", "/api/v1/clients/ACME/"), 404)
    _problem(client.send("DELETE", "/api/v1/clients/acme/memberships/abc/"), 404)


def test_an_archived_brands_api_answers_410_as_a_problem(world, api):
    from tenants import services

    client = api()
    services.client_archive(client=world.globex.client, actor=world.agency_admin)
    from tests.api.conftest import ApiClient

    body = _problem(ApiClient(world.globex.host, None).send("GET", "/api/v1/campaigns/"), 410)
    assert "archived" in body["detail"]
    assert client.send("GET", "/api/v1/campaigns/").status_code == 200  # Acme is open


# --- Bad input refused, as the document says --------------------------------------------------


@pytest.mark.parametrize("query, field", [
    ("page_size=abc", "page_size"), ("page_size=0", "page_size"), ("page_size=101", "page_size"),
    ("page_size=5&page_size=6", "page_size"), ("updated_before=", "updated_before"),
    ("status=", "status"), ("ordering=title", "ordering"), ("tag=" + "x" * 101, "tag"),
])
def test_query_parameters_are_read_by_their_declared_type_and_bounds(api, query, field):
    body = _problem(api().send("GET", f"/api/v1/campaigns/?{query}"), 400)
    assert _fields(body) == {field}


@pytest.mark.parametrize("query, field", [("campaign=0", "campaign"), ("channel=", "channel"),
                                          ("state=", "state"), ("page_size=1.5", "page_size")])
def test_delivery_filters_are_read_by_their_declared_type_and_bounds(api, query, field):
    assert _fields(_problem(api().send("GET", f"/api/v1/deliveries/?{query}"), 400)) == {field}


@pytest.mark.parametrize("start, end", [
    ("9999-12-31T00:00:00Z", "9999-12-31T01:00:00Z"),  # a range the server serves
    ("2026-12-02T00:00:00Z", "2026-12-01T00:00:00Z"),  # end before start
    ("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"),  # more than 93 days
])
def test_a_calendar_range_is_checked_without_counting_past_year_9999(api, start, end):
    response = api().send("GET", f"/api/v1/calendar/?start={start}&end={end}")
    if start.startswith("9999"):
        assert response.status_code == 200 and response.json() == []
    else:
        assert _fields(_problem(response, 400)) == {"end"}


def test_a_valid_page_size_and_ordering_are_taken(api):
    client = api()
    for n in range(3):
        client.send("POST", "/api/v1/campaigns/", {"title": f"Page {n}"})
    body = client.send("GET", "/api/v1/campaigns/?page_size=2&ordering=id").json()
    assert len(body["results"]) == 2 and body["results"][0]["id"] < body["results"][1]["id"]


@pytest.mark.parametrize("payload, field", [
    ({"text": "Hello", "alt_texts": [5]}, "alt_texts[0]"),
    ({"text": 42}, "text"),
    ({"text": True}, "text"),
])
def test_text_is_text_not_a_number_turned_into_text(api, payload, field):
    body = _problem(api().send("POST", "/api/v1/lint/", payload), 400)
    assert _fields(body) == {field}
    assert "JSON string" in body["errors"][0]["detail"]


@pytest.mark.parametrize("payload, field", [
    ({"title": "Numbers", "posts": [{"channels": ["1"]}]}, "posts[0].channels[0]"),
    ({"title": "Numbers", "posts": [{"media": [{"image": True, "alt_text": "x"}]}]},
     "posts[0].media[0].image"),
    ({"title": 7}, "title"),
    ({"title": "   "}, "title"),
])
def test_campaign_fields_are_read_by_their_declared_type(api, payload, field):
    assert field in _fields(_problem(api().send("POST", "/api/v1/campaigns/", payload), 400))


def test_a_webhook_switch_is_true_or_false_not_yes(api):
    body = _problem(api().send("POST", "/api/v1/webhooks/", {
        "url": "https://hooks.example.com/x", "events": ["campaign.approved"],
        "active": "yes"}), 400)
    assert "active" in _fields(body)


def test_an_agency_membership_name_is_text(world):
    from tests.api.conftest import ApiClient

    client = ApiClient(PORTAL, agency_key(world.agency_admin))
    body = _problem(client.send("POST", f"/api/v1/clients/{world.acme.client.slug}/memberships/",
                                {"email": "new.person@example.com", "role": "editor",
                                 "last_name": 5}), 400)
    assert _fields(body) == {"last_name"}


def test_a_member_email_longer_than_a_sign_in_name_is_refused_not_a_server_error(world):
    from tests.api.conftest import ApiClient

    client = ApiClient(PORTAL, agency_key(world.agency_admin))
    email = "a@" + "b" * 63 + "." + "c" * 63 + ".example.com"  # a valid address, 144 + 8
    email = "x" * (151 - len(email)) + email
    body = _problem(client.send("POST", f"/api/v1/clients/{world.acme.client.slug}/memberships/",
                                {"email": email, "role": "editor"}), 400)
    assert _fields(body) == {"email"} and "at most 150" in body["errors"][0]["detail"]


def test_a_client_short_name_with_a_nul_is_refused_not_a_server_error(world):
    from tests.api.conftest import ApiClient

    client = ApiClient(PORTAL, agency_key(world.agency_admin))
    body = _problem(client.send("POST", "/api/v1/clients/", {"name": "Nul", "slug": "nu\x00l"}),
                    400)
    assert _fields(body) == {"slug"}


def test_a_client_short_name_is_taken_as_sent_and_one_in_use_is_a_conflict(world):
    from tests.api.conftest import ApiClient

    client = ApiClient(PORTAL, agency_key(world.agency_admin))
    body = _problem(client.send("POST", "/api/v1/clients/", {"name": "Loud", "slug": "LOUD"}),
                    400)
    assert _fields(body) == {"slug"}
    taken = _problem(client.send("POST", "/api/v1/clients/", {
        "name": "Again", "slug": world.acme.client.slug}), 409)
    assert "A client with the short name “acme” already exists" in taken["detail"]


def _upload(client, **fields):
    return client.post("/api/v1/media/", fields)


def test_an_empty_media_title_is_refused_as_the_document_says(api):
    body = _problem(_upload(api(), title="", file=SimpleUploadedFile(
        "cup.png", png_bytes(), content_type="image/png")), 400)
    assert _fields(body) == {"title"}


def test_an_image_with_too_many_pixels_is_refused_for_that_reason(api):
    buffer = io.BytesIO()
    PILImage.new("1", (20_000, 10_000)).save(buffer, format="PNG")  # 200 megapixels
    body = _problem(_upload(api(), file=SimpleUploadedFile("bomb.png", buffer.getvalue(),
                                                           content_type="image/png")), 400)
    assert _fields(body) == {"file"}
    assert "too many pixels" in body["errors"][0]["detail"]


def test_an_svg_is_refused_as_an_unsupported_format(api):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
    body = _problem(_upload(api(), file=SimpleUploadedFile("logo.svg", svg,
                                                           content_type="image/svg+xml")), 400)
    assert "Not a supported image format" in body["errors"][0]["detail"]


def test_a_video_named_without_an_extension_is_named_for_what_it_holds(api):
    mp4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200
    uploaded = api().post("/api/v1/videos/", {"file": SimpleUploadedFile(
        "clip", mp4, content_type="video/mp4")})
    assert uploaded.status_code == 201, uploaded.content
    refused = api().post("/api/v1/videos/", {"file": SimpleUploadedFile(
        "clip", png_bytes(), content_type="video/mp4")})
    assert _fields(_problem(refused, 400)) == {"file"}


# --- Responses match the document -------------------------------------------------------------


def test_a_campaign_locked_by_its_review_answers_409_in_plain_text(api):
    client = api()
    created = client.send("POST", "/api/v1/campaigns/", {"title": "Locked"})
    url = created["Location"]
    assert client.send("POST", f"{url}submit/").status_code == 202
    etag = client.send("GET", url)["ETag"]
    body = _problem(client.send("PATCH", url, {"goal": "Change it"}, **{"If-Match": etag}), 409)
    assert "Sensitivity review" in body["detail"] and "<" not in body["detail"]


def test_the_document_states_the_rules_the_server_enforces(api):
    doc = api(key=None).get("/api/v1/schema/?format=json").json()
    campaign = doc["paths"]["/api/v1/campaigns/{id}/"]
    (id_parameter,) = [p for p in campaign["get"]["parameters"] if p["name"] == "id"]
    assert id_parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 999_999_999}
    listing = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/campaigns/"]["get"]
               ["parameters"]}
    assert listing["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100,
                                    "default": 50}
    assert listing["tag"]["maxLength"] == 100
    assert set(listing["ordering"]["enum"]) == {"id", "-id", "updated_at", "-updated_at"}
    assert "410" in campaign["get"]["responses"]
    patch = campaign["patch"]
    assert {"409", "411", "412", "413", "428"} <= patch["responses"].keys()
    assert "campaigns_partial_update" in doc["paths"]["/api/v1/campaigns/"]["post"][
        "responses"]["201"]["links"]
    request = doc["components"]["schemas"]["CampaignDetailRequest"]["properties"]
    assert request["title"]["pattern"] and request["goal"]["pattern"] == "^[^\\u0000]*$"
    upload = doc["paths"]["/api/v1/media/"]["post"]["requestBody"]["content"][
        "multipart/form-data"]
    assert "image/png" in upload["encoding"]["file"]["contentType"]
    delivery = doc["components"]["schemas"]["DeliveryData"]["properties"]["remote_url"]
    assert delivery["format"] == "uri" and delivery["nullable"] is True
