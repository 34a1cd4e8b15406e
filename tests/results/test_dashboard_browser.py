"""The results dashboards in chromium: from a campaign's editor to its results, figures that grow
as the networks count them, charts drawn inline under the site's Content Security Policy, and
the brand's Results page with its best hours and weekdays."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from campaigns.publishing.adapters.bluesky import forget_sessions
from campaigns.publishing.models import Delivery
from campaigns.results.collection import collect_round
from campaigns.results.models import FollowerCount, MetricSnapshot, PostResult
from tenants.models import Role
from tests.agency.browser import brand_url
from tests.results.conftest import committed_mastodon_channel, publish

pytest_plugins = ["tests.agency.browser"]
pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


@pytest.fixture
def out_on_mastodon(world, django_db_blocker):
    """A campaign of two posts that went out on a (fake) Mastodon channel of Acme, committed for
    the test server; removed afterwards."""
    from campaigns.models import CampaignPage

    forget_sessions()
    schema = world.acme.client.schema_name
    with committed_mastodon_channel(world, django_db_blocker, "Acme on Mastodon (results)") \
            as (mastodon, channel):
        with django_db_blocker.unblock():
            deliveries = publish(schema, [channel], posts=2, title="Harvest results")
        connection.set_schema_to_public()
        yield mastodon, channel, deliveries
        with django_db_blocker.unblock():
            Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).delete()
            with schema_context(schema):
                ids = [d.pk for d in deliveries]
                PostResult.objects.filter(delivery_id__in=ids).delete()
                MetricSnapshot.objects.filter(delivery_id__in=ids).delete()
                FollowerCount.objects.filter(channel_id=channel.pk).delete()
                CampaignPage.objects.filter(pk=deliveries[0].page_id).delete()


def _collect(world, django_db_blocker, minutes: int):
    with django_db_blocker.unblock(), schema_context(world.acme.client.schema_name):
        collect_round(world.acme.client, now=timezone.now() + dt.timedelta(minutes=minutes))
    connection.set_schema_to_public()


def test_a_campaigns_results_grow_as_the_network_counts_them(
        context, page, signed_in, world, live_server_url, out_on_mastodon, django_db_blocker):
    mastodon, channel, deliveries = out_on_mastodon
    first, second = deliveries
    mastodon.set_counts(first.remote_id, favourites=4, reblogs=1)
    mastodon.set_counts(second.remote_id, favourites=12, reblogs=3, replies=2)
    mastodon.followers_count = 400
    _collect(world, django_db_blocker, 16)
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)

    signed_in(world.acme.users[Role.EDITOR])
    page.goto(brand_url("acme", live_server_url, f"/admin/pages/{first.page_id}/edit/"))
    results = page.get_by_role("link", name="Campaign results")
    if not results.is_visible():  # in the header's menu of more actions
        page.get_by_role("button", name=re.compile("Actions|More", re.I)).first.click()
    results.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results")
    expect(page.get_by_text("Harvest results").first).to_be_visible()
    interactions = page.locator('[data-figure="interactions"]')
    expect(interactions).to_have_text("22")  # 4+1 and 12+3+2
    expect(page.locator('[data-figure="rate"]')).to_have_text("2.75%")  # 22 per 800 followers
    row = page.locator(f'tr[data-delivery="{second.pk}"]')
    expect(row.get_by_role("cell").nth(1)).to_have_text("12")

    chart = page.get_by_role("img", name=re.compile("Interactions per post and channel"))
    expect(chart).to_be_visible()
    bars = chart.locator("rect")
    expect(bars).to_have_count(2)
    widths = [float(bars.nth(i).get_attribute("width")) for i in range(2)]
    assert widths[1] > widths[0] > 0  # 17 against 5
    assert bars.first.evaluate("r => getComputedStyle(r).fill") == "rgb(46, 111, 158)"

    # An hour after going out, the posts are read again and the figures have grown.
    mastodon.set_counts(second.remote_id, favourites=30, reblogs=5, replies=4)
    _collect(world, django_db_blocker, 61)
    page.reload()
    expect(interactions).to_have_text("44")
    expect(row.get_by_role("cell").nth(1)).to_have_text("30")
    assert refused == []


def test_the_brand_results_page_shows_the_best_times_to_post(
        context, page, signed_in, world, live_server_url, out_on_mastodon, django_db_blocker):
    mastodon, channel, deliveries = out_on_mastodon
    for delivery in deliveries:
        mastodon.set_counts(delivery.remote_id, favourites=9)
    _collect(world, django_db_blocker, 16)

    signed_in(world.acme.users[Role.ACCOUNT_MANAGER])
    page.goto(brand_url("acme", live_server_url, "/admin/"))
    page.get_by_role("link", name="Results", exact=True).first.click()
    expect(page.get_by_role("heading", level=2, name="Best hours and weekdays to post")
           ).to_be_visible()
    heat = page.get_by_role("img", name=re.compile("by weekday and hour"))
    expect(heat).to_be_visible()
    expect(heat.locator("rect")).to_have_count(7 * 24)
    expect(heat.locator("rect.heat-5")).to_have_count(1)  # both posts went out in one hour
    expect(page.get_by_text("Best so far:")).to_contain_text("9.0 on average")
    page.get_by_text("The heat map as a table").click()
    expect(page.locator(".results-heat-table")).to_contain_text("9.0")
    page.get_by_label("Channel", exact=True).select_option(label=channel.name)
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".results-channels")).to_contain_text(channel.name)
    expect(page.locator(".results-top")).to_contain_text("Harvest results")
