"""The API's conventions as an integrator meets them: keys, scopes, problem details, cursors,
ETags, idempotent POSTs, explicit time zones, and the OpenAPI document."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from tenants.models import Role

pytestmark = pytest.mark.django_db


def test_a_draft_campaign_made_through_the_api_is_what_the_editor_shows(world, api):
    client = api()
    created = client.send("POST", "/api/v1/campaigns/", {
        "title": "Winter warmers", "goal": "Sell cocoa", "tags": ["cocoa", "winter"],
        "posts": [{"copy": "Cocoa is back", "publish_at": "2027-01-05T09:00:00+01:00"}],
    })
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    assert body["posts"][0]["publish_at"] == "2027-01-05T08:00:00Z"
    assert created["Location"] == f"/api/v1/campaigns/{body['id']}/"
    assert created["ETag"]
    from campaigns.models import CampaignPage

    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(pk=body["id"]).get_latest_revision_as_object()
        assert page.title == "Winter warmers"
        assert [p.copy for p in page.posts.all()] == ["Cocoa is back"]
        assert sorted(t.name for t in page.tags.all()) == ["cocoa", "winter"]
    listed = client.send("GET", "/api/v1/campaigns/?search=winter").json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]
    assert listed["results"][0]["tags"] == ["cocoa", "winter"]


def test_errors_are_problem_details_naming_the_field_and_the_fix(world, api):
    response = api().send("POST", "/api/v1/campaigns/", {
        "title": "", "posts": [{"copy": "x", "publish_at": "2027-01-05T09:00:00"}]})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/api/v1/problems/invalid"
    fields = {e["field"]: e["detail"] for e in problem["errors"]}
    assert "title" in fields
    assert "time zone offset" in fields["posts[0].publish_at"]


def test_network_rules_refuse_a_post_too_long_for_its_channel(world, api):
    from tests.factories import ChannelFactory

    channel = ChannelFactory(brand=world.acme, name="Acme Masto", network="mastodon",
                             handle="@a@b.c", endpoint="https://b.c")
    response = api().send("POST", "/api/v1/campaigns/", {
        "title": "Too long", "posts": [{"copy": "x" * 600, "channels": [channel.pk]}]})
    assert response.status_code == 400
    [error] = [e for e in response.json()["errors"] if e["field"] == "posts[0].copy"]
    assert "Mastodon allows 500 characters" in error["detail"]
    with schema_context(world.acme.client.schema_name):
        from campaigns.models import CampaignPage

        assert not CampaignPage.objects.filter(title="Too long").exists()


def test_updates_need_the_current_etag(world, api):
    client = api()
    created = client.send("POST", "/api/v1/campaigns/", {"title": "Etag me"})
    url, etag = created["Location"], created["ETag"]
    assert client.send("PATCH", url, {"goal": "x"}).status_code == 428
    changed = client.send("PATCH", url, {"goal": "First"}, **{"If-Match": etag})
    assert changed.status_code == 200, changed.content
    assert changed.json()["goal"] == "First"
    stale = client.send("PATCH", url, {"goal": "Second"}, **{"If-Match": etag})
    assert stale.status_code == 412
    assert client.send("GET", url).json()["goal"] == "First"


def test_a_repeated_post_with_the_same_idempotency_key_returns_the_first_response(world, api):
    client = api()
    first = client.send("POST", "/api/v1/campaigns/", {"title": "Once"},
                        **{"Idempotency-Key": "abc-1"})
    again = client.send("POST", "/api/v1/campaigns/", {"title": "Once"},
                        **{"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    other = client.send("POST", "/api/v1/campaigns/", {"title": "Twice"},
                        **{"Idempotency-Key": "abc-1"})
    assert other.status_code == 422
    from campaigns.models import CampaignPage

    with schema_context(world.acme.client.schema_name):
        assert CampaignPage.objects.filter(title="Once").count() == 1


def test_keys_are_bound_to_their_brand_scopes_and_person(world, api):
    acme_key_on_globex = api(world.globex, key=None)
    from tests.api.conftest import ApiClient, make_key

    raw = make_key(world.acme)
    response = ApiClient(world.globex.host, raw).send("GET", "/api/v1/campaigns/")
    assert response.status_code == 401
    assert "belongs elsewhere" in response.json()["detail"]
    assert acme_key_on_globex.send("GET", "/api/v1/campaigns/").status_code == 401
    read_only = api(scopes=("read",))
    assert read_only.send("GET", "/api/v1/campaigns/").status_code == 200
    refused = read_only.send("POST", "/api/v1/campaigns/", {"title": "No"})
    assert refused.status_code == 403
    assert "write" in refused.json()["detail"]
    # A reviewer's key cannot create campaigns: the person's role still applies.
    reviewer = api(role=Role.SENSITIVITY_REVIEWER)
    assert reviewer.send("POST", "/api/v1/campaigns/", {"title": "No"}).status_code == 403


def test_a_revoked_key_stops_working_and_stored_keys_are_hashes(world, api):
    from agency.api.models import ApiKey
    from agency.api.services import api_key_revoke
    from tests.api.conftest import ApiClient, make_key

    raw = make_key(world.acme, name="Revoke me")
    client = ApiClient(world.acme.host, raw)
    assert client.send("GET", "/api/v1/channels/").status_code == 200
    with schema_context(world.acme.client.schema_name):
        key = ApiKey.objects.get(name="Revoke me")
        assert raw not in (key.key_hash, key.public_id) and key.last_used_at is not None
        api_key_revoke(key=key)
    assert client.send("GET", "/api/v1/channels/").status_code == 401


def test_cursor_pages_walk_every_campaign_once(world, api):
    client = api()
    made = {client.send("POST", "/api/v1/campaigns/", {"title": f"Page {n}"}).json()["id"]
            for n in range(5)}
    seen, url = [], "/api/v1/campaigns/?page_size=2&search=Page"
    while url:
        body = client.send("GET", url).json()
        seen += [c["id"] for c in body["results"]]
        url = body["next"]
    assert set(seen) == made and len(seen) == len(made)


def test_the_openapi_document_and_reference_page_are_served(world, api):
    anonymous = api(key=None)
    schema = anonymous.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/campaigns/" in paths and "/api/v1/deliveries/" in paths
    assert all(p.startswith("/api/v1/") for p in paths)
    docs = anonymous.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


def test_calendar_lists_posts_in_a_range(world, api):
    client = api()
    client.send("POST", "/api/v1/campaigns/", {"title": "Cal", "posts": [
        {"copy": "In range", "publish_at": "2027-03-02T10:00:00Z"},
        {"copy": "Out of range", "publish_at": "2027-05-02T10:00:00Z"}]})
    response = client.send("GET", "/api/v1/calendar/?start=2027-03-01T00:00:00Z"
                                  "&end=2027-03-31T00:00:00Z")
    assert response.status_code == 200, response.content
    assert [e["copy"] for e in response.json()] == ["In range"]
    bad = client.send("GET", "/api/v1/calendar/?start=2027-03-01&end=x")
    assert bad.status_code == 400


def test_lint_reports_findings_with_spans(world, api):
    response = api(scopes=("read",)).send("POST", "/api/v1/lint/",
                                          {"text": "Our crazy deals", "alt_texts": []})
    assert response.status_code == 200, response.content
    [finding] = response.json()["text"]
    assert (finding["start"], finding["end"]) == (4, 9)


def test_timestamps_carry_their_zone(world, api):
    body = api().send("POST", "/api/v1/campaigns/", {"title": "Zoned"}).json()
    updated = dt.datetime.fromisoformat(body["updated_at"].replace("Z", "+00:00"))
    assert updated.tzinfo is not None


def test_each_key_is_throttled_with_retry_after(world, api, settings):
    settings.API_RATE = "3/hour"  # fixed windows: an hour makes a boundary mid-test unlikely
    client, other = api(), api()
    codes = [client.send("GET", "/api/v1/channels/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.send("GET", "/api/v1/channels/")
    assert refused["Content-Type"] == "application/problem+json"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert other.send("GET", "/api/v1/channels/").status_code == 200  # per key, not global


def test_unknown_api_addresses_answer_in_problem_details(world, api):
    client = api()
    response = client.send("GET", "/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "/api/v1/docs/" in response.json()["detail"]
    missing = client.send("GET", "/api/v1/campaigns/999999/")
    assert missing.status_code == 404 and missing.json()["type"] == "/api/v1/problems/not-found"


def test_a_campaign_reads_the_same_in_the_list_and_on_its_own(world, api):
    client = api()
    made = client.send("POST", "/api/v1/campaigns/", {
        "title": "Same both ways", "goal": "Consistency", "starts_on": "2027-04-01",
        "tags": ["b", "a"], "posts": [
            {"copy": "One", "publish_at": "2027-04-02T10:00:00+02:00"},
            {"copy": "Two", "publish_at": "2027-04-01T10:00:00+02:00"}]}).json()
    [listed] = client.send("GET", "/api/v1/campaigns/?search=Same+both").json()["results"]
    alone = client.send("GET", f"/api/v1/campaigns/{made['id']}/").json()
    alone.pop("posts")
    assert listed == alone
    assert list(listed) == list(alone)  # the same fields in the same order
    assert listed["first_post_at"] == "2027-04-01T08:00:00Z" and listed["tags"] == ["a", "b"]
    assert listed["post_count"] == 2 and listed["starts_on"] == "2027-04-01"


def test_the_list_follows_the_draft_as_it_is_edited(world, api):
    """Rows and the tag filter read the latest revision's summary, not the page's live columns."""
    client = api()
    created = client.send("POST", "/api/v1/campaigns/", {
        "title": "Draft follows", "tags": ["Espresso"],
        "posts": [{"copy": "One", "publish_at": "2027-05-02T10:00:00+02:00"}]})
    url = created["Location"]
    assert [r["id"] for r in client.send("GET", "/api/v1/campaigns/?tag=espresso").json()[
        "results"]] == [created.json()["id"]]
    changed = client.send("PATCH", url, {
        "title": "Draft followed", "goal": "Now with a goal", "tags": ["Latte", "decaf"],
        "posts": [{"copy": "Early", "publish_at": "2027-05-01T07:00:00Z"},
                  {"copy": "Late", "publish_at": "2027-05-09T07:00:00Z"}, {"copy": "Unset"}]},
        **{"If-Match": created["ETag"]})
    assert changed.status_code == 200, changed.content
    [row] = client.send("GET", "/api/v1/campaigns/?tag=LATTE").json()["results"]
    assert row["title"] == "Draft followed" and row["goal"] == "Now with a goal"
    assert row["tags"] == ["Latte", "decaf"] and row["post_count"] == 3
    assert row["first_post_at"] == "2027-05-01T07:00:00Z"
    assert client.send("GET", "/api/v1/campaigns/?tag=espresso").json()["results"] == []


def test_the_key_lookup_reads_the_key_and_its_creator_as_the_orm_does(world):
    """The per-request lookup is a statement written once per process; it must load the same
    key and person the ORM would, and answer membership for the brand it is asked about."""
    from agency.api.models import ApiKey, key_hash
    from agency.api.services import api_key_find
    from tests.api.conftest import make_key

    raw = make_key(world.acme, scopes=("read",))
    with schema_context(world.acme.client.schema_name):
        found = api_key_find(raw, brand=world.acme.client)
        orm = ApiKey.objects.active().select_related("created_by").get(key_hash=key_hash(raw))
        assert found.last_used_at is not None  # the lookup records the use
        orm.last_used_at = found.last_used_at
        assert _columns(found) == _columns(orm) and found.scopes == ["read"]
        assert _columns(found.created_by) == _columns(orm.created_by)
        assert found.creator_is_member is True
        assert api_key_find(raw, brand=world.globex.client).creator_is_member is False
        assert api_key_find(raw + "x", brand=world.acme.client) is None


def _columns(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_each_request_has_an_id_to_quote_and_one_log_line_without_the_key(world, caplog):
    from tests.api.conftest import ApiClient, make_key

    raw = make_key(world.acme)
    client = ApiClient(world.acme.host, raw)
    with caplog.at_level("INFO", logger="agency.api.requests"):
        listed = client.send("GET", "/api/v1/campaigns/", **{"X-Request-Id": "crm-sync.42"})
        missing = client.send("GET", "/api/v1/campaigns/999999/",
                              **{"X-Request-Id": "bad id with spaces"})
    assert listed["X-Request-Id"] == "crm-sync.42"  # the caller's own, echoed
    fresh = missing["X-Request-Id"]
    assert fresh != "bad id with spaces" and len(fresh) == 32
    assert missing.json()["request_id"] == fresh  # in the problem details too
    lines = [r for r in caplog.records if r.name == "agency.api.requests"]
    assert [(r.request_id, r.status, r.method) for r in lines] == [
        ("crm-sync.42", 200, "GET"), (fresh, 404, "GET")]
    assert lines[0].path == "/api/v1/campaigns/" and lines[0].duration_ms > 0
    assert lines[0].api_key and raw.startswith(f"agk_{lines[0].api_key}")
    assert all(raw not in r.getMessage() and raw not in str(vars(r)) for r in lines)


def test_a_key_of_a_deactivated_person_is_refused(world):
    from django.contrib.auth import get_user_model

    from tests.api.conftest import ApiClient, make_key

    raw = make_key(world.acme, role=Role.EDITOR)
    client = ApiClient(world.acme.host, raw)
    assert client.send("GET", "/api/v1/channels/").status_code == 200
    get_user_model().objects.filter(pk=world.acme.users[Role.EDITOR].pk).update(is_active=False)
    refused = client.send("GET", "/api/v1/channels/")
    assert refused.status_code == 401
    assert "no longer has access" in refused.json()["detail"]
