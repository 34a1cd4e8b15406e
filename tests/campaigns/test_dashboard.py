"""The brand dashboard says what needs me and what goes out soon."""

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
from tenants.models import Role

pytestmark = pytest.mark.django_db


def test_dashboard_lists_posts_of_the_next_48_hours_and_campaigns_sent_back(world, http):
    from wagtail.models import Workflow

    editor = world.acme.users[Role.EDITOR]
    reviewer = world.acme.users[Role.SENSITIVITY_REVIEWER]
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=5)
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        channel = Channel.objects.create(name="Dash sandbox", network="sandbox", handle="@d")
        page = index.add_child(instance=CampaignPage(title="Dash soon", live=False))
        page.posts = [Post(copy="Very soon", publish_at=soon, channels=[channel]),
                      Post(copy="Much later", publish_at=later, channels=[channel])]
        page.save_revision(user=editor)
        back = index.add_child(instance=CampaignPage(title="Dash sent back", live=False))
        back.save_revision(user=editor)
        state = Workflow.objects.get().start(back, editor)
        task_state = state.current_task_state
        task_state.task.specific.on_action(task_state, reviewer, "reject",
                                           comment="Please rework the copy")
    html = http(world.acme.host, user=editor).get("/admin/").content.decode()
    panel = html.split("Going out in the next 48 hours")[1].split("</section>")[0]
    assert "Very soon" in panel and "Much later" not in panel
    sent_back = html.split("Sent back to you with comments")[1].split("</section>")[0]
    assert "Dash sent back" in sent_back
