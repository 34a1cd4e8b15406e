"""Facebook Login for Pages: the consent screen on www.facebook.com, the code traded for a
short-lived user token and that for a long-lived one (``fb_exchange_token``, about 60 days), the
Pages the person manages from ``/me/accounts``, each with the Page's own token (a Page token got
from a long-lived user token does not expire: there is nothing to refresh, and a login that stops
working answers code 190 at the next send, which puts the channel in "needs reconnect").
Disconnecting revokes the login with ``DELETE /{user-id}/permissions`` and the app's token.

Calls go through ``agency.outbound`` (checked addresses, no redirects, capped answers); tokens
are never logged, and a refusal says what Meta said.
"""

from __future__ import annotations

from datetime import timedelta

import requests
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from agency import outbound
from campaigns import connections
from campaigns.connections import Account, ConnectionError_, Provider, Tokens
from campaigns.models import Channel
from tenants.models import Client

GRAPH_VERSION = "v23.0"
TIMEOUT = 20.0


def graph_url(path: str) -> str:
    base = connections.base_url("facebook_graph", "https://graph.facebook.com")
    return f"{base}/{GRAPH_VERSION}/{path.lstrip('/')}"


def call(method: str, url: str, *, label: str, params=None, data=None) -> dict:
    """One Graph call for the connection flow; ``ConnectionError_`` with Meta's reason."""
    session = outbound.session()
    try:
        response = session.request(method, url, params=params, data=data, timeout=TIMEOUT,
                                    allow_redirects=False)
    except outbound.Refused as exc:
        raise ConnectionError_(f"{label}'s address is refused: {exc.message}") from exc
    except (requests.RequestException, outbound.AnswerRefused) as exc:
        raise ConnectionError_(f"Could not reach {label}: {outbound.reason(exc)}. Try again "
                               "in a moment.", transient=True) from exc
    finally:
        session.close()
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and "error" not in body:
        return body
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        reason = outbound.excerpt(error.get("error_user_msg") or error.get("message") or "")
        code = error.get("code")
        raise ConnectionError_(f"{label} refused: {reason} (code {code}).",
                               transient=bool(error.get("is_transient"))
                               or response.status_code >= 500)
    raise ConnectionError_(f"{label} answered HTTP {response.status_code}: "
                           f"{outbound.excerpt(response.text)}",
                           transient=response.status_code >= 500)


def login_still_used(user_id: str, channel) -> bool:
    """Whether a channel other than ``channel``, in any brand, still posts through the
    Facebook login of ``user_id`` (a disconnected one, its token forgotten, does not)."""
    here = connection.schema_name
    schemas = Client.objects.exclude(schema_name=get_public_schema_name()) \
        .values_list("schema_name", flat=True)
    for schema in schemas:
        with schema_context(schema):
            others = Channel.objects.filter(network__in=("facebook", "instagram"),
                                            settings__user_id=user_id) \
                .exclude(secret_encrypted="")
            if schema == here and channel.pk:
                others = others.exclude(pk=channel.pk)
            if others.exists():
                return True
    return False


def expiry(answer: dict):
    seconds = answer.get("expires_in")
    return timezone.now() + timedelta(seconds=int(seconds)) if seconds else None


class FacebookProvider(Provider):
    network = "facebook"
    label = "Facebook"
    scopes = ("pages_show_list", "pages_read_engagement", "pages_manage_posts",
              "business_management")
    scope_separator = ","
    pkce = True
    issues_refresh_tokens = False

    def oauth_client(self) -> dict | None:
        # Instagram is published through the Facebook app's Graph API: one OAuth app for both
        # (OAUTH_INSTAGRAM_* only where the installation keeps a separate one).
        return connections.client(self.network) or connections.client("facebook")

    def configured(self) -> bool:
        return self.oauth_client() is not None

    def app(self) -> dict:
        found = self.oauth_client()
        if not found:
            raise ConnectionError_(f"No {self.label} app is configured: set "
                                   "OAUTH_FACEBOOK_CLIENT_ID and OAUTH_FACEBOOK_CLIENT_SECRET.")
        return found

    def authorize_url(self) -> str:
        base = connections.base_url("facebook_www", "https://www.facebook.com")
        return f"{base}/{GRAPH_VERSION}/dialog/oauth"

    def token_url(self) -> str:
        return graph_url("oauth/access_token")

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> Tokens:
        app = self.app()
        short = call("GET", self.token_url(), label=self.label, params={
            "client_id": app["client_id"], "client_secret": app["client_secret"],
            "redirect_uri": redirect_uri, "code": code, "code_verifier": code_verifier or None})
        long = call("GET", self.token_url(), label=self.label, params={
            "grant_type": "fb_exchange_token", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "fb_exchange_token": short["access_token"]})
        granted = call("GET", graph_url("me/permissions"), label=self.label,
                       params={"access_token": long["access_token"]})
        scopes = " ".join(p["permission"] for p in granted.get("data") or []
                          if p.get("status") == "granted")
        return Tokens(access_token=long["access_token"], expires_at=expiry(long), scopes=scopes)

    def _pages(self, tokens: Tokens) -> tuple[dict, list[dict]]:
        me = call("GET", graph_url("me"), label=self.label,
                  params={"fields": "id,name", "access_token": tokens.access_token})
        pages = call("GET", graph_url("me/accounts"), label=self.label, params={
            "fields": "id,name,access_token,instagram_business_account{id,username}",
            "limit": 100, "access_token": tokens.access_token})
        return me, pages.get("data") or []

    def accounts(self, tokens: Tokens) -> list[Account]:
        me, pages = self._pages(tokens)
        return [Account(id=str(page["id"]), name=page["name"], handle=page["name"],
                        access_token=page["access_token"],
                        settings={"user_id": str(me["id"]), "page_name": page["name"]})
                for page in pages if page.get("access_token")]

    def refresh(self, channel) -> Tokens:
        raise ConnectionError_(f"{self.label} does not refresh tokens: the Page's token lasts "
                               "as long as the login. Reconnect the account to renew it.")

    def revoke(self, channel) -> bool:
        """Revoke the person's login for this app, unless another channel (of any brand) still
        posts through it: Meta has no revocation per Page, and revoking the login ends every
        Page token it gave (Facebook and Instagram channels alike)."""
        user = (channel.settings or {}).get("user_id")
        if not user or login_still_used(user, channel):
            return False
        app = self.app()
        answer = call("DELETE", graph_url(f"{user}/permissions"), label=self.label, params={
            "access_token": f"{app['client_id']}|{app['client_secret']}"})
        return bool(answer.get("success"))


connections.register(FacebookProvider())
