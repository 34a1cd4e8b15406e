"""Signed webhook: the post as JSON, signed as Standard Webhooks has it, like the outbound
webhooks (``agency/signing.py``: ``webhook-id`` is the post's idempotency key,
``webhook-timestamp``, ``webhook-signature: v1,<base64>``), and ``Idempotency-Key``.

A receiver checks the signature with the channel's secret (any Standard Webhooks library, or
``agency.signing.verify``), refuses timestamps older than five minutes, and drops a key
it has seen: that is what makes a resend after an unknown outcome safe.

The request goes through the outbound guard (``agency.outbound``): the endpoint's address is
checked at each send, no redirect is followed, and at most ``ANSWER_BYTES`` of the answer are
read.
"""

from __future__ import annotations

import base64
import json

import requests

from agency import outbound, signing
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

USER_AGENT = "agency-platform-webhook/1"
# The receiver's answer (``{"id": …, "url": …}``) is small; a longer one is not read.
ANSWER_BYTES = 64 * 1024


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
        headers = {**signing.headers_for(secret, post.idempotency_key, body),
                   "Content-Type": "application/json", "Idempotency-Key": post.idempotency_key,
                   "User-Agent": USER_AGENT}
        endpoint = self.channel.endpoint
        with outbound.session() as session:
            try:
                response = session.post(endpoint, data=body, headers=headers,
                                        timeout=self.timeout, stream=True)
            except outbound.Refused as exc:
                raise Permanent(f"The webhook address is refused: {exc.message}") from exc
            except requests.exceptions.SSLError as exc:
                raise Transient(f"TLS failed with {endpoint}: the endpoint needs a valid "
                                "certificate for its name.") from exc
            except requests.ConnectionError as exc:
                if isinstance(exc, requests.ConnectTimeout) or "NewConnectionError" in repr(exc):
                    raise Transient(f"Could not reach {endpoint}: {outbound.reason(exc)}") from exc
                raise Unknown("The connection broke after the post was sent: "
                              f"{outbound.reason(exc)}") from exc
            except requests.Timeout as exc:
                raise Unknown(f"No answer within {self.timeout:g} s after the post was "
                              "sent.") from exc
            # Only the start of the answer is read: a receiver cannot make a worker download
            # more (a longer answer to a success is a success without an id).
            answer_bytes = outbound.read_at_most(response, ANSWER_BYTES)
        if not 200 <= response.status_code < 300:
            raise http_error(response.status_code, outbound.excerpt(answer_bytes or b""),
                             retry_after=response.headers.get("Retry-After"))
        try:
            answer = json.loads(answer_bytes) if answer_bytes else {}
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        return Published(remote_id=str(answer.get("id") or post.idempotency_key)[:200],
                         url=str(answer.get("url") or "")[:500])

    def find(self, post: Outgoing, *, since) -> Published | None:
        # A webhook cannot be asked; the receiver drops repeats of the key, so "not known"
        # leads to a resend with the same key.
        return None
