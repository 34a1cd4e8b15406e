"""Signatures as the Standard Webhooks specification has them (standardwebhooks.com), the one
scheme for everything the platform signs: outbound webhooks and the webhook channel's posts.

Every request carries three headers:

- ``webhook-id``: the event id (a channel post: its idempotency key); the same on every retry and
  replay, so a receiver can drop a repeat;
- ``webhook-timestamp``: Unix seconds when this attempt was signed;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}``, keyed
  with the base64-decoded part of the secret after ``whsec_``.

The signature itself is made by the reference library (``standardwebhooks``), so a receiver
using any Standard Webhooks library checks it as it is. A receiver checks it like ``verify``
below: the exact raw body, a constant-time comparison, and a timestamp no more than five minutes
away from its own clock (a replayed old request is refused).

A webhook channel's secret saved before channels were signed this way may lack the ``whsec_``
form: it keys the HMAC with its UTF-8 bytes, as the libraries do with a key given as bytes
(``Webhook(secret.encode())``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from datetime import UTC, datetime

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
TOLERANCE_SECONDS = 300
KEY_BYTES = (24, 64)  # the specification's range for a secret's key


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _signer(secret: str) -> Webhook:
    if secret.startswith(SECRET_PREFIX):
        return Webhook(secret)
    return Webhook(secret.encode())  # an older channel secret: its bytes are the key


def secret_problem(secret: str) -> str:
    """What is wrong with ``secret`` as a Standard Webhooks secret, or "" if nothing."""
    if not secret.startswith(SECRET_PREFIX):
        return f"Start the secret with {SECRET_PREFIX}, as Standard Webhooks secrets do."
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return f"After {SECRET_PREFIX}, the secret must be base64 (A-Z, a-z, 0-9, + and /)."
    if not KEY_BYTES[0] <= len(key) <= KEY_BYTES[1]:
        return (f"The secret's key must be {KEY_BYTES[0]} to {KEY_BYTES[1]} random bytes; "
                f"this one has {len(key)}.")
    return ""


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``webhook-signature`` value for one request (``body`` is UTF-8, as JSON is)."""
    moment = datetime.fromtimestamp(int(timestamp), UTC)
    return _signer(secret).sign(msg_id, moment, body.decode("utf-8"))


def headers_for(secrets: str | list[str], msg_id: str, body: bytes, *,
                now: float | None = None) -> dict:
    """The three headers of one request, signed with each of ``secrets`` (space-separated
    signatures while a rolled secret still overlaps the new one)."""
    timestamp = int(now if now is not None else time.time())
    keys = [secrets] if isinstance(secrets, str) else secrets
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(key, msg_id, timestamp, body) for key in keys)}


def verify(secret: str, headers, body: bytes, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """For receivers: is this request signed with ``secret``, and fresh?

    ``headers`` is any mapping of the request's headers (names in any case); ``body`` the raw
    bytes as received, before any JSON parsing."""
    lowered = {str(name).lower(): str(value) for name, value in dict(headers).items()}
    msg_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    offered = lowered.get("webhook-signature", "")
    if not (msg_id and timestamp.isdigit() and offered):
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance:
        return False
    try:
        expected = sign(secret, msg_id, timestamp, body)
    except (ValueError, RuntimeError, EmptyWebhookSecretError):  # unreadable secret or body
        return False
    # Several signatures (space-separated) may come while a secret is being rotated.
    return any(hmac.compare_digest(expected, candidate) for candidate in offered.split()
               if candidate.startswith("v1,"))
