"""The built-in sandbox: posts go into a feed in the brand's own schema that staff can open."""

from __future__ import annotations

import hashlib
import math

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import SandboxPost
from campaigns.publishing.adapters import Adapter, Counts, Outgoing, Published, register
from tenants.links import current_base_url


@register
class SandboxAdapter(Adapter):
    network = "sandbox"

    def publish(self, post: Outgoing) -> Published:
        try:
            with transaction.atomic():
                item = SandboxPost.objects.create(
                    channel=self.channel, idempotency_key=post.idempotency_key, text=post.text,
                    first_comment=post.first_comment, campaign_title=post.campaign_title,
                    images=[{"name": image.name, "alt": image.alt} for image in post.images]
                    + [{"name": video.name, "alt": video.description, "video": True}
                       for video in post.videos])
        except IntegrityError:  # already there: the key makes a repeat a no-op
            item = SandboxPost.objects.get(idempotency_key=post.idempotency_key)
        return self._published(item)

    def find(self, post: Outgoing, *, since) -> Published | None:
        item = SandboxPost.objects.filter(idempotency_key=post.idempotency_key).first()
        return self._published(item) if item else None

    # -- results: made-up but steady figures, so a demo shows posts growing --------------------

    metrics_batch = 500  # read from the brand's own table, no network

    def metrics(self, remote_ids: list[str]) -> dict[str, Counts]:
        """Plausible counts that grow with a post's age and level off after a few days: the
        same post at the same age always has the same figures."""
        ids = [int(remote_id) for remote_id in remote_ids if str(remote_id).isdigit()]
        now = timezone.now()
        found = {}
        for pk, key, published_at in SandboxPost.objects.filter(
                pk__in=ids, channel=self.channel).values_list("pk", "idempotency_key",
                                                              "published_at"):
            hours = max(0.0, (now - published_at).total_seconds() / 3600)
            grown = 1 - math.exp(-hours / 18)  # most of it in the first day, as on networks
            seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
            reach = 400 + seed % 2600
            found[str(pk)] = Counts(
                likes=int(reach * 0.05 * grown), reposts=int(reach * 0.012 * grown),
                replies=int(reach * 0.006 * grown), quotes=int(reach * 0.002 * grown),
                impressions=int(reach * grown))
        return found

    def followers(self) -> int:
        """Grows by a few a day from a base that depends on the channel."""
        days = (timezone.now() - self.channel.created_at).days
        return 500 + (self.channel.pk * 137) % 1500 + 3 * max(0, days)

    def _published(self, item) -> Published:
        from django.urls import reverse

        # A full address, like a network's: integrators and webhook receivers get it as is.
        path = reverse("sandbox_feed", args=[item.channel_id]) + f"#post-{item.pk}"
        return Published(remote_id=str(item.pk), url=current_base_url() + path)
