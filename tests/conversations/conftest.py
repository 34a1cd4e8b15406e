"""Fixtures for the conversations tests: Acme's channels on the local fake networks (the results
tests' ``networks``) and posts that went out through the real publishing worker."""

from __future__ import annotations

import pytest

from campaigns.conversations.models import ConversationSettings
from tests.results.conftest import Networks, in_brand, networks, publish  # noqa: F401 - fixture


@pytest.fixture
def on_call(networks):  # noqa: F811 - the fixture above
    """Acme's inbox settings: two on-call people, guidance, a 4-hour target."""
    with in_brand(networks.schema):
        brand = ConversationSettings.load()
        brand.on_call_emails = "oncall@acme.test\nlead@acme.test"
        brand.guidance = "Samaritans: call 116 123, any time."
        brand.response_target_hours = 4
        brand.save()
    return brand


def items_by_text(schema) -> dict:
    """The brand's inbox items by their text."""
    from campaigns.conversations.models import Item

    with in_brand(schema):
        return {item.text: item for item in Item.objects.all()}
