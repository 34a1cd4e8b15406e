"""Facebook Pages, Instagram and Threads: the adapters and the providers against a local Meta
(agency/demo/fakes/meta.py) that answers as Meta's references say, fetching media over HTTP from
the addresses the adapters give it. What lands on the network, and what staff are told when it
does not."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tenants.utils import tenant_context

from agency.demo.fakes.meta import FakeMeta
from campaigns import networks
from campaigns.connections import ConnectionError_
from campaigns.providers.facebook import FacebookProvider
from campaigns.providers.instagram import InstagramProvider
from campaigns.providers.threads import ThreadsProvider
from campaigns.publishing.adapters import (
    Image,
    NeedsReconnect,
    Outgoing,
    Permanent,
    Transient,
    Unknown,
    Video,
    graph,
)
from campaigns.publishing.adapters.facebook import FacebookAdapter
from campaigns.publishing.adapters.instagram import InstagramAdapter
from campaigns.publishing.adapters.threads import ThreadsAdapter
from tests.factories import ChannelFactory

TIMEOUT = 2.0
PAGE, IG_USER, THREADS_USER = "20001", "17841400000000001", "30001"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"cup" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"clip" * 300
_ids = itertools.count(5001)


def outgoing(text="Autumn blend is back", **extra) -> Outgoing:
    extra.setdefault("delivery_id", next(_ids))
    return Outgoing(idempotency_key=f"delivery-{extra['delivery_id']}", text=text,
                    campaign_title="Autumn", created_at_us=time.time_ns() // 1000, **extra)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


@pytest.fixture
def meta(settings):
    with FakeMeta(app_id="meta-app", app_secret="meta-secret", hang_seconds=4) as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(
            ("facebook_graph", "facebook_www", "threads_graph", "threads_www"), fake.url)
        settings.OAUTH_CLIENTS = {
            "facebook": {"client_id": "meta-app", "client_secret": "meta-secret"},
            "threads": {"client_id": "meta-app", "client_secret": "meta-secret"}}
        yield fake


def channel(network: str, token: str, account_id: str, **extra):
    return ChannelFactory.build(name=f"Acme on {network}", network=network, handle="@acme",
                                account_id=account_id, secret=token, **extra)


def facebook(meta, token=None):
    return FacebookAdapter(channel("facebook", token or meta.page_token(PAGE), PAGE),
                           timeout=TIMEOUT)


def instagram(meta, token=None):
    return InstagramAdapter(channel("instagram", token or meta.page_token(PAGE), IG_USER,
                                    settings={"page_id": PAGE}), timeout=TIMEOUT)


def threads(meta, token=None):
    return ThreadsAdapter(channel("threads", token or meta.threads_token(), THREADS_USER),
                          timeout=TIMEOUT)


# -- Facebook Pages ---------------------------------------------------------------------------


def test_facebook_text_post_with_link_arrives_with_its_first_comment(meta):
    post = outgoing("Autumn blend is back\n\nhttps://acme.example/autumn",
                    link="https://acme.example/autumn", first_comment="Which cup is yours?")
    published = facebook(meta).publish(post)
    [on_page] = meta.page_posts(PAGE)
    assert on_page["message"] == post.text and on_page["link"] == "https://acme.example/autumn"
    assert published.remote_id == on_page["id"]
    assert published.url == f"https://www.facebook.com/{on_page['id']}"
    assert [(c["on"], c["message"]) for c in meta.comments] == [
        (on_page["id"], "Which cup is yours?")]


def test_facebook_one_photo_is_published_with_its_caption_and_alt_text(meta):
    cup = Image(data=JPEG, mime_type="image/jpeg", name="cup.jpg", alt="A steaming cup")
    published = facebook(meta).publish(outgoing(images=[cup]))
    [on_page] = meta.page_posts(PAGE)
    [photo] = [meta.objects[i] for i in on_page["photos"]]
    assert published.remote_id == on_page["id"]
    assert (photo["alt"], photo["size"], photo["mime_type"]) == (
        "A steaming cup", len(JPEG), "image/jpeg")


def test_facebook_several_photos_make_one_post_of_unpublished_photos(meta):
    images = [Image(data=JPEG + bytes([n]), mime_type="image/jpeg", name=f"cup{n}.jpg",
                    alt=f"Cup number {n}") for n in range(3)]
    facebook(meta).publish(outgoing(images=images))
    [on_page] = meta.page_posts(PAGE)  # one post, no photo of its own on the Page
    assert [meta.objects[i]["alt"] for i in on_page["photos"]] == [
        "Cup number 0", "Cup number 1", "Cup number 2"]


def test_facebook_video_is_uploaded_with_the_text_as_its_description(meta):
    clip = Video(data=MP4, mime_type="video/mp4", name="pour.mp4", description="A pour")
    published = facebook(meta).publish(outgoing("Watch the pour", videos=[clip]))
    [on_page] = meta.page_posts(PAGE)
    assert on_page["message"] == "Watch the pour"
    assert meta.objects[published.remote_id]["size"] == len(MP4)
    assert published.url.endswith(f"/{PAGE}/videos/{published.remote_id}")


def test_facebook_expired_token_asks_for_a_reconnect_and_posts_nothing(meta):
    token = meta.page_token(PAGE)
    meta.expire(token)
    with pytest.raises(NeedsReconnect) as refused:
        facebook(meta, token).publish(outgoing())
    assert "Session has expired" in refused.value.message
    assert "code 190, subcode 463" in refused.value.message
    assert "Reconnect" in refused.value.message
    assert meta.page_posts(PAGE) == []


def test_facebook_rate_limit_waits_as_long_as_the_usage_header_says(meta):
    meta.graph_error_next(32, "(#32) Page request limit reached", regain_minutes=7)
    with pytest.raises(Transient) as limited:
        facebook(meta).publish(outgoing())
    assert limited.value.retry_after == 7 * 60
    assert "Page request limit reached" in limited.value.message
    facebook(meta).publish(outgoing())
    assert len(meta.page_posts(PAGE)) == 1


def test_facebook_refusal_is_permanent_with_metas_words(meta):
    meta.graph_error_next(368, "The action attempted has been deemed abusive or is otherwise "
                               "disallowed", subcode=1390008)
    with pytest.raises(Permanent) as refused:
        facebook(meta).publish(outgoing())
    assert not isinstance(refused.value, NeedsReconnect)
    assert "deemed abusive" in refused.value.message and "code 368" in refused.value.message


def test_facebook_server_error_after_sending_is_unknown_before_sending_transient(meta):
    meta.fail_next(1, status=500, path="/feed")
    with pytest.raises(Unknown):
        facebook(meta).publish(outgoing())
    images = [Image(data=JPEG, mime_type="image/jpeg", name=f"c{n}.jpg", alt="Cup")
              for n in range(2)]
    meta.fail_next(1, status=503, path="/photos")  # an unpublished photo: nothing posted yet
    with pytest.raises(Transient):
        facebook(meta).publish(outgoing(images=images))


@pytest.mark.parametrize("fault", ["hang", "drop"])
def test_facebook_accepted_without_answer_is_unknown_and_find_sees_it(meta, fault):
    post = outgoing(f"Accepted, answer {fault}")
    getattr(meta, f"accept_then_{fault}")(1)
    adapter = facebook(meta)
    adapter.timeout = 0.5
    with pytest.raises(Unknown):
        adapter.publish(post)
    found = facebook(meta).find(post, since=since())
    [on_page] = meta.page_posts(PAGE)
    assert found is not None and found.remote_id == on_page["id"]
    assert facebook(meta).find(outgoing("Never sent"), since=since()) is None
    assert meta.duplicates() == {}


def test_facebook_find_cannot_tell_when_meta_is_down(meta):
    meta.fail_next(1, status=500, path="/posts")
    with pytest.raises(Unknown):
        facebook(meta).find(outgoing(), since=since())


# -- Threads (text) -----------------------------------------------------------------------------


def test_threads_text_post_is_published_and_the_first_comment_is_a_reply(meta):
    post = outgoing("Autumn blend is back ☕", first_comment="Ask us about oat milk")
    published = threads(meta).publish(post)
    [thread] = meta.threads_posts()
    [reply] = meta.threads_replies()
    assert (thread["id"], thread["text"], thread["media_type"]) == (
        published.remote_id, post.text, "TEXT")
    assert (reply["reply_to_id"], reply["text"]) == (thread["id"], "Ask us about oat milk")
    assert published.url.startswith("https://www.threads.net/@acme.coffee/post/")


def test_threads_publishing_limit_reached_is_transient_and_publishes_nothing(meta):
    meta.threads_quota["used"] = meta.threads_quota["quota_total"]
    with pytest.raises(Transient) as limited:
        threads(meta).publish(outgoing())
    assert limited.value.retry_after == 3600
    assert "250 posts" in limited.value.message
    assert meta.threads_posts() == []


def test_threads_expired_token_asks_for_a_reconnect(meta):
    token = meta.threads_token()
    meta.expire(token)
    with pytest.raises(NeedsReconnect):
        threads(meta, token).publish(outgoing())


def test_threads_unknown_outcome_then_find(meta):
    post = outgoing("Is this one out?")
    meta.accept_then_hang(1)
    adapter = threads(meta)
    adapter.timeout = 0.5
    with pytest.raises(Unknown):
        adapter.publish(post)
    found = threads(meta).find(post, since=since())
    assert found is not None and found.remote_id == meta.threads_posts()[0]["id"]
    assert threads(meta).find(outgoing("Not this"), since=since()) is None


# -- the shared client's reading of Meta's headers ---------------------------------------------


def test_usage_wait_prefers_retry_after_then_the_longest_regain_time():
    assert graph.usage_wait({"Retry-After": "30"}) == 30
    assert graph.usage_wait({"X-Business-Use-Case-Usage":
                             '{"1": [{"estimated_time_to_regain_access": 3}],'
                             ' "2": [{"estimated_time_to_regain_access": 12}]}'}) == 720
    assert graph.usage_wait({"X-Business-Use-Case-Usage": "not json"}) is None
    assert graph.app_usage({"X-App-Usage": '{"call_count": 95, "total_time": 20}'}) == 95


# -- providers ----------------------------------------------------------------------------------


def consent(meta, provider, *, decision="allow", state="st4te"):
    """What a person's browser does on the fake's consent page: open it, press a button, and
    follow the redirect to the callback (returned, not followed)."""
    page = requests.get(provider.authorize_url(), params={
        "client_id": "meta-app", "redirect_uri": "http://acme.agency.localhost/cb",
        "state": state, "response_type": "code",
        "scope": provider.scope_separator.join(provider.scopes)}, timeout=5)
    assert page.status_code == 200 and ">Allow<" in page.text
    href = page.text.split(f"id='{decision}' href='", 1)[1].split("'", 1)[0]
    answer = requests.get(meta.url + href.replace("&amp;", "&"), allow_redirects=False,
                          timeout=5)
    assert answer.status_code == 302
    return answer.headers["Location"]


def code_of(location: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(location).query)["code"][0]


def test_facebook_provider_gets_a_long_lived_token_and_the_pages_with_their_tokens(meta):
    provider = FacebookProvider()
    location = consent(meta, provider)
    assert "state=st4te" in location
    tokens = provider.exchange(code=code_of(location),
                               redirect_uri="http://acme.agency.localhost/cb",
                               code_verifier="v" * 50)
    assert meta.tokens[tokens.access_token]["kind"] == "user"
    assert tokens.expires_at - datetime.now(UTC) > timedelta(days=59)
    assert "pages_manage_posts" in tokens.scopes.split()
    accounts = provider.accounts(tokens)
    assert [(a.id, a.name) for a in accounts] == [("20001", "Acme Coffee"),
                                                  ("20002", "Acme Outlet")]
    assert accounts[0].access_token == meta.page_token("20001")
    assert accounts[0].settings["user_id"] == "10001"


def test_facebook_provider_refuses_a_code_for_another_redirect_and_a_used_code(meta):
    provider = FacebookProvider()
    code = code_of(consent(meta, provider))
    with pytest.raises(ConnectionError_) as refused:
        provider.exchange(code=code, redirect_uri="http://evil.example/cb", code_verifier="")
    assert "redirect_uri" in refused.value.message
    with pytest.raises(ConnectionError_):  # the code is gone once tried
        provider.exchange(code=code, redirect_uri="http://acme.agency.localhost/cb",
                          code_verifier="")


def test_denied_consent_comes_back_as_access_denied(meta):
    location = consent(meta, FacebookProvider(), decision="deny")
    assert "error=access_denied" in location and "error_reason=user_denied" in location
    assert "state=st4te" in location


def test_instagram_provider_offers_only_pages_with_a_linked_instagram_account(meta):
    provider = InstagramProvider()
    tokens = provider.exchange(code=code_of(consent(meta, provider)),
                               redirect_uri="http://acme.agency.localhost/cb", code_verifier="")
    [account] = provider.accounts(tokens)
    assert (account.id, account.handle) == (IG_USER, "@acmecoffee")
    assert account.settings["page_id"] == PAGE
    assert account.access_token == meta.page_token(PAGE)


@pytest.mark.django_db
def test_facebook_revoke_ends_the_login_and_its_page_tokens(world, meta):
    page_token = meta.page_token(PAGE)
    connected = channel("facebook", page_token, PAGE, settings={"user_id": "10001"})
    assert FacebookProvider().revoke(connected) is True
    assert meta.revoked == ["10001"]
    with pytest.raises(NeedsReconnect):
        facebook(meta, page_token).publish(outgoing())


@pytest.mark.django_db
def test_a_login_another_channel_still_uses_is_not_revoked(world, meta):
    page_token = meta.page_token(PAGE)
    instagram_channel = ChannelFactory(brand=world.globex, name="Globex on Instagram",
                                       network="instagram", account_id=IG_USER,
                                       secret=page_token, settings={"user_id": "10001"})
    facebook_channel = ChannelFactory(brand=world.acme, name="Acme Page", network="facebook",
                                      account_id=PAGE, secret=page_token,
                                      settings={"user_id": "10001"})
    with tenant_context(world.acme.client):
        assert FacebookProvider().revoke(facebook_channel) is False  # Globex still posts
    assert meta.revoked == []
    facebook(meta, page_token).publish(outgoing())  # the token still works
    with tenant_context(world.globex.client):
        instagram_channel.delete()
    with tenant_context(world.acme.client):
        assert FacebookProvider().revoke(facebook_channel) is True
    assert meta.revoked == ["10001"]


def test_facebook_tokens_are_not_refreshed_but_reconnected(meta):
    with pytest.raises(ConnectionError_) as refused:
        FacebookProvider().refresh(channel("facebook", meta.page_token(PAGE), PAGE))
    assert "Reconnect" in refused.value.message


def test_threads_provider_exchanges_refreshes_and_names_the_account(meta):
    provider = ThreadsProvider()
    assert provider.issues_refresh_tokens and not provider.pkce
    tokens = provider.exchange(code=code_of(consent(meta, provider)),
                               redirect_uri="http://acme.agency.localhost/cb", code_verifier="")
    assert tokens.expires_at - datetime.now(UTC) > timedelta(days=59)
    [account] = provider.accounts(tokens)
    assert (account.id, account.handle) == (THREADS_USER, "@acme.coffee")
    connected = channel("threads", tokens.access_token, THREADS_USER)
    renewed = provider.refresh(connected)
    assert renewed.access_token != tokens.access_token
    assert meta.tokens[renewed.access_token]["subject"] == THREADS_USER
    assert provider.revoke(connected) is False  # Threads has no API to revoke


def test_threads_refresh_of_an_expired_token_is_refused_with_the_reason(meta):
    token = meta.threads_token()
    meta.expire(token)
    with pytest.raises(ConnectionError_) as refused:
        ThreadsProvider().refresh(channel("threads", token, THREADS_USER))
    assert "Session has expired" in refused.value.message


# -- network rules --------------------------------------------------------------------------------


def test_meta_network_rules():
    instagram_rules = networks.get("instagram")
    text_only = networks.PostDraft(copy="Just words")
    assert any("needs an image or a video" in p for p in instagram_rules.problems(text_only))
    tags = networks.PostDraft(copy=" ".join(f"#tag{n}" for n in range(31)), images=["A cup"])
    assert any("allows 30 hashtags; this post has 31" in p
               for p in instagram_rules.problems(tags))
    wide = networks.PostDraft(copy="x", images=["A cup"], image_sizes=[(2000, 1000)],
                              image_files=["cup.jpg"])
    assert any("image 1 is 2000×1000" in p for p in instagram_rules.problems(wide))
    fits = networks.PostDraft(copy="x", images=["A cup"], image_sizes=[(1080, 1350)],
                              image_files=["cup.jpg"])
    assert instagram_rules.problems(fits) == []
    png = networks.PostDraft(copy="x", images=["A cup"], image_files=["cup.png"])
    assert any("takes JPG, JPEG images" in p for p in instagram_rules.problems(png))
    assert networks.get("threads").problems(networks.PostDraft(copy="é" * 501))
    assert not networks.get("threads").problems(networks.PostDraft(copy="é" * 500))
    assert not networks.get("facebook").problems(networks.PostDraft(copy="x" * 63206))
    assert networks.get("facebook").problems(networks.PostDraft(copy="x" * 63207))


# -- Instagram and Threads: media fetched from signed addresses on the brand's host -------------


@pytest.fixture
def acme_media(world, live_server_url, settings, meta, monkeypatch, django_db_blocker):
    """Acme's schema active, links pointing at the test's web server, and two stored JPEGs and
    a video in Acme's storage; containers polled without real waiting."""
    settings.AGENCY_PORT = str(live_server_url)
    monkeypatch.setattr(graph, "CONTAINER_POLL", 0.01)
    with django_db_blocker.unblock(), tenant_context(world.acme.client):
        names = {
            "cup": default_storage.save("meta-tests/cup.jpg", ContentFile(JPEG)),
            "beans": default_storage.save("meta-tests/beans.jpg", ContentFile(JPEG[::-1])),
            "pour": default_storage.save("meta-tests/pour.mp4", ContentFile(MP4)),
        }
        yield names
        for name in names.values():
            default_storage.delete(name)


