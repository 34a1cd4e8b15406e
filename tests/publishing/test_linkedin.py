"""LinkedIn organization pages: the adapter and the OAuth provider against a local LinkedIn
(agency/demo/fakes/linkedin.py) that answers as LinkedIn's API reference says: what arrives on
the page, and what staff are told when it does not."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from agency.demo.fakes.linkedin import FakeLinkedIn
from campaigns import connections, networks
from campaigns.connections import ConnectionError_
from campaigns.providers.linkedin import provider
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
from campaigns.publishing.adapters import linkedin as adapter_module
from campaigns.publishing.adapters.linkedin import (
    LinkedInAdapter,
    little_text,
    plain_text,
    seconds_to_midnight_utc,
)
from tests.factories import ChannelFactory

ORG = "2414183"
TIMEOUT = 0.5
_ids = itertools.count(5001)

CAT = Image(data=b"\x89PNG\r\n\x1a\n" + b"cat" * 50, mime_type="image/png", name="cat.png",
            alt="A ginger cat asleep on a keyboard")
DOG = Image(data=b"\xff\xd8\xff\xe0" + b"dog" * 50, mime_type="image/jpeg", name="dog.jpg",
            alt="A dog catching a frisbee, ears flying")
CLIP = Video(data=b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4, mime_type="video/mp4",
             name="clip.mp4", description="A barista pours a leaf into a flat white")


def outgoing(text="Autumn sale starts today", **extra) -> Outgoing:
    extra.setdefault("delivery_id", next(_ids))
    return Outgoing(idempotency_key=f"delivery-{extra['delivery_id']}", text=text,
                    campaign_title=extra.pop("campaign_title", "Autumn"), **extra)


@pytest.fixture
def linkedin(settings):
    with FakeLinkedIn(client_id="li-app", client_secret="li-secret",
                      organizations={ORG: "Acme Coffee", "99": "Acme Careers"},
                      hang_seconds=3) as fake:
        settings.NETWORK_BASE_URLS = {"linkedin_api": fake.url, "linkedin_www": fake.url}
        settings.OAUTH_CLIENTS = {"linkedin": {"client_id": "li-app",
                                               "client_secret": "li-secret"}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        yield fake


def channel_for(fake: FakeLinkedIn, token: str | None = None, organization: str = ORG):
    channel = ChannelFactory.build(name="Acme on LinkedIn", network="linkedin",
                                   handle="linkedin.com/company/acme-coffee",
                                   secret=token if token is not None else fake.issue_token())
    channel.account_id = organization
    return channel


def adapter(fake: FakeLinkedIn, token: str | None = None, organization: str = ORG):
    return LinkedInAdapter(channel_for(fake, token, organization), timeout=TIMEOUT)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


# -- publishing ---------------------------------------------------------------------------------


def test_text_post_goes_out_as_the_organization_and_its_urn_is_recorded(linkedin):
    published = for_channel(channel_for(linkedin), timeout=TIMEOUT).publish(outgoing())

    [post] = linkedin.posts
    assert published.remote_id == post["id"] and post["id"].startswith("urn:li:share:")
    assert published.url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    assert post["author"] == f"urn:li:organization:{ORG}"
    assert post["lifecycleState"] == "PUBLISHED" and post["visibility"] == "PUBLIC"
    assert post["distribution"]["feedDistribution"] == "MAIN_FEED"
    assert linkedin.shown_text(post) == "Autumn sale starts today"
    assert post["content"] is None
    seen = linkedin.headers_seen[-1]
    assert re.fullmatch(r"\d{6}", seen["LinkedIn-Version"])
    assert seen["X-Restli-Protocol-Version"] == "2.0.0"


def test_reserved_characters_are_escaped_and_hashtags_become_hashtags(linkedin):
    text = "Fair trade (50% off) at *Acme* #CoffeeLovers, ask @barista [today] <3 ~ _ | {x} \\o/"
    adapter(linkedin).publish(outgoing(text))

    [post] = linkedin.posts
    assert linkedin.shown_text(post) == text  # people read exactly what was written
    assert "{hashtag|\\#|CoffeeLovers}" in post["commentary"]
    assert "\\(50% off\\)" in post["commentary"]
    assert plain_text(little_text(text)) == text


def test_a_link_goes_out_as_an_article_card(linkedin):
    text = "Read the story https://acme.test/story"
    adapter(linkedin).publish(outgoing(text, link="https://acme.test/story",
                                       campaign_title="Our farmers"))

    [post] = linkedin.posts
    assert post["content"] == {"article": {"source": "https://acme.test/story",
                                           "title": "Our farmers"}}
    assert linkedin.shown_text(post) == text


def test_one_image_is_uploaded_and_attached_with_its_alt_text(linkedin):
    adapter(linkedin).publish(outgoing("Meet the office cat", images=[CAT]))

    [post] = linkedin.posts
    media = post["content"]["media"]
    assert media["altText"] == CAT.alt
    assert linkedin.images[media["id"]]["data"] == CAT.data


def test_several_images_go_out_as_a_multi_image_post_in_order_with_their_alt_texts(linkedin):
    adapter(linkedin).publish(outgoing("Two friends", images=[CAT, DOG]))

    [post] = linkedin.posts
    images = post["content"]["multiImage"]["images"]
    assert [i["altText"] for i in images] == [CAT.alt, DOG.alt]
    assert [linkedin.images[i["id"]]["data"] for i in images] == [CAT.data, DOG.data]


def test_video_is_uploaded_in_parts_finalized_and_awaited(linkedin, monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    linkedin.part_size = 400  # three parts
    linkedin.video_processing_polls = 3

    adapter(linkedin).publish(outgoing("Latte art", videos=[CLIP]))

    [post] = linkedin.posts
    urn = post["content"]["media"]["id"]
    video = linkedin.videos[urn]
    assert len(video["parts"]) == 3 and video["status"] == "AVAILABLE"
    assert b"".join(video["data"][n] for n in range(3)) == CLIP.data
    assert linkedin.count("GET", "/rest/videos/") >= 3


def test_video_still_processing_after_the_wait_is_transient_and_nothing_is_posted(
        linkedin, monkeypatch):
    monkeypatch.setattr(adapter_module, "PROCESSING_POLL", 0.01)
    monkeypatch.setattr(adapter_module, "PROCESSING_WAIT", 0.1)
    linkedin.video_processing_polls = 10_000

    with pytest.raises(Transient, match="still processing the video"):
        adapter(linkedin).publish(outgoing("Latte art", videos=[CLIP]))
    assert linkedin.posts == []


def test_images_and_a_video_together_are_refused_before_anything_is_sent(linkedin):
    with pytest.raises(Permanent, match="images and a video"):
        adapter(linkedin).publish(outgoing("Both", images=[CAT], videos=[CLIP]))
    assert linkedin.requests == []


def test_first_comment_is_made_on_the_post_as_the_organization(linkedin):
    published = adapter(linkedin).publish(outgoing("New blend", first_comment="Shop: acme.test"))

    [comment] = linkedin.comments
    assert comment["object"] == published.remote_id
    assert comment["actor"] == f"urn:li:organization:{ORG}"
    assert comment["text"] == "Shop: acme.test"


def test_failed_first_comment_does_not_fail_the_post(linkedin, caplog):
    linkedin.fail_next(1, status=500, path="/comments")

    published = adapter(linkedin).publish(outgoing("New blend", first_comment="Shop now"))

    assert [p["id"] for p in linkedin.posts] == [published.remote_id]
    assert linkedin.comments == []
    assert "first comment" in caplog.text


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("spoil, reason", [("expire", "EXPIRED_ACCESS_TOKEN"),
                                           ("revoke_token", "REVOKED_ACCESS_TOKEN")])
def test_an_expired_or_revoked_token_needs_reconnect_with_linkedins_reason(linkedin, spoil,
                                                                           reason):
    token = linkedin.issue_token()
    getattr(linkedin, spoil)(token)

    with pytest.raises(NeedsReconnect, match=reason) as caught:
        adapter(linkedin, token).publish(outgoing())
    assert "reconnect" in caught.value.message
    assert linkedin.posts == []


def test_linkedin_answers_whether_it_still_takes_the_token_without_posting(linkedin):
    token = linkedin.issue_token()
    assert adapter(linkedin, token).check_access() is True
    linkedin.revoke_token(token)
    with pytest.raises(NeedsReconnect, match="REVOKED_ACCESS_TOKEN"):
        adapter(linkedin, token).check_access()
    assert linkedin.posts == []


def test_a_daily_rate_limit_waits_until_linkedin_resets_its_limits_at_midnight_utc(linkedin):
    linkedin.fail_next(1, status=429, path="/rest/posts")  # "... APPLICATION DAY limit ..."

    longest = seconds_to_midnight_utc()
    with pytest.raises(Transient, match="TOO_MANY_REQUESTS.*midnight UTC") as caught:
        adapter(linkedin).publish(outgoing())
    shortest = seconds_to_midnight_utc()
    assert shortest <= caught.value.retry_after <= longest
    assert linkedin.posts == []


def test_another_rate_limit_is_left_to_the_outboxs_backoff(linkedin):
    linkedin.fail_next(1, status=429, path="/rest/posts", message="Too many requests")

    with pytest.raises(Transient, match="Too many requests.*trying later") as caught:
        adapter(linkedin).publish(outgoing())
    assert caught.value.retry_after is None  # LinkedIn sends no reset time
    assert linkedin.posts == []


def test_midnight_utc_is_counted_from_the_moment_given():
    moment = datetime(2026, 12, 3, 23, 59, 30, tzinfo=UTC)
    assert seconds_to_midnight_utc(moment) == 30


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_on_the_post_is_an_unknown_outcome(linkedin, status):
    linkedin.fail_next(1, status=status, path="/rest/posts")

    with pytest.raises(Unknown, match=f"HTTP {status}"):
        adapter(linkedin).publish(outgoing())


def test_server_error_during_an_image_upload_is_transient(linkedin):
    linkedin.fail_next(1, status=503, path="/rest/images")

    with pytest.raises(Transient, match="HTTP 503"):
        adapter(linkedin).publish(outgoing("Cat", images=[CAT]))
    assert linkedin.posts == []


def test_posting_to_a_page_the_member_does_not_administer_is_refused_with_linkedins_reason(
        linkedin):
    with pytest.raises(Permanent, match="ACCESS_DENIED.*administrator"):
        adapter(linkedin, organization="31337").publish(outgoing())


def test_too_long_commentary_is_refused_with_linkedins_message(linkedin):
    with pytest.raises(Permanent, match="HTTP 422.*exceeds 3000"):
        adapter(linkedin).publish(outgoing("x" * 3001))


def test_a_version_linkedin_no_longer_serves_is_a_clear_refusal(linkedin, settings):
    settings.LINKEDIN_API_VERSION = "202301"

    with pytest.raises(Permanent, match="NONEXISTENT_VERSION.*202301 is not active"):
        adapter(linkedin).publish(outgoing())


def test_a_request_without_a_version_is_refused_as_linkedin_does(linkedin):
    answer = requests.post(linkedin.url + "/rest/posts", json={}, timeout=5, headers={
        "Authorization": f"Bearer {linkedin.issue_token()}"})
    assert answer.status_code == 400 and answer.json()["code"] == "VERSION_MISSING"


def test_a_channel_without_an_organization_says_to_connect_it(linkedin):
    with pytest.raises(Permanent, match="Connect account"):
        adapter(linkedin, organization="").publish(outgoing())


# -- did it go out? -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["accept_then_hang", "accept_then_drop"])
def test_accepted_without_answer_is_unknown_and_find_sees_it(linkedin, fault):
    getattr(linkedin, fault)(1)
    post = outgoing("Harvest (part 2) #Coffee", images=[CAT])

    with pytest.raises(Unknown):
        adapter(linkedin).publish(post)
    [made] = linkedin.posts

    found = adapter(linkedin).find(post, since=since())
    assert found is not None and found.remote_id == made["id"]
    assert found.url.endswith(f"/feed/update/{made['id']}/")


def test_find_is_none_for_a_post_never_sent(linkedin):
    linkedin.add_post("Something else entirely")
    assert adapter(linkedin).find(outgoing("Never sent"), since=since()) is None


def test_find_ignores_the_same_text_posted_before_the_send(linkedin):
    linkedin.add_post("Good morning", created_at=datetime.now(UTC) - timedelta(days=2))
    assert adapter(linkedin).find(outgoing("Good morning"), since=since()) is None


def test_find_tells_a_text_post_from_an_image_post_with_the_same_text(linkedin):
    adapter(linkedin).publish(outgoing("Same words", images=[CAT, DOG]))
    assert adapter(linkedin).find(outgoing("Same words"), since=since()) is None
    assert adapter(linkedin).find(outgoing("Same words", images=[CAT, DOG]),
                                  since=since()) is not None


def test_find_that_cannot_ask_linkedin_is_unknown(linkedin):
    linkedin.fail_next(1, status=503, path="/rest/posts")
    with pytest.raises(Unknown, match="Could not ask LinkedIn"):
        adapter(linkedin).find(outgoing(), since=since())


# -- connecting: the provider -------------------------------------------------------------------


def consent(fake: FakeLinkedIn, decision: str = "allow", state: str = "st4te") -> dict:
    """What a person's browser does on LinkedIn's consent page: open it, press a button; the
    redirect's query."""
    redirect_uri = "http://acme.agency.localhost:8000/admin/channels/connect/callback/"
    page = requests.get(provider.authorize_url() + "?" + urlencode({
        "response_type": "code", "client_id": "li-app", "redirect_uri": redirect_uri,
        "state": state, "scope": " ".join(provider.scopes)}), timeout=5)
    assert page.status_code == 200 and "Allow" in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    answer = requests.post(fake.url + "/oauth/v2/authorization/decide",
                           data={**fields, "decision": decision}, allow_redirects=False,
                           timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/admin/channels/connect/callback/"
    return {k: v[0] for k, v in parse_qs(location.query).items()}, redirect_uri


def test_consent_exchange_and_pages_to_pick(linkedin):
    query, redirect_uri = consent(linkedin)
    assert query["state"] == "st4te"

    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri, code_verifier="")
    assert tokens.access_token and tokens.refresh_token
    assert tokens.expires_at > datetime.now(UTC) + timedelta(days=59)
    assert tokens.refresh_expires_at > tokens.expires_at
    assert set(tokens.scopes.split()) == set(provider.scopes)

    accounts = provider.accounts(tokens)
    assert {(a.id, a.name) for a in accounts} == {(ORG, "Acme Coffee"), ("99", "Acme Careers")}
    acme = next(a for a in accounts if a.id == ORG)
    assert acme.handle == "linkedin.com/company/acme-coffee"
    assert acme.settings == {"organization_urn": f"urn:li:organization:{ORG}"}


