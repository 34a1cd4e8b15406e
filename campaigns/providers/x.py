"""X (Twitter): the OAuth 2 provider, and the ``tweepy`` client the provider and the publishing
adapter (``campaigns.publishing.adapters.x``) share.

Pointing ``tweepy`` at a fake: ``tweepy.Client`` (API v2) builds every address from a fixed host
(``"https://api.twitter.com" + route`` in ``BaseClient.request``) and sends it through its own
``self.session`` without a timeout. ``Client`` here keeps all of tweepy (its endpoints, parameters
and errors) and only replaces that session with ``XSession``, an ``agency.outbound.Session`` (the
address checked and pinned at each request, no redirects followed, answers capped) that rewrites
tweepy's built-in host to ``connections.base_url("x_api", "https://api.x.com")`` and gives every
request the client's timeout. tweepy 4.17 has no v2 media upload, so the upload commands
(multipart forms) go through the same session and raise tweepy's own errors
(``Client.upload_form``).

References (docs.x.com): OAuth 2.0 Authorization Code Flow with PKCE (``x.com/i/oauth2/authorize``,
``POST /2/oauth2/token`` with HTTP Basic client authentication for confidential clients,
``/2/oauth2/revoke``; access tokens live two hours, ``offline.access`` gives a refresh token
that is replaced at every refresh), ``GET /2/users/me``, ``POST /2/tweets``,
``GET /2/users/:id/tweets``, media upload (``POST /2/media/upload`` with ``command`` INIT, APPEND,
FINALIZE; ``GET`` with ``command=STATUS``) and ``POST /2/media/metadata`` (alt text), rate limits
(``x-rate-limit-limit``/``-remaining``/``-reset``), errors as problem+json (``title``, ``detail``,
``type``, ``status``).

tweepy logs each request's headers at DEBUG (the bearer token among them): its logger is kept at
INFO or above here, so no token reaches a log.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import requests
import tweepy

from agency import outbound
from campaigns import connections
from campaigns.connections import Tokens

log = logging.getLogger(__name__)
logging.getLogger("tweepy").setLevel(logging.INFO)  # its DEBUG lines carry the bearer token

SCOPES = ("tweet.read", "tweet.write", "users.read", "offline.access", "media.write")
TIMEOUT = 20.0
TWEEPY_HOST = "https://api.twitter.com"  # what tweepy.Client writes before every route


def api_url() -> str:
    return connections.base_url("x_api", "https://api.x.com")


def www_url() -> str:
    return connections.base_url("x_www", "https://x.com")


def post_url(username: str, tweet_id: str) -> str:
    """Where people see a post (``x.com/<username>/status/<id>``; ``i`` when the name is not
    known, which X redirects)."""
    return f"https://x.com/{username.lstrip('@') or 'i'}/status/{tweet_id}"


class XSession(outbound.Session):
    """tweepy's session: through the outbound guard, at our address for X, with a timeout."""

    def __init__(self, *, timeout: float = TIMEOUT):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):
        if str(url).startswith(TWEEPY_HOST):
            url = api_url() + str(url)[len(TWEEPY_HOST):]
        kwargs.setdefault("timeout", self.timeout)
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def raise_for(response: requests.Response) -> requests.Response:
    """tweepy's error for an answer that is not a success (as ``BaseClient.request`` does)."""
    status = response.status_code
    if status == 400:
        raise tweepy.BadRequest(response)
    if status == 401:
        raise tweepy.Unauthorized(response)
    if status == 403:
        raise tweepy.Forbidden(response)
    if status == 404:
        raise tweepy.NotFound(response)
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, reset_time=int(reset) if str(reset).isdigit()
                                     else None)
    if status >= 500:
        raise tweepy.TwitterServerError(response)
    if not 200 <= status < 300:
        raise tweepy.HTTPException(response)
    return response


def problem(exc: tweepy.HTTPException) -> str:
    """X's reason, from its problem+json body (``title``, ``detail``) or its ``errors``."""
    try:
        body = exc.response.json()
    except ValueError:
        return outbound.excerpt(exc.response.content) or exc.response.reason or ""
    if not isinstance(body, dict):
        return outbound.excerpt(str(body))
    if body.get("error") and not body.get("detail"):  # the OAuth endpoints' shape
        return outbound.excerpt(f"{body['error']}: {body.get('error_description') or ''}"
                                .rstrip(": "))
    detail = str(body.get("detail") or "")
    title = str(body.get("title") or "")
    errors = [str(e.get("message") or e.get("detail") or "") for e in body.get("errors") or []
              if isinstance(e, dict)]
    text = detail or "; ".join(e for e in errors if e) or title
    if title and detail and title.lower() not in detail.lower():
        text = f"{title}: {detail}"
    return outbound.excerpt(text or exc.response.reason or f"HTTP {exc.response.status_code}")