def jpeg(acme_media, key: str, alt: str) -> Image:
    return Image(data=b"", mime_type="image/jpeg", name=f"{key}.jpg", alt=alt,
                 file=acme_media[key])


def mp4(acme_media) -> Video:
    return Video(data=b"", mime_type="video/mp4", name="pour.mp4", description="A pour",
                 file=acme_media["pour"])


def test_instagram_image_is_fetched_from_a_signed_link_and_published_with_alt_text(
        meta, acme_media):
    post = outgoing("Autumn blend #coffee", first_comment="Tag a friend")
    post = Outgoing(**{**post.__dict__, "images": [jpeg(acme_media, "cup", "A steaming cup")]})
    published = instagram(meta).publish(post)
    [fetch] = meta.fetched
    assert fetch["status"] == 200 and fetch["data"] == JPEG
    assert fetch["content_type"] == "image/jpeg"
    assert "/media-link/" in fetch["url"] and "cup" not in fetch["url"]  # names nothing
    [media] = meta.ig_posts()
    assert (media["id"], media["caption"], media["media_type"], media["alt_texts"]) == (
        published.remote_id, "Autumn blend #coffee", "IMAGE", ["A steaming cup"])
    assert published.url.startswith("https://www.instagram.com/p/")
    assert [(c["on"], c["message"]) for c in meta.comments] == [(media["id"], "Tag a friend")]


