"""Dashboard panels on a brand's admin home: what needs me, what goes out soon."""

from __future__ import annotations

import datetime as dt

from wagtail.admin.ui.components import Component
from wagtail.models import TaskState

from campaigns.models import CampaignPage
from campaigns.selectors import calendar_entries
from campaigns.status import CampaignStatus, approval_runs


class SentBackPanel(Component):
    name = "sent_back"
    order = 90
    template_name = "campaigns/panels/sent_back.html"

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context=None):
        states = (approval_runs(CampaignStatus.CHANGES_REQUESTED).filter(requested_by=self.user)
                  .order_by("-created_at")[:20])
        ids = [int(s.object_id) for s in states]
        titles = dict(CampaignPage.objects.filter(pk__in=ids).values_list("pk", "title"))
        # the comment that sent each back (the latest rejection in its workflow run)
        comments = {}
        for task_state in (TaskState.objects.filter(workflow_state__in=states,
                                                    status=TaskState.STATUS_REJECTED)
                           .select_related("task").order_by("finished_at")):
            comments[task_state.workflow_state_id] = (task_state.task.name, task_state.comment)
        return {"items": [(int(s.object_id), titles[int(s.object_id)],
                           *comments.get(s.pk, ("", "")))
                          for s in states if int(s.object_id) in titles]}


class NextPostsPanel(Component):
    name = "next_48_hours"
    order = 95
    template_name = "campaigns/panels/next_posts.html"

    def get_context_data(self, parent_context=None):
        now = dt.datetime.now(dt.UTC)
        return {"entries": calendar_entries(start=now, end=now + dt.timedelta(hours=48))[:30]}