def test_denied_consent_comes_back_as_linkedins_error_with_the_state(linkedin):
    query, _ = consent(linkedin, decision="deny")
    assert query["error"] == "user_cancelled_authorize" and query["state"] == "st4te"
    assert "code" not in query


def test_a_code_used_twice_is_refused_with_linkedins_reason(linkedin):
    query, redirect_uri = consent(linkedin)
    provider.exchange(code=query["code"], redirect_uri=redirect_uri)
    with pytest.raises(ConnectionError_, match="HTTP 400, invalid_request.*authorization code"):
        provider.exchange(code=query["code"], redirect_uri=redirect_uri)


def test_a_wrong_client_secret_is_refused_saying_so(linkedin, settings):
    query, redirect_uri = consent(linkedin)
    settings.OAUTH_CLIENTS = {"linkedin": {"client_id": "li-app", "client_secret": "wrong"}}
    with pytest.raises(ConnectionError_, match="invalid_client"):
        provider.exchange(code=query["code"], redirect_uri=redirect_uri)


def test_without_an_app_configured_the_provider_says_what_to_set(linkedin, settings):
    settings.OAUTH_CLIENTS = {}
    assert connections.client("linkedin") is None
    with pytest.raises(ConnectionError_, match="OAUTH_LINKEDIN_CLIENT_ID"):
        provider.exchange(code="x", redirect_uri="http://x/")


