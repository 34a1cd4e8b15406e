"""What a network asks for beyond text and media (``networks.Option``): asked per post in the
editor and the API, per channel in the channel's form, checked against the channel's account,
and frozen with the post when it is approved, so the adapter gets exactly what was approved."""

import datetime as dt
import json
import re

import pytest
from django_tenants.utils import schema_context

from campaigns import networks
from campaigns.models import CampaignPage, Channel
from campaigns.publishing import worker
from tenants.models import Role
from tests.api.conftest import ApiClient, make_key
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, approve
from tests.forms import form_fields

pytestmark = pytest.mark.django_db

BOARDS = [{"id": "b1", "name": "Autumn menu"}, {"id": "b2", "name": "Our cafés"}]


@pytest.fixture
def boardnet():
    """A network that asks for a board (from the account) and a title per post, and a
    privacy level per channel: registered for the test only."""
    rules = networks.register(networks.Network(
        "boardnet", "Boardnet", max_length=500, connected=True,
        post_options=(
            networks.Option("board", "Board", kind="choice", channel_choices="boards",
                            required=True, help="Where the pin goes."),
            networks.Option("title", "Title", max_length=20),
            networks.Option("notify", "Notify followers", kind="bool", default=True),
        ),
        channel_options=(
            networks.Option("privacy", "Privacy", kind="choice", default="public",
                            choices=(("public", "Public"), ("private", "Private"))),
        ),
        check=lambda draft, settings: (["Boardnet cannot post private and notify."]
                                       if settings.get("privacy") == "private"
                                       and networks.get("boardnet").options_of(draft)["notify"]
                                       else [])))
    yield rules
    networks.NETWORKS.pop("boardnet")


@pytest.fixture
def board_channel(world, boardnet):
    return ChannelFactory(brand=world.acme, name="Acme Boards", network="boardnet",
                          handle="acme-boards", settings={"boards": BOARDS}, secret="tok")


def test_options_are_checked_in_words_against_the_channels_account(boardnet, board_channel):
    draft = networks.PostDraft(copy="Autumn", options={"boardnet": {"title": "x" * 25}})
    problems = boardnet.problems(draft, board_channel)
    assert "Boardnet needs “Board”: choose one." in problems
    assert ("Boardnet allows 20 characters in “Title”; this has 25. Shorten it."
            in problems)
    elsewhere = networks.PostDraft(copy="Autumn", options={"boardnet": {"board": "b9"}})
    assert any("“Board” for Boardnet is not one of the choices in the channel's account"
               in p for p in boardnet.problems(elsewhere, board_channel))
    good = networks.PostDraft(copy="Autumn", options={"boardnet": {"board": "b2"}})
    assert boardnet.problems(good, board_channel) == []
    # a network's own rule sees the channel's settings
    board_channel.settings = {**board_channel.settings, "privacy": "private"}
    assert boardnet.problems(good, board_channel) == ["Boardnet cannot post private and notify."]
    # other networks ignore the options they do not ask for
    assert networks.get("mastodon").problems(good) == []


def _editor(world, http):
    return http(world.acme.host, user=world.acme.users[Role.EDITOR])


