"""The built-in sandbox: posts go into a feed in the brand's own schema that staff can open."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from campaigns.models import SandboxPost
from campaigns.publishing.adapters import Adapter, Outgoing, Published, register
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

    def _published(self, item) -> Published:
        from django.urls import reverse

        # A full address, like a network's: integrators and webhook receivers get it as is.
        path = reverse("sandbox_feed", args=[item.channel_id]) + f"#post-{item.pk}"
        return Published(remote_id=str(item.pk), url=current_base_url() + path)
