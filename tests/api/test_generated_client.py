"""Clients generated from the documents the server serves (openapi-python-client), used as they
come out, with no hand edits: the brand's drafts a campaign, submits it and reads its status from
a real server process, and reads a refusal as the document's problem detail; the agency's lists
the clients."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import subprocess
import sys
import uuid

import httpx
import pytest
from django_tenants.utils import schema_context

from tests.api.conftest import make_key
from tests.api.test_portal_api import agency_key
from tests.conftest import PORTAL


@pytest.fixture
def committed(world, django_db_blocker):
    """Keys the server process can see (committed), and what the test made removed after."""
    from agency.api.models import ApiKey
    from campaigns.models import CampaignPage

    title = f"Generated client {uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        key = make_key(world.acme, name=title)
        agency = agency_key(world.agency_admin, scopes=("read",), name=title)
    yield {"key": key, "agency_key": agency, "title": title}
    with django_db_blocker.unblock():
        with schema_context(world.acme.client.schema_name):
            for page in CampaignPage.objects.filter(title=title):
                page.delete()
            ApiKey.objects.filter(name=title).delete()
        ApiKey.objects.filter(name=title).delete()


@pytest.fixture
def generate(tmp_path, live_server_url):
    """``generate(host, package)``: the client generated from the document served on ``host``,
    imported from a folder of the test's own (nothing committed)."""
    made = []

    def make(host: str, package: str):
        document = httpx.get(f"http://127.0.0.1:{live_server_url}/api/v1/schema/?format=json",
                             headers={"Host": host})
        assert document.status_code == 200, document.text
        (tmp_path / f"{package}.json").write_text(json.dumps(document.json()))
        (tmp_path / "config.yml").write_text("post_hooks: []\n")  # no formatter needed
        result = subprocess.run(
            [sys.executable, "-m", "openapi_python_client", "generate",
             "--path", str(tmp_path / f"{package}.json"), "--config",
             str(tmp_path / "config.yml"), "--meta", "none",
             "--output-path", str(tmp_path / package), "--fail-on-warning"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        made.append(package)
        return lambda name="": importlib.import_module(f"{package}{name}")

    sys.path.insert(0, str(tmp_path))
    try:
        yield make
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] in made]:
            del sys.modules[name]


def test_a_generated_client_drafts_submits_and_follows_a_campaign(world, live_server_url,
                                                                  generate, committed):
    generated = generate(world.acme.host, "brand_api_client")
    models = generated(".models")
    create = generated(".api.campaigns.campaigns_create")
    submit = generated(".api.campaigns.campaigns_submit_create")
    status = generated(".api.campaigns.campaigns_status_retrieve")
    client = generated().AuthenticatedClient(
        base_url=f"http://127.0.0.1:{live_server_url}", token=committed["key"],
        headers={"Host": world.acme.host}, raise_on_unexpected_status=True)

    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=14)).replace(microsecond=0)
    draft = create.sync(client=client, body=models.CampaignDetailRequest(
        title=committed["title"], goal="Launch the autumn blend", tags=["autumn"],
        posts=[models.PostDataRequest(copy="Autumn blend is here", publish_at=when)]))
    assert isinstance(draft, models.CampaignDetail), draft
    assert draft.status == models.CampaignStatusEnum.DRAFT
    assert draft.posts[0].copy == "Autumn blend is here" and draft.posts[0].publish_at == when

    submitted = submit.sync(draft.id, client=client)
    assert isinstance(submitted, models.CampaignDetail), submitted
    assert submitted.status == models.CampaignStatusEnum.IN_REVIEW

    progress = status.sync(draft.id, client=client)
    assert isinstance(progress, models.CampaignProgress), progress
    assert progress.id == draft.id and progress.status == models.CampaignStatusEnum.IN_REVIEW
    assert progress.steps and progress.steps[0].name == "Sensitivity review"

    again = submit.sync_detailed(draft.id, client=client)  # already in review
    assert again.status_code == 409 and isinstance(again.parsed, models.Problem)
    assert again.parsed.status == 409 and "review" in again.parsed.detail


def test_a_generated_agency_client_lists_the_clients(world, live_server_url, generate,
                                                     committed):
    generated = generate(PORTAL, "agency_api_client")
    models = generated(".models")
    listing = generated(".api.clients.clients_list")
    client = generated().AuthenticatedClient(
        base_url=f"http://127.0.0.1:{live_server_url}", token=committed["agency_key"],
        headers={"Host": PORTAL}, raise_on_unexpected_status=True)

    page = listing.sync(client=client, search="acme")
    assert isinstance(page, models.PaginatedClientDataList), page
    (acme,) = page.results
    assert acme.slug == "acme" and acme.time_zone == models.TimeZoneEnum("Europe/London")
