"""Pinterest pins: the adapter and the OAuth provider, through pinterest-api-sdk's generated
client, against a local Pinterest (agency/demo/fakes/pinterest.py) that answers as Pinterest's
API v5 reference says: what lands on the board, and what staff are told when it does not."""

from __future__ import annotations

import base64
import itertools
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from agency.demo.fakes.pinterest import FakePinterest
from campaigns import connections, networks
from campaigns.connections import ConnectionError_
from campaigns.providers.pinterest import Client, provider
from campaigns.publishing.adapters import (
    Image,
    NeedsReconnect,
    Outgoing,
    Permanent,
    Transient,
    Unknown,
    Video,
    for_channel,
)
from campaigns.publishing.adapters import pinterest as adapter_module
from campaigns.publishing.adapters.pinterest import PinterestAdapter
from tests.factories import ChannelFactory

RECIPES, CAFES = "1099511627776", "1099511627777"
TIMEOUT = 0.5
_ids = itertools.count(7001)

CAT = Image(data=b"\x89PNG\r\n\x1a\n" + b"cat" * 50, mime_type="image/png", name="cat.png",
            alt="A ginger cat asleep beside a cup of coffee")
GIF = Image(data=b"GIF89a" + b"x" * 40, mime_type="image/gif", name="dance.gif", alt="Dancing")
CLIP = Video(data=b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4, mime_type="video/mp4",
             name="clip.mp4", description="A barista pours a leaf into a flat white")


def outgoing(text="Pumpkin spice latte, the recipe", *, board=RECIPES, title="",
             **extra) -> Outgoing:
    extra.setdefault("delivery_id", next(_ids))
    extra.setdefault("images", [CAT])
    chosen = {"board": board} if board else {}
    if title:
        chosen["title"] = title
    return Outgoing(idempotency_key=f"delivery-{extra['delivery_id']}", text=text,
                    campaign_title="Autumn", options=chosen, **extra)


