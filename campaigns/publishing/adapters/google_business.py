"""Google Business Profile local posts (My Business API v4 ``accounts.locations.localPosts``),
through ``google-api-python-client`` with the client of ``campaigns.providers.google_business``
(why a small committed discovery document for v4: see there).

A post is one ``localPosts.create`` on the channel's location (``accounts/{a}/locations/{l}``):
``summary`` the post's text, ``topicType`` STANDARD, EVENT or OFFER (the post's options for
this network, ``Outgoing.options``), an EVENT's and an OFFER's ``event`` (title and schedule:
Google's civil ``Date`` and ``TimeOfDay``, the wall-clock time at the location as written), an
OFFER's ``offer`` (coupon code, redeem URL, terms), a ``callToAction`` (action type and URL; the
post's link when no URL is given; CALL uses the location's phone and takes none; Google ignores
it on offers, so none is sent), and at most one photo as ``media`` with a ``sourceUrl`` that
Google fetches: a signed, short-lived link to the stored file
(``campaigns.publishing.media_links``), as for Instagram. Google answers with the LocalPost:
its ``name`` is the remote id, its ``searchUrl`` where people see it.

Tokens: Google's access tokens live an hour. One that expires within ``REFRESH_MARGIN`` is
renewed before sending (the refresh token, kept encrypted on the channel); a 401 renews it once
and repeats the request (a 401 made nothing). A refresh Google refuses (``invalid_grant``: the
person removed the app's access) is ``NeedsReconnect``.

Google takes no idempotency key. After an unknown outcome ``find`` lists the location's local
posts (Google's own record, newest first) and matches the summary and post type of those
created since the send; "not there" is an answer, so sending again is safe.

Errors (``{error: {code, message, status, details}}``): 401 UNAUTHENTICATED → renew or
``NeedsReconnect``; 429 RESOURCE_EXHAUSTED → ``Transient`` with Google's wait (``Retry-After``
or a RetryInfo detail; a per-minute quota waits a minute); 400 INVALID_ARGUMENT and
FAILED_PRECONDITION → ``Permanent`` with Google's message; 403 PERMISSION_DENIED → ``Permanent``
(the Google account no longer manages the location); 5xx → ``Transient``, or ``Unknown`` on the
create itself.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings as django_settings
from django.utils import timezone

from campaigns import networks
from campaigns.networks import google_business_problems, option_moment
from campaigns.providers.google_business import Client, GoogleError, parent
from campaigns.publishing import media_links
from campaigns.publishing.adapters import (
    Adapter,
    AdapterError,
    Incoming,
    NeedsReconnect,
    NotificationPage,
    NotSupported,
    Outgoing,
    Permanent,
    Published,
    Transient,
    Unknown,
    api_error,
    register,
)

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
PAGE_SIZE = 100
MAX_PAGES = 3
FIND_SLACK = timedelta(minutes=5)


def normalise(text: str) -> str:
    return " ".join((text or "").split())


def _date(moment: datetime) -> dict:
    return {"year": moment.year, "month": moment.month, "day": moment.day}


def _time(moment: datetime) -> dict:
    return {"hours": moment.hour, "minutes": moment.minute, "seconds": 0, "nanos": 0}


def _moment(value) -> datetime | None:
    """Google's RFC 3339 times (``2026-12-03T12:00:00.123Z``), aware; None if unreadable."""
    try:
        moment = datetime.fromisoformat(str(value or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _created(post: dict) -> datetime | None:
    return _moment(post.get("createTime"))


def language_code() -> str:
    language = str(getattr(django_settings, "LANGUAGE_CODE", "en") or "en")
    head, _, region = language.replace("_", "-").partition("-")
    return f"{head.lower()}-{region.upper()}" if region else head.lower()


def local_post(post: Outgoing, options: dict, media_url: str = "") -> dict:
    """The LocalPost body for ``post`` with its options (assumed checked)."""
    kind = options.get("post_type") or "STANDARD"
    body = {"languageCode": language_code(), "summary": post.text, "topicType": kind}
    if kind in ("EVENT", "OFFER"):
        start = option_moment(options.get("event_start"))
        end = option_moment(options.get("event_end"))
        body["event"] = {"title": str(options.get("event_title") or "").strip(), "schedule": {
            "startDate": _date(start), "startTime": _time(start),
            "endDate": _date(end), "endTime": _time(end)}}
    if kind == "OFFER":
        offer = {key: str(options.get(name) or "").strip() for key, name in (
            ("couponCode", "offer_coupon"), ("redeemOnlineUrl", "offer_redeem_url"),
            ("termsConditions", "offer_terms"))}
        body["offer"] = {key: value for key, value in offer.items() if value}
    action = options.get("cta_type") or ""
    if action and kind != "OFFER":
        call = {"actionType": action}
        if action != "CALL":
            call["url"] = options.get("cta_url") or post.link
        body["callToAction"] = call
    if media_url:
        body["media"] = [{"mediaFormat": "PHOTO", "sourceUrl": media_url}]
    return body


@register
class GoogleBusinessAdapter(Adapter):
    network = "google_business"
    resend_is_safe = True  # find reads Google's own list of the location's posts
    reads_media = False  # Google fetches the photo from its signed link

    # -- tokens ---------------------------------------------------------------------------------

    def _token(self) -> str:
        if not self.channel.account_id or not (self.channel.settings or {}).get("account"):
            raise Permanent("The Google Business Profile channel has no location: connect it "
                            "with “Connect account” and pick the location to post to.")
        expires = self.channel.token_expires_at
        if expires is not None and expires - timezone.now() < REFRESH_MARGIN:
            self._renew()
        token = self.channel.get_secret()
        if not token:
            raise NeedsReconnect("The Google Business Profile channel has no access token: "
                                 "reconnect it.")
        return token

    def _renew(self) -> None:
        """New tokens from the refresh token, kept on the channel (encrypted)."""
        self.renew_token()

    def _call(self, do, *, what: str, sent: bool):
        """``do(client)`` with the channel's token; a 401 renews the token once and repeats."""
        renewed = False
        while True:
            api = Client(self._token(), timeout=self.timeout)
            try:
                return do(api)
            except GoogleError as exc:
                if exc.status == 401 and not renewed and self.channel.get_refresh_token():
                    renewed = True
                    self._renew()
                    continue
                raise self._error(exc, sent=sent, what=what) from exc
            finally:
                api.close()

    def _error(self, exc: GoogleError, *, sent: bool, what: str) -> AdapterError:
        status = exc.status
        if status == 429 or exc.code == "RESOURCE_EXHAUSTED":
            wait = exc.retry_after
            if wait is None and "minute" in exc.message.lower():
                wait = 60.0
            return Transient(f"Google is limiting this project's requests ({what}: "
                             f"{exc.message}); trying later.", retry_after=wait)
        if status == 403:
            return Permanent(f"Google refused ({what}, HTTP 403): {exc.message}. The Google "
                             "account that connected the channel may no longer manage the "
                             "location: reconnect it as one that does.")
        if status == 404:
            return Permanent(f"Google does not know the channel's location ({exc.message}): "
                             "it may have been removed; reconnect the channel and pick it "
                             "again.")
        return api_error("Google", exc, sent=sent, what=what)

    # -- the adapter ----------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        options = dict(post.options or {})
        rules = networks.get(self.network)
        problems = [problem for option in rules.post_options
                    if (problem := option.problem(options.get(option.name),
                                                  network_label=rules.label))]
        problems += google_business_problems(options, videos=len(post.videos), link=post.link)
        if len(post.images) > 1:
            problems.append("Google Business Profile takes one photo a post: remove the "
                            "others.")
        if problems:
            raise Permanent(" ".join(problems))
        media_url = ""
        if post.images:
            image = post.images[0]
            if not image.file:
                raise Permanent(f"The image {image.name} has no stored file to link to; "
                                "replace it in the campaign and approve it again.")
            media_url = media_links.public_url(image.file)
        body = local_post(post, options, media_url)
        where = parent(self.channel)
        made = self._call(lambda api: api.create_post(where, body), what="the post", sent=True)
        name = str(made.get("name") or "")
        if not name:
            raise Unknown("Google accepted the post without saying its name; it will be "
                          "looked up.")
        if made.get("state") == "REJECTED":
            log.warning("Google Business Profile: %s was made but REJECTED", name)
        return Published(remote_id=name, url=str(made.get("searchUrl") or ""))

    # -- conversations: the location's reviews ---------------------------------------------------

    REVIEW_PAGES = 5
    STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}

    def notifications(self, cursor: str) -> NotificationPage:
        """``accounts.locations.reviews.list`` newest change first, down to the cursor (the
        newest ``updateTime`` taken). A review is a mention of the brand: Google cannot hide
        one (abuse is flagged for staff; a review breaking Google's policy is reported on
        Google)."""
        since = _moment(cursor)
        where = parent(self.channel)
        found: dict[str, Incoming] = {}
        newest = since
        token = None
        for _ in range(self.REVIEW_PAGES):
            answer = self._call(
                lambda api, token=token: api.list_reviews(where, page_size=50, page_token=token),
                what="the location's reviews", sent=False)
            older = False
            for review in answer.get("reviews") or []:
                changed = _moment(review.get("updateTime") or review.get("createTime"))
                if changed is None or not review.get("name"):
                    continue
                if since is not None and changed < since:
                    older = True
                    break
                newest = max(newest or changed, changed)
                reviewer = review.get("reviewer") or {}
                name = "Someone on Google" if reviewer.get("isAnonymous") else str(
                    reviewer.get("displayName") or "Someone on Google")
                stars = self.STARS.get(str(review.get("starRating") or ""), 0)
                text = str(review.get("comment") or "")
                found[review["name"]] = Incoming(
                    notification_id=str(review["name"]), remote_id=str(review["name"]),
                    kind="mention", author_id=name, author_handle=name, author_name=name,
                    text=text or (f"({stars} stars, no text)" if stars else "(no text)"),
                    created_at=_moment(review.get("createTime")) or changed,
                    thread_root=str(review["name"]))
            token = answer.get("nextPageToken")
            if older or not token:
                break
        items = sorted(found.values(), key=lambda i: (i.created_at, i.remote_id))
        return NotificationPage(items=items, cursor=newest.isoformat() if newest else cursor,
                                more=False)

    def reply(self, text: str, *, key: str, to, created_at_us: int = 0,
              reply_id: int = 0) -> Published:
        """The owner's reply to the review (``reviews.updateReply``): a PUT, so a resend
        replaces the reply with the same text; nothing is posted twice."""
        name = str(to.remote_id)
        self._call(lambda api: api.reply_to_review(name, text), what="the reply to the review",
                   sent=True)
        return Published(remote_id=f"{name}/reply")

    def check_access(self) -> bool:
        """The location's own record: 401 once the access is gone (and cannot be renewed)."""
        location = str((self.channel.settings or {}).get("location")
                       or f"locations/{self.channel.account_id}")
        self._call(lambda api: api.location(location), what="the location's record",
                   sent=False)
        return True

    def find(self, post: Outgoing, *, since) -> Published | None:
        kind = (post.options or {}).get("post_type") or "STANDARD"
        wanted = normalise(post.text)
        moment = since if isinstance(since, datetime) else datetime.now(UTC)
        cutoff = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - FIND_SLACK
        where = parent(self.channel)
        token = None
        for _ in range(MAX_PAGES):
            try:
                answer = self._call(
                    lambda api, token=token: api.list_posts(where, page_size=PAGE_SIZE,
                                                            page_token=token),
                    what="the list of posts", sent=False)
            except NeedsReconnect:
                raise
            except AdapterError as exc:
                raise Unknown(f"Could not ask Google whether the post is there: {exc.message}") \
                    from exc
            for found in answer.get("localPosts") or []:
                created = _created(found)
                if created is not None and created < cutoff:
                    return None  # newest first: the rest were made before the send
                if normalise(found.get("summary") or "") == wanted \
                        and (found.get("topicType") or "STANDARD") == kind and found.get("name"):
                    return Published(remote_id=found["name"],
                                     url=str(found.get("searchUrl") or ""))
            token = answer.get("nextPageToken")
            if not token:
                return None
        raise Unknown(f"Google lists more than {MAX_PAGES * PAGE_SIZE} posts of the location "
                      "made since the post was sent; cannot tell whether it is among them.")

    # -- results --------------------------------------------------------------------------------

    # Google counts a Business Profile's views and actions per location (the Business Profile
    # Performance API), not per local post: the per-post read (v4
    # ``localPosts:reportInsights``) was removed when that API replaced v4's insights, and a
    # location has no followers. So neither is read; the dashboards say so.
    NO_POST_COUNTS = ("Google gives no counts per Business Profile post: it removed local "
                      "posts' insights (localPosts.reportInsights) and counts views and actions "
                      "per location only.")

    def metrics(self, remote_ids: list[str]) -> dict:
        raise NotSupported(self.NO_POST_COUNTS)

    def followers(self) -> int:
        raise NotSupported("A Business Profile location has no followers to count.")
