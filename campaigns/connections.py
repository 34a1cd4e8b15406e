"""Connected accounts: how a network's OAuth 2 consent becomes a channel that can publish.

A ``Provider`` per network (registered by name, the same name as the network's rules in
``campaigns.networks`` and its adapter in ``campaigns.publishing.adapters``) knows the network's
consent screen, token endpoint, scopes, the accounts a person may post to after consent (a
Facebook user's Pages, a LinkedIn member's organizations), how to refresh and how to revoke.
The connection flow (state, PKCE, callback, picking the account) and the token lifecycle
(refresh ahead of expiry, warning ahead of expiry where there is no refresh, "needs reconnect")
are built once on top of it.

The access token is stored as the channel's secret, the refresh token in
``Channel.refresh_encrypted``, both encrypted with the field keys; neither is ever logged.
Addresses come from ``base_url`` so that tests and the demo can point them at local fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import requests
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings

from agency import outbound


def base_url(key: str, default: str) -> str:
    """The address of one of a network's hosts (``NETWORK_BASE_URLS[key]`` or the real one),
    without a trailing slash."""
    return (getattr(settings, "NETWORK_BASE_URLS", {}) or {}).get(key, default).rstrip("/")


def client(network: str) -> dict | None:
    """The installation's OAuth app for ``network`` (``client_id``, ``client_secret``), or None
    when it has none configured."""
    found = (getattr(settings, "OAUTH_CLIENTS", {}) or {}).get(network)
    return found if found and found.get("client_id") else None


@dataclass(frozen=True)
class Tokens:
    """What a token endpoint answered."""

    access_token: str
    refresh_token: str = ""
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: str = ""  # as granted, space-separated


@dataclass(frozen=True)
class Account:
    """One account, page or organization the person who consented may post to."""

    id: str  # the network's id; becomes Channel.account_id
    name: str
    handle: str = ""
    access_token: str = ""  # its own token where the network issues one (a Facebook Page's)
    settings: dict = field(default_factory=dict)  # becomes Channel.settings


class ConnectionError_(Exception):
    """The network refused or failed a step of the connection; ``message`` is said to staff.
    ``transient``: the network could not be reached (try later), rather than refusing."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.message = message
        self.transient = transient


def oauth_session(*, client_id: str, client_secret: str = "", redirect_uri: str = "",
                  scope: str = "", pkce: bool = True, token: dict | None = None,
                  token_endpoint_auth_method: str = "client_secret_post",  # noqa: S107 - a name
                  timeout: float = 20.0):
    """Authlib's OAuth 2 client (a ``requests`` session) sending through the outbound guard:
    the address checked at every request, no redirect followed, answers capped, nothing taken
    from the environment. The one way providers talk to token and revocation endpoints."""
    session = OAuth2Session(
        client_id=client_id, client_secret=client_secret or None,
        redirect_uri=redirect_uri or None, scope=scope or None,
        code_challenge_method="S256" if pkce else None, token=token,
        token_endpoint_auth_method=token_endpoint_auth_method, default_timeout=timeout)
    guarded = outbound.session()
    session.trust_env = False
    session.verify = guarded.verify
    session.adapters = guarded.adapters
    session.get_redirect_target = lambda response: None  # a redirect is never followed
    return session


def oauth_refusal(exc: Exception, doing: str) -> "ConnectionError_":
    """Our error (said to staff) for what Authlib or the guard raised while ``doing``."""
    if isinstance(exc, outbound.Refused):
        return ConnectionError_(f"Could not {doing}: the address is refused: {exc.message}")
    error = getattr(exc, "error", "") or ""
    description = getattr(exc, "description", "") or ""
    if error:
        text = outbound.excerpt(f"{error}: {description}".rstrip(": "))
        return ConnectionError_(f"The network refused to {doing} ({text}).")
    return ConnectionError_(f"Could not {doing}: {outbound.reason(exc)}", transient=True)


