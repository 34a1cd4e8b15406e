"""Signed webhook: the post as JSON, signed with HMAC-SHA256 over the timestamp and the body.

Headers: ``X-Agency-Timestamp`` (Unix seconds), ``X-Agency-Signature: sha256=<hex>`` of
``<timestamp>.<body>`` with the channel's signing secret, and ``Idempotency-Key``. A receiver
checks the signature, refuses timestamps older than five minutes, and drops a key it has seen:
that is what makes a resend after an unknown outcome safe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import requests

from campaigns.publishing.adapters import (
    Adapter,
    Outgoing,
    Permanent,
    Published,
    Transient,
    Unknown,
    http_error,
    register,
)

SIGNATURE_HEADER = "X-Agency-Signature"
TIMESTAMP_HEADER = "X-Agency-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance: int = 300) -> bool:
    """For receivers (and our tests): a valid signature on a fresh timestamp."""
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


@register
class WebhookAdapter(Adapter):
    network = "webhook"
    resend_is_safe = True  # receivers drop a repeated Idempotency-Key (see the module docs)

    def publish(self, post: Outgoing) -> Published:
        secret = self.channel.get_secret()
        if not secret:
            raise Permanent("The webhook channel has no signing secret: set one on the channel.")
        body = json.dumps({
            "event": "post.publish",
            "idempotency_key": post.idempotency_key,
            "channel": {"id": self.channel.pk, "handle": self.channel.handle},
            "campaign": post.campaign_title,
            "text": post.text, "link": post.link, "first_comment": post.first_comment,
            "tags": post.tags,
            "images": [{"name": image.name, "mime_type": image.mime_type, "alt": image.alt,
                        "data": base64.b64encode(image.data).decode()} for image in post.images],
            "videos": [{"name": video.name, "mime_type": video.mime_type,
                        "description": video.description,
                        "data": base64.b64encode(video.data).decode()} for video in post.videos],
        }, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: sign(secret, timestamp, body),
                   "Idempotency-Key": post.idempotency_key,
                   "User-Agent": "agency-platform-webhook/1"}
        try:
            response = requests.post(self.channel.endpoint, data=body, headers=headers,
                                     timeout=self.timeout, allow_redirects=False)
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.ConnectTimeout) or "NewConnectionError" in repr(exc):
                raise Transient(f"Could not reach {self.channel.endpoint}: {exc}") from exc
            raise Unknown(f"The connection broke after the post was sent: {exc}") from exc
        except requests.Timeout as exc:
            raise Unknown(f"No answer within {self.timeout:g} s after the post was sent.") from exc
        if not 200 <= response.status_code < 300:
            raise http_error(response.status_code, response.text[:300],
                             retry_after=response.headers.get("Retry-After"))
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        return Published(remote_id=str(answer.get("id") or post.idempotency_key),
                         url=str(answer.get("url") or "")[:500])

    def find(self, post: Outgoing, *, since) -> Published | None:
        # A webhook cannot be asked; the receiver drops repeats of the key, so "not known"
        # leads to a resend with the same key.
        return None
