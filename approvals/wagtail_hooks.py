"""The brand's own words (snippets), the linter endpoint, and the sensitivity review page."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.panels import FieldPanel
from wagtail.admin.widgets import Button
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from approvals import views
from approvals.models import (
    ApproverContact,
    BrandTerm,
    ClientApprovalTask,
    SensitivityReviewTask,
    earlier_steps_current,
)
from approvals.review import sent_back_notes
from approvals.workflows import approval_lead_time
from campaigns.models import CampaignPage


class BrandTermViewSet(SnippetViewSet):
    model = BrandTerm
    icon = "clipboard-list"
    menu_label = "Brand words"
    menu_order = 210
    add_to_admin_menu = True
    list_display = ["term", "replacement", "note"]
    search_fields = ["term", "replacement"]
    panels = [FieldPanel("term"), FieldPanel("replacement"), FieldPanel("note")]


register_snippet(BrandTermViewSet)


class ApproverViewSet(SnippetViewSet):
    model = ApproverContact
    icon = "user"
    menu_label = "Client approvers"
    menu_order = 220
    add_to_admin_menu = True
    list_display = ["name", "email", "backup", "active"]
    search_fields = ["name", "email"]
    panels = [FieldPanel("name"), FieldPanel("email"), FieldPanel("backup"), FieldPanel("active")]


register_snippet(ApproverViewSet)


# The campaign editor shows why a campaign was sent back (campaigns.editor.SENT_BACK_HOOK).
hooks.register("campaign_sent_back_notes", sent_back_notes)
# ... and flags posts that leave the client too little time (campaigns.editor.LEAD_TIME_HOOK).
hooks.register("campaign_approval_lead_time", approval_lead_time)


@hooks.register("register_admin_urls")
def approvals_urls():
    return [
        path("sensitivity/lint/", views.lint_view, name="sensitivity_lint"),
        path("sensitivity/review/<int:task_state_id>/", views.sensitivity_review_view,
             name="sensitivity_review"),
        path("approvals/<int:page_id>/links/", views.review_links_view, name="review_links"),
        path("approvals/<int:page_id>/history.csv", views.approval_history_csv,
             name="approval_history_csv"),
    ]


@hooks.register("register_log_actions")
def approvals_log_actions(actions):
    for action, label, message in [
        ("approvals.finding_waived", "Waive sensitivity finding", "Sensitivity finding waived"),
        ("approvals.links_issued", "Issue review links", "Review links sent to the client"),
        ("approvals.link_fetched", "Fetch review link",
         "A review link was fetched (by the client or a mail scanner)"),
        ("approvals.link_opened", "Open review link", "The client opened a review link"),
        ("approvals.link_revoked", "Withdraw review link", "A review link was withdrawn"),
        ("approvals.deadline_missed", "Approval deadline missed",
         "Not approved by its deadline: posts held"),
        ("approvals.client_approved", "Client approval", "The client approved"),
        ("approvals.client_changes_requested", "Client change request",
         "The client requested changes"),
    ]:
        actions.register_action(action, label, message)


@hooks.register("register_page_header_buttons")
def sensitivity_review_button(page, user, view_name, next_url=None):
    """On a campaign in sensitivity review, its reviewers get a button to the review page; its
    editors and managers get the client's review links and the approval history."""
    if page.specific_class is CampaignPage:
        perms = page.permissions_for_user(user)
        if perms.can_edit() or perms.can_publish():
            yield Button("Client review links", reverse("review_links", args=[page.pk]),
                         icon_name="user", priority=40)

    task_state = page.current_workflow_task_state if page.workflow_in_progress else None
    if task_state is None:
        return
    task = task_state.task.specific
    if isinstance(task, SensitivityReviewTask) and (user.is_superuser
                                                    or task._user_in_groups(user)):
        yield Button("Sensitivity review", reverse("sensitivity_review", args=[task_state.pk]),
                     icon_name="clipboard-list", priority=5)


@hooks.register("after_edit_page")
def restart_approval_after_edit(request, page):
    """Editing a campaign during its approval starts the approval again from the beginning: the
    sensitivity review and the client's links were for content that no longer exists."""
    from django.contrib import messages
    from wagtail.models import WorkflowState

    state = page.current_workflow_state
    if state is None or state.status != WorkflowState.STATUS_IN_PROGRESS:
        return
    task_state = state.current_task_state
    latest = page.get_latest_revision()
    if task_state is None or latest is None:
        return
    task = task_state.task.specific
    stale_review = isinstance(task, ClientApprovalTask) and not earlier_steps_current(
        state, task, latest)
    if task_state.revision_id == latest.pk and not stale_review:
        return
    workflow = state.workflow
    state.cancel(user=request.user)
    workflow.start(page, request.user)
    messages.info(request, "The campaign changed during its approval, so its approval starts "
                           "again with the sensitivity review. Earlier review links no longer "
                           "work.")