def test_instagram_carousel_publishes_every_image_in_order_with_its_alt_text(meta, acme_media):
    images = [jpeg(acme_media, "cup", "Cup"), jpeg(acme_media, "beans", "Beans"),
              jpeg(acme_media, "cup", "Cup again")]
    instagram(meta).publish(outgoing("Three ways", images=images))
    [media] = meta.ig_posts()
    assert media["media_type"] == "CAROUSEL" and media["alt_texts"] == ["Cup", "Beans",
                                                                         "Cup again"]
    assert [f["data"] for f in meta.fetched] == [JPEG, JPEG[::-1], JPEG]


def test_instagram_reel_is_awaited_until_processed_then_published(meta, acme_media):
    meta.video_polls = 3
    instagram(meta).publish(outgoing("Watch the pour", videos=[mp4(acme_media)]))
    [media] = meta.ig_posts()
    assert media["media_type"] == "REELS"
    assert meta.fetched[0]["data"] == MP4
    assert meta.count("GET", "/") >= 4  # the limit, then the container's state until FINISHED


def test_instagram_video_still_processing_after_the_wait_is_transient(meta, acme_media,
                                                                       monkeypatch):
    monkeypatch.setattr(graph, "CONTAINER_WAIT", 0.1)
    meta.video_polls = 10_000
    with pytest.raises(Transient) as busy:
        instagram(meta).publish(outgoing("Watch the pour", videos=[mp4(acme_media)]))
    assert "still processing the video" in busy.value.message
    assert meta.ig_posts() == [] and meta.count("POST", "media_publish") == 0