def test_refresh_gives_a_working_token_and_keeps_the_refresh_token(linkedin):
    query, redirect_uri = consent(linkedin)
    tokens = provider.exchange(code=query["code"], redirect_uri=redirect_uri)
    channel = channel_for(linkedin, tokens.access_token)
    channel.set_refresh_token(tokens.refresh_token)
    linkedin.expire(tokens.access_token)
    with pytest.raises(NeedsReconnect):
        LinkedInAdapter(channel, timeout=TIMEOUT).publish(outgoing("Before the refresh"))

    fresh = provider.refresh(channel)
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token == tokens.refresh_token
    channel.set_secret(fresh.access_token)
    LinkedInAdapter(channel, timeout=TIMEOUT).publish(outgoing("After the refresh"))
    assert [linkedin.shown_text(p) for p in linkedin.posts] == ["After the refresh"]


def test_a_refused_refresh_token_is_a_connection_error_with_linkedins_reason(linkedin):
    channel = channel_for(linkedin)
    channel.set_refresh_token("AQXnot-a-real-one")
    with pytest.raises(ConnectionError_, match="refresh token is invalid"):
        provider.refresh(channel)


def test_revoke_makes_the_token_stop_working(linkedin):
    token = linkedin.issue_token()
    channel = channel_for(linkedin, token)

    assert provider.revoke(channel) is True
    assert linkedin.revoked == [token]
    with pytest.raises(NeedsReconnect, match="REVOKED_ACCESS_TOKEN"):
        LinkedInAdapter(channel, timeout=TIMEOUT).publish(outgoing())


