"""Drafting a campaign in the brand's Wagtail admin: posts, images with alt text, channels,
network rules and the brand's time zone."""

import datetime as dt
import html
import re
from dataclasses import dataclass

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield

from campaigns.models import CampaignIndexPage, CampaignPage, Channel
from tenants.models import Role
from tests.factories import ChannelFactory, ImageFactory

pytestmark = pytest.mark.django_db


@dataclass
class Studio:
    channels: dict  # network -> Acme's channel on it (Mastodon, Bluesky, sandbox)
    image: object
    index: object  # the campaigns index


@pytest.fixture
def acme(world) -> Studio:
    """Acme's channels and an image, inside Acme's schema."""
    with schema_context(world.acme.client.schema_name):
        channels = {network: ChannelFactory(
            name=name, network=network, handle="@acme", secret="token-" + network,
            endpoint="https://mastodon.example" if network == "mastodon" else "")
            for network, name in [("mastodon", "Acme on Mastodon"),
                                  ("bluesky", "Acme on Bluesky"), ("sandbox", "Acme sandbox")]}
        image = ImageFactory(title="Barista")
        index = CampaignIndexPage.objects.get()
    connection.set_schema_to_public()
    return Studio(channels=channels, image=image, index=index)


def _post(copy, channels, images=(), publish_at="", link=""):
    return {
        "copy": copy, "link": link, "first_comment": "", "publish_at": publish_at,
        "channels": [c.pk for c in channels],
        "media": streamfield([("image", {"image": image.pk, "alt_text": alt})
                              for image, alt in images]),
    }


def _campaign_form(title, posts):
    channels = [post.pop("channels") for post in posts]
    data = nested_form_data({
        "title": title, "slug": re.sub(r"\W+", "-", title.lower()), "goal": "Launch",
        "audience": "", "key_message": "", "story": rich_text("<p>Our story</p>"),
        "starts_on": "", "ends_on": "", "tags": "coffee, fair trade",
        "posts": inline_formset(posts),
    })
    for number, ids in enumerate(channels):  # a multi-value field: one key, many values
        data[f"posts-{number}-channels"] = ids
    return data


def test_editor_drafts_a_campaign_with_posts_images_and_three_channels(world, http, acme):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    channels = list(acme.channels.values())
    response = editor.post(f"/admin/pages/add/campaigns/campaignpage/{acme.index.pk}/",
                           _campaign_form("Autumn roast", [
                               _post("Autumn roast is here ☕ https://acme.example/autumn",
                                     channels, images=[(acme.image, "A barista pours coffee")],
                                     publish_at="2026-10-01 09:00"),
                               _post("Second post", channels[:1], publish_at="2026-10-02 12:30"),
                           ]))
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(world.acme.client.schema_name):
        page = CampaignPage.objects.get(title="Autumn roast").get_latest_revision_as_object()
        posts = list(page.posts.all())
        assert [p.copy for p in posts] == ["Autumn roast is here ☕ https://acme.example/autumn",
                                           "Second post"]
        assert set(posts[0].channels.all()) == set(channels)
        assert posts[0].media[0].value["alt_text"] == "A barista pours coffee"
        assert sorted(page.tags.names()) == ["coffee", "fair trade"]
        # Europe/London is on summer time (UTC+1) on 1 October 2026
        assert posts[0].publish_at == dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)


def test_a_post_that_breaks_a_network_rule_is_refused_with_the_post_network_and_fix(
        world, http, acme):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    mastodon = acme.channels["mastodon"]
    response = editor.post(f"/admin/pages/add/campaigns/campaignpage/{acme.index.pk}/",
                           _campaign_form("Too long", [_post("x" * 612, [mastodon])]))
    assert response.status_code == 200
    assert ("Post 1 on Acme on Mastodon: Mastodon allows 500 characters; this post has 612. "
            "Shorten it by 112.") in response.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title="Too long").exists()


