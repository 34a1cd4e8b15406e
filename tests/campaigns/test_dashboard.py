"""The brand dashboard says what needs me and what goes out soon."""

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from tenants.models import Role
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    PostFactory,
    pass_sensitivity_review,
    submit,
)

pytestmark = pytest.mark.django_db


def test_dashboard_lists_posts_of_the_next_48_hours_and_campaigns_sent_back(world, http):
    editor = world.acme.users[Role.EDITOR]
    reviewer = world.acme.users[Role.SENSITIVITY_REVIEWER]
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=5)
    with schema_context(world.acme.client.schema_name):
        channel = ChannelFactory(name="Dash sandbox", handle="@d")
        CampaignFactory(title="Dash soon", author=editor, posts=[
            PostFactory(copy="Very soon", publish_at=soon, channels=[channel]),
            PostFactory(copy="Much later", publish_at=later, channels=[channel])])
        back = CampaignFactory(title="Dash sent back", author=editor)
        submit(back, editor)
        pass_sensitivity_review(back, reviewer, "reject", comment="Please rework the copy")
    html = http(world.acme.host, user=editor).get("/admin/").content.decode()
    panel = html.split("Going out in the next 48 hours")[1].split("</section>")[0]
    assert "Very soon" in panel and "Much later" not in panel
    sent_back = html.split("Sent back to you with comments")[1].split("</section>")[0]
    assert "Dash sent back" in sent_back
