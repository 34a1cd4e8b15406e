"""The linter as staff meet it: the editor's endpoint, with the brand's own words."""

import json

import pytest
from django_tenants.utils import schema_context

from approvals.models import BrandTerm
from tenants.models import Role

pytestmark = pytest.mark.django_db

URL = "/admin/sensitivity/lint/"


def _lint(client, items):
    return client.post(URL, json.dumps({"items": items}), content_type="application/json")


def test_findings_for_copy_and_each_alt_text_with_the_brands_own_words(world, http):
    with schema_context(world.acme.client.schema_name):
        BrandTerm.objects.create(term="cheap", replacement="affordable")
        BrandTerm.objects.create(term="Globex", note="Never name competitors.")
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = _lint(editor, [{"key": "posts-0", "copy": "Crazy cheap, better than Globex",
                               "alt_texts": ["Image of a latte", "A latte with a heart"]}])
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["key"] == "posts-0"
    assert [(f["match"], f["rule"]) for f in item["copy"]] == [
        ("Crazy", "ableist.crazy"), ("cheap", "brand.cheap"), ("Globex", "brand.globex")]
    assert "affordable" in item["copy"][1]["message"]
    assert item["copy"][2]["severity"] == "error"
    assert [f["rule"] for f in item["alt_texts"][0]] == ["accessibility.alt_lead_in"]
    assert item["alt_texts"][1] == []


def test_another_brands_words_do_not_apply(world, http):
    with schema_context(world.globex.client.schema_name):
        BrandTerm.objects.create(term="latte")
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    [item] = _lint(editor, [{"key": "k", "copy": "A latte", "alt_texts": []}]).json()["items"]
    assert item["copy"] == []


@pytest.mark.parametrize("body, message", [
    ("not json", "Send JSON"),
    (json.dumps({"items": "x"}), "must be a list"),
    (json.dumps({"items": [{"copy": 5}]}), "Each item needs"),
    (json.dumps({"items": [{"copy": "x" * 10_001}]}), "limited to 10000"),
    (json.dumps({"items": [{}] * 501}), "at most 500"),
])
def test_bad_requests_get_a_clear_error(world, http, body, message):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_only_signed_in_staff_of_the_brand_can_lint(world, http):
    anonymous = http(world.acme.host)
    assert _lint(anonymous, []).status_code == 302
    outsider = http(world.acme.host, user=world.globex.users[Role.EDITOR])
    assert _lint(outsider, []).status_code in (302, 403)
    assert http(world.acme.host, user=world.acme.users[Role.EDITOR]).get(URL).status_code == 405


def test_account_managers_keep_the_brand_words_editors_only_read_them(world, http):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.post("/admin/snippets/approvals/brandterm/add/",
                            {"term": "  cheap  ", "replacement": "affordable", "note": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(world.acme.client.schema_name):
        assert BrandTerm.objects.get().term == "cheap"
    same = manager.post("/admin/snippets/approvals/brandterm/add/",
                        {"term": "dear", "replacement": "Dear", "note": ""})
    assert "The replacement is the same as the word" in same.content.decode()
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    assert editor.get("/admin/snippets/approvals/brandterm/").status_code == 200
    refused = editor.post("/admin/snippets/approvals/brandterm/add/",
                          {"term": "pricey", "replacement": "", "note": ""})
    assert refused.status_code in (302, 403)
    with schema_context(world.acme.client.schema_name):
        assert not BrandTerm.objects.filter(term="pricey").exists()