def test_instagram_container_error_is_permanent_with_instagrams_reason(meta, acme_media):
    meta.container_outcome_next = [("ERROR", "Error: The video format is not supported. "
                                             "(2207026)")]
    with pytest.raises(Permanent) as refused:
        instagram(meta).publish(outgoing("Watch", videos=[mp4(acme_media)]))
    assert "video format is not supported" in refused.value.message
    assert meta.ig_posts() == []


def test_instagram_publishing_limit_is_read_first_and_waits(meta, acme_media):
    meta.ig_quota["used"] = 50
    with pytest.raises(Transient) as limited:
        instagram(meta).publish(outgoing(images=[jpeg(acme_media, "cup", "Cup")]))
    assert limited.value.retry_after == 3600 and "50 of its 50 posts" in limited.value.message
    assert meta.fetched == [] and meta.ig_posts() == []  # no container was even made


def test_instagram_unknown_outcome_then_find_by_caption(meta, acme_media):
    post = outgoing("Did it go out?", images=[jpeg(acme_media, "cup", "Cup")])
    meta.accept_then_drop(1)
    with pytest.raises(Unknown):
        instagram(meta).publish(post)
    found = instagram(meta).find(post, since=since())
    assert found is not None and found.remote_id == meta.ig_posts()[0]["id"]
    assert instagram(meta).find(outgoing("Something else"), since=since()) is None


