"""Pinterest (API v5): the OAuth 2 provider, and the client the provider and the publishing
adapter (``campaigns.publishing.adapters.pinterest``) share.

The client library is ``pinterest-api-sdk``, through the layer it is built on and installs
with it (``openapi_generated.pinterest_client``: ``PinsApi``, ``BoardsApi``, ``MediaApi``,
``UserAccountApi`` and their models). Each ``Client`` is one ``ApiClient`` with its own
``Configuration`` (the address from ``connections.base_url("pinterest_api", ...)`` and the
channel's token), so two channels of two brands in one worker never share a token. The SDK's
own top layer is not used, because it is process-wide: importing ``pinterest.client`` or
``pinterest.config`` loads a ``.env`` file and ``config.json`` from the working directory into
``os.environ``, reads the address and token from the environment once at import, and keeps one
default client (``set_default_access_token`` writes the token into ``os.environ``); its
``Pin.create`` also reads the pin back after making it (a second call that can fail after the
pin was made). The generated client sends through urllib3 with its own retries and redirects;
here its transport (``ApiClient.rest_client``) is replaced by ``_Transport``, a
``requests`` session from ``agency.outbound`` (address checked at each request, no redirect,
answers capped, an explicit timeout), so the SDK's models, serialization and exceptions stay
and every byte goes through the guard.

References (developers.pinterest.com, API v5): OAuth (``www.pinterest.com/oauth/``, consent
with comma-separated scopes; ``POST /v5/oauth/token`` with HTTP Basic client authentication,
``authorization_code`` and ``refresh_token`` grants; access tokens for 30 days, refresh tokens
for a year; refreshing keeps the refresh token), ``GET /v5/user_account``, ``GET /v5/boards``,
``GET /v5/boards/{id}/pins``, ``POST /v5/pins``, ``POST /v5/media`` / ``GET /v5/media/{id}``;
errors as ``{"code": n, "message": "..."}``; rate limits in ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (seconds until the window resets).
Pinterest has no token revocation endpoint in v5: disconnecting forgets the tokens here, and
the person removes the app's access in their Pinterest settings.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import replace
from datetime import timedelta

import requests
from openapi_generated.pinterest_client import exceptions as sdk_errors
from openapi_generated.pinterest_client.api.boards_api import BoardsApi
from openapi_generated.pinterest_client.api.user_account_api import UserAccountApi
from openapi_generated.pinterest_client.api_client import ApiClient
from openapi_generated.pinterest_client.configuration import Configuration

from agency import outbound
from campaigns import connections
from campaigns.connections import Tokens

log = logging.getLogger(__name__)

SCOPES = ("boards:read", "pins:read", "pins:write", "user_accounts:read")
TIMEOUT = 20.0
MAX_BOARDS = 250  # boards kept for the editor's choice (Pinterest pages them by 25 to 250)


def api_url() -> str:
    return connections.base_url("pinterest_api", "https://api.pinterest.com")


def www_url() -> str:
    return connections.base_url("pinterest_www", "https://www.pinterest.com")


def pin_url(pin_id: str) -> str:
    return f"https://www.pinterest.com/pin/{pin_id}/"


class PinterestError(Exception):
    """Pinterest answered with an error (``status`` set, ``code`` Pinterest's own number), or
    did not answer (``status`` None, ``cause`` the transport's error). ``sent``: the request
    may have reached Pinterest. ``headers``: the answer's headers (rate limits)."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 headers: dict | None = None, sent: bool = False,
                 cause: BaseException | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        self.sent = sent
        self.cause = cause

    def retry_after(self) -> float | None:
        """Seconds until Pinterest's rate-limit window resets, from its headers."""
        for name in ("x-ratelimit-reset", "retry-after"):
            value = self.headers.get(name)
            if not value:
                continue
            try:
                seconds = float(value)
            except ValueError:
                continue
            if seconds > 1_000_000_000:  # an epoch moment rather than a count of seconds
                seconds -= time.time()
            return max(0.0, seconds)
        return None


def reason(status: int, data: bytes | str | None, fallback: str = "") -> tuple[int | None, str]:
    """(code, message) of Pinterest's error body ``{code, message}`` (or an OAuth error)."""
    try:
        body = json.loads(data or b"")
    except (ValueError, TypeError):
        return None, outbound.excerpt(data) or fallback or f"HTTP {status}"
    if not isinstance(body, dict):
        return None, outbound.excerpt(json.dumps(body))
    code = body.get("code")
    message = body.get("message") or body.get("error_description") or body.get("error") \
        or fallback or f"HTTP {status}"
    return (code if isinstance(code, int) else None), outbound.excerpt(str(message))


class _Answer:
    """What the generated client reads of an answer (its ``rest.RESTResponse``)."""

    def __init__(self, response: requests.Response):
        self.status = response.status_code
        self.reason = response.reason
        self.data = response.content
        self._headers = response.headers

    def getheaders(self):
        return self._headers

    def getheader(self, name, default=None):
        return self._headers.get(name, default)


class _Transport:
    """Stands in for the generated client's urllib3 ``RESTClientObject``: the same ``request``
    and verb methods, sent through an ``agency.outbound`` session."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.session = outbound.session()

    def request(self, method, url, query_params=None, headers=None, body=None,
                post_params=None, _preload_content=True, _request_timeout=None):
        headers = dict(headers or {})
        send: dict = {}
        if body is not None:
            if isinstance(body, (bytes, str)):
                send["data"] = body
            else:
                send["data"] = json.dumps(body)
                headers.setdefault("Content-Type", "application/json")
        elif post_params:
            send["data"] = dict(post_params)
        response = self.session.request(
            method, url, params=query_params or None, headers=headers,
            timeout=_request_timeout or self.timeout, allow_redirects=False, **send)
        answer = _Answer(response)
        if not 200 <= answer.status <= 299:
            kinds = {401: sdk_errors.UnauthorizedException, 403: sdk_errors.ForbiddenException,
                     404: sdk_errors.NotFoundException}
            kind = kinds.get(answer.status) or (sdk_errors.ServiceException
                                                if answer.status >= 500
                                                else sdk_errors.ApiException)
            raise kind(http_resp=answer)
        return answer

    def _verb(method):  # noqa: N805 - builds the verb methods below
        def call(self, url, **kwargs):
            return self.request(method, url, **kwargs)
        return call

    GET, HEAD, OPTIONS = _verb("GET"), _verb("HEAD"), _verb("OPTIONS")
    POST, PUT, PATCH, DELETE = _verb("POST"), _verb("PUT"), _verb("PATCH"), _verb("DELETE")

    def close(self) -> None:
        self.session.close()


class Client:
    """Pinterest's API for one access token, through the SDK's generated client. ``run``
    calls one SDK method and turns its errors into ``PinterestError``. A context manager."""

    def __init__(self, token: str, *, timeout: float = TIMEOUT):
        configuration = Configuration(host=api_url() + "/v5", access_token=token)
        self.api = ApiClient(configuration)
        self.transport = _Transport(timeout)
        self.api.rest_client = self.transport
        self.timeout = timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.transport.close()

    def run(self, method, *args, **kwargs):
        # Answers are read leniently: a type Pinterest adds or changes in an answer must not
        # turn a pin that was made into an error.
        kwargs.setdefault("_check_return_type", False)
        try:
            return method(*args, **kwargs)
        except sdk_errors.ApiException as exc:
            code, message = reason(exc.status or 0, exc.body, exc.reason or "")
            status = exc.status if isinstance(exc.status, int) else None
            headers = dict(exc.headers or {}) if exc.headers else {}
            raise PinterestError(message, status=status, code=code, headers=headers,
                                 sent=True) from exc
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            raise self.transport_error(exc) from exc
        except sdk_errors.OpenApiException as exc:  # the SDK could not read the answer
            raise PinterestError(f"Pinterest's answer could not be read: "
                                 f"{outbound.excerpt(str(exc))}", sent=True, cause=exc) from exc

    def transport_error(self, exc: BaseException) -> PinterestError:
        if isinstance(exc, outbound.Refused):
            return PinterestError(f"Pinterest's address is refused: {exc.message}", cause=exc)
        if isinstance(exc, outbound.AnswerRefused):
            return PinterestError(exc.message, sent=True, cause=exc)
        if isinstance(exc, requests.ReadTimeout):
            return PinterestError(f"no answer from Pinterest within {self.timeout:g} s",
                                  sent=True, cause=exc)
        return PinterestError(f"could not reach Pinterest: {outbound.reason(exc)}",
                              sent=not outbound.never_sent(exc), cause=exc)

    def plain(self, answer) -> dict:
        """An SDK answer (a model, or a dict of models) as Pinterest's JSON, keys as sent."""
        found = self.api.sanitize_for_serialization(answer)
        return found if isinstance(found, dict) else {}

    # -- what the provider and the adapter read ---------------------------------------------

    def account(self) -> dict:
        return self.plain(self.run(UserAccountApi(self.api).user_account_get))

    def boards(self) -> list[dict]:
        """The account's boards, ``[{"id", "name"}]``, in Pinterest's order."""
        found, bookmark = [], None
        api = BoardsApi(self.api)
        while len(found) < MAX_BOARDS:
            extra = {"bookmark": bookmark} if bookmark else {}
            page = self.plain(self.run(api.boards_list, page_size=100, **extra))
            for board in page.get("items") or []:
                if board.get("id"):
                    found.append({"id": str(board["id"]), "name": str(board.get("name") or
                                                                     board["id"])})
            bookmark = page.get("bookmark")
            if not bookmark:
                break
        return found[:MAX_BOARDS]


def refresh_boards(channel, token: str | None = None) -> list[dict]:
    """Read the account's boards again into ``channel.settings["boards"]`` (saved)."""
    with Client(token or channel.get_secret()) as api:
        boards = api.boards()
    channel.settings = {**(channel.settings or {}), "boards": boards}
    if channel.pk:
        channel.save(update_fields=["settings"])
    return boards


# -- the OAuth provider -----------------------------------------------------------------------


def _app() -> dict:
    app = connections.client("pinterest")
    if app is None:
        raise connections.ConnectionError_(
            "Pinterest is not set up on this installation: set OAUTH_PINTEREST_CLIENT_ID and "
            "OAUTH_PINTEREST_CLIENT_SECRET (your Pinterest app's id and secret key).")
    return app


def _token_refusal(response: requests.Response) -> tuple[str, str]:
    """(code, message) of the token endpoint's error answer; no code on a success."""
    if response.status_code == 200:
        return "", ""
    code, message = reason(response.status_code, response.content)
    return (f"code {code}" if code is not None else ""), message


class PinterestProvider(connections.Provider):
    network = "pinterest"
    label = "Pinterest"
    scopes = SCOPES
    scope_separator = ","  # Pinterest's consent screen takes the scopes comma-separated
    pkce = False
    issues_refresh_tokens = True
    refresh_ahead = timedelta(days=3)
    declined_errors = ("access_denied",)

    def authorize_url(self) -> str:
        return www_url() + "/oauth/"

    def token_url(self) -> str:
        return api_url() + "/v5/oauth/token"

    def _token_call(self, form: dict, *, what: str) -> dict:
        app = _app()
        basic = base64.b64encode(
            f"{app['client_id']}:{app.get('client_secret', '')}".encode()).decode()
        return connections.post_token_form(
            "Pinterest", self.token_url(), form, what=what, reason=_token_refusal,
            headers={"Authorization": f"Basic {basic}"}, timeout=TIMEOUT)

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str = "") -> Tokens:
        return connections.tokens_from(self._token_call(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            what="trade the consent for a token"))

    def accounts(self, tokens: Tokens) -> list[connections.Account]:
        """The one account the token is for, with its boards (the editor offers them)."""
        try:
            with Client(tokens.access_token) as api:
                account = api.account()
                boards = api.boards()
        except PinterestError as exc:
            raise connections.ConnectionError_(
                f"Pinterest did not show the account and its boards: {exc.message}",
                transient=exc.status is None or (exc.status or 0) >= 500) from exc
        username = str(account.get("username") or "")
        return [connections.Account(
            id=str(account.get("id") or username), handle=f"pinterest.com/{username}",
            name=str(account.get("business_name") or username or "Pinterest account"),
            settings={"boards": boards, "account_type": str(account.get("account_type") or "")})]

    def refresh(self, channel) -> Tokens:
        refresh_token = channel.get_refresh_token()
        if not refresh_token:
            raise connections.ConnectionError_("The Pinterest channel has no refresh token: "
                                               "reconnect it.")
        tokens = connections.tokens_from(self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            what="renew the channel's access"))
        if not tokens.refresh_token:  # Pinterest keeps the refresh token unless it rotates it
            tokens = replace(tokens, refresh_token=refresh_token)
        try:
            refresh_boards(channel, tokens.access_token)
        except PinterestError as exc:  # the token is new; the boards stay as they were
            log.warning("Pinterest: channel %s's boards were not read again: %s",
                        channel.pk, exc.message)
        return tokens


provider = connections.register(PinterestProvider())
