"""LinkedIn organization pages: the OAuth 2 provider, and the one small HTTP client the provider
and the publishing adapter (``campaigns.publishing.adapters.linkedin``) share.

Why not ``linkedin-api-client`` (LinkedIn's official Python client, 0.3, last released 2023): its
addresses are module constants (``linkedin_api.common.constants.VERSIONED_BASE_URL`` and
``OAUTH_BASE_URL``), so it cannot be pointed at a local fake or the demo's sandbox without
rewriting them for the whole process, and it sends every request without a timeout
(``session.send(prepared_request)``). Its Rest.li helpers cover none of the upload steps (the
``PUT`` to the upload address LinkedIn hands out). So this is one client over
``agency.outbound`` (addresses checked at each request, no redirects, answers capped) with an
explicit timeout, the versioned API's two headers, and LinkedIn's error body read
(``{status, serviceErrorCode, code, message}``).

References (Microsoft Learn, LinkedIn Marketing API, "li-lms" versions): Authorization Code
Flow and Programmatic Refresh Tokens (``/oauth/v2/authorization``, ``/oauth/v2/accessToken``,
``/oauth/v2/revoke``; scopes answered comma-separated), Organization Access Control
(``GET /rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR``), Organization Lookup
(``GET /rest/organizations/{id}``), Posts, Images, Videos and Comments (Social Actions) APIs,
Error Handling.

Addresses: ``connections.base_url("linkedin_api", "https://api.linkedin.com")`` and
``("linkedin_www", "https://www.linkedin.com")``. LinkedIn takes no PKCE from web apps (it is
for native clients, enabled per app on request), so ``pkce`` is off; ``state`` still binds the
callback to the person who started it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import requests
from django.conf import settings

from agency import outbound
from campaigns import connections
from campaigns.connections import Tokens

log = logging.getLogger(__name__)

# The versioned API's month (YYYYMM). LinkedIn keeps a version for at least a year; one that is
# gone answers 426 NONEXISTENT_VERSION. LINKEDIN_API_VERSION moves it without a release.
DEFAULT_VERSION = "202611"
SCOPES = ("w_organization_social", "r_organization_social", "rw_organization_admin")
TIMEOUT = 20.0


def api_version() -> str:
    return str(getattr(settings, "LINKEDIN_API_VERSION", "") or DEFAULT_VERSION)


def api_url() -> str:
    return connections.base_url("linkedin_api", "https://api.linkedin.com")


def www_url() -> str:
    return connections.base_url("linkedin_www", "https://www.linkedin.com")


def organization_urn(organization_id: str) -> str:
    return f"urn:li:organization:{organization_id}"


def post_url(urn: str) -> str:
    """Where people see a post: LinkedIn's own address for it, the URN in the path."""
    return f"https://www.linkedin.com/feed/update/{urn}/"


def path_key(urn: str) -> str:
    """A URN as a Rest.li 2.0 path key: every reserved character percent-encoded."""
    return quote(urn, safe="")


class LinkedInError(Exception):
    """LinkedIn answered with an error (``status`` set), or did not answer (``status`` None;
    ``cause`` is the ``requests``/guard error). ``sent``: whether the request may have reached
    LinkedIn (a read timeout, a broken connection after sending)."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "",
                 service_code: int | None = None, sent: bool = False,
                 cause: BaseException | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.service_code = service_code
        self.sent = sent
        self.cause = cause

    @property
    def token_refused(self) -> bool:
        return self.status == 401


def _reason(response: requests.Response) -> tuple[str, str, int | None]:
    """(code, message, serviceErrorCode) of LinkedIn's error body, or of an OAuth error."""
    try:
        body = response.json()
    except ValueError:
        return "", outbound.excerpt(response.content) or response.reason or "", None
    if not isinstance(body, dict):
        return "", outbound.excerpt(json.dumps(body)), None
    if "error" in body and "message" not in body:  # the OAuth endpoints' shape
        return (outbound.excerpt(str(body.get("error") or ""), 80),
                outbound.excerpt(str(body.get("error_description") or body.get("error"))), None)
    service = body.get("serviceErrorCode")
    return (outbound.excerpt(str(body.get("code") or ""), 80),
            outbound.excerpt(str(body.get("message") or response.reason or "")),
            service if isinstance(service, int) else None)