def test_instagram_expired_token_asks_for_a_reconnect(meta, acme_media):
    token = meta.page_token(PAGE)
    meta.expire(token)
    with pytest.raises(NeedsReconnect):
        instagram(meta, token).publish(outgoing(images=[jpeg(acme_media, "cup", "Cup")]))


def test_instagram_refuses_a_post_without_media_before_asking(meta):
    with pytest.raises(Permanent) as refused:
        instagram(meta).publish(outgoing("Only words"))
    assert "needs an image or a video" in refused.value.message
    assert meta.requests == []


def test_instagram_image_it_cannot_fetch_is_tried_again(meta, acme_media, settings):
    """Our media server down for a moment (the chaos run's database restart) must not fail
    the post for good: nothing was published, and a new link may be fetched."""
    settings.AGENCY_PORT = "9"  # the link points where nothing answers
    with pytest.raises(Transient) as later:
        instagram(meta).publish(outgoing(images=[jpeg(acme_media, "cup", "Cup")]))
    assert "2207052" in later.value.message
    assert meta.ig_posts() == []


def test_threads_image_video_and_carousel(meta, acme_media):
    threads(meta).publish(outgoing("One cup", images=[jpeg(acme_media, "cup", "A cup")]))
    meta.video_polls = 2
    threads(meta).publish(outgoing("The pour", videos=[mp4(acme_media)]))
    threads(meta).publish(outgoing("Two things", images=[jpeg(acme_media, "cup", "Cup"),
                                                          jpeg(acme_media, "beans", "Beans")]))
    posts = meta.threads_posts()
    assert [(p["text"], p["media_type"]) for p in posts] == [
        ("One cup", "IMAGE"), ("The pour", "VIDEO"), ("Two things", "CAROUSEL")]
    assert posts[0]["alt_texts"] == ["A cup"] and posts[2]["alt_texts"] == ["Cup", "Beans"]
    assert [f["data"] for f in meta.fetched] == [JPEG, MP4, JPEG, JPEG[::-1]]


