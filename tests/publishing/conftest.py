"""Fixtures for the publishing tests: a brand's campaign, approved, with its outbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from tests import factories
from tests.factories import CampaignFactory, ChannelFactory, ImageFactory, PostFactory

# The kit's webhook channel signs with this Standard Webhooks secret (24 bytes after whsec_).
HOOK_SECRET = "whsec_" + "c2lnbmluZy1rZXktb2YtdGhlLWFjbWUtaG9vaw=="


def make_campaign(schema: str, *, title="Spring launch", posts=None, tags=("coffee",)):
    """A campaign with posts ``[(copy, [channels], publish_at, image)]``, saved as a draft."""
    return CampaignFactory(brand=schema, title=title, goal="Launch spring", tags=tags, posts=[
        PostFactory(copy=copy, channels=channels, publish_at=when, image=image)
        for copy, channels, when, image in posts or []])


def approve(schema: str, page, *, user=None):
    """Publish the campaign's latest revision and build its outbox, as the workflow's finish
    action does (approvals.finish.publish_approved_revision)."""
    return factories.approve(page, brand=schema, user=user)


@dataclass
class Kit:
    """Acme's publishing kit: its schema, a sandbox and a webhook channel, an image, and a
    time an hour from now."""

    schema: str
    sandbox: object
    hook: object
    image: object
    soon: dt.datetime


@pytest.fixture
def kit(world) -> Kit:
    """In Acme's schema: a sandbox and a webhook channel and an image."""
    acme = world.acme
    return Kit(schema=acme.client.schema_name,
               sandbox=ChannelFactory(brand=acme, name="Acme Sandbox", handle="@acme"),
               hook=ChannelFactory(brand=acme, name="Acme Hook", network="webhook",
                                   handle="acme-hook", endpoint="http://127.0.0.1:9/hook",
                                   secret=HOOK_SECRET),
               image=ImageFactory(brand=acme, title="Cup"),
               soon=timezone.now().replace(microsecond=0) + dt.timedelta(hours=1))