class Client:
    """LinkedIn's REST API for one access token. Every call returns the ``requests`` answer of
    a success, or raises ``LinkedInError``. Use as a context manager (it closes its session)."""

    def __init__(self, token: str, *, timeout: float = TIMEOUT):
        self.token = token
        self.timeout = timeout
        self.session = outbound.session()
        self.version = api_version()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.session.close()

    def headers(self, extra: dict | None = None) -> dict:
        return {"Authorization": f"Bearer {self.token}", "LinkedIn-Version": self.version,
                "X-Restli-Protocol-Version": "2.0.0", **(extra or {})}

    def call(self, method: str, path_or_url: str, *, json_body=None, params=None, data=None,
             headers: dict | None = None, versioned: bool = True) -> requests.Response:
        """One request. ``path_or_url``: a path under the API's address (``/rest/posts``) or a
        full upload address LinkedIn gave. ``versioned``: send the REST API's headers (an upload
        address takes only the token)."""
        url = path_or_url if "://" in path_or_url else api_url() + path_or_url
        send = self.headers(headers) if versioned else {
            "Authorization": f"Bearer {self.token}", **(headers or {})}
        try:
            response = self.session.request(method, url, json=json_body, params=params,
                                            data=data, headers=send, timeout=self.timeout,
                                            allow_redirects=False)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            raise self._transport_error(exc) from exc
        if response.status_code >= 300:
            code, message, service = _reason(response)
            text = message or code or f"HTTP {response.status_code}"
            if code and code not in text:
                text = f"{code}: {text}"
            if 300 <= response.status_code < 400:
                text += " (a redirect, not followed)"
            raise LinkedInError(text, status=response.status_code, code=code,
                                service_code=service, sent=True)
        return response

    def _transport_error(self, exc: BaseException) -> LinkedInError:
        if isinstance(exc, outbound.Refused):
            return LinkedInError(f"LinkedIn's address is refused: {exc.message}", cause=exc)
        if isinstance(exc, outbound.AnswerRefused):
            return LinkedInError(exc.message, sent=True, cause=exc)
        if isinstance(exc, requests.ReadTimeout):
            return LinkedInError(f"no answer from LinkedIn within {self.timeout:g} s",
                                 sent=True, cause=exc)
        sent = not outbound.never_sent(exc)
        return LinkedInError(f"could not reach LinkedIn: {outbound.reason(exc)}", sent=sent,
                             cause=exc)

    # -- what the provider and the adapter read ---------------------------------------------

    def administered_organizations(self) -> list[str]:
        """The ids of the organizations the member administers (approved roles only)."""
        response = self.call("GET", "/rest/organizationAcls",
                             params={"q": "roleAssignee", "role": "ADMINISTRATOR",
                                     "state": "APPROVED", "count": 100})
        found = []
        for element in response.json().get("elements") or []:
            urn = str(element.get("organization") or "")
            if urn.startswith("urn:li:organization:") and element.get("state", "APPROVED") \
                    == "APPROVED":
                found.append(urn.rsplit(":", 1)[1])
        return list(dict.fromkeys(found))

    def organization(self, organization_id: str) -> dict:
        return self.call("GET", f"/rest/organizations/{quote(organization_id, safe='')}").json()


# -- the OAuth provider -----------------------------------------------------------------------


def _app() -> dict:
    app = connections.client("linkedin")
    if app is None:
        raise connections.ConnectionError_(
            "LinkedIn is not set up on this installation: set OAUTH_LINKEDIN_CLIENT_ID and "
            "OAUTH_LINKEDIN_CLIENT_SECRET (your LinkedIn app's credentials).")
    return app