# -- the signed media links themselves ------------------------------------------------------------


@pytest.mark.django_db
def test_a_media_link_serves_the_file_and_a_changed_or_expired_one_does_not(world, http,
                                                                            settings):
    from django.core import signing

    from campaigns.publishing import media_links

    with tenant_context(world.acme.client):
        name = default_storage.save("meta-tests/link.jpg", ContentFile(JPEG))
        url = media_links.public_url(name)
    path = url.split(world.acme.host, 1)[1].split("/", 1)[1]
    acme = http(world.acme.host)
    answer = acme.get("/" + path)
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == JPEG
    assert answer["Content-Type"] == "image/jpeg"
    assert answer["Cache-Control"] == "private, no-store"
    token = path.split("/")[1]
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert acme.get(f"/media-link/{altered}/").status_code == 404

    class Earlier(signing.TimestampSigner):  # Django's signer, its clock an hour back
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 3600)

    old = Earlier(salt=media_links.SALT).sign_object({"s": world.acme.client.schema_name,
                                                      "f": name}, compress=True)
    expired = acme.get(f"/media-link/{old}/")
    assert expired.status_code == 404 and name.encode() not in expired.content
    # the same valid link on another brand's host finds nothing
    assert http(world.globex.host).get("/" + path).status_code == 404
    with tenant_context(world.acme.client):
        default_storage.delete(name)


