"""Connected accounts' token lifecycle, and what "needs reconnect" does to a channel's posts.

A channel whose token the network stops taking (an adapter raised ``NeedsReconnect``, a refresh
was refused, a token without refresh expired) "needs reconnect": the channel says so with a
Reconnect button, a ``ReconnectWait`` row keeps the dispatcher from taking its posts (they stay
scheduled, shown at risk, never failed or dropped), and the brand's account managers are emailed
once per episode. Reconnecting removes the row and lets the posts that waited go, each once.

``tokens_check_all`` (a periodic job, ``PERIODIC_JOBS``) visits every brand: it refreshes tokens
ahead of their expiry where the network issues refresh tokens, and otherwise warns the account
managers once per token, ahead of its expiry. A token the network stops taking before its
expiry (revoked, password changed) is found too: each connected channel with a post due within
``TOKEN_CHECK_AHEAD_HOURS`` is asked (``Adapter.check_access``, a cheap read), so the channel is
shown for reconnection before the post's time, not at it. Tokens are never logged.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns import connections
from campaigns.models import Channel
from campaigns.publishing import adapters, alerts, transitions
from campaigns.publishing.models import Delivery, ReconnectWait, State
from campaigns.publishing.transitions import Outcome
from tenants.emails import send_client_email
from tenants.models import current_client
from tenants.tasks import for_each_brand

logger = logging.getLogger(__name__)


def _email(client, subject: str, template: str, context: dict) -> None:
    """Tell the brand's account managers (and agency admins). Never raises."""
    try:
        recipients = alerts.team_emails(client)
        if recipients:
            send_client_email(client=client, to=recipients, subject=subject,
                              template=template, context=context)
    except Exception:  # noqa: BLE001 - a mail server down must not undo what was recorded
        logger.exception("could not email the team of %s about a channel", client.schema_name)


def posts_at_risk(client, channel_ids) -> int:
    """How many scheduled posts go to these channels (waiting for a reconnection)."""
    return Delivery.objects.filter(client=client, channel_id__in=list(channel_ids),
                                   state=State.SCHEDULED).count()


def channel_needs_reconnect(channel: Channel, reason: str, *, secret_used: str | None = None,
                            notify: bool = True) -> bool:
    """Record that the network no longer takes ``channel``'s token: its posts wait. With
    ``secret_used`` (the encrypted token that was refused), nothing happens if the channel was
    reconnected meanwhile. Returns True when this starts a new episode (the team is emailed
    once, after commit, if ``notify``)."""
    client = current_client()
    reason = reason[:300]
    with transaction.atomic():
        channels = Channel.objects.filter(pk=channel.pk)
        if secret_used is not None:
            channels = channels.filter(secret_encrypted=secret_used)
        started = channels.filter(needs_reconnect_since__isnull=True).update(
            needs_reconnect_since=timezone.now(), reconnect_reason=reason)
        if not started and not channels.exists():
            return False  # reconnected meanwhile: the new token is not the one refused
        ReconnectWait.objects.get_or_create(client=client, channel_id=channel.pk,
                                            defaults={"reason": reason})
        if started and notify:
            channel.refresh_from_db()
            transaction.on_commit(lambda: _email(
                client, f"Reconnect {channel.name}: its posts are waiting",
                "publishing/email/channel_needs_reconnect",
                {"channel": channel, "reason": reason,
                 "at_risk": posts_at_risk(client, [channel.pk])}))
    return bool(started)


def wait_for_reconnect(delivery: Delivery, claim: str, channel: Channel,
                       message: str) -> Outcome:
    """The worker's step when an adapter raised ``NeedsReconnect``: the delivery goes back to
    waiting and the channel needs reconnecting, in one transaction."""
    with transaction.atomic():
        outcome = transitions.wait_for_reconnect(delivery, claim, message)
        if outcome == Outcome.WAITING:
            channel_needs_reconnect(channel, message, secret_used=channel.secret_encrypted)
    return outcome


def channel_reconnected(channel: Channel) -> int:
    """The channel has working tokens again: it no longer needs reconnecting and the posts
    that waited for it go. Returns how many had waited."""
    client = current_client()
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(needs_reconnect_since=None,
                                                     reconnect_reason="")
        channel.needs_reconnect_since, channel.reconnect_reason = None, ""
        ReconnectWait.objects.filter(client=client, channel_id=channel.pk).delete()
        return transitions.resume_reconnected(client.pk, channel.pk)