def post_token_form(label: str, url: str, form: dict, *, what: str, reason,
                    headers: dict | None = None, timeout: float = 20.0) -> dict:
    """POST ``form`` to a network's token endpoint through ``agency.outbound`` (no redirect
    followed) and return its JSON answer, for the networks whose token calls are plain form
    posts (LinkedIn, TikTok, Pinterest). ``reason(response)`` reads the network's error body
    as ``(code, message)``; ``label`` names the network to staff.

    One rule: an endpoint that could not be reached, or that answered 5xx or 429, is
    ``transient`` (the token job tries again later and the channel stays connected), unless the
    guard refused the address (a setting to fix, not a blip); any other answer but a 200 without
    an error code is the network refusing (``invalid_grant``: the channel needs reconnecting)."""
    session = outbound.session()
    try:
        response = session.post(url, data=form, timeout=timeout, allow_redirects=False,
                                headers={"Accept": "application/json", **(headers or {})})
    except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
        raise ConnectionError_(
            f"Could not reach {label} to {what}: "
            f"{getattr(exc, 'message', None) or outbound.reason(exc)}",
            transient=not isinstance(exc, outbound.Refused)) from exc
    finally:
        session.close()
    status = response.status_code
    code, message = reason(response)
    if status != 200 or code:
        raise ConnectionError_(
            f"{label} refused to {what} (HTTP {status}{', ' + code if code else ''}): "
            f"{message or 'no reason given'}", transient=status >= 500 or status == 429)
    try:
        answer = response.json()
    except ValueError:
        raise ConnectionError_(f"{label}'s answer to {what} could not be read (not JSON).") \
            from None
    if not isinstance(answer, dict) or not answer.get("access_token"):
        raise ConnectionError_(f"{label} answered without an access token ({what}); try "
                               "connecting again.")
    return answer


def tokens_from(answer: dict, *, now: datetime | None = None) -> Tokens:
    """``Tokens`` from a token endpoint's JSON answer (RFC 6749 section 5.1)."""
    now = now or datetime.now(UTC)
    expires_at = None
    if answer.get("expires_in"):
        expires_at = now + timedelta(seconds=int(answer["expires_in"]))
    elif answer.get("expires_at"):
        expires_at = datetime.fromtimestamp(int(answer["expires_at"]), UTC)
    refresh_expires_at = None
    if answer.get("refresh_token_expires_in"):
        refresh_expires_at = now + timedelta(seconds=int(answer["refresh_token_expires_in"]))
    scope = answer.get("scope") or ""
    if isinstance(scope, (list, tuple)):
        scope = " ".join(scope)
    return Tokens(access_token=str(answer["access_token"]),
                  refresh_token=str(answer.get("refresh_token") or ""),
                  expires_at=expires_at, refresh_expires_at=refresh_expires_at,
                  scopes=" ".join(str(scope).replace(",", " ").split()))