@pytest.mark.django_db
def test_on_object_storage_the_media_link_is_a_presigned_bucket_url(world, s3_media):
    from campaigns.publishing import media_links

    with tenant_context(world.acme.client):
        name = default_storage.save("meta-tests/bucket.jpg", ContentFile(JPEG))
        url = media_links.public_url(name)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=900" in url
    fetched = requests.get(url, timeout=5)
    assert fetched.status_code == 200 and fetched.content == JPEG
    assert "/media-link/" not in url  # the bucket's own signed address, not the app's view


# -- through the outbox: the worker sends, and asks after an unknown outcome ---------------------


@pytest.mark.django_db
def test_a_due_post_goes_out_to_facebook_and_threads_once_with_its_stored_image(
        world, kit, meta, live_server_url, settings, monkeypatch):
    from django.utils import timezone

    from campaigns.publishing import transitions, worker
    from campaigns.publishing.models import Delivery, State
    from campaigns.publishing.transitions import Outcome
    from tests.publishing.conftest import approve, make_campaign

    settings.AGENCY_PORT = str(live_server_url)
    monkeypatch.setattr(graph, "CONTAINER_POLL", 0.01)
    page_channel = ChannelFactory(brand=world.acme, name="Acme Page", network="facebook",
                                  account_id=PAGE, secret=meta.page_token(PAGE))
    threads_channel = ChannelFactory(brand=world.acme, name="Acme Threads", network="threads",
                                     account_id=THREADS_USER, secret=meta.threads_token())
    campaign = make_campaign(kit.schema, posts=[("Autumn blend is back",
                                                 [page_channel, threads_channel],
                                                 kit.soon, kit.image)])
    deliveries = approve(kit.schema, campaign)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now())
    claims = transitions.claim_due()
    outcomes = sorted(worker.deliver(pk, claim) for pk, claim in claims)
    assert outcomes == [Outcome.PUBLISHED, Outcome.PUBLISHED], list(
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).values_list("error"))
    assert [worker.deliver(pk, claim) for pk, claim in claims] == [Outcome.STALE] * 2
    with tenant_context(world.acme.client):
        stored = kit.image.file.open("rb").read()
    [on_page] = meta.page_posts(PAGE)
    assert meta.objects[on_page["photos"][0]]["size"] == len(stored)
    [thread] = meta.threads_posts()
    assert thread["text"] == "Autumn blend is back"
    assert thread["alt_texts"] == ["Alt for Autumn blend is back"]
    assert [f["data"] for f in meta.fetched] == [stored]  # fetched from the signed link
    urls = set(Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
               .values_list("remote_url", flat=True))
    assert urls == {f"https://www.facebook.com/{on_page['id']}",
                    f"https://www.threads.net/@acme.coffee/post/{thread['shortcode']}"}
    assert set(Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
               .values_list("state", flat=True)) == {State.PUBLISHED}