def test_the_editor_asks_for_the_options_and_saves_them_with_the_post(world, http,
                                                                      board_channel):
    page = CampaignFactory(brand=world.acme, title="Pins", author=world.acme.users[Role.EDITOR],
                           posts=[PostFactory(copy="Autumn roast", channels=[board_channel],
                                              publish_at=dt.datetime(2027, 10, 1, 8,
                                                                     tzinfo=dt.UTC))])
    editor = _editor(world, http)
    html = editor.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    fields = form_fields(html, "page-edit-form")
    opened = editor.post("/admin/campaigns/post-editor/",
                         {"prefix": "posts-0", "summary": fields["posts-0-summary"][0]})
    opened_html = opened.content.decode()
    assert "Boardnet" in opened_html and "Autumn menu" in opened_html
    assert f'data-channels="{board_channel.pk}"' in opened_html
    opened_fields = form_fields(f'<form id="f">{opened_html}</form>', "f")
    del fields["posts-0-summary"]
    fields.update(opened_fields)
    fields["posts-0-media-count"] = ["0"]

    # no board: refused with the reason, nothing saved
    fields["posts-0-network_options-boardnet-board"] = [""]
    response = editor.post(f"/admin/pages/{page.pk}/edit/", fields)
    assert response.status_code == 200
    assert "Post 1 on Acme Boards: Boardnet needs “Board”: choose one." in \
        response.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert CampaignPage.objects.get(pk=page.pk).revisions.count() == 1

    fields["posts-0-network_options-boardnet-board"] = ["b2"]
    fields["posts-0-network_options-boardnet-title"] = ["Autumn"]
    fields.pop("posts-0-network_options-boardnet-notify", None)  # unticked
    response = editor.post(f"/admin/pages/{page.pk}/edit/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(world.acme.client.schema_name):
        latest = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        assert latest.posts.all()[0].network_options == {
            "boardnet": {"board": "b2", "title": "Autumn", "notify": False}}

    # closed again on the next visit, the post carries its options unchanged through a save
    html = editor.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    fields = form_fields(html, "page-edit-form")
    assert json.loads(fields["posts-0-summary"][0])["network_options"] == {
        "boardnet": {"board": "b2", "title": "Autumn", "notify": False}}
    assert editor.post(f"/admin/pages/{page.pk}/edit/", fields).status_code == 302


def test_approved_options_go_out_frozen_with_the_post(world, board_channel):
    masto = ChannelFactory(brand=world.acme, name="Acme Masto", network="mastodon",
                           handle="@acme@m.ex", endpoint="https://m.example")
    page = CampaignFactory(brand=world.acme, title="Pins", posts=[PostFactory(
        copy="Autumn roast", channels=[board_channel, masto],
        network_options={"boardnet": {"board": "b1"}},
        publish_at=dt.datetime(2027, 10, 1, 8, tzinfo=dt.UTC))])
    deliveries = {d.network: d for d in approve(page, brand=world.acme)}
    with schema_context(world.acme.client.schema_name):
        board = worker.outgoing(deliveries["boardnet"], media_data=False)
        toot = worker.outgoing(deliveries["mastodon"], media_data=False)
    assert board.options == {"board": "b1", "notify": True}  # the default filled in
    assert toot.options == {} and "options" not in deliveries["mastodon"].content


def test_the_channel_form_keeps_the_networks_own_settings(world, http, board_channel):
    manager = http(world.acme.host, user=world.acme.users[Role.ACCOUNT_MANAGER])
    url = f"/admin/snippets/campaigns/channel/edit/{board_channel.pk}/"
    html = manager.get(url).content.decode()
    assert "Boardnet settings" in html or "Network settings" in html
    fields = form_fields(html, "w-editor-form" if 'id="w-editor-form"' in html else None)
    fields["network_settings-boardnet-privacy"] = ["private"]
    fields["network"] = ["boardnet"]
    response = manager.post(url, fields)
    assert response.status_code == 302, re.findall(r'<p class="error-message">\s*(.*?)\s*</p>',
                                                   response.content.decode(), re.S)
    with schema_context(world.acme.client.schema_name):
        saved = Channel.objects.get(pk=board_channel.pk)
    assert saved.settings == {"boards": BOARDS, "privacy": "private"}  # boards kept


def test_the_api_lists_each_channels_options_and_refuses_unknown_ones(world, board_channel):
    api = ApiClient(world.acme.host, make_key(world.acme))
    listed = api.send("GET", f"/api/v1/channels/{board_channel.pk}/").json()
    board = next(o for o in listed["post_options"] if o["name"] == "board")
    assert board["required"] and board["choices"] == [
        {"value": "b1", "label": "Autumn menu"}, {"value": "b2", "label": "Our cafés"}]

    def create(options):
        return api.send("POST", "/api/v1/campaigns/", {"title": "Via API", "posts": [{
            "copy": "Autumn", "channels": [board_channel.pk], "network_options": options}]})

    refused = create({"boardnet": {"colour": "red"}})
    assert refused.status_code == 400
    assert "Boardnet has no option “colour”; it takes: board, title, notify." in \
        refused.content.decode()
    refused = create({"boardnet": {"board": "b9"}})
    assert refused.status_code == 400
    assert "not one of the choices in the channel's account" in refused.content.decode()
    made = create({"boardnet": {"board": "b1"}})
    assert made.status_code == 201, made.content.decode()
    assert made.json()["posts"][0]["network_options"] == {"boardnet": {"board": "b1"}}
