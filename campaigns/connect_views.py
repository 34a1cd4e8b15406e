"""Connecting a brand's accounts by OAuth 2: "Connect account", the network's consent screen,
picking the account or page, reconnecting and disconnecting a channel.

The flow (authorization code with PKCE S256, built by Authlib in ``campaigns.connections``):

1. ``connect_start`` (POST): a random ``state`` and PKCE verifier are kept server-side in the
   session, bound to the brand (its schema), the member and the time; the person goes to the
   network's consent screen with the brand's own host as the redirect URI.
2. ``connect_callback``: the ``state`` must be one this member started on this brand within
   ``FLOW_SECONDS`` (used once); a consent that was denied is explained; otherwise the code is
   exchanged for tokens and the accounts listed. Nothing is saved on any refusal.
3. ``connect_pick``: the member picks the account or page (a Facebook user may manage many);
   the channel is created or updated with its tokens encrypted, and the posts that waited for a
   reconnection go.

Tokens are never logged; in the session they are kept encrypted with the field keys until the
pick. Only members who may manage channels (``campaigns.add_channel`` / ``change_channel``)
connect, reconnect or disconnect.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import asdict

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from wagtail.admin.panels import Panel

from agency import crypto
from campaigns import connections, networks
from campaigns.connections import Account, ConnectionError_, Tokens
from campaigns.models import Channel
from campaigns.publishing import connected
from tenants.models import current_client

logger = logging.getLogger(__name__)

FLOW_KEY = "channel_connect"
PICK_KEY = "channel_connect_pick"
FLOW_SECONDS = 600  # a consent screen left open longer than this starts again
MAX_FLOWS = 5  # attempts kept per session (several tabs); the oldest are dropped


# --- who may, and which networks -------------------------------------------------------------


def may_manage_channels(user) -> bool:
    return user.has_perm("campaigns.add_channel") and user.has_perm("campaigns.change_channel")


def _require_manager(request) -> None:
    if not may_manage_channels(request.user):
        raise PermissionDenied("Only members who manage the brand's channels can connect "
                               "accounts.")


def connectable() -> list[connections.Provider]:
    """Providers offered on "Connect account": registered, with rules for the network, and with
    an OAuth app configured (Mastodon registers its app on each server)."""
    return [p for name, p in sorted(connections.PROVIDERS.items())
            if name in networks.NETWORKS and p.configured()]


def _callback_url(request) -> str:
    """The brand's own host: one callback address per brand host, for every network."""
    return request.build_absolute_uri(reverse("channel_connect_callback"))


def channel_edit_url(channel: Channel) -> str:
    return reverse("wagtailsnippets_campaigns_channel:edit", args=[channel.pk])


# --- 1. start ----------------------------------------------------------------------------------


def _flows(request) -> dict:
    flows = request.session.get(FLOW_KEY) or {}
    now = time.time()
    return {state: flow for state, flow in flows.items() if now - flow["at"] < FLOW_SECONDS}


@require_http_methods(["GET", "POST"])
def connect_start(request):
    """GET: the networks one can connect (Mastodon asks for the server). POST: off to the
    network's consent screen."""
    _require_manager(request)
    providers = connectable()
    channel = None
    channel_id = request.POST.get("channel") or request.GET.get("channel")
    if channel_id:
        channel = get_object_or_404(Channel, pk=int(channel_id) if channel_id.isdigit() else 0)
    if request.method == "GET":
        return render(request, "campaigns/connect/start.html", {
            "providers": providers, "channel": channel,
            "server": request.GET.get("server") or (channel.endpoint if channel else "")})
    network = request.POST.get("network", "")
    provider = connections.get(network)
    if provider is None or provider not in providers:
        messages.error(request, "That network cannot be connected here: pick one of the "
                                "networks listed.")
        return redirect("channel_connect")
    if channel is not None and channel.network != network:
        messages.error(request, f"“{channel.name}” is a {channel.get_network_display()} "
                                "channel: reconnect it with that network.")
        return redirect("channel_connect")
    redirect_uri = _callback_url(request)
    server = ""
    try:
        if provider.needs_server:
            provider = provider.for_server(request.POST.get("server", ""),
                                           redirect_uri=redirect_uri)
            server = provider.server
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        url = provider.authorization_url(redirect_uri=redirect_uri, state=state,
                                         code_verifier=verifier)
    except ConnectionError_ as exc:
        return render(request, "campaigns/connect/start.html", {
            "providers": providers, "channel": channel, "error": exc.message,
            "network": network, "server": request.POST.get("server", "")}, status=400)
    flows = _flows(request)
    for old in sorted(flows, key=lambda s: flows[s]["at"])[:max(0, len(flows) - MAX_FLOWS + 1)]:
        flows.pop(old)
    flows[state] = {"network": network, "server": server, "verifier": verifier,
                    "schema": connection.schema_name, "user": request.user.pk,
                    "at": time.time(), "redirect_uri": redirect_uri,
                    "channel": channel.pk if channel else None}
    request.session[FLOW_KEY] = flows
    # A page that moves on to the consent screen rather than a redirect: the studio's
    # Content-Security-Policy lets its forms send to this host only (form-action 'self'), and
    # browsers apply that to a form's redirect as well.
    return render(request, "campaigns/connect/continue.html",
                  {"url": url, "label": provider.label})