@pytest.mark.django_db
def test_an_unknown_threads_outcome_is_found_by_asking_not_by_sending_again(
        world, kit, meta, settings):
    from django.utils import timezone

    from campaigns.publishing import transitions, worker
    from campaigns.publishing.models import Delivery, State
    from campaigns.publishing.transitions import Outcome
    from tests.publishing.conftest import approve, make_campaign

    settings.PUBLISHING = {**settings.PUBLISHING, "SEND_TIMEOUT_SECONDS": 0.5}
    threads_channel = ChannelFactory(brand=world.acme, name="Acme Threads", network="threads",
                                     account_id=THREADS_USER, secret=meta.threads_token())
    campaign = make_campaign(kit.schema, posts=[("Did this one go out?", [threads_channel],
                                                 kit.soon, None)])
    (delivery,) = approve(kit.schema, campaign)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    meta.accept_then_hang(1)
    assert [worker.deliver(pk, c) for pk, c in transitions.claim_due()] == [Outcome.UNCONFIRMED]
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert [worker.check(pk, c) for pk, c in transitions.claim_checks()] == [Outcome.PUBLISHED]
    delivery.refresh_from_db()
    assert delivery.state == State.PUBLISHED
    [thread] = meta.threads_posts()
    assert delivery.remote_id == thread["id"]
    assert meta.count("POST", "/threads_publish") == 1 and meta.duplicates() == {}


def test_a_throttled_app_waits_for_the_regain_time_meta_sends(meta):
    meta.fail_next(1, status=403, retry_after=120)  # code 4, X-App-Usage at 100
    with pytest.raises(Transient) as limited:
        threads(meta).publish(outgoing())
    assert limited.value.retry_after == 120 and "code 4" in limited.value.message
    assert meta.threads_posts() == []


def test_threads_refuses_a_carousel_over_twenty_before_asking(meta):
    images = [Image(data=b"", mime_type="image/jpeg", name=f"{n}.jpg", alt="A cup",
                    file=f"x/{n}.jpg") for n in range(21)]
    with pytest.raises(Permanent) as refused:
        threads(meta).publish(outgoing(images=images))
    assert "at most 20" in refused.value.message and meta.requests == []


@pytest.mark.django_db
def test_an_expired_instagram_token_stops_the_post_saying_to_reconnect(world, kit, meta):
    from django.utils import timezone

    from campaigns.publishing import transitions, worker
    from campaigns.publishing.models import Delivery, State
    from tests.publishing.conftest import approve, make_campaign

    token = meta.page_token(PAGE)
    meta.expire(token)
    instagram_channel = ChannelFactory(brand=world.acme, name="Acme Instagram",
                                       network="instagram", account_id=IG_USER, secret=token,
                                       settings={"page_id": PAGE})
    campaign = make_campaign(kit.schema, posts=[("Autumn #coffee", [instagram_channel],
                                                 kit.soon, kit.image)])
    (delivery,) = approve(kit.schema, campaign)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    [worker.deliver(pk, c) for pk, c in transitions.claim_due()]
    delivery.refresh_from_db()
    assert delivery.state != State.PUBLISHED
    assert "Reconnect the account" in delivery.error and "Session has expired" in delivery.error
    assert meta.ig_posts() == [] and meta.fetched == []  # stopped at the limit check