def test_an_image_without_alt_text_is_refused(world, http, acme):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.post(f"/admin/pages/add/campaigns/campaignpage/{acme.index.pk}/",
                           _campaign_form("No alt", [_post("Hello", [acme.channels["sandbox"]],
                                                           images=[(acme.image, "")])]))
    assert response.status_code == 200
    with schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title="No alt").exists()


def test_a_time_that_does_not_exist_in_the_brands_zone_is_refused(world, http, acme):
    """Clocks in London jump from 01:00 to 02:00 on 29 March 2026: 01:30 never happens."""
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    response = editor.post(f"/admin/pages/add/campaigns/campaignpage/{acme.index.pk}/",
                           _campaign_form("Spring", [_post("Hello", [acme.channels["sandbox"]],
                                                           publish_at="2026-03-29 01:30")]))
    assert response.status_code == 200
    assert "Europe/London" in response.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert not CampaignPage.objects.filter(title="Spring").exists()


def test_channel_secrets_are_encrypted_at_rest_and_never_shown_back(world, http, acme):
    SECRET = "whsec_dmVyeS1zZWNyZXQtdmFsdWUtb2YtYWNtZS0xMjM0"  # noqa: N806
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.post("/admin/snippets/campaigns/channel/add/", {
        "name": "Acme hooks", "network": "webhook", "handle": "acme-hooks",
        "endpoint": "https://hooks.acme.example/in", "active": "on",
        "secret": SECRET})
    assert response.status_code == 302, response.content.decode()[:3000]
    with schema_context(world.acme.client.schema_name):
        channel = Channel.objects.get(name="Acme hooks")
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret_encrypted FROM campaigns_channel WHERE id = %s",
                           [channel.pk])
            stored = cursor.fetchone()[0]
    assert "whsec" not in stored
    assert channel.get_secret() == SECRET
    edit = manager.get(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/").content.decode()
    assert "dmVyeS1zZWNyZXQtdmFsdWUtb2YtYWNtZS0xMjM0" not in edit and "…MjM0" in edit

    manager.post(f"/admin/snippets/campaigns/channel/edit/{channel.pk}/", {
        "name": "Acme hooks v2", "network": "webhook", "handle": "acme-hooks",
        "endpoint": "https://hooks.acme.example/in", "active": "on", "secret": ""})
    with schema_context(world.acme.client.schema_name):
        channel.refresh_from_db()
        assert channel.name == "Acme hooks v2"
        assert channel.get_secret() == SECRET  # blank keeps it


@pytest.mark.parametrize("endpoint, says", [
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254, a private, loopback"),
    ("https://[::ffff:10.0.0.1]/", "a private, loopback"),
    ("http://mastodon.example/", "Use an https:// address"),
])
def test_a_channel_on_an_internal_or_plain_http_address_is_refused_with_what_to_do(
        world, http, acme, settings, endpoint, says):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.post("/admin/snippets/campaigns/channel/add/", {
        "name": "Metadata", "network": "mastodon", "handle": "@acme@mastodon.example",
        "endpoint": endpoint, "active": "on", "secret": "a-mastodon-token"})
    assert response.status_code == 200
    assert says in html.unescape(response.content.decode())
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(name="Metadata").exists()


def test_a_webhook_channel_takes_only_a_standard_webhooks_secret(world, http, acme):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    response = manager.post("/admin/snippets/campaigns/channel/add/", {
        "name": "Acme hooks", "network": "webhook", "handle": "acme-hooks",
        "endpoint": "https://hooks.acme.example/in", "active": "on",
        "secret": "my-own-password"})
    assert response.status_code == 200
    assert "Give a Standard Webhooks secret: whsec_" in html.unescape(response.content.decode())
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(name="Acme hooks").exists()


def test_editors_can_see_channels_but_not_change_them(world, http, acme):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    assert editor.get("/admin/snippets/campaigns/channel/").status_code == 200
    response = editor.post("/admin/snippets/campaigns/channel/add/", {
        "name": "Sneaky", "network": "sandbox", "handle": "x", "active": "on"})
    assert response.status_code in {302, 403}
    with schema_context(world.acme.client.schema_name):
        assert not Channel.objects.filter(name="Sneaky").exists()