# --- 2. callback -------------------------------------------------------------------------------


def _refuse(request, title: str, message: str, status: int = 400):
    return render(request, "campaigns/connect/refused.html",
                  {"title": title, "message": message}, status=status)


def connect_callback(request):
    """Where the network sends the person back after its consent screen."""
    _require_manager(request)
    state = request.GET.get("state", "")
    flows = request.session.get(FLOW_KEY) or {}
    flow = flows.pop(state, None) if state else None
    request.session[FLOW_KEY] = flows  # a state is good once
    if flow is None:
        return _refuse(request, "This connection cannot be finished",
                       "The answer from the network does not match a connection started here "
                       "(its “state” is missing or unknown, or it was already used). Nothing "
                       "was saved. Start again with “Connect account”.")
    if flow["schema"] != connection.schema_name or flow["user"] != request.user.pk:
        return _refuse(request, "This connection belongs to another brand",
                       "The connection was started for another brand or by someone else, so "
                       "it is not finished here. Nothing was saved. Start again from this "
                       "brand's Channels screen.")
    if time.time() - flow["at"] >= FLOW_SECONDS:
        return _refuse(request, "This connection took too long",
                       f"The consent was started more than {FLOW_SECONDS // 60} minutes ago. "
                       "Nothing was saved. Start again with “Connect account”.")
    provider = connections.get(flow["network"])
    label = provider.label if provider else flow["network"]
    if request.GET.get("error"):
        declined = provider.declined_errors if provider else ("access_denied",)
        if request.GET["error"] in declined:
            return _refuse(request, f"{label} access was not given",
                           f"The consent on {label} was declined, so the platform cannot post "
                           "there. Nothing was saved. To connect the account, start again and "
                           f"choose to allow access on {label}'s screen.", status=200)
        return _refuse(request, f"{label} did not give access",
                       f"{label} answered: {request.GET['error']}"
                       + (f" ({request.GET.get('error_description')})"
                          if request.GET.get("error_description") else "")
                       + ". Nothing was saved. Start again, or ask an agency admin to check "
                         "the OAuth app's settings.")
    code = request.GET.get("code", "")
    if not code or provider is None:
        return _refuse(request, "This connection cannot be finished",
                       f"{label} sent no authorization code. Nothing was saved. Start again.")
    try:
        if provider.needs_server:
            provider = provider.for_server(flow["server"], redirect_uri=flow["redirect_uri"])
        tokens = provider.exchange(code=code, redirect_uri=flow["redirect_uri"],
                                   code_verifier=flow["verifier"])
        accounts = provider.accounts(tokens)
    except ConnectionError_ as exc:
        return _refuse(request, f"{label} did not finish the connection",
                       f"{exc.message} Nothing was saved. Start again.", status=502)
    if not accounts:
        return _refuse(request, f"No {label} account to post to",
                       f"The consent gave access to no account, page or organization the "
                       f"platform can post to. On {label}, check that you manage one, then "
                       "start again.", status=200)
    pick_id = secrets.token_urlsafe(16)
    request.session[PICK_KEY] = {
        "id": pick_id, "network": flow["network"], "server": flow["server"],
        "redirect_uri": flow["redirect_uri"], "schema": flow["schema"], "user": flow["user"],
        "channel": flow["channel"], "at": time.time(),
        # Tokens only encrypted in the session (which is stored in the database).
        "secret": crypto.encrypt(json.dumps({
            "tokens": _tokens_json(tokens), "accounts": [asdict(a) for a in accounts]})),
    }
    return redirect(reverse("channel_connect_pick") + f"?pick={pick_id}")


def _tokens_json(tokens: Tokens) -> dict:
    data = asdict(tokens)
    for name in ("expires_at", "refresh_expires_at"):
        data[name] = data[name].isoformat() if data[name] else None
    return data


def _tokens_from_json(data: dict) -> Tokens:
    for name in ("expires_at", "refresh_expires_at"):
        data[name] = timezone.datetime.fromisoformat(data[name]) if data[name] else None
    return Tokens(**data)


