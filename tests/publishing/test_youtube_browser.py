"""YouTube in Debian's chromium: Google's consent page, as the local YouTube serves it to the
demo and the connection tests (choose the channel, Allow or Cancel), and a post refused ahead of
its time for the day's quota, with the reason, in the brand's publishing queue."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from agency.demo.fakes import Hostile
from agency.demo.fakes.youtube import FakeYouTube
from campaigns.providers.youtube import provider
from tenants.models import Role
from tests.agency.browser import brand_url

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser]

ACME, ROASTERY = "UCacmeCoffee0000000000a1", "UCacmeRoastery000000000b2"


@pytest.fixture
def youtube(settings):
    with FakeYouTube(client_id="yt-app", client_secret="yt-secret",
                     channels={ACME: ("Acme Coffee", "@acmecoffee"),
                               ROASTERY: ("Acme Roastery", "@acmeroastery")}) as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(
            ("youtube_accounts", "youtube_oauth2", "youtube_api"), fake.url)
        settings.OAUTH_CLIENTS = {"youtube": {"client_id": "yt-app",
                                              "client_secret": "yt-secret"}}
        yield fake


@pytest.mark.parametrize("button, answer", [("Allow", "code"), ("Cancel", "error")])
def test_a_person_chooses_a_channel_on_googles_consent_page(youtube, page, button, answer):
    from playwright.sync_api import expect

    callback = Hostile(status=200, body=b"{}")  # stands for the brand's callback address
    try:
        page.goto(provider.authorize_url() + "?" + urlencode({
            "response_type": "code", "client_id": "yt-app", "access_type": "offline",
            "prompt": "consent", "redirect_uri": callback.url + "/callback/",
            "state": "st4te", "scope": " ".join(provider.scopes)}))
        expect(page.get_by_role("heading")).to_contain_text("Choose an account")
        page.get_by_label("Channel").select_option(label="Acme Roastery (@acmeroastery)")
        page.get_by_role("button", name=button).click()
        page.wait_for_url(callback.url + "/callback/**")
        [(method, path)] = [r for r in callback.requests if r[1].startswith("/callback/")]
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        assert method == "GET" and query["state"] == "st4te" and answer in query
        if answer == "error":
            assert query["error"] == "access_denied" and "code" not in query
            return
        tokens = provider.exchange(code=query["code"], redirect_uri=callback.url + "/callback/",
                                   code_verifier="")
        assert [a.id for a in provider.accounts(tokens)] == [ROASTERY]  # the one chosen
    finally:
        callback.close()


@pytest.fixture
def over_quota(world, youtube, settings, django_db_blocker):
    """Acme's YouTube channel with three posts approved on one Pacific day that has room for
    two (committed for the test server; removed afterwards)."""
    from campaigns.models import CampaignPage, Channel
    from campaigns.publishing.models import Delivery
    from tests.factories import DeliveryFactory

    settings.YOUTUBE_DAILY_QUOTA = 3300
    tag = uuid.uuid4().hex[:6]
    day = dt.datetime.now(ZoneInfo("America/Los_Angeles")).date() + dt.timedelta(days=3)
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("America/Los_Angeles"))
    with django_db_blocker.unblock():
        with schema_context(world.acme.client.schema_name):
            channel = Channel.objects.create(name=f"Acme on YouTube {tag}", network="youtube",
                                             handle="@acmecoffee", account_id=ACME)
            channel.set_secret(youtube.issue_token())
            channel.save()
        made = [DeliveryFactory(brand=world.acme, channel=channel, copy=f"{what} {tag}",
                                title=f"{what} {tag}", publish_at=noon + dt.timedelta(hours=n))
                for n, what in enumerate(("Morning pour", "Lunch roast", "Evening brew"))]
    connection.set_schema_to_public()
    yield made
    with django_db_blocker.unblock():
        Delivery.objects.filter(pk__in=[d.pk for d in made]).delete()
        with schema_context(world.acme.client.schema_name):
            for delivery in made:
                CampaignPage.objects.filter(pk=delivery.page_id).delete()
            channel.delete()
    connection.set_schema_to_public()


def test_the_account_manager_reads_why_a_post_is_refused_days_before_its_time(
        context, page, signed_in, world, live_server_url, over_quota):
    from playwright.sync_api import expect

    refused = over_quota[-1]
    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    page.goto(brand_url("acme", live_server_url, "/admin/publishing/?state=failed"))
    row = page.get_by_role("row").filter(has_text=refused.campaign_title)
    expect(row).to_contain_text("YouTube's daily quota would be used up")
    for kept in over_quota[:2]:
        expect(page.get_by_role("row").filter(has_text=kept.campaign_title)).to_have_count(0)
    page.goto(brand_url("acme", live_server_url, f"/admin/publishing/{refused.pk}/"))
    reason = page.get_by_role("definition").filter(has_text="daily quota")
    expect(reason).to_contain_text("Move this post to another day")