class Client(tweepy.Client):
    """``tweepy.Client`` for one user access token (OAuth 2 user context: the token goes as
    the bearer token, ``user_auth=False``), through ``XSession``. A context manager."""

    def __init__(self, token: str, *, timeout: float = TIMEOUT):
        super().__init__(bearer_token=token, wait_on_rate_limit=False)
        self.session.close()
        self.session = XSession(timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.session.close()

    def upload_form(self, method: str, fields: dict, *, media: bytes | None = None) -> dict:
        """One media upload command (``/2/media/upload``): a multipart form (POST) or a query
        (GET, STATUS). Returns the answer's JSON (``{}`` when empty)."""
        headers = {"User-Agent": self.user_agent, "Authorization": f"Bearer {self.bearer_token}"}
        if method == "GET":
            response = self.session.request("GET", TWEEPY_HOST + "/2/media/upload",
                                            params=fields, headers=headers)
        else:
            files = {name: (None, str(value)) for name, value in fields.items()}
            if media is not None:
                files["media"] = ("blob", media, "application/octet-stream")
            response = self.session.request("POST", TWEEPY_HOST + "/2/media/upload",
                                            files=files, headers=headers)
        raise_for(response)
        return response.json() if response.content else {}

    def media_metadata(self, media_id: str, alt_text: str) -> dict:
        return self.request("POST", "/2/media/metadata", json={
            "id": media_id, "metadata": {"alt_text": {"text": alt_text}}}).json()


# -- the OAuth provider -----------------------------------------------------------------------


class XProvider(connections.Provider):
    network = "x"
    label = "X"
    scopes = SCOPES
    pkce = True  # X requires PKCE (S256) on every authorization request
    issues_refresh_tokens = True  # with offline.access; each refresh gives a new one
    # Access tokens live two hours: the token job refreshes each one it sees, and the adapter
    # refreshes one that expires within minutes before it sends.
    refresh_ahead = timedelta(hours=1, minutes=50)

    def authorize_url(self) -> str:
        return www_url() + "/i/oauth2/authorize"

    def token_url(self) -> str:
        return api_url() + "/2/oauth2/token"

    def revoke_url(self) -> str:
        return api_url() + "/2/oauth2/revoke"

    def _app(self) -> dict:
        app = self.oauth_client()
        if app is None:
            raise connections.ConnectionError_(
                "X is not set up on this installation: set OAUTH_X_CLIENT_ID and "
                "OAUTH_X_CLIENT_SECRET (your X app's OAuth 2.0 Client ID and Secret).")
        return app

    def _session(self, **kwargs):
        app = self._app()
        # X authenticates confidential clients with HTTP Basic (client id and secret).
        return connections.oauth_session(
            client_id=app["client_id"], client_secret=app.get("client_secret", ""),
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a name
            timeout=TIMEOUT, **kwargs)

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> Tokens:
        session = self._session(redirect_uri=redirect_uri)
        try:
            answer = session.fetch_token(self.token_url(), grant_type="authorization_code",
                                         code=code, code_verifier=code_verifier)
        except Exception as exc:  # noqa: BLE001 - Authlib's, requests' and the guard's errors
            raise connections.oauth_refusal(exc, "exchange the consent for a token") from exc
        finally:
            session.close()
        return connections.tokens_from(answer)

    def accounts(self, tokens: Tokens) -> list[connections.Account]:
        """The one account that consented (X tokens act for their user only)."""
        try:
            with Client(tokens.access_token) as api:
                me = api.get_me(user_auth=False, user_fields=["name", "username"]).data
        except tweepy.HTTPException as exc:
            raise connections.ConnectionError_(
                f"X did not say which account consented: {problem(exc)}") from exc
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            raise connections.ConnectionError_(
                "Could not reach X to read the account: "
                f"{getattr(exc, 'message', None) or outbound.reason(exc)}", transient=True) \
                from exc
        return [connections.Account(id=str(me.id), name=str(me.name or me.username),
                                    handle=f"@{me.username}",
                                    settings={"username": str(me.username)})]

    def refresh(self, channel) -> Tokens:
        refresh_token = channel.get_refresh_token()
        if not refresh_token:
            raise connections.ConnectionError_(
                "X gave this channel no refresh token (offline.access was not granted): "
                "reconnect it.")
        session = self._session()
        try:
            answer = session.refresh_token(self.token_url(), refresh_token=refresh_token)
        except Exception as exc:  # noqa: BLE001 - Authlib's, requests' and the guard's errors
            raise connections.oauth_refusal(exc, "renew the access") from exc
        finally:
            session.close()
        return connections.tokens_from(answer)

    def revoke(self, channel) -> bool:
        token = channel.get_secret()
        if not token:
            return False
        app = self._app()
        session = outbound.session()
        try:
            response = session.post(self.revoke_url(), data={
                "token": token, "token_type_hint": "access_token"},
                auth=(app["client_id"], app.get("client_secret", "")), timeout=TIMEOUT,
                allow_redirects=False)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            log.warning("X: revoking a token failed: %s",
                        getattr(exc, "message", None) or outbound.reason(exc))
            return False
        finally:
            session.close()
        if response.status_code != 200:
            log.warning("X refused to revoke a token (HTTP %s)", response.status_code)
            return False
        return bool((response.json() if response.content else {}).get("revoked"))


provider = connections.register(XProvider())
