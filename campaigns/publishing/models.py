"""The outbox: one delivery per post and channel, frozen from the approved revision.

These tables live in the public schema, so the dispatcher finds due deliveries across every brand
through one partial index. Every row names its client; every read on a brand's host filters by it.
Pages, posts and channels live in the brand's schema and are referred to by id.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone


class State(models.TextChoices):
    """Where a delivery is. Only ``transitions`` changes it."""

    SCHEDULED = "scheduled", "Scheduled"
    CLAIMED = "claimed", "Sending"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    UNCONFIRMED = "unconfirmed", "Unconfirmed"
    CANCELLED = "cancelled", "Cancelled"


# Shown, never stored: a scheduled delivery that a crisis hold keeps back.
HELD, HELD_LABEL = "held", "Held"


def shown_state(state: str, hold_id: int | None) -> str:
    """A delivery's state as people see it (the publishing queue, the calendar): "held" while a
    crisis hold keeps a scheduled one back, else its state."""
    return HELD if state == State.SCHEDULED and hold_id is not None else state


# States in which a delivery has not gone out and may still be changed or cancelled.
NOT_SENT = (State.SCHEDULED, State.FAILED)
# States in which the post may be on the network (or is on its way there).
OUT_OR_GOING = (State.CLAIMED, State.PUBLISHED, State.UNCONFIRMED)


class CrisisHold(models.Model):
    """Holds every scheduled post that matches a topic tag or a word (or everything), across all
    brands or one. Held posts never go out until released."""

    reason = models.CharField(max_length=200)
    tag = models.CharField(max_length=100, blank=True)
    word = models.CharField(max_length=100, blank=True)
    client = models.ForeignKey("tenants.Client", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+", help_text="Empty: every brand.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        what = (f"tag “{self.tag}”" if self.tag else f"the word “{self.word}”" if self.word
                else "every scheduled post")
        where = self.client.name if self.client_id else "all brands"
        return f"{what} in {where}"

    @property
    def active(self) -> bool:
        return self.released_at is None


class Pause(models.Model):
    """Nothing goes out for a brand (channel_id empty) or one of its channels while paused.
    A pause with no client pauses everything (``manage.py publishing drain``)."""

    client = models.ForeignKey("tenants.Client", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    channel_id = models.IntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "channel_id"],
                                               nulls_distinct=False, name="one_pause_per_scope")]


class ReconnectWait(models.Model):
    """A channel whose token the network stopped taking: its scheduled posts wait (the
    dispatcher does not take them) until someone reconnects it. One row per channel and
    episode; removed on reconnection, which lets its posts go."""

    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="+")
    channel_id = models.IntegerField()
    reason = models.CharField(max_length=300, blank=True)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "channel_id"],
                                               name="one_reconnect_wait_per_channel")]


class Delivery(models.Model):
    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE,
                               related_name="deliveries")
    schema_name = models.CharField(max_length=63)
    page_id = models.IntegerField()
    revision_id = models.IntegerField()
    post_id = models.IntegerField()
    post_number = models.PositiveSmallIntegerField()
    channel_id = models.IntegerField()
    network = models.CharField(max_length=32)
    channel_name = models.CharField(max_length=120)
    campaign_title = models.CharField(max_length=255)
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    # Frozen from the approved revision: text, link, first_comment, images [{id, alt, file}],
    # videos [{id, description, file}].
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=64, unique=True)

    publish_at = models.DateTimeField(help_text="The post's time.")
    approved_time = models.DateTimeField(null=True, help_text="The time the client approved "
                                                              "(publish_at may be moved later).")
    withdrawn = models.BooleanField(default=False, help_text="The campaign or post was withdrawn "
                                                             "while this was on its way: never "
                                                             "sent again.")
    next_attempt_at = models.DateTimeField(help_text="When the dispatcher may next take it.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    hold = models.ForeignKey(CrisisHold, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="deliveries")
    attempts = models.PositiveSmallIntegerField(default=0)
    checks = models.PositiveSmallIntegerField(default=0, help_text="Times the network was asked "
                                                                   "about an unknown outcome.")
    claim = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sending_at = models.DateTimeField(null=True, blank=True,
                                      help_text="When the network call under this claim began.")
    sent_by = models.CharField(max_length=120, blank=True,
                               help_text="The worker (host:pid) that made the network call.")
    remote_id = models.CharField(max_length=255, blank=True)
    remote_url = models.URLField(max_length=500, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["publish_at", "id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The dispatcher's one index: due work across all brands.
            models.Index(fields=["next_attempt_at"], name="delivery_due",
                         condition=Q(state="scheduled", hold__isnull=True)),
            models.Index(fields=["next_attempt_at"], name="delivery_to_check",
                         condition=Q(state="unconfirmed")),
            models.Index(fields=["lease_until"], name="delivery_lease",
                         condition=Q(lease_until__isnull=False)),
            models.Index(fields=["client", "publish_at"], name="delivery_client_time"),
            models.Index(fields=["client", "page_id"], name="delivery_client_page"),
            models.Index(fields=["client", "post_id", "channel_id"], name="delivery_post_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_title} · post {self.post_number} → {self.channel_name}"

    @property
    def shown_state_label(self) -> str:
        """What the queue shows: Held, or the state's own label."""
        return HELD_LABEL if shown_state(self.state, self.hold_id) == HELD \
            else self.get_state_display()

    @property
    def text(self) -> str:
        return self.content.get("text", "")


class EventKind(models.TextChoices):
    """What a ``DeliveryEvent`` records: each is written by one transition (``transitions``)."""

    CREATED = "created", "Created from an approved revision"
    HELD = "held", "Held by a crisis hold"
    RELEASED = "released", "Released from a crisis hold"
    LEASE_EXPIRED = "lease_expired", "Claim ran out before sending"
    RETRY_SCHEDULED = "retry_scheduled", "Will be tried again"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    UNCONFIRMED = "unconfirmed", "Outcome unknown"
    CHECK_FAILED = "check_failed", "The network could not tell"
    NOT_FOUND = "not_found", "Not on the network: sent again"
    CANCELLED = "cancelled", "Cancelled"
    WITHDRAWN = "withdrawn", "Withdrawn"
    NOT_RESENT = "not_resent", "Changed after it went out: not sent again"
    RETRY = "retry", "Sent again"
    CHECK = "check", "Asked the network again"
    NOT_SENT = "not_sent", "Marked as not sent by staff"
    RESCHEDULED = "rescheduled", "Moved"
    WAITING_RECONNECT = "waiting_reconnect", "Waits for the channel to be reconnected"
    RESUMED = "resumed", "The channel was reconnected: sending"


class DeliveryEvent(models.Model):
    """What happened to a delivery, in order: the history staff and the API read."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    detail = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]


class MediaPull(models.Model):
    """One signed media link a network fetches by itself for one send of a delivery (TikTok's
    photos, ``PULL_FROM_URL``), marked when the network fetches it. A network that fetched every
    link of a send has taken that send's call; a link that expired unfetched can no longer be
    fetched, so nothing can be made from that send (``campaigns.publishing.media_links``)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="pulls")
    send = models.CharField(max_length=32, help_text="The send these links were made for.")
    name = models.CharField(max_length=255, help_text="The stored file the link serves.")
    expires_at = models.DateTimeField(help_text="After this (database time) the link answers "
                                                "404.")
    fetched_at = models.DateTimeField(null=True, blank=True,
                                      help_text="When the network first fetched the link.")

    class Meta:
        indexes = [models.Index(fields=["delivery", "send"], name="media_pull_send")]
