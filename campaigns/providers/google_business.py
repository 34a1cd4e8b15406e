"""Google Business Profile: the OAuth 2 provider (Google's consent, offline access), and the small
client of Google's APIs the provider and the publishing adapter
(``campaigns.publishing.adapters.google_business``) share.

Three APIs, one client library (``google-api-python-client``):

- Account Management v1 (``accounts.list``) and Business Information v1
  (``accounts.locations.list``, ``locations.get``): their discovery documents are bundled with
  the library and read from it (``static_discovery=True``); nothing is fetched at run time.
- My Business v4 ``accounts.locations.localPosts`` (create, list) and ``reviews`` (list,
  updateReply): Google publishes no discovery
  document for v4 any more and the library bundles none. It is built with
  ``build_from_document`` from ``google_business_v4.json`` beside this module, written from
  Google's REST reference with only the methods used. Why that rather than google-auth's
  ``AuthorizedSession`` for v4: one client, one request path and one error type
  (``googleapiclient.errors.HttpError``) for all three APIs, the library's URI templates and
  JSON model for v4 as for the others, and a one-screen document to keep true.

Requests: the library speaks to an ``httplib2.Http``-like object. ``GuardedHttp`` is that
object over ``agency.outbound`` (addresses checked, no redirects followed, answers capped, an
explicit timeout), adding the access token; so no ``google-auth-httplib2`` or application
default credentials are involved and every request goes through the guard.

Errors: Google's body is ``{"error": {"code", "message", "status", "details"}}``; ``GoogleError``
keeps the status (``UNAUTHENTICATED``, ``RESOURCE_EXHAUSTED``, ``INVALID_ARGUMENT``...), the
message, and a wait read from ``Retry-After`` or a ``google.rpc.RetryInfo`` detail.

OAuth (Google Identity, "Using OAuth 2.0 for Web Server Applications"): the consent screen at
``accounts.google.com/o/oauth2/v2/auth`` with ``access_type=offline`` and ``prompt=consent`` (so
a refresh token is issued on every connection), PKCE S256, scope ``business.manage``; the token
endpoint ``oauth2.googleapis.com/token`` (access tokens live an hour, a refresh answer repeats no
refresh token) and ``oauth2.googleapis.com/revoke``. The location is picked at connection: every
location of every account the person manages is offered; ``Channel.account_id`` is the location's
id and ``Channel.settings`` keeps ``account`` (``accounts/{id}``) and ``location``
(``locations/{id}``), the v4 parent being ``accounts/{a}/locations/{l}``.

Addresses (``connections.base_url``): ``gbp_accounts`` (accounts.google.com), ``gbp_oauth2``
(oauth2.googleapis.com), ``gbp_account_management``, ``gbp_business_information`` and
``gbp_api`` (mybusiness.googleapis.com).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from functools import cache
from pathlib import Path

import httplib2
import requests
from googleapiclient.discovery import build, build_from_document
from googleapiclient.errors import HttpError

from agency import outbound
from campaigns import connections
from campaigns.connections import Account, ConnectionError_, Tokens

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/business.manage"
TIMEOUT = 20.0
V4_DOCUMENT = Path(__file__).with_name("google_business_v4.json")
READ_MASK = "name,title,storefrontAddress"


def accounts_url() -> str:
    return connections.base_url("gbp_accounts", "https://accounts.google.com")


def oauth2_url() -> str:
    return connections.base_url("gbp_oauth2", "https://oauth2.googleapis.com")


def account_management_url() -> str:
    return connections.base_url("gbp_account_management",
                                "https://mybusinessaccountmanagement.googleapis.com")


def business_information_url() -> str:
    return connections.base_url("gbp_business_information",
                                "https://mybusinessbusinessinformation.googleapis.com")


def api_url() -> str:
    return connections.base_url("gbp_api", "https://mybusiness.googleapis.com")


def parent(channel) -> str:
    """The v4 parent of a channel's local posts: ``accounts/{a}/locations/{l}``."""
    settings = channel.settings or {}
    account = str(settings.get("account") or "")
    location = str(settings.get("location") or f"locations/{channel.account_id}")
    return f"{account}/{location}"


class GoogleError(Exception):
    """Google answered with an error (``status`` the HTTP status, ``code`` Google's status name
    such as ``INVALID_ARGUMENT``), or did not answer (``status`` None, ``cause`` the transport
    error). ``sent``: the request may have reached Google. ``retry_after``: the wait Google
    asked for, in seconds."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "",
                 retry_after: float | None = None, sent: bool = False,
                 cause: BaseException | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.sent = sent
        self.cause = cause


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _wait(headers, details) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds), else a ``RetryInfo`` detail's
    ``retryDelay`` (a protobuf Duration, ``"30s"``)."""
    value = (headers or {}).get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            found = _DURATION_RE.match(str(detail.get("retryDelay") or ""))
            if found:
                return float(found.group(1))
    return None