# --- 3. pick -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def connect_pick(request):
    _require_manager(request)
    pick = request.session.get(PICK_KEY)
    wanted = request.POST.get("pick") or request.GET.get("pick")
    if (not pick or pick["id"] != wanted or pick["schema"] != connection.schema_name
            or pick["user"] != request.user.pk or time.time() - pick["at"] >= FLOW_SECONDS):
        return _refuse(request, "This connection cannot be finished",
                       "There is no account waiting to be picked here (it was picked already, "
                       "took too long, or belongs to another brand). Nothing was saved. Start "
                       "again with “Connect account”.")
    data = json.loads(crypto.decrypt(pick["secret"]))
    accounts = [Account(**a) for a in data["accounts"]]
    provider = connections.get(pick["network"])
    reconnecting = Channel.objects.filter(pk=pick["channel"]).first() if pick["channel"] else None
    context = {"accounts": accounts, "pick": pick["id"], "label": provider.label,
               "channel": reconnecting}
    if request.method == "GET":
        return render(request, "campaigns/connect/pick.html", context)
    account = next((a for a in accounts if a.id == request.POST.get("account")), None)
    if account is None:
        context["error"] = "Pick one of the accounts listed."
        return render(request, "campaigns/connect/pick.html", context, status=400)
    try:
        channel, created = channel_connect(
            network=pick["network"], server=pick["server"], account=account,
            tokens=_tokens_from_json(data["tokens"]), channel=reconnecting)
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        return render(request, "campaigns/connect/pick.html", context, status=400)
    request.session.pop(PICK_KEY, None)
    logger.info("channel %s connected to %s account %s", channel.pk, channel.network,
                channel.account_id)
    messages.success(request, f"“{channel.name}” is connected as {channel.handle}."
                     if created else f"“{channel.name}” is reconnected as {channel.handle}.")
    return redirect(channel_edit_url(channel))


def channel_connect(*, network: str, server: str, account: Account, tokens: Tokens,
                    channel: Channel | None = None) -> tuple[Channel, bool]:
    """Create or update the brand's channel for ``account`` with its tokens (encrypted), and
    let the posts that waited for it go. ``channel``: the one being reconnected, which must
    stay the same account. Returns the channel and whether it is new."""
    provider = connections.get(network)
    if channel is not None and channel.account_id and channel.account_id != account.id:
        raise ValidationError(
            f"“{channel.name}” posts as {channel.handle}, but the consent was given for "
            f"{account.handle or account.name}. Sign in to {provider.label} as "
            f"{channel.handle} and reconnect, or connect {account.handle or account.name} as a "
            "new channel.")
    if channel is None:
        channel = Channel.objects.filter(network=network, account_id=account.id,
                                         endpoint=server).first()
    created = channel is None
    if created:
        channel = Channel(name=f"{account.name} on {provider.label}"[:80], network=network,
                          endpoint=server)
    tokens = provider.with_account(tokens, account)
    channel.handle = (account.handle or account.name)[:120]
    channel.account_id = account.id
    channel.store_tokens(tokens)
    channel.scopes = (tokens.scopes or provider.scope_separator.join(provider.scopes))[:500]
    channel.set_refresh_token(tokens.refresh_token)
    channel.settings = {**(channel.settings or {}), **account.settings}
    channel.connected_at = timezone.now()
    channel.expiry_warned_for = None
    with transaction.atomic():
        channel.full_clean()
        channel.save()
        connected.channel_reconnected(channel)
    return channel, created


# --- reconnect and disconnect ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def channel_disconnect_view(request, channel_id: int):
    """GET: what disconnecting does. POST: revoke at the network and forget the tokens."""
    if not request.user.has_perm("campaigns.change_channel"):
        raise PermissionDenied("Only members who manage the brand's channels can disconnect "
                               "them.")
    channel = get_object_or_404(Channel, pk=channel_id)
    waiting = connected.posts_at_risk(current_client(), [channel.pk])
    if request.method == "GET":
        return render(request, "campaigns/connect/disconnect.html",
                      {"channel": channel, "waiting": waiting})
    revoked = connected.channel_disconnect(channel, user=request.user)
    messages.success(request, f"“{channel.name}” is disconnected"
                     + (f" and its access revoked on {channel.get_network_display()}."
                        if revoked else ".")
                     + (f" Its {waiting} scheduled post{'s' if waiting != 1 else ''} wait "
                        "until it is connected again." if waiting else ""))
    return redirect(channel_edit_url(channel))


class ConnectionPanel(Panel):
    """The channel screen's connection: the account, scopes, token expiry, "needs reconnect"
    with its Reconnect button, Disconnect."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "campaigns/connect/panel.html"

        def is_shown(self):
            return bool(self.instance and self.instance.pk
                        and connections.get(self.instance.network) is not None)

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            channel = self.instance
            context.update(
                channel=channel, scopes=channel.scopes.split(),
                notice=connections.get(channel.network).notice(channel),
                may_manage=may_manage_channels(self.request.user),
                waiting=connected.posts_at_risk(current_client(), [channel.pk])
                if channel.needs_reconnect else 0)
            return context


def connection_column(channel: Channel) -> str:
    """The channel list's "Connection" column."""
    if channel.needs_reconnect:
        return "Needs reconnect"
    if channel.connected_at:
        return "Connected"
    return "—"
