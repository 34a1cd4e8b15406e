"""Dashboard panels on a brand's admin home: what needs me, what goes out soon."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from wagtail.admin.ui.components import Component
from wagtail.models import WorkflowState

from campaigns.models import CampaignPage
from campaigns.selectors import calendar_entries


class SentBackPanel(Component):
    name = "sent_back"
    order = 90
    template_name = "campaigns/panels/sent_back.html"

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context=None):
        page_type = ContentType.objects.get_for_model(CampaignPage)
        states = (WorkflowState.objects.filter(status=WorkflowState.STATUS_NEEDS_CHANGES,
                                               content_type=page_type, requested_by=self.user)
                  .order_by("-created_at")[:20])
        ids = [int(s.object_id) for s in states]
        titles = dict(CampaignPage.objects.filter(pk__in=ids).values_list("pk", "title"))
        return {"items": [(pk, titles[pk]) for pk in ids if pk in titles]}


class NextPostsPanel(Component):
    name = "next_48_hours"
    order = 95
    template_name = "campaigns/panels/next_posts.html"

    def get_context_data(self, parent_context=None):
        now = dt.datetime.now(dt.UTC)
        return {"entries": calendar_entries(start=now, end=now + dt.timedelta(hours=48))[:30]}
