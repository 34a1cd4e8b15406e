"""Google Business Profile local posts: the adapter and the OAuth provider, through
google-api-python-client, against a local Google (agency/demo/fakes/google_business.py) that
answers as Google's references say: what arrives on the location, and what staff are told when it
does not."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_tenants.utils import tenant_context

from agency.demo.fakes import Hostile
from agency.demo.fakes.google_business import SCOPE, FakeGoogleBusiness
from campaigns import connections, networks
from campaigns.connections import ConnectionError_, Tokens
from campaigns.networks import PostDraft
from campaigns.providers.google_business import provider
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
from campaigns.publishing.adapters.google_business import GoogleBusinessAdapter
from tests.factories import ChannelFactory

ACCOUNT, LOCATION, OTHER = "106543210987654321", "4815162342", "4815162343"
SECOND_ACCOUNT, THIRD_LOCATION = "117000000000000001", "5900000001"
APP = ("gbp-app.apps.googleusercontent.com", "gbp-secret")
TIMEOUT = 0.5
_ids = itertools.count(7001)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"cup" * 200
CLIP = Video(data=b"", mime_type="video/mp4", name="clip.mp4", description="A pour",
             file="gbp/clip.mp4")


def outgoing(text="Autumn blend is back", options=None, **extra) -> Outgoing:
    extra.setdefault("delivery_id", next(_ids))
    return Outgoing(idempotency_key=f"delivery-{extra['delivery_id']}", text=text,
                    campaign_title="Autumn", options=options or {}, **extra)


@pytest.fixture
def google(settings):
    with FakeGoogleBusiness(client_id=APP[0], client_secret=APP[1], hang_seconds=3,
                            locations={ACCOUNT: {LOCATION: "Acme Coffee, High Street",
                                                 OTHER: "Acme Coffee, Station Road"},
                                       SECOND_ACCOUNT: {THIRD_LOCATION: "Acme Roastery, Mill"
                                                                        " Lane"}}) as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(
            ("gbp_accounts", "gbp_oauth2", "gbp_account_management",
             "gbp_business_information", "gbp_api"), fake.url)
        settings.OAUTH_CLIENTS = {"google_business": {"client_id": APP[0],
                                                      "client_secret": APP[1]}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        yield fake


def channel_for(fake, token: str | None = None, *, refresh: str | None = None,
                expires_in: timedelta | None = timedelta(minutes=50)):
    channel = ChannelFactory.build(name="Acme High Street", network="google_business",
                                   handle="High Street, Acmeton",
                                   secret=token if token is not None else fake.issue_token())
    channel.account_id = LOCATION
    channel.settings = {"account": f"accounts/{ACCOUNT}", "location": f"locations/{LOCATION}"}
    if refresh:
        channel.set_refresh_token(refresh)
    channel.token_expires_at = timezone.now() + expires_in if expires_in else None
    return channel


def adapter(fake, **kwargs) -> GoogleBusinessAdapter:
    return GoogleBusinessAdapter(channel_for(fake, **kwargs), timeout=TIMEOUT)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


# -- publishing ---------------------------------------------------------------------------------


def test_a_standard_post_goes_out_on_the_location_and_its_name_is_recorded(google):
    published = for_channel(channel_for(google), timeout=TIMEOUT).publish(outgoing())

    [post] = google.posts
    assert post["name"].startswith(f"accounts/{ACCOUNT}/locations/{LOCATION}/localPosts/")
    assert published.remote_id == post["name"] and published.url == post["searchUrl"]
    assert (post["summary"], post["topicType"], post["languageCode"]) == (
        "Autumn blend is back", "STANDARD", "en-GB")  # the installation's language
    assert "callToAction" not in post and "event" not in post and "media" not in post
    # Bundled discovery documents and the committed v4 one: nothing but the API was asked.
    assert google.requests == [("POST", f"/v4/accounts/{ACCOUNT}/locations/{LOCATION}"
                                        "/localPosts")]


def test_an_event_goes_out_with_its_title_schedule_and_booking_button(google):
    adapter(google).publish(outgoing("Latte art night", options={
        "post_type": "EVENT", "event_title": "Latte art night",
        "event_start": "2026-12-18T18:30", "event_end": "2026-12-18T21:00",
        "cta_type": "BOOK", "cta_url": "https://acme.test/book"}))

    [post] = google.posts
    assert post["topicType"] == "EVENT"
    assert post["event"] == {"title": "Latte art night", "schedule": {
        "startDate": {"year": 2026, "month": 12, "day": 18},
        "startTime": {"hours": 18, "minutes": 30, "seconds": 0, "nanos": 0},
        "endDate": {"year": 2026, "month": 12, "day": 18},
        "endTime": {"hours": 21, "minutes": 0, "seconds": 0, "nanos": 0}}}
    assert post["callToAction"] == {"actionType": "BOOK", "url": "https://acme.test/book"}


def test_an_offer_carries_its_coupon_redeem_link_and_terms_and_no_button(google):
    adapter(google).publish(outgoing("Two for one this weekend", options={
        "post_type": "OFFER", "event_title": "Two for one", "event_start": "2026-12-19T08:00",
        "event_end": "2026-12-20T18:00", "offer_coupon": "BOGO-LATTE",
        "offer_redeem_url": "https://acme.test/redeem", "offer_terms": "One per customer",
        "cta_type": "SHOP", "cta_url": "https://acme.test/shop"}))

    [post] = google.posts
    assert post["topicType"] == "OFFER"
    assert post["offer"] == {"couponCode": "BOGO-LATTE",
                             "redeemOnlineUrl": "https://acme.test/redeem",
                             "termsConditions": "One per customer"}
    assert post["event"]["title"] == "Two for one"
    assert "callToAction" not in post  # Google ignores it on offers: none is sent


def test_a_button_without_its_own_url_opens_the_posts_link_and_call_takes_none(google):
    adapter(google).publish(outgoing("Order ahead", link="https://acme.test/menu",
                                     options={"cta_type": "ORDER"}))
    adapter(google).publish(outgoing("Ring us", options={"cta_type": "CALL"}))

    first, second = google.posts
    assert first["callToAction"] == {"actionType": "ORDER", "url": "https://acme.test/menu"}
    assert second["callToAction"] == {"actionType": "CALL"}


def test_any_writing_arrives_as_written(google):
    text = "Café ☕ — “open late” 🎃 on Thursdays, 日本語 too"
    adapter(google).publish(outgoing(text))
    assert [p["summary"] for p in google.posts] == [text]


@pytest.mark.parametrize(("options", "said"), [
    ({"post_type": "EVENT", "event_start": "2026-12-18T18:30", "event_end": "2026-12-18T21:00"},
     "needs a title"),
    ({"post_type": "EVENT", "event_title": "Night", "event_start": "2026-12-18T18:30"},
     "needs its end date and time"),
    ({"post_type": "EVENT", "event_title": "Night", "event_start": "2026-12-18T21:00",
      "event_end": "2026-12-18T18:30"}, "ends before it starts"),
    ({"cta_type": "SIGN_UP"}, "needs the address it opens"),
    ({"post_type": "ALERT"}, "“Post type” for Google Business Profile is not one of the choices"),
    ({"cta_type": "LEARN_MORE", "cta_url": "acme.test"}, "must be a web address"),
])
def test_bad_choices_are_refused_before_anything_is_sent(google, options, said):
    with pytest.raises(Permanent, match=said):
        adapter(google).publish(outgoing(options=options))
    assert google.posts == [] and google.requests == []


def test_a_video_or_a_second_photo_is_refused_before_anything_is_sent(google):
    with pytest.raises(Permanent, match="photos only, no video"):
        adapter(google).publish(outgoing(videos=[CLIP]))
    two = [Image(data=b"", mime_type="image/jpeg", name=f"{n}.jpg", alt="A cup",
                 file=f"gbp/{n}.jpg") for n in ("a", "b")]
    with pytest.raises(Permanent, match="one photo a post"):
        adapter(google).publish(outgoing(images=two))
    assert google.requests == []


def test_a_summary_google_refuses_is_permanent_with_googles_message(google):
    with pytest.raises(Permanent, match="INVALID_ARGUMENT: The summary can be at most 1500"):
        adapter(google).publish(outgoing("x" * 1501))
    assert google.posts == []


# -- the photo: fetched by Google from a signed link ---------------------------------------------


@pytest.fixture
def stored_jpeg(world, live_server_url, settings, google, django_db_blocker):
    settings.AGENCY_PORT = str(live_server_url)
    with django_db_blocker.unblock(), tenant_context(world.acme.client):
        name = default_storage.save("gbp-tests/cup.jpg", ContentFile(JPEG))
        yield name
        default_storage.delete(name)


def test_the_photo_is_fetched_by_google_from_a_signed_link_that_names_nothing(google,
                                                                              stored_jpeg):
    cup = Image(data=b"", mime_type="image/jpeg", name="cup.jpg", alt="A steaming cup",
                file=stored_jpeg)
    adapter(google).publish(outgoing("Our new cup", images=[cup]))

    [post] = google.posts
    [fetch] = google.fetched
    assert fetch["status"] == 200 and fetch["data"] == JPEG
    assert fetch["content_type"] == "image/jpeg"
    assert post["media"][0]["mediaFormat"] == "PHOTO"
    assert post["media"][0]["sourceUrl"] == fetch["url"]
    assert "/media-link/" in fetch["url"] and "cup" not in fetch["url"]


def test_a_photo_google_cannot_fetch_is_refused_with_googles_reason(google, stored_jpeg,
                                                                    settings):
    missing = Image(data=b"", mime_type="image/jpeg", name="gone.jpg", alt="Gone",
                    file="gbp-tests/gone.jpg")
    with pytest.raises(Permanent, match="could not be fetched"):
        adapter(google).publish(outgoing("Gone", images=[missing]))
    assert google.posts == []


# -- tokens ---------------------------------------------------------------------------------------


def test_an_expired_token_is_renewed_with_the_refresh_token_and_the_post_goes_once(google):
    stale = google.issue_token()
    google.expire(stale)
    channel = channel_for(google, stale, refresh=google.issue_refresh_token())
    GoogleBusinessAdapter(channel, timeout=TIMEOUT).publish(outgoing())

    assert len(google.posts) == 1
    renewed = channel.get_secret()
    assert renewed != stale and renewed not in channel.secret_encrypted
    assert channel.token_expires_at - timezone.now() > timedelta(minutes=55)
    assert google.count("POST", "/token") == 1


def test_a_token_about_to_expire_is_renewed_before_sending(google):
    channel = channel_for(google, refresh=google.issue_refresh_token(),
                          expires_in=timedelta(minutes=2))
    first = channel.get_secret()
    GoogleBusinessAdapter(channel, timeout=TIMEOUT).publish(outgoing())

    assert channel.get_secret() != first
    assert [m for m, p in google.requests] == ["POST", "POST"]  # the renewal, then the post
    assert google.requests[0][1] == "/token"


def test_access_the_person_removed_needs_reconnect_and_nothing_is_posted(google):
    channel = channel_for(google, refresh=google.issue_refresh_token())
    google.revoke_all()
    with pytest.raises(NeedsReconnect, match="invalid_grant: Token has been expired or revoked"):
        GoogleBusinessAdapter(channel, timeout=TIMEOUT).publish(outgoing())
    assert google.posts == []


def test_an_expired_token_without_a_refresh_token_needs_reconnect(google):
    stale = google.issue_token()
    google.expire(stale)
    with pytest.raises(NeedsReconnect, match="UNAUTHENTICATED"):
        adapter(google, token=stale).publish(outgoing())


def test_google_answers_whether_it_still_takes_the_access_without_posting(google):
    assert adapter(google).check_access() is True
    stale = google.issue_token()
    google.expire(stale)
    with pytest.raises(NeedsReconnect):
        adapter(google, token=stale).check_access()
    assert google.posts == []


# -- errors ---------------------------------------------------------------------------------------


def test_a_rate_limit_waits_as_long_as_google_asks(google):
    google.fail_next(1, status=429, retry_after=30)
    with pytest.raises(Transient, match="RESOURCE_EXHAUSTED") as caught:
        adapter(google).publish(outgoing())
    assert caught.value.retry_after == 30
    assert google.posts == []


def test_a_per_minute_quota_without_a_wait_waits_a_minute(google):
    google.fail_next(1, status=429)
    with pytest.raises(Transient) as caught:
        adapter(google).publish(outgoing())
    assert caught.value.retry_after == 60


def test_a_location_the_account_no_longer_manages_is_refused_saying_so(google):
    google.fail_next(1, status=403)
    with pytest.raises(Permanent, match="no longer manage the location"):
        adapter(google).publish(outgoing())


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_on_the_post_is_an_unknown_outcome(google, status):
    google.fail_next(1, status=status)
    with pytest.raises(Unknown, match=f"HTTP {status}"):
        adapter(google).publish(outgoing())


def test_a_channel_without_a_location_says_to_connect_it(google):
    channel = channel_for(google)
    channel.settings = {}
    with pytest.raises(Permanent, match="pick the location"):
        GoogleBusinessAdapter(channel, timeout=TIMEOUT).publish(outgoing())


def test_googles_addresses_go_through_the_outbound_guard(google, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(Permanent, match="Google's address is refused: Use an https://"):
        adapter(google).publish(outgoing())
    # An internal address (a misconfigured or attacker's base URL) is refused before sending.
    settings.NETWORK_BASE_URLS = {**settings.NETWORK_BASE_URLS,
                                  "gbp_api": f"https://127.0.0.1:{google.port}"}
    with pytest.raises(Permanent, match="127.0.0.1, a private, loopback"):
        adapter(google).publish(outgoing())
    assert google.requests == []


def test_a_redirect_from_google_is_not_followed(google, settings):
    elsewhere = Hostile(status=200, body=b"{}")
    redirecting = Hostile(redirect_to=f"{elsewhere.url}/latest/meta-data/")
    try:
        settings.NETWORK_BASE_URLS = {**settings.NETWORK_BASE_URLS, "gbp_api": redirecting.url}
        with pytest.raises(Permanent, match="HTTP 302.*a redirect, not followed"):
            adapter(google).publish(outgoing())
        assert len(redirecting.requests) == 1 and elsewhere.requests == []
    finally:
        redirecting.close()
        elsewhere.close()


# -- did it go out? -------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["hang", "drop"])
def test_accepted_without_an_answer_is_unknown_and_find_sees_it(google, fault):
    (google.accept_then_hang if fault == "hang" else google.accept_then_drop)(1)
    post = outgoing("Pumpkin spice is here", options={"post_type": "STANDARD"})
    with pytest.raises(Unknown):
        adapter(google).publish(post)
    [made] = google.posts
    found = adapter(google).find(post, since=since())
    assert found is not None and found.remote_id == made["name"]
    assert found.url == made["searchUrl"]


def test_find_is_none_for_a_post_never_sent(google):
    google.add_post("Something else")
    assert adapter(google).find(outgoing("Never sent"), since=since()) is None


def test_find_ignores_the_same_text_posted_before_the_send(google):
    google.add_post("Autumn blend is back", created_at=datetime.now(UTC) - timedelta(days=2))
    assert adapter(google).find(outgoing(), since=since()) is None


def test_find_tells_an_event_from_an_update_with_the_same_text(google):
    google.add_post("Autumn blend is back", topic_type="STANDARD")
    event = outgoing(options={"post_type": "EVENT"})
    assert adapter(google).find(event, since=since()) is None
    assert adapter(google).find(outgoing(), since=since()) is not None


def test_find_that_cannot_ask_google_is_unknown(google):
    google.fail_next(1, status=503)
    with pytest.raises(Unknown, match="Could not ask Google"):
        adapter(google).find(outgoing(), since=since())


# -- the OAuth provider -------------------------------------------------------------------------


def consent(fake, url: str, decision: str = "allow") -> dict:
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    fields = dict(fake.consents[-1])
    answer = requests.post(f"{fake.url}/o/oauth2/v2/auth/decide",
                           data={**fields, "decision": decision}, allow_redirects=False,
                           timeout=10)
    assert answer.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def test_consent_asks_offline_access_again_with_pkce_and_the_business_scope(google):
    url = provider.authorization_url(redirect_uri="https://acme.test/cb", state="st4te",
                                     code_verifier="v" * 64)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{google.url}/o/oauth2/v2/auth?")
    assert (params["access_type"], params["prompt"], params["scope"]) == (
        "offline", "consent", SCOPE)
    assert params["code_challenge_method"] == "S256" and params["client_id"] == APP[0]


def test_consent_exchange_and_every_location_of_every_account_to_pick(google):
    verifier = "v" * 64
    url = provider.authorization_url(redirect_uri="https://acme.test/cb", state="st4te",
                                     code_verifier=verifier)
    back = consent(google, url)
    assert back["state"] == "st4te"
    tokens = provider.exchange(code=back["code"], redirect_uri="https://acme.test/cb",
                               code_verifier=verifier)
    assert tokens.refresh_token and tokens.scopes == SCOPE
    assert timedelta(minutes=55) < tokens.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    accounts = provider.accounts(tokens)
    assert [(a.id, a.name) for a in accounts] == [
        (LOCATION, "Acme Coffee, High Street"), (OTHER, "Acme Coffee, Station Road"),
        (THIRD_LOCATION, "Acme Roastery, Mill Lane")]
    assert accounts[2].settings["account"] == f"accounts/{SECOND_ACCOUNT}"
    assert accounts[0].settings["location"] == f"locations/{LOCATION}"
    assert "Acmeton" in accounts[0].handle


def test_a_wrong_code_verifier_is_refused_with_googles_reason(google):
    url = provider.authorization_url(redirect_uri="https://acme.test/cb", state="s",
                                     code_verifier="v" * 64)
    back = consent(google, url)
    with pytest.raises(ConnectionError_, match="invalid_grant"):
        provider.exchange(code=back["code"], redirect_uri="https://acme.test/cb",
                          code_verifier="w" * 64)


def test_denied_consent_comes_back_as_access_denied_with_the_state(google):
    url = provider.authorization_url(redirect_uri="https://acme.test/cb", state="st4te",
                                     code_verifier="v" * 64)
    back = consent(google, url, decision="deny")
    assert back == {"error": "access_denied", "state": "st4te"}
    assert "access_denied" in provider.declined_errors


def test_a_wrong_client_secret_is_refused_saying_so(google, settings):
    settings.OAUTH_CLIENTS = {"google_business": {"client_id": APP[0],
                                                  "client_secret": "wrong"}}
    with pytest.raises(ConnectionError_, match="invalid_client"):
        provider.exchange(code="4/0nope", redirect_uri="https://acme.test/cb",
                          code_verifier="v" * 64)


def test_without_an_app_configured_the_provider_says_what_to_set(google, settings):
    settings.OAUTH_CLIENTS = {}
    assert not provider.configured()
    with pytest.raises(ConnectionError_, match="OAUTH_GOOGLE_BUSINESS_CLIENT_ID"):
        provider.exchange(code="x", redirect_uri="https://acme.test/cb", code_verifier="v")


def test_refresh_gives_a_working_token_and_keeps_the_refresh_token(google):
    refresh = google.issue_refresh_token()
    channel = channel_for(google, refresh=refresh)
    tokens = provider.refresh(channel)
    assert tokens.refresh_token == refresh  # Google repeats none: the old one is kept
    assert adapter(google, token=tokens.access_token).check_access()


def test_a_refused_refresh_is_a_connection_error_with_googles_reason(google):
    channel = channel_for(google, refresh="1//0unknown")
    with pytest.raises(ConnectionError_, match="Token has been expired or revoked"):
        provider.refresh(channel)


def test_revoke_ends_the_grant_at_google(google):
    refresh = google.issue_refresh_token()
    channel = channel_for(google, refresh=refresh)
    assert provider.revoke(channel) is True
    with pytest.raises(ConnectionError_):
        provider.refresh(channel)


def test_listing_locations_google_refuses_is_a_clear_connection_error(google):
    google.fail_next(1, status=403, message="The caller does not have permission")
    with pytest.raises(ConnectionError_, match="did not list your Business Profile locations"):
        provider.accounts(Tokens(access_token=google.issue_token()))


def test_the_provider_is_registered_under_the_networks_name():
    assert connections.get("google_business") is provider
    assert networks.get("google_business").connected


# -- rules ----------------------------------------------------------------------------------------


def _problems(options=None, **draft) -> list[str]:
    post = PostDraft(**{"copy": "Hello", **draft},
                     options={"google_business": options} if options is not None else {})
    return networks.get("google_business").problems(post)


def test_rules_take_1500_characters_and_refuse_1501():
    assert _problems(copy="x" * 1500) == []
    [problem] = _problems(copy="x" * 1501)
    assert "Google Business Profile allows 1500 characters" in problem


def test_rules_take_one_jpeg_or_png_photo_and_no_video():
    assert _problems(images=["A cup"], image_files=["cup.png"]) == []
    assert any("at most 1 images" in p for p in _problems(images=["a", "b"]))
    assert any("JPG, JPEG, PNG" in p for p in _problems(images=["a"], image_files=["a.gif"]))
    assert any("photos only, no video" in p for p in _problems(videos=1,
                                                                 video_files=["a.mp4"]))


def test_rules_explain_what_an_event_an_offer_and_a_button_need():
    assert _problems({"post_type": "EVENT", "event_title": "Night",
                      "event_start": "2026-12-18T18:30", "event_end": "2026-12-18T21:00",
                      "cta_type": "CALL"}) == []
    said = " ".join(_problems({"post_type": "OFFER", "event_end": "2026-12-18T18:30",
                               "event_start": "2026-12-18T21:00",
                               "offer_redeem_url": "acme.test/redeem"}))
    assert "An offer on Google Business Profile needs a title" in said
    assert "ends before it starts" in said
    assert "“Redeem online at” for Google Business Profile must be a web address" in said
    assert any("needs the address it opens" in p for p in _problems({"cta_type": "LEARN_MORE"}))



# -- preview --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_preview_shows_a_google_business_card_counted_against_1500(world):
    from django.test import RequestFactory
    from django_tenants.utils import schema_context

    from campaigns.models import CampaignPage
    from tenants.models import Role
    from tests.factories import CampaignFactory, PostFactory

    channel = ChannelFactory(brand=world.acme, name="Acme High Street",
                             network="google_business", handle="High Street, Acmeton")
    page = CampaignFactory(brand=world.acme, title="Winter", author=world.acme.users[Role.EDITOR],
                           posts=[PostFactory(copy="Mince pies are in", channels=[channel]),
                                  PostFactory(copy="Latte art night", channels=[channel],
                                              network_options={"google_business": {
                                                  "post_type": "EVENT",
                                                  "event_title": "Latte art with Ana",
                                                  "event_start": "2026-12-18T18:30",
                                                  "event_end": "2026-12-18T21:00",
                                                  "cta_type": "BOOK"}},
                                              link="https://acme.test/book")])
    with schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        request = RequestFactory(HTTP_HOST=world.acme.host).get("/")
        request.user = world.acme.users[Role.EDITOR]
        response = draft.serve_preview(request, "google_business")
        response.render()
    html = response.content.decode()

    assert html.count('class="card card--google_business"') == 2
    assert "Google Business Profile" in html and "Mince pies are in" in html
    assert "17 / 1500" in html
    # The event's title and times, then its button, as Google shows a local event post.
    event = html[html.index("Latte art night"):]
    assert re.search(r'class="card__event"><strong>Latte art with Ana</strong><br>'
                     r"2026-12-18 18:30 – 2026-12-18 21:00", event)
    assert '<span class="card__cta">Book</span>' in event
    assert html.count('class="card__cta"') == 1  # the update has no button


# -- the editor -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_editor_asks_for_an_event_and_refuses_one_without_its_title(world, http):
    from django_tenants.utils import schema_context

    from campaigns.models import CampaignPage
    from tenants.models import Role
    from tests.factories import CampaignFactory, PostFactory
    from tests.forms import form_fields

    channel = ChannelFactory(brand=world.acme, name="Acme High Street",
                             network="google_business", handle="High Street, Acmeton")
    page = CampaignFactory(brand=world.acme, title="Winter", author=world.acme.users[Role.EDITOR],
                           posts=[PostFactory(copy="Latte art night", channels=[channel],
                                              publish_at=datetime(2027, 10, 1, 8, tzinfo=UTC))])
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    fields = form_fields(editor.get(f"/admin/pages/{page.pk}/edit/").content.decode(),
                         "page-edit-form")
    opened = editor.post("/admin/campaigns/post-editor/",
                         {"prefix": "posts-0", "summary": fields["posts-0-summary"][0]})
    opened_html = opened.content.decode()
    for label in ("Post type", "Event or offer title", "Starts", "Ends", "Button",
                  "Coupon code"):
        assert label in opened_html
    del fields["posts-0-summary"]
    fields.update(form_fields(f'<form id="f">{opened_html}</form>', "f"))
    fields["posts-0-media-count"] = ["0"]
    prefix = "posts-0-network_options-google_business-"
    fields.update({prefix + "post_type": ["EVENT"], prefix + "event_title": [""],
                   prefix + "event_start": ["2027-10-02T18:30"],
                   prefix + "event_end": ["2027-10-02T21:00"], prefix + "cta_type": ["BOOK"],
                   prefix + "cta_url": ["https://acme.test/book"]})

    refused = editor.post(f"/admin/pages/{page.pk}/edit/", fields)
    assert refused.status_code == 200
    assert "An event on Google Business Profile needs a title: write one." in \
        refused.content.decode()
    with schema_context(world.acme.client.schema_name):
        assert CampaignPage.objects.get(pk=page.pk).revisions.count() == 1

    fields[prefix + "event_title"] = ["Latte art with Ana"]
    saved = editor.post(f"/admin/pages/{page.pk}/edit/", fields)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    with schema_context(world.acme.client.schema_name):
        latest = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        chosen = latest.posts.all()[0].network_options["google_business"]
    assert (chosen["post_type"], chosen["event_title"], chosen["cta_type"]) == (
        "EVENT", "Latte art with Ana", "BOOK")
    assert chosen["event_start"].startswith("2027-10-02T18:30")