class Provider:
    """Base for a network's OAuth 2 provider. Subclasses set the class attributes and override
    what their network does differently."""

    network = ""
    label = ""
    scopes: tuple[str, ...] = ()
    scope_separator = " "
    pkce = True  # the network accepts code_challenge (S256)
    issues_refresh_tokens = False
    # The person names their own server first (Mastodon): ``for_server`` binds it.
    needs_server = False
    # How long before expiry a token is refreshed, or (without refresh tokens) staff warned.
    refresh_ahead = timedelta(days=1)
    warn_ahead = timedelta(days=7)
    # The ``error`` values the network's callback carries when the person declined consent
    # (RFC 6749's ``access_denied``; LinkedIn says ``user_cancelled_authorize``).
    declined_errors: tuple[str, ...] = ("access_denied",)

    def configured(self) -> bool:
        """Whether the installation can offer "Connect account" for this network."""
        return client(self.network) is not None

    def oauth_client(self) -> dict | None:
        """The OAuth app (``client_id``, ``client_secret``) the consent is asked for."""
        return client(self.network)

    def for_server(self, server: str, *, redirect_uri: str) -> Provider:
        """This provider bound to the person's own server (``needs_server`` networks)."""
        return self

    def authorize_params(self) -> dict:
        """Extra query parameters for the consent screen (beyond client_id, redirect_uri,
        scope, state and the PKCE challenge)."""
        return {}

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        """The consent screen's address for this attempt (Authlib builds it: state, PKCE S256
        challenge from ``code_verifier``, scopes, redirect URI)."""
        app = self.oauth_client() or {}
        session = oauth_session(client_id=app.get("client_id", ""), redirect_uri=redirect_uri,
                                scope=self.scope_separator.join(self.scopes), pkce=self.pkce)
        url, _ = session.create_authorization_url(
            self.authorize_url(), state=state,
            code_verifier=code_verifier if self.pkce else None, **self.authorize_params())
        return url

    def fetch_tokens(self, *, code: str, redirect_uri: str, code_verifier: str) -> Tokens:
        """The authorization-code grant at ``token_url`` through Authlib (a helper for
        ``exchange``)."""
        app = self.oauth_client() or {}
        session = oauth_session(client_id=app.get("client_id", ""),
                                client_secret=app.get("client_secret", ""),
                                redirect_uri=redirect_uri, pkce=self.pkce)
        extra = {"code_verifier": code_verifier} if self.pkce else {}
        try:
            answer = session.fetch_token(self.token_url(), grant_type="authorization_code",
                                         code=code, **extra)
        except Exception as exc:  # noqa: BLE001 - Authlib's, requests' and the guard's errors
            raise oauth_refusal(exc, "exchange the consent for a token") from exc
        finally:
            session.close()
        return tokens_from(answer)

    def fetch_refreshed(self, channel) -> Tokens:
        """The refresh-token grant (RFC 6749 section 6) at ``token_url`` through Authlib (a
        helper for ``refresh``); a network that answers without a new refresh token keeps the
        old one."""
        app = self.oauth_client() or {}
        refresh_token = channel.get_refresh_token()
        if not refresh_token:
            raise ConnectionError_("The channel has no refresh token: reconnect it.")
        session = oauth_session(client_id=app.get("client_id", ""),
                                client_secret=app.get("client_secret", ""), pkce=False)
        try:
            answer = session.refresh_token(self.token_url(), refresh_token=refresh_token)
        except Exception as exc:  # noqa: BLE001 - Authlib's, requests' and the guard's errors
            raise oauth_refusal(exc, "renew the access") from exc
        finally:
            session.close()
        tokens = tokens_from(answer)
        return tokens if tokens.refresh_token else replace(tokens, refresh_token=refresh_token)

    def with_account(self, tokens: Tokens, account: Account) -> Tokens:
        """The tokens a channel keeps for ``account`` (its own token where it has one)."""
        return replace(tokens, access_token=account.access_token) if account.access_token \
            else tokens

    def authorize_url(self) -> str:
        raise NotImplementedError

    def token_url(self) -> str:
        raise NotImplementedError

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> Tokens:
        """Trade the callback's code for tokens (long-lived ones where the network has them)."""
        raise NotImplementedError

    def accounts(self, tokens: Tokens) -> list[Account]:
        """The accounts the person may post to, for the "pick one" step."""
        raise NotImplementedError

    def refresh(self, channel) -> Tokens:
        """New tokens for a connected channel; ``campaigns.publishing.adapters.NeedsReconnect``
        style refusal is raised as ``ConnectionError_`` with the network's reason."""
        raise NotImplementedError

    def revoke(self, channel) -> bool:
        """Revoke the channel's token at the network where it can; True if it was revoked."""
        return False

    def notice(self, channel) -> str:
        """Something staff should know about the network's channels, shown on the channel's
        screen (e.g. TikTok keeps an unaudited app's posts private); "" for nothing."""
        return ""


PROVIDERS: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    PROVIDERS[provider.network] = provider
    return provider


def get(network: str) -> Provider | None:
    return PROVIDERS.get(network)
