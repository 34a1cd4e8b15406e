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

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings


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
    """The network refused or failed a step of the connection; ``message`` is said to staff."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Provider:
    """Base for a network's OAuth 2 provider. Subclasses set the class attributes and override
    what their network does differently."""

    network = ""
    label = ""
    scopes: tuple[str, ...] = ()
    scope_separator = " "
    pkce = True  # the network accepts code_challenge (S256)
    issues_refresh_tokens = False

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


PROVIDERS: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    PROVIDERS[provider.network] = provider
    return provider


def get(network: str) -> Provider | None:
    return PROVIDERS.get(network)
