"""Webhook endpoints and their delivery log (in each brand's schema).

An endpoint is an integrator's URL subscribed to some events. Every event sent to it is a
delivery (one event, one endpoint), tried until the endpoint answers 2xx or the attempts run
out; every attempt is kept in the log. A replay is a new delivery of the same event id and
payload."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from agency import crypto


class Event(models.TextChoices):
    """The events an endpoint can subscribe to."""

    CAMPAIGN_SUBMITTED = "campaign.submitted", "Campaign submitted for review"
    CAMPAIGN_APPROVED = "campaign.approved", "Campaign approved (by the client)"
    CAMPAIGN_CHANGES_REQUESTED = "campaign.changes_requested", "Changes requested on a campaign"
    DELIVERY_PUBLISHED = "delivery.published", "Post published"
    DELIVERY_FAILED = "delivery.failed", "Post not published (failed, or outcome unknown)"
    REPORT_READY = "report.ready", "Client report sent on its schedule"
    CONVERSATION_CREATED = "conversation.created", "New item in the inbox"
    CONVERSATION_ESCALATED = ("conversation.escalated",
                              "Inbox item escalated (someone may be at risk)")
    CONVERSATION_TARGET_MISSED = ("conversation.target_missed",
                                  "Inbox item's response target missed")


# Sent by "Send test event" to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=500, help_text="Where events are POSTed (https).")
    description = models.CharField(max_length=200, blank=True,
                                   help_text="What receives them, e.g. “CRM sync”.")
    events = ArrayField(models.CharField(max_length=64, choices=Event.choices), default=list)
    # ``whsec_...``, encrypted at rest; shown once when the endpoint is created.
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(max_length=16, blank=True, editable=False)
    # After the secret is rolled, the one it replaced still signs (a second signature in the
    # same header) until ``previous_secret_until``, so the receiver can switch without a gap.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    active = models.BooleanField(default=True, help_text="Switched off, it receives nothing.")
    # Set when every delivery failed for WEBHOOKS_SWITCH_OFF_AFTER_DAYS and we switched it off;
    # cleared when someone switches it on again.
    switched_off_at = models.DateTimeField(null=True, blank=True, editable=False)
    switched_off_reason = models.TextField(blank=True, editable=False)
    # When it was last switched on (null: on since it was added): failures before that do not
    # count towards switching it off again.
    switched_on_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The global user table lives in the public schema: an id, no cross-schema constraint.
    created_by_id = models.IntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def label(self) -> str:
        """How to name it where its URL must not go (emails, logs): URLs carry tokens."""
        return self.description or f"endpoint {self.pk}"

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret)
        self.secret_hint = crypto.hint(secret)

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def signing_secrets(self, now) -> list[str]:
        """The secrets each request is signed with now: the current one, and the one it
        replaced while that still overlaps (one unreadable with today's keys is left out)."""
        found = [self.get_secret()]
        if self.previous_secret_encrypted and self.previous_secret_until and \
                self.previous_secret_until > now:
            try:
                found.append(crypto.decrypt(self.previous_secret_encrypted))
            except ValueError:
                pass
        return found


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    event = models.CharField(max_length=64)
    event_id = models.UUIDField(db_index=True, help_text="Sent as webhook-id; the same on "
                                                         "every retry and replay.")
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=DeliveryState.choices,
                             default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="replays")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