@pytest.fixture
def pinterest(settings):
    with FakePinterest(client_id="pin-app", client_secret="pin-secret",
                       hang_seconds=3) as fake:
        settings.NETWORK_BASE_URLS = {"pinterest_api": fake.url, "pinterest_www": fake.url}
        settings.OAUTH_CLIENTS = {"pinterest": {"client_id": "pin-app",
                                                "client_secret": "pin-secret"}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        yield fake


def channel_for(fake: FakePinterest, token: str | None = None, refresh: str = ""):
    channel = ChannelFactory.build(name="Acme on Pinterest", network="pinterest",
                                   handle="pinterest.com/acmecoffee",
                                   secret=token if token is not None else fake.issue_token())
    channel.account_id = fake.account_id
    channel.settings = {"boards": [{"id": RECIPES, "name": "Coffee recipes"},
                                   {"id": CAFES, "name": "Our cafés"}]}
    if refresh:
        channel.set_refresh_token(refresh)
    return channel


def adapter(fake: FakePinterest, token: str | None = None):
    return PinterestAdapter(channel_for(fake, token), timeout=TIMEOUT)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


# -- publishing ---------------------------------------------------------------------------------


def test_an_image_pin_lands_on_the_chosen_board_with_title_link_and_alt_text(pinterest):
    post = outgoing("Pumpkin spice latte, the recipe\n\nhttps://acme.test/psl",
                    link="https://acme.test/psl", title="Pumpkin spice latte", board=CAFES)
    published = for_channel(channel_for(pinterest), timeout=TIMEOUT).publish(post)

    [pin] = pinterest.pins
    assert published.remote_id == pin["id"]
    assert published.url == f"https://www.pinterest.com/pin/{pin['id']}/"
    assert pin["board_id"] == CAFES
    assert pin["title"] == "Pumpkin spice latte"
    assert pin["description"] == "Pumpkin spice latte, the recipe"  # the link is the pin's own
    assert pin["link"] == "https://acme.test/psl"
    assert pin["alt_text"] == CAT.alt
    assert pin["media"]["data"] == CAT.data


def test_the_sdk_sends_the_channels_own_token_and_nothing_leaks_between_channels(pinterest):
    first, second = pinterest.issue_token(), pinterest.issue_token()
    adapter(pinterest, first).publish(outgoing("Brand one"))
    pinterest.expire(first)
    adapter(pinterest, second).publish(outgoing("Brand two"))  # not refused with first's token
    with pytest.raises(NeedsReconnect):
        adapter(pinterest, first).publish(outgoing("Brand one again"))
    assert [p["description"] for p in pinterest.pins] == ["Brand one", "Brand two"]


def test_a_video_is_registered_uploaded_awaited_and_pinned_with_the_image_as_cover(
        pinterest, monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    pinterest.video_processing_polls = 3

    adapter(pinterest).publish(outgoing("Latte art in slow motion", videos=[CLIP]))

    [pin] = pinterest.pins
    assert pin["media"]["media_type"] == "video" and pin["media"]["cover"] == "image"
    assert pinterest.media[pin["media"]["media_id"]]["data"] == CLIP.data
    assert pinterest.count("GET", "/v5/media/") >= 4  # processing three times, then succeeded
    assert pin["alt_text"] is None


def test_a_video_without_an_image_takes_its_first_frame_as_cover(pinterest, monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    adapter(pinterest).publish(outgoing("Latte art", images=[], videos=[CLIP]))
    [pin] = pinterest.pins
    assert pin["media"]["cover"] == "key_frame"


def test_a_video_still_processing_after_the_wait_is_transient_and_nothing_is_pinned(
        pinterest, monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    monkeypatch.setattr(adapter_module, "PROCESSING_WAIT", 0.1)
    pinterest.video_processing_polls = 10_000
    with pytest.raises(Transient, match="still processing the video"):
        adapter(pinterest).publish(outgoing("Latte art", videos=[CLIP]))
    assert pinterest.pins == []


def test_a_video_pinterest_cannot_process_is_refused_saying_what_it_takes(pinterest,
                                                                          monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    pinterest.fail_videos = True
    with pytest.raises(Permanent, match="could not process the video.*MP4"):
        adapter(pinterest).publish(outgoing("Latte art", videos=[CLIP]))
    assert pinterest.pins == []


def test_a_post_without_a_board_or_without_media_is_refused_before_anything_is_sent(pinterest):
    with pytest.raises(Permanent, match="No Pinterest board was chosen.*editor"):
        adapter(pinterest).publish(outgoing(board=""))
    with pytest.raises(Permanent, match="needs an image or a video"):
        adapter(pinterest).publish(outgoing(images=[]))
    with pytest.raises(Permanent, match="JPEG or PNG"):
        adapter(pinterest).publish(outgoing(images=[GIF]))
    assert pinterest.requests == []


def test_a_post_without_a_board_goes_to_the_accounts_only_board(pinterest):
    channel = channel_for(pinterest)
    channel.settings = {"boards": [{"id": CAFES, "name": "Our cafés"}]}
    PinterestAdapter(channel, timeout=TIMEOUT).publish(outgoing("Only one board", board=""))
    assert [(p["board_id"], p["description"]) for p in pinterest.pins] == [
        (CAFES, "Only one board")]


def test_a_board_that_is_gone_is_refused_saying_to_pick_another(pinterest):
    with pytest.raises(Permanent, match="no such board.*Board not found.*Pick another board"):
        adapter(pinterest).publish(outgoing(board="404404"))


def test_pinterests_400_is_a_refusal_with_its_message(pinterest):
    pinterest.fail_next(1, status=400, message="Invalid parameters: link is not a valid URL.",
                        path="/v5/pins")
    with pytest.raises(Permanent, match=r"HTTP 400\): Invalid parameters: link is not a valid"):
        adapter(pinterest).publish(outgoing())


# -- errors -------------------------------------------------------------------------------------


def test_a_rate_limit_waits_for_the_window_pinterest_names(pinterest):
    pinterest.fail_next(1, status=429, retry_after=42, path="/v5/pins")
    with pytest.raises(Transient, match="limiting") as caught:
        adapter(pinterest).publish(outgoing())
    assert caught.value.retry_after == 42
    assert pinterest.pins == []


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_on_the_pin_is_an_unknown_outcome(pinterest, status):
    pinterest.fail_next(1, status=status, path="/v5/pins")
    with pytest.raises(Unknown, match=f"HTTP {status}"):
        adapter(pinterest).publish(outgoing())


def test_a_server_error_during_the_video_upload_is_transient(pinterest):
    pinterest.fail_next(1, status=503, path="/v5/media")
    with pytest.raises(Transient, match="HTTP 503"):
        adapter(pinterest).publish(outgoing(videos=[CLIP]))
    assert pinterest.pins == []


def test_an_expired_token_is_refreshed_once_and_the_pin_made(pinterest):
    token = pinterest.issue_token()
    channel = channel_for(pinterest, token, refresh=pinterest.issue_refresh_token())
    pinterest.expire(token)

    PinterestAdapter(channel, timeout=TIMEOUT).publish(outgoing("After the refresh"))

    assert [p["description"] for p in pinterest.pins] == ["After the refresh"]
    assert channel.get_secret() != token
    assert channel.token_expires_at > datetime.now(UTC) + timedelta(days=29)


def test_an_expired_token_that_cannot_be_refreshed_needs_reconnect(pinterest):
    token = pinterest.issue_token()
    channel = channel_for(pinterest, token, refresh="pinr_not-a-real-one")
    pinterest.expire(token)
    with pytest.raises(NeedsReconnect, match="Authentication failed.*reconnect"):
        PinterestAdapter(channel, timeout=TIMEOUT).publish(outgoing())
    assert pinterest.pins == []


def test_pinterest_answers_whether_it_still_takes_the_token_without_pinning(pinterest):
    token = pinterest.issue_token()
    assert adapter(pinterest, token).check_access() is True
    pinterest.expire(token)
    with pytest.raises(NeedsReconnect):
        adapter(pinterest, token).check_access()
    assert pinterest.pins == []


def test_followers_are_the_accounts_count(pinterest):
    pinterest.followers = 4321
    assert adapter(pinterest).followers() == 4321


def test_an_address_that_is_not_allowed_is_refused_without_sending(pinterest, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(Permanent, match="address is refused"):
        adapter(pinterest).publish(outgoing())
    assert pinterest.requests == []


# -- did it go out? -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["accept_then_hang", "accept_then_drop"])
def test_accepted_without_answer_is_unknown_and_find_sees_it(pinterest, fault):
    getattr(pinterest, fault)(1)
    post = outgoing("Harvest (part 2)", title="Harvest")

    with pytest.raises(Unknown):
        adapter(pinterest).publish(post)
    [made] = pinterest.pins

    found = adapter(pinterest).find(post, since=since())
    assert found is not None and found.remote_id == made["id"]
    assert found.url == f"https://www.pinterest.com/pin/{made['id']}/"


def test_find_is_none_for_a_pin_never_made(pinterest):
    pinterest.add_pin("Something else entirely")
    assert adapter(pinterest).find(outgoing("Never sent"), since=since()) is None


def test_find_ignores_the_same_description_pinned_before_the_send(pinterest):
    pinterest.add_pin("Good morning", created_at=datetime.now(UTC) - timedelta(days=2))
    assert adapter(pinterest).find(outgoing("Good morning"), since=since()) is None


def test_find_tells_pins_apart_by_title_and_board(pinterest):
    adapter(pinterest).publish(outgoing("Same words", title="One"))
    assert adapter(pinterest).find(outgoing("Same words", title="Two"), since=since()) is None
    assert adapter(pinterest).find(outgoing("Same words", title="One", board=CAFES),
                                   since=since()) is None
    assert adapter(pinterest).find(outgoing("Same words", title="One"),
                                   since=since()) is not None


def test_find_that_cannot_ask_pinterest_is_unknown(pinterest):
    pinterest.fail_next(1, status=503, path="/pins")
    with pytest.raises(Unknown, match="Could not ask Pinterest"):
        adapter(pinterest).find(outgoing(), since=since())


# -- connecting: the provider -------------------------------------------------------------------


def consent(fake: FakePinterest, decision: str = "allow", state: str = "st4te"):
    """What a person's browser does on Pinterest's consent page: open it, press a button; the
    redirect's query."""
    redirect_uri = "http://acme.agency.localhost:8000/admin/channels/connect/callback/"
    url = provider.authorization_url(redirect_uri=redirect_uri, state=state, code_verifier="")
    assert url.startswith(fake.url + "/oauth/?")
    assert parse_qs(urlsplit(url).query)["scope"] == [",".join(provider.scopes)]
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Give access" in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    answer = requests.post(fake.url + "/oauth/decide", data={**fields, "decision": decision},
                           allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()}, redirect_uri


def test_consent_exchange_and_the_account_with_its_boards(pinterest):
    query, redirect_uri = consent(pinterest)
    assert query["state"] == "st4te"

    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri, code_verifier="")
    assert tokens.access_token and tokens.refresh_token
    assert tokens.expires_at > datetime.now(UTC) + timedelta(days=29)
    assert tokens.refresh_expires_at > tokens.expires_at
    assert set(tokens.scopes.split()) == set(provider.scopes)
    assert pinterest.token_requests[-1] == {"grant_type": "authorization_code", "basic": True,
                                            "body_secret": False}

    [account] = provider.accounts(tokens)
    assert (account.id, account.name, account.handle) == (
        pinterest.account_id, "Acme Coffee", "pinterest.com/acmecoffee")
    assert account.settings["boards"] == [{"id": RECIPES, "name": "Coffee recipes"},
                                          {"id": CAFES, "name": "Our cafés"}]


def test_boards_are_read_page_by_page(pinterest):
    pinterest.boards = {str(n): f"Board {n}" for n in range(1000, 1130)}
    with Client(pinterest.issue_token()) as api:
        boards = api.boards()
    assert [b["id"] for b in boards] == [str(n) for n in range(1000, 1130)]
    assert pinterest.count("GET", "/v5/boards") == 2


def test_declined_consent_comes_back_as_access_denied_with_the_state(pinterest):
    query, _ = consent(pinterest, decision="deny")
    assert query == {"error": "access_denied", "state": "st4te"}
    assert "access_denied" in provider.declined_errors


def test_a_code_used_twice_is_refused_with_pinterests_message(pinterest):
    query, redirect_uri = consent(pinterest)
    provider.exchange(code=query["code"], redirect_uri=redirect_uri)
    with pytest.raises(ConnectionError_, match="HTTP 400, code 1.*Invalid authorization code"):
        provider.exchange(code=query["code"], redirect_uri=redirect_uri)


def test_a_wrong_client_secret_is_refused_saying_so(pinterest, settings):
    query, redirect_uri = consent(pinterest)
    settings.OAUTH_CLIENTS = {"pinterest": {"client_id": "pin-app", "client_secret": "wrong"}}
    with pytest.raises(ConnectionError_, match="HTTP 401.*Authentication failed"):
        provider.exchange(code=query["code"], redirect_uri=redirect_uri)


def test_without_an_app_configured_the_provider_says_what_to_set(pinterest, settings):
    settings.OAUTH_CLIENTS = {}
    with pytest.raises(ConnectionError_, match="OAUTH_PINTEREST_CLIENT_ID"):
        provider.exchange(code="x", redirect_uri="http://x/")


def test_refresh_gives_a_working_token_keeps_the_refresh_token_and_rereads_the_boards(
        pinterest):
    query, redirect_uri = consent(pinterest)
    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri)
    channel = channel_for(pinterest, tokens.access_token, refresh=tokens.refresh_token)
    pinterest.boards["1099511627778"] = "Gift ideas"

    fresh = provider.refresh(channel)

    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token == tokens.refresh_token
    assert {"id": "1099511627778", "name": "Gift ideas"} in channel.settings["boards"]
    channel.set_secret(fresh.access_token)
    PinterestAdapter(channel, timeout=TIMEOUT).publish(outgoing("After the refresh"))
    assert [p["description"] for p in pinterest.pins] == ["After the refresh"]


def test_a_refused_refresh_token_is_a_connection_error_with_pinterests_message(pinterest):
    channel = channel_for(pinterest, refresh="pinr_not-a-real-one")
    with pytest.raises(ConnectionError_, match="Invalid refresh token"):
        provider.refresh(channel)


def test_the_provider_is_registered_under_the_networks_name():
    assert connections.get("pinterest") is provider
    assert provider.network in networks.NETWORKS


def test_the_base64_image_is_the_bytes_of_the_post(pinterest):
    adapter(pinterest).publish(outgoing())
    [pin] = pinterest.pins
    assert base64.b64encode(pin["media"]["data"]) == base64.b64encode(CAT.data)


def test_no_process_wide_pinterest_state_is_loaded():
    """The SDK's top layer loads .env and config.json into os.environ and keeps one default
    client: the platform never imports it, so no token lives in the process's environment."""
    import os
    import sys

    assert "pinterest.config" not in sys.modules and "pinterest.client" not in sys.modules
    assert not any(name.startswith("PINTEREST_") for name in os.environ)


# -- rules --------------------------------------------------------------------------------------


class _Channel:
    def __init__(self, boards):
        self.settings = {"boards": boards}


BOARDS = _Channel([{"id": RECIPES, "name": "Coffee recipes"}, {"id": CAFES, "name": "Our cafés"}])


def _problems(channel=BOARDS, *, board=RECIPES, title="", **draft) -> list[str]:
    draft.setdefault("copy", "Pumpkin spice latte, the recipe")
    draft.setdefault("images", ["A cup of pumpkin spice latte"])
    draft.setdefault("image_files", ["cup.jpg"])
    chosen = {k: v for k, v in {"board": board, "title": title}.items() if v}
    return networks.get("pinterest").problems(
        networks.PostDraft(options={"pinterest": chosen}, **draft), channel)


def test_a_pin_with_a_board_an_image_and_alt_text_has_no_problems():
    assert _problems() == []
    assert _problems(title="t" * 100, copy="d" * 500, images=["a" * 500]) == []


def test_a_pin_without_a_board_says_to_choose_one():
    assert _problems(board="") == ["Pinterest needs “Board”: choose one."]


def test_a_board_the_account_does_not_have_says_to_pick_another_or_reconnect():
    [problem] = _problems(board="404404")
    assert "“Board” for Pinterest is not one of the choices in the channel's account" in problem
    assert "reconnect" in problem


def test_an_account_without_boards_says_to_create_one_and_reconnect():
    problems = _problems(_Channel([]), board="")
    assert "The Pinterest account has no boards: create one on Pinterest, then reconnect the " \
           "channel so its boards are read again." in problems


def test_title_description_and_alt_text_limits():
    assert _problems(title="t" * 101) == [
        "Pinterest allows 100 characters in “Pin title”; this has 101. Shorten it."]
    [description] = _problems(copy="d" * 501)
    assert "Pinterest allows 500 characters" in description and "Shorten it by 1" in description
    [alt] = _problems(images=["a" * 501])
    assert "Pinterest allows 500 characters of alt text; image 1 has 501" in alt


def test_a_pin_needs_one_image_or_one_video_never_text_alone():
    [alone] = _problems(images=[], image_files=[])
    assert "needs an image or a video" in alone
    [two] = _problems(images=["One", "Two"], image_files=["a.jpg", "b.jpg"])
    assert "at most 1 images" in two
    assert _problems(videos=1, video_files=["pour.mp4"]) == []  # the image is its cover
    [gif] = _problems(image_files=["dance.gif"])
    assert "JPG, JPEG, PNG images" in gif
