"""Dashboard panels on a brand's admin home: what is left to set up, what needs me, what goes
out soon."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from wagtail.admin.ui.components import Component
from wagtail.models import ModelLogEntry, TaskState

from approvals.models import ApprovalSettings, ApproverContact
from campaigns.models import CampaignPage, Channel
from campaigns.publishing.connected import posts_at_risk
from campaigns.selectors import calendar_entries
from campaigns.status import CampaignStatus, approval_runs
from tenants.links import portal_base_url
from tenants.models import Client, Membership, Role
from tenants.selectors import can_manage_members


@dataclass(frozen=True)
class SetupStep:
    label: str
    hint: str
    url: str
    done: bool


def approval_deadlines_set() -> bool:
    """Someone saved the approval deadlines (Settings → Approval deadlines), or they differ from
    the defaults. Reading the setting creates its row, so a row alone says nothing."""
    saved = ModelLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(ApprovalSettings),
        action__in=["wagtail.edit", "wagtail.create"]).exists()
    if saved:
        return True
    defaults = {field.attname: field.get_default() for field in ApprovalSettings._meta.fields
                if field.name not in {"id"}}
    return ApprovalSettings.objects.exclude(**defaults).exists()


def setup_steps(client: Client) -> list[SetupStep]:
    """What a new brand needs before its first campaign, each done or not as the data says."""
    return [
        SetupStep("Connect a channel", "Where posts go out: Mastodon, Bluesky, a webhook or the "
                  "sandbox.", reverse("wagtailsnippets_campaigns_channel:add"),
                  Channel.objects.filter(active=True).exists()),
        SetupStep("Add client approvers", "The people at the client who approve each campaign "
                  "through an emailed link.",
                  reverse("wagtailsnippets_approvals_approvercontact:add"),
                  ApproverContact.objects.filter(active=True, backup=False).exists()),
        SetupStep("Set approval deadlines", "How long before the first post the client must "
                  "approve, and when approvers are reminded.",
                  reverse("wagtailsettings:edit", args=["approvals", "approvalsettings"]),
                  approval_deadlines_set()),
        SetupStep("Invite the team", "Editors, sensitivity reviewers and an account manager, "
                  "in the agency portal.",
                  portal_base_url() + reverse("portal:member_add", urlconf="agency.urls_public",
                                              args=[client.slug]),
                  Membership.objects.filter(client=client).exclude(
                      role=Role.AGENCY_ADMIN).exists()),
    ]


class SetupChecklistPanel(Component):
    """A new brand's checklist, at the top of its admin home for those who set brands up
    (account managers, agency admins); gone once every step is done."""

    name = "setup_checklist"
    order = 10
    template_name = "campaigns/panels/setup_checklist.html"

    def __init__(self, request):
        self.client = getattr(request, "tenant", None)
        self.shown = isinstance(self.client, Client) and can_manage_members(request.user,
                                                                              self.client)
        self.steps = setup_steps(self.client) if self.shown else []

    def render_html(self, parent_context=None):
        if not self.steps or all(step.done for step in self.steps):
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context=None):
        return {"steps": self.steps, "client": self.client,
                "done": sum(step.done for step in self.steps)}


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


class ReconnectPanel(Component):
    """Channels whose network stopped taking their access, first on the dashboard: their
    scheduled posts are at risk (they wait) until someone reconnects them."""

    name = "reconnect"
    order = 5
    template_name = "campaigns/panels/reconnect.html"

    def __init__(self, request):
        self.channels = list(Channel.objects.filter(needs_reconnect_since__isnull=False))
        self.client = getattr(request, "tenant", None)

    def render_html(self, parent_context=None):
        if not self.channels or not isinstance(self.client, Client):
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context=None):
        return {"items": [(channel, posts_at_risk(self.client, [channel.pk]),
                           reverse("wagtailsnippets_campaigns_channel:edit", args=[channel.pk]))
                          for channel in self.channels]}