def from_http_error(exc: HttpError) -> GoogleError:
    status, code, message, details = exc.status_code, "", "", []
    try:
        body = json.loads(exc.content.decode("utf-8"))
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("status") or "")
            message = str(error.get("message") or "")
            details = error.get("details") or []
        elif isinstance(error, str):  # the OAuth endpoints' shape
            code, message = error, str(body.get("error_description") or error)
    except (ValueError, UnicodeDecodeError, AttributeError):
        message = outbound.excerpt(exc.content)
    text = outbound.excerpt(message or exc.reason or f"HTTP {status}")
    if code and code not in text:
        text = f"{code}: {text}"
    if 300 <= status < 400:
        text += " (a redirect, not followed)"
    return GoogleError(text, status=status, code=code, retry_after=_wait(exc.resp, details),
                       sent=True)


class GuardedHttp:
    """What ``googleapiclient`` needs of an ``httplib2.Http`` (``request``), sending through
    ``agency.outbound`` with the access token and a timeout."""

    def __init__(self, token: str, *, timeout: float = TIMEOUT):
        self.token = token
        self.timeout = timeout
        self.session = outbound.session()

    def close(self) -> None:
        self.session.close()

    def request(self, uri, method="GET", body=None, headers=None, redirections=0,
                connection_type=None):
        send = {**(headers or {}), "Authorization": f"Bearer {self.token}"}
        if isinstance(body, str):  # http.client would encode a str as Latin-1
            body = body.encode("utf-8")
        try:
            response = self.session.request(method, uri, data=body, headers=send,
                                            timeout=self.timeout, allow_redirects=False)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            raise self._transport_error(exc) from exc
        info = {key.lower(): value for key, value in response.headers.items()}
        info["status"] = str(response.status_code)
        answer = httplib2.Response(info)
        answer.reason = response.reason or ""
        return answer, response.content

    def _transport_error(self, exc: BaseException) -> GoogleError:
        if isinstance(exc, outbound.Refused):
            return GoogleError(f"Google's address is refused: {exc.message}", cause=exc)
        if isinstance(exc, outbound.AnswerRefused):
            return GoogleError(exc.message, sent=True, cause=exc)
        if isinstance(exc, requests.ReadTimeout):
            return GoogleError(f"no answer from Google within {self.timeout:g} s", sent=True,
                               cause=exc)
        return GoogleError(f"could not reach Google: {outbound.reason(exc)}",
                           sent=not outbound.never_sent(exc), cause=exc)


@cache
def _v4_document() -> str:
    return V4_DOCUMENT.read_text(encoding="utf-8")