def test_the_provider_is_registered_under_the_networks_name():
    assert connections.get("linkedin") is provider
    assert provider.network in networks.NETWORKS


# -- rules --------------------------------------------------------------------------------------


def _problems(**draft) -> list[str]:
    return networks.get("linkedin").problems(networks.PostDraft(**draft))


def test_linkedin_rules_take_3000_characters_and_refuse_3001():
    assert _problems(copy="é" * 3000) == []
    [problem] = _problems(copy="é" * 3001)
    assert "LinkedIn allows 3000" in problem and "Shorten it by 1" in problem


def test_linkedin_rules_take_twenty_images_with_alt_text_and_one_mp4_video():
    assert _problems(copy="x", images=["alt"] * 20) == []
    assert "at most 20 images" in _problems(copy="x", images=["alt"] * 21)[0]
    assert "no alt text" in _problems(copy="x", images=["ok", " "])[0]
    assert "images and a video" in " ".join(_problems(copy="x", images=["a"], videos=1))
    assert "MP4" in " ".join(_problems(copy="x", videos=1, video_files=["clip.mov"]))
    assert _problems(copy="x", videos=1, video_files=["clip.mp4"]) == []



# -- preview ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_linkedin_preview_folds_long_commentary_behind_see_more(world):
    from django.test import RequestFactory
    from django_tenants.utils import schema_context

    from campaigns.models import CampaignPage
    from tenants.models import Role
    from tests.factories import CampaignFactory, PostFactory

    channel = ChannelFactory(brand=world.acme, name="Acme on LinkedIn", network="linkedin",
                             handle="linkedin.com/company/acme-coffee")
    long_copy = ("Meet the farmers behind our autumn blend. " * 8).strip()
    page = CampaignFactory(brand=world.acme, title="Farmers", author=world.acme.users[Role.EDITOR],
                           posts=[PostFactory(copy=long_copy, channels=[channel]),
                                  PostFactory(copy="Short and sweet", channels=[channel])])
    with schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        request = RequestFactory(HTTP_HOST=world.acme.host).get("/")
        request.user = world.acme.users[Role.EDITOR]
        response = draft.serve_preview(request, "linkedin")
        response.render()
    html = response.content.decode()

    assert html.count('class="card card--linkedin"') == 2
    assert html.count("see more") == 1  # only the long one folds, as LinkedIn's feed does
    fold = html[html.index('<details class="card__fold">'):html.index("</details>")]
    assert long_copy in fold  # the whole text is one click away
    assert re.findall(r"(\d+) / 3000", html) == [str(len(long_copy)), "15"]
    assert "Short and sweet" in html


