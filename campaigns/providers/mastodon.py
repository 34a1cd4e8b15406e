"""Mastodon's OAuth: an app registered on the person's own server, then the usual code flow.

Mastodon has no central OAuth app: each server is its own authorization server. On the first
connection to a server (from a brand's callback address) the platform registers an app there
(``POST /api/v1/apps``) and keeps its client id and (encrypted) secret in ``OAuthApp``; later
connections reuse it. Consent at ``/oauth/authorize`` (PKCE S256 since Mastodon 4.3), the code
traded at ``/oauth/token``; tokens do not expire and there are no refresh tokens; disconnecting
revokes at ``/oauth/revoke``. Every request goes to the address the person typed, so through
``agency.outbound``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from agency import outbound
from campaigns import connections
from campaigns.connections import Account, ConnectionError_, Provider, Tokens
from campaigns.models import OAuthApp

CLIENT_NAME = "Agency platform"
TIMEOUT = 20.0


def normalise_server(text: str) -> str:
    """``https://host[:port]`` from what a person typed (``mastodon.social``, a profile's
    address, ``@name@server``); ``ConnectionError_`` when it is no server address."""
    text = (text or "").strip()
    if text.startswith("@") and text.count("@") == 2:
        text = text.rsplit("@", 1)[1]
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or " " in text:
        raise ConnectionError_("Give your Mastodon server's address, e.g. mastodon.social or "
                               "https://mastodon.social.")
    host = parts.hostname.lower()
    port = f":{parts.port}" if parts.port else ""
    server = f"{parts.scheme}://{host}{port}"
    try:
        outbound.split(server)
        if not outbound.private_allowed():
            outbound.check(server)
    except outbound.Refused as exc:
        raise ConnectionError_(f"That server address is refused: {exc.message}") from None
    return server


def _call(method: str, server: str, path: str, doing: str, **kwargs) -> dict:
    """One request to the person's server, through the outbound guard; its JSON answer, or
    ``ConnectionError_`` saying what could not be done and why."""
    session = outbound.session()
    try:
        return _answer(session.request(method, f"{server}{path}", timeout=TIMEOUT, **kwargs),
                       doing)
    except outbound.Refused as exc:
        raise ConnectionError_(f"That server address is refused: {exc.message}") from None
    except requests.RequestException as exc:
        raise ConnectionError_(f"Could not reach the Mastodon server at {server}: "
                               f"{outbound.reason(exc)}") from None
    finally:
        session.close()


def _answer(response: requests.Response, doing: str) -> dict:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400 or not isinstance(data, dict):
        reason = ""
        if isinstance(data, dict):
            reason = data.get("error_description") or data.get("error") or ""
        reason = outbound.excerpt(reason or response.text) or response.reason
        raise ConnectionError_(f"The Mastodon server refused to {doing} (HTTP "
                               f"{response.status_code}: {reason}).")
    return data


class MastodonProvider(Provider):
    network = "mastodon"
    label = "Mastodon"
    # The least the adapter needs: who the account is, its statuses (to look for a post after
    # an unknown outcome), uploading media and posting statuses.
    scopes = ("read:accounts", "read:statuses", "write:media", "write:statuses")
    pkce = True
    issues_refresh_tokens = False
    needs_server = True

    def __init__(self, server: str = "", app=None):
        self.server = server
        self.app = app

    def configured(self) -> bool:
        return True  # the app is registered on each person's server when they connect

    # -- the app on the person's server -----------------------------------------------------------

    def for_server(self, server: str, *, redirect_uri: str) -> MastodonProvider:
        server = normalise_server(server)
        app = OAuthApp.objects.filter(network=self.network, server=server,
                                      redirect_uri=redirect_uri).first()
        if app is None:
            app = self._register(server, redirect_uri)
        return MastodonProvider(server, app)

    def _register(self, server: str, redirect_uri: str):
        data = _call("POST", server, "/api/v1/apps", "register this platform as an app", data={
            "client_name": CLIENT_NAME, "redirect_uris": redirect_uri,
            "scopes": " ".join(self.scopes)})
        if not data.get("client_id") or not data.get("client_secret"):
            raise ConnectionError_(f"The server at {server} did not answer as a Mastodon server "
                                   "does (no client id in its answer). Check the address.")
        app, _ = OAuthApp.objects.update_or_create(
            network=self.network, server=server, redirect_uri=redirect_uri,
            defaults={"client_id": data["client_id"], "scopes": " ".join(self.scopes)})
        app.set_secret(data["client_secret"])
        app.save()
        return app

    def oauth_client(self) -> dict | None:
        if self.app is None:
            return None
        return {"client_id": self.app.client_id, "client_secret": self.app.get_secret()}

    # -- the flow ---------------------------------------------------------------------------------

    def authorize_url(self) -> str:
        return f"{self.server}/oauth/authorize"

    def token_url(self) -> str:
        return f"{self.server}/oauth/token"

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> Tokens:
        return self.fetch_tokens(code=code, redirect_uri=redirect_uri,
                                 code_verifier=code_verifier)

    def accounts(self, tokens: Tokens) -> list[Account]:
        data = _call("GET", self.server, "/api/v1/accounts/verify_credentials",
                     "say which account consented",
                     headers={"Authorization": f"Bearer {tokens.access_token}"})
        host = urlsplit(self.server).hostname
        username = str(data.get("username") or data.get("acct") or "")
        return [Account(id=str(data["id"]), name=str(data.get("display_name") or username),
                        handle=f"@{username}@{host}",
                        settings={"server": self.server,
                                  "oauth_app": self.app.pk if self.app else None})]

    def refresh(self, channel) -> Tokens:
        raise ConnectionError_("Mastodon tokens do not expire and cannot be refreshed: "
                               "reconnect the channel.")

    def revoke(self, channel) -> bool:
        token = channel.get_secret()
        app = OAuthApp.objects.filter(pk=(channel.settings or {}).get("oauth_app")).first()
        if not token or app is None:
            return False
        session = connections.oauth_session(client_id=app.client_id,
                                            client_secret=app.get_secret(), pkce=False,
                                            timeout=TIMEOUT)
        try:
            response = session.revoke_token(f"{app.server}/oauth/revoke", token=token)
        except (outbound.Refused, requests.RequestException):
            return False
        finally:
            session.close()
        return response.status_code == 200


connections.register(MastodonProvider())
