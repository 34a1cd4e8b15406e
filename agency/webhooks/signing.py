"""Signatures as the Standard Webhooks specification has them (standardwebhooks.com).

Every request carries three headers:

- ``webhook-id``: the event id; the same on every retry and replay, so a receiver can drop a
  repeat;
- ``webhook-timestamp``: Unix seconds when this attempt was signed;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}``, keyed
  with the base64-decoded part of the endpoint's secret after ``whsec_``.

A receiver checks it like ``verify`` below (any Standard Webhooks library does the same): the
exact raw body, a constant-time comparison, and a timestamp no more than five minutes away from
its own clock (a replayed old request is refused).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
TOLERANCE_SECONDS = 300


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``webhook-signature`` value for one request."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


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
    except ValueError:  # not a whsec_ secret
        return False
    # Several signatures (space-separated) may come while a secret is being rotated.
    return any(hmac.compare_digest(expected, candidate) for candidate in offered.split()
               if candidate.startswith("v1,"))
