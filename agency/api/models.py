"""API keys and the responses kept for idempotent POSTs.

The app is installed in the public schema and in every brand's: a brand's keys live in the
brand's schema (so a key of brand A is not even found on brand B's host) and the agency's keys,
for the portal's API, in the public schema."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

KEY_PREFIX = "agk_"


class Scope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write (drafts, media, deliveries)"
    APPROVE = "approve", "Approve (submit for review, review links)"


def key_hash(raw: str) -> str:
    # The key carries 256 random bits: a fast hash is safe (no dictionary to try).
    return hashlib.sha256(raw.encode()).hexdigest()


def key_generate() -> tuple[str, str]:
    """(public id, full key). The full key is shown once and kept only as its hash."""
    public_id = secrets.token_hex(4)
    return public_id, f"{KEY_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A key an integrator sends as ``Authorization: Bearer agk_...``. It acts for the person
    who created it, never beyond their own rights in the brand, and only within its scopes."""

    name = models.CharField(max_length=80, help_text="What uses it, e.g. “Reporting dashboard”.")
    public_id = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = ArrayField(models.CharField(max_length=16, choices=Scope.choices), default=list)
    # The global user table lives in the public schema: no cross-schema constraint.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        return f"{KEY_PREFIX}{self.public_id}_…"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotentRequest(models.Model):
    """The first response to a POST sent with an ``Idempotency-Key``: a repeat gets it back."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)  # null: still being processed
    # The first response's body as JSON, encrypted (it may carry a secret shown once, such as a
    # webhook endpoint's signing secret).
    response_encrypted = models.TextField(blank=True, editable=False)
    # No longer written or read. Kept for one release so processes of the previous one, still
    # running during a rolling deploy, can write it; drop it in the next release's migration.
    response = models.JSONField(null=True, editable=False)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"],
                                               name="idempotent_request_unique_key")]
