"""Fixtures for the publishing tests: a brand's campaign, approved, with its outbox."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.images import ImageFile
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.blocks import StreamValue

from tests.images import png_bytes

# The kit's webhook channel signs with this Standard Webhooks secret (24 bytes after whsec_).
HOOK_SECRET = "whsec_" + "c2lnbmluZy1rZXktb2YtdGhlLWFjbWUtaG9vaw=="


def make_campaign(schema: str, *, title="Spring launch", posts=None, tags=("coffee",)):
    """A campaign with posts ``[(copy, [channels], publish_at, image)]``, saved as a draft."""
    from campaigns.models import CampaignIndexPage, CampaignPage, Post

    with schema_context(schema):
        page = CampaignIndexPage.objects.get().add_child(instance=CampaignPage(
            title=title, goal="Launch spring", live=False))
        page.tags.add(*tags)
        items = []
        for number, (copy, channels, when, image) in enumerate(posts or []):
            post = Post(copy=copy, channels=channels, publish_at=when, sort_order=number)
            if image is not None:
                post.media = StreamValue(post.media.stream_block, [
                    ("image", {"image": image, "alt_text": f"Alt for {copy}"})])
            items.append(post)
        page.posts = items
        page.save_revision()
        return page


def approve(schema: str, page, *, user=None):
    """Publish the campaign's latest revision and build its outbox, as the workflow's finish
    action does (approvals.finish.publish_approved_revision)."""
    from campaigns.models import CampaignPage
    from campaigns.publishing.outbox import schedule_approved

    with schema_context(schema):
        page = CampaignPage.objects.get(pk=page.pk)
        revision = page.latest_revision
        revision.publish(skip_permission_checks=True)
        page = CampaignPage.objects.get(pk=page.pk)
        return schedule_approved(page, revision, user=user)


@pytest.fixture
def kit(world):
    """In Acme's schema: a sandbox and a webhook channel and an image."""
    from wagtail.images.models import Image

    from campaigns.models import Channel

    with schema_context(world.acme.client.schema_name):
        sandbox = Channel.objects.create(name="Acme Sandbox", network="sandbox", handle="@acme")
        hook = Channel(name="Acme Hook", network="webhook", handle="acme-hook",
                       endpoint="http://127.0.0.1:9/hook")
        hook.set_secret(HOOK_SECRET)
        hook.save()
        image = Image.objects.create(title="Cup", file=ImageFile(io.BytesIO(png_bytes()),
                                                                   name="cup.png"))
    return {"schema": world.acme.client.schema_name, "sandbox": sandbox, "hook": hook,
            "image": image,
            "soon": timezone.now().replace(microsecond=0) + dt.timedelta(hours=1)}
