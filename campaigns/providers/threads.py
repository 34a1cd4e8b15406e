"""Threads: the consent screen on threads.net, the code traded (POST) for a short-lived token and
that for a long-lived one (``th_exchange_token``, 60 days). There is no separate refresh token:
a long-lived token at least a day old and not expired is refreshed by itself
(``th_refresh_token``), which the refresh job does ahead of ``token_expires_at``
(``refresh_ahead``). The token that refreshes is the long-lived access token itself, so the
channel keeps it as its refresh token too (encrypted like the other). Threads offers
no API to revoke a token: disconnecting forgets it (the person can remove the app in Threads'
settings)."""

from __future__ import annotations

from datetime import timedelta

from campaigns import connections
from campaigns.connections import Account, ConnectionError_, Provider, Tokens
from campaigns.providers.facebook import call, expiry

API_VERSION = "v1.0"


def _graph() -> str:
    return connections.base_url("threads_graph", "https://graph.threads.net")


class ThreadsProvider(Provider):
    network = "threads"
    label = "Threads"
    scopes = ("threads_basic", "threads_content_publish", "threads_manage_replies")
    scope_separator = ","
    pkce = False  # Threads' consent screen takes no code_challenge
    issues_refresh_tokens = True  # the long-lived access token refreshes itself
    # Refreshed a week ahead: the token can be refreshed once it is a day old, for 60 days,
    # so a week leaves time for a network outage or two.
    refresh_ahead = timedelta(days=7)

    def app(self) -> dict:
        found = connections.client(self.network)
        if not found:
            raise ConnectionError_("No Threads app is configured: set OAUTH_THREADS_CLIENT_ID "
                                   "and OAUTH_THREADS_CLIENT_SECRET.")
        return found

    def authorize_url(self) -> str:
        return f"{connections.base_url('threads_www', 'https://threads.net')}/oauth/authorize"

    def token_url(self) -> str:
        return f"{_graph()}/oauth/access_token"

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> Tokens:
        app = self.app()
        short = call("POST", self.token_url(), label=self.label, data={
            "client_id": app["client_id"], "client_secret": app["client_secret"],
            "grant_type": "authorization_code", "redirect_uri": redirect_uri, "code": code})
        long = call("GET", f"{_graph()}/access_token", label=self.label, params={
            "grant_type": "th_exchange_token", "client_secret": app["client_secret"],
            "access_token": short["access_token"]})
        return Tokens(access_token=long["access_token"], refresh_token=long["access_token"],
                      expires_at=expiry(long), scopes=" ".join(self.scopes))

    def accounts(self, tokens: Tokens) -> list[Account]:
        me = call("GET", f"{_graph()}/{API_VERSION}/me", label=self.label, params={
            "fields": "id,username,name", "access_token": tokens.access_token})
        return [Account(id=str(me["id"]), name=me.get("name") or me["username"],
                        handle=f"@{me['username']}")]

    def refresh(self, channel) -> Tokens:
        answer = call("GET", f"{_graph()}/refresh_access_token", label=self.label, params={
            "grant_type": "th_refresh_token", "access_token": channel.get_secret()})
        return Tokens(access_token=answer["access_token"], refresh_token=answer["access_token"],
                      expires_at=expiry(answer), scopes=channel.scopes)

    def revoke(self, channel) -> bool:
        return False


connections.register(ThreadsProvider())