# -- through the outbox -------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_approved_post_goes_out_once_to_the_page_and_its_urn_is_recorded(world, kit,
                                                                            linkedin):
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns.publishing import transitions, worker
    from campaigns.publishing.models import Delivery, State
    from campaigns.publishing.transitions import Outcome
    from tests.publishing.conftest import approve, make_campaign

    channel = ChannelFactory(brand=world.acme, name="Acme on LinkedIn", network="linkedin",
                             handle="linkedin.com/company/acme-coffee",
                             secret=linkedin.issue_token())
    with schema_context(kit.schema):
        channel.account_id = ORG
        channel.save()
    page = make_campaign(kit.schema, posts=[("Harvest week (day 1) #Coffee", [channel],
                                             kit.soon, kit.image)])
    (delivery,) = approve(kit.schema, page)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    claims = transitions.claim_due()
    assert [worker.deliver(pk, claim) for pk, claim in claims] == [Outcome.PUBLISHED]
    assert [worker.deliver(pk, claim) for pk, claim in claims] == [Outcome.STALE]

    [post] = linkedin.posts
    delivery.refresh_from_db()
    assert delivery.state == State.PUBLISHED and delivery.remote_id == post["id"]
    assert delivery.remote_url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    assert linkedin.shown_text(post) == "Harvest week (day 1) #Coffee"
    assert post["content"]["media"]["altText"] == "Alt for Harvest week (day 1) #Coffee"
