"""Pinterest in Debian's chromium: its consent page, as the local Pinterest serves it to the
demo and the connection tests ("Give access" brings the person back with a code and the state,
"Cancel" with ``access_denied`` and the state); and the editor, where a post to a Pinterest
channel asks for the board (the account's boards) and a title, with the pin's preview card."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from agency.demo.fakes import Hostile
from agency.demo.fakes.pinterest import FakePinterest
from campaigns.models import CampaignPage, Channel
from campaigns.providers.pinterest import provider
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.factories import CampaignFactory, ChannelFactory

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]


@pytest.fixture
def pinterest(settings):
    with FakePinterest(client_id="pin-app", client_secret="pin-secret") as fake:
        settings.NETWORK_BASE_URLS = {"pinterest_api": fake.url, "pinterest_www": fake.url}
        settings.OAUTH_CLIENTS = {"pinterest": {"client_id": "pin-app",
                                                "client_secret": "pin-secret"}}
        yield fake


@pytest.mark.parametrize("button, answer", [("Give access", "code"), ("Cancel", "error")])
def test_a_person_clicks_through_pinterests_consent_page(pinterest, page, button, answer):
    from playwright.sync_api import expect

    callback = Hostile(status=200, body=b"{}")  # stands for the brand's callback address
    try:
        page.goto(provider.authorization_url(redirect_uri=callback.url + "/callback/",
                                             state="st4te", code_verifier=""))
        expect(page.get_by_role("heading")).to_contain_text("Give this app access")
        expect(page.get_by_text("Acme Coffee")).to_be_visible()
        expect(page.get_by_text("boards:read,pins:read,pins:write,user_accounts:read")) \
            .to_be_visible()
        page.get_by_role("button", name=button).click()
        page.wait_for_url(callback.url + "/callback/**")
        [(method, path)] = [r for r in callback.requests if r[1].startswith("/callback/")]
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        assert method == "GET" and query["state"] == "st4te"
        assert answer in query
        if answer == "error":
            assert query["error"] == "access_denied" and "code" not in query
    finally:
        callback.close()


@pytest.fixture
def pin_channel(world, django_db_blocker):
    """A connected Pinterest channel with two boards, and a draft campaign, that the test
    server can see (committed); removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        channel = ChannelFactory(name=f"Pins {tag}", network="pinterest",
                                 handle="pinterest.com/acmecoffee", secret="pina_token",
                                 settings={"boards": [{"id": "901", "name": "Coffee recipes"},
                                                      {"id": "902", "name": "Our cafés"}]})
        campaign = CampaignFactory(title=f"Pins {tag}")
    connection.set_schema_to_public()
    yield channel, campaign
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        CampaignPage.objects.filter(title__endswith=tag).delete()
        Channel.objects.filter(name__endswith=tag).delete()
    connection.set_schema_to_public()


def test_a_post_to_pinterest_asks_for_a_board_and_a_title_and_previews_the_pin(
        page, signed_in, world, live_server_url, pin_channel):
    from playwright.sync_api import expect

    channel, campaign = pin_channel
    signed_in(world.acme.users[Role.EDITOR])
    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{campaign.pk}/edit/"))
    page.get_by_role("button", name="Add post").click()
    post = page.locator("#inline_child_posts-0")
    options = post.locator('[data-network-options="pinterest"]')
    post.get_by_role("checkbox", name=channel.name).check()
    expect(options).to_be_visible()
    board = options.get_by_label("Board")
    expect(board.locator("option")).to_have_text(["Choose…", "Coffee recipes", "Our cafés"])
    board.select_option(label="Our cafés")
    options.get_by_label("Pin title").fill("Pumpkin spice latte")
    post.locator("#id_posts-0-copy").fill("Pumpkin spice latte, the recipe")
    card = post.get_by_role("article", name=f"Preview on {channel.name}")
    expect(card).to_contain_text("Pumpkin spice latte, the recipe")
    expect(post.locator("[data-composer-counts]")).to_contain_text("Pinterest 31 / 500")
    post.get_by_role("checkbox", name=channel.name).uncheck()
    expect(options).to_be_hidden()
    post.get_by_role("checkbox", name=channel.name).check()
    expect(board).to_have_value("902")  # kept while hidden

    page.locator("#id_posts-0-publish_at").fill("2027-03-01 09:00")
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Save draft").click()
    # The board is chosen; a pin without an image is refused, said as saving says it.
    expect(page.get_by_text(f"Post 1 on {channel.name}: Pinterest needs an image or a video "
                            "in every post")).to_be_visible()
    expect(page.get_by_text("Pinterest needs “Board”")).to_have_count(0)