def channel_disconnect(channel: Channel, *, user=None) -> bool:
    """Revoke the channel's token at the network where it can, and forget its tokens. Its
    scheduled posts wait for a reconnection (nothing is dropped). Returns whether the network
    revoked the token."""
    provider = connections.get(channel.network)
    revoked = False
    if provider is not None and channel.secret_encrypted:
        try:
            revoked = provider.revoke(channel)
        except connections.ConnectionError_ as exc:
            logger.warning("channel %s: the network did not revoke the token: %s", channel.pk,
                           exc.message)
    who = (user.get_full_name() or user.get_username()) if user is not None else "someone"
    with transaction.atomic():
        channel.set_secret("")
        channel.set_refresh_token("")
        channel.token_expires_at = None
        channel.save(update_fields=["secret_encrypted", "secret_hint", "refresh_encrypted",
                                    "token_expires_at"])
        channel_needs_reconnect(channel, f"Disconnected by {who}: connect the account again "
                                         "to send this channel's posts.", notify=False)
    return revoked


# --- the periodic job --------------------------------------------------------------------------


def tokens_check(client) -> dict:
    """One brand: refresh what expires soon (where the network can), warn once about what
    cannot be refreshed, and mark what has expired as needing reconnection."""
    now = timezone.now()
    done = {"refreshed": 0, "warned": 0, "needs_reconnect": 0, "checked": 0}
    channels = Channel.objects.filter(active=True, token_expires_at__isnull=False,
                                      needs_reconnect_since__isnull=True)
    for channel in channels:
        provider = connections.get(channel.network)
        if provider is None:
            continue
        left = channel.token_expires_at - now
        if provider.issues_refresh_tokens and channel.refresh_encrypted:
            if left > provider.refresh_ahead:
                continue
            # The adapters' renewal: the channel's row locked, so a send renewing the same
            # token at this moment does not spend a refresh token the network already replaced.
            try:
                adapters.for_channel(channel, timeout=10.0).renew_token(
                    unless_valid_for=provider.refresh_ahead)
            except adapters.Transient as exc:
                if left.total_seconds() > 0:
                    logger.warning("channel %s: token refresh failed, tried again later: %s",
                                   channel.pk, exc.message)
                    continue
                channel_needs_reconnect(channel, exc.message)
                done["needs_reconnect"] += 1
                continue
            except adapters.NeedsReconnect as exc:
                channel_needs_reconnect(channel, exc.message)
                done["needs_reconnect"] += 1
                continue
            done["refreshed"] += 1
            continue
        if left.total_seconds() <= 0:
            channel_needs_reconnect(channel, "The network's access expired on "
                                             f"{channel.token_expires_at:%Y-%m-%d %H:%M} UTC.")
            done["needs_reconnect"] += 1
        elif left <= provider.warn_ahead and channel.expiry_warned_for != channel.token_expires_at:
            channel.expiry_warned_for = channel.token_expires_at
            channel.save(update_fields=["expiry_warned_for"])
            _email(client, f"Reconnect {channel.name} before "
                           f"{channel.token_expires_at:%d %B}",
                   "publishing/email/token_expiring",
                   {"channel": channel, "at_risk": posts_at_risk(client, [channel.pk])})
            done["warned"] += 1
    access_check(client, done)
    return done


def access_check(client, done: dict) -> None:
    """Ask the network about each connected channel with a post due soon: a token it no longer
    takes puts the channel in "needs reconnect" now, hours before the post's time."""
    ahead = timezone.now() + timedelta(hours=getattr(settings, "TOKEN_CHECK_AHEAD_HOURS", 24))
    due = set(Delivery.objects.filter(client=client, state=State.SCHEDULED, publish_at__lte=ahead)
              .values_list("channel_id", flat=True))
    channels = Channel.objects.filter(pk__in=due, active=True, needs_reconnect_since__isnull=True) \
        .exclude(connected_at__isnull=True)
    for channel in channels:
        asked_with = channel.secret_encrypted
        try:
            adapter = adapters.for_channel(channel, timeout=10.0)
            asked = adapter.check_access()
        except adapters.NeedsReconnect as exc:
            channel_needs_reconnect(channel, exc.message, secret_used=asked_with)
            done["needs_reconnect"] += 1
        except adapters.AdapterError as exc:  # the network is busy or down: asked next time
            logger.warning("channel %s: access check not answered: %s", channel.pk, exc.message)
        else:
            done["checked"] += bool(asked)


def tokens_check_all() -> dict:
    """The periodic job: ``tokens_check`` in every brand."""
    return for_each_brand("connected account tokens", tokens_check)