class Client:
    """The three APIs for one access token; each method returns Google's JSON answer or raises
    ``GoogleError``. Use as a context manager (it closes its session)."""

    def __init__(self, token: str, *, timeout: float = TIMEOUT):
        self.http = GuardedHttp(token, timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.http.close()

    def _bundled(self, name: str, base: str):
        return build(name, "v1", http=self.http, static_discovery=True, cache_discovery=False,
                     num_retries=0, client_options={"api_endpoint": base + "/"})

    def posts(self):
        return build_from_document(_v4_document(), http=self.http,
                                   client_options={"api_endpoint": api_url() + "/"}) \
            .accounts().locations().localPosts()

    def reviews(self):
        return build_from_document(_v4_document(), http=self.http,
                                   client_options={"api_endpoint": api_url() + "/"}) \
            .accounts().locations().reviews()

    def list_reviews(self, parent_name: str, *, page_size: int = 50,
                     page_token: str | None = None) -> dict:
        """The location's reviews, newest change first."""
        return self.run(self.reviews().list(parent=parent_name, pageSize=page_size,
                                            pageToken=page_token, orderBy="updateTime desc"))

    def reply_to_review(self, name: str, comment: str) -> dict:
        """The owner's reply to a review (``PUT``: made, or replaced if there is one)."""
        return self.run(self.reviews().updateReply(name=name, body={"comment": comment}))

    @staticmethod
    def run(request) -> dict:
        try:
            return request.execute(num_retries=0)
        except HttpError as exc:
            raise from_http_error(exc) from exc

    def accounts(self) -> list[dict]:
        api = self._bundled("mybusinessaccountmanagement", account_management_url()).accounts()
        found, token = [], None
        for _ in range(20):
            answer = self.run(api.list(pageSize=20, pageToken=token))
            found.extend(answer.get("accounts") or [])
            token = answer.get("nextPageToken")
            if not token:
                break
        return found

    def locations(self, account: str) -> list[dict]:
        api = self._bundled("mybusinessbusinessinformation", business_information_url())
        found, token = [], None
        for _ in range(20):
            answer = self.run(api.accounts().locations().list(
                parent=account, readMask=READ_MASK, pageSize=100, pageToken=token))
            found.extend(answer.get("locations") or [])
            token = answer.get("nextPageToken")
            if not token:
                break
        return found

    def location(self, name: str) -> dict:
        api = self._bundled("mybusinessbusinessinformation", business_information_url())
        return self.run(api.locations().get(name=name, readMask="name,title"))

    def create_post(self, parent_name: str, body: dict) -> dict:
        return self.run(self.posts().create(parent=parent_name, body=body))

    def list_posts(self, parent_name: str, *, page_size: int = 100,
                   page_token: str | None = None) -> dict:
        return self.run(self.posts().list(parent=parent_name, pageSize=page_size,
                                          pageToken=page_token))


def address(location: dict) -> str:
    """A location's storefront address on one line."""
    found = location.get("storefrontAddress") or {}
    parts = [*(found.get("addressLines") or []), found.get("locality") or "",
             found.get("postalCode") or ""]
    return ", ".join(p for p in parts if p)


# -- the OAuth provider -----------------------------------------------------------------------


class GoogleBusinessProvider(connections.Provider):
    network = "google_business"
    label = "Google Business Profile"
    scopes = (SCOPE,)
    scope_separator = " "
    pkce = True
    issues_refresh_tokens = True
    # Google's access tokens live an hour: the periodic job renews any that expire within the
    # next 75 minutes, and the adapter renews one that expires within minutes before it sends.
    refresh_ahead = timedelta(minutes=75)
    declined_errors = ("access_denied",)

    def app(self) -> dict:
        found = self.oauth_client()
        if not found:
            raise ConnectionError_(
                "Google Business Profile is not set up on this installation: set "
                "OAUTH_GOOGLE_BUSINESS_CLIENT_ID and OAUTH_GOOGLE_BUSINESS_CLIENT_SECRET (the "
                "OAuth client of your Google Cloud project).")
        return found

    def authorize_params(self) -> dict:
        # offline: a refresh token; consent: asked again each time, so Google issues it again
        return {"access_type": "offline", "prompt": "consent",
                "include_granted_scopes": "true"}

    def authorize_url(self) -> str:
        return accounts_url() + "/o/oauth2/v2/auth"

    def token_url(self) -> str:
        return oauth2_url() + "/token"

    def revoke_url(self) -> str:
        return oauth2_url() + "/revoke"

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str = "") -> Tokens:
        self.app()
        tokens = self.fetch_tokens(code=code, redirect_uri=redirect_uri,
                                   code_verifier=code_verifier)
        if not tokens.refresh_token:
            raise ConnectionError_(
                "Google gave no refresh token, so the channel would stop working within the "
                "hour: remove the app's access in your Google account's security settings and "
                "connect again.")
        return tokens

    def accounts(self, tokens: Tokens) -> list[Account]:
        """Every location of every Business Profile account the person manages."""
        found: dict[str, Account] = {}
        try:
            with Client(tokens.access_token) as api:
                for account in api.accounts():
                    account_name = str(account.get("name") or "")
                    if not account_name.startswith("accounts/"):
                        continue
                    for location in api.locations(account_name):
                        name = str(location.get("name") or "")
                        if not name.startswith("locations/"):
                            continue
                        location_id = name.split("/", 1)[1]
                        title = str(location.get("title") or f"Location {location_id}")
                        found.setdefault(location_id, Account(
                            id=location_id, name=title, handle=address(location) or title,
                            settings={"account": account_name, "location": name,
                                      "account_name": str(account.get("accountName") or ""),
                                      "location_title": title}))
        except GoogleError as exc:
            raise ConnectionError_(f"Google did not list your Business Profile locations: "
                                   f"{exc.message}", transient=exc.status is None and not
                                   isinstance(exc.cause, outbound.Refused)) from exc
        return list(found.values())

    def refresh(self, channel) -> Tokens:
        self.app()
        return self.fetch_refreshed(channel)

    def revoke(self, channel) -> bool:
        token = channel.get_refresh_token() or channel.get_secret()
        if not token:
            return False
        session = outbound.session()
        try:
            response = session.post(self.revoke_url(), data={"token": token}, timeout=TIMEOUT,
                                    allow_redirects=False)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            log.warning("Google: revoking a token failed: %s",
                        getattr(exc, "message", None) or outbound.reason(exc))
            return False
        finally:
            session.close()
        if response.status_code != 200:
            log.warning("Google refused to revoke a token (HTTP %s): %s", response.status_code,
                        outbound.excerpt(response.content))
            return False
        return True


provider = connections.register(GoogleBusinessProvider())