def _tokens(answer: dict) -> Tokens:
    now = datetime.now(UTC)
    access = str(answer.get("access_token") or "")
    if not access:
        raise connections.ConnectionError_("LinkedIn answered without an access token; try "
                                           "connecting again.")
    expires_in = answer.get("expires_in")
    refresh_in = answer.get("refresh_token_expires_in")
    return Tokens(
        access_token=access,
        refresh_token=str(answer.get("refresh_token") or ""),
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
        # LinkedIn lists the granted scopes comma-separated
        scopes=" ".join(s.strip() for s in str(answer.get("scope") or "").replace(",", " ")
                        .split() if s.strip()),
    )


class LinkedInProvider(connections.Provider):
    network = "linkedin"
    label = "LinkedIn"
    scopes = SCOPES
    scope_separator = " "
    pkce = False  # LinkedIn takes PKCE from native apps only (see the module's docs)
    issues_refresh_tokens = True  # where LinkedIn enabled programmatic refresh for the app
    # Cancel on LinkedIn's consent screen, or on its sign-in screen before it.
    declined_errors = ("access_denied", "user_cancelled_authorize", "user_cancelled_login")

    def authorize_url(self) -> str:
        return www_url() + "/oauth/v2/authorization"

    def token_url(self) -> str:
        return www_url() + "/oauth/v2/accessToken"

    def revoke_url(self) -> str:
        return www_url() + "/oauth/v2/revoke"

    def _token_call(self, form: dict, *, what: str) -> dict:
        app = _app()
        return connections.post_token_form(
            "LinkedIn", self.token_url(), {**form, "client_id": app["client_id"],
                                           "client_secret": app.get("client_secret", "")},
            what=what, reason=lambda response: _reason(response)[:2], timeout=TIMEOUT)

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str = "") -> Tokens:
        return _tokens(self._token_call({"grant_type": "authorization_code", "code": code,
                                         "redirect_uri": redirect_uri},
                                        what="trade the consent for a token"))

    def accounts(self, tokens: Tokens) -> list[connections.Account]:
        """Every organization (page) the member administers, with its name."""
        found = []
        try:
            with Client(tokens.access_token) as api:
                for organization_id in api.administered_organizations():
                    details = api.organization(organization_id)
                    name = (details.get("localizedName") or details.get("vanityName")
                            or f"Organization {organization_id}")
                    vanity = details.get("vanityName") or ""
                    found.append(connections.Account(
                        id=str(organization_id), name=str(name),
                        handle=f"linkedin.com/company/{vanity}" if vanity
                        else organization_urn(organization_id),
                        settings={"organization_urn": organization_urn(organization_id)}))
        except LinkedInError as exc:
            raise connections.ConnectionError_(
                f"LinkedIn did not list the pages you administer: {exc.message}") from exc
        return found

    def refresh(self, channel) -> Tokens:
        refresh_token = channel.get_refresh_token()
        if not refresh_token:
            raise connections.ConnectionError_(
                "LinkedIn gave this channel no refresh token (programmatic refresh is not "
                "enabled for the app): reconnect it before its token expires.")
        tokens = _tokens(self._token_call({"grant_type": "refresh_token",
                                           "refresh_token": refresh_token},
                                          what="refresh the channel's token"))
        if not tokens.refresh_token:  # LinkedIn keeps the refresh token; it may not repeat it
            tokens = Tokens(access_token=tokens.access_token, refresh_token=refresh_token,
                            expires_at=tokens.expires_at,
                            refresh_expires_at=tokens.refresh_expires_at, scopes=tokens.scopes)
        return tokens

    def revoke(self, channel) -> bool:
        token = channel.get_secret()
        if not token:
            return False
        app = _app()
        session = outbound.session()
        try:
            response = session.post(self.revoke_url(), data={
                "client_id": app["client_id"], "client_secret": app.get("client_secret", ""),
                "token": token}, timeout=TIMEOUT, allow_redirects=False)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            log.warning("LinkedIn: revoking a token failed: %s", getattr(exc, "message", None)
                        or outbound.reason(exc))
            return False
        finally:
            session.close()
        if response.status_code != 200:
            code, message, _ = _reason(response)
            log.warning("LinkedIn refused to revoke a token (HTTP %s %s): %s",
                        response.status_code, code, message)
            return False
        return True


provider = connections.register(LinkedInProvider())
