"""The studio in the agency's words, not the CMS's: campaign statuses where Wagtail shows a
page's ("live", "in moderation"), and the editor's footer led by the next thing the person
can do (submit for review, approve, request changes, record the client's decision).

Hooked into Wagtail by ``campaigns.wagtail_hooks`` (``construct_page_action_menu``) and the
``campaign_words`` template tags (status tags, history)."""

from __future__ import annotations

import re

from django.contrib.contenttypes.models import ContentType
from django.contrib.messages.storage.fallback import FallbackStorage
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext
from wagtail.admin.action_menu import (
    ActionMenuItem,
    PageLockedMenuItem,
    SubmitForModerationMenuItem,
)
from wagtail.admin.ui.components import MediaContainer
from wagtail.admin.ui.tables import DateColumn
from wagtail.admin.ui.tables.pages import BulkActionsColumn, PageStatusColumn, PageTitleColumn
from wagtail.admin.views.bulk_action.registry import bulk_action_registry
from wagtail.admin.views.pages.listing import ExplorableIndexView, PageFilterSet
from wagtail.admin.widgets import ListingButton
from wagtail.models import Page, WorkflowState

from approvals.models import SensitivityReviewTask
from campaigns.models import CampaignIndexPage, CampaignPage
from campaigns.status import OPEN_FOR_EDITS, CampaignStatus, status_of

SUBMIT = "Submit for review"
RESUBMIT = "Resubmit for review"
WITHDRAW = "Withdraw from review"
RESTART = "Restart the review"
APPROVED_VERSION = "Approved version"

# Wagtail's actions renamed for campaigns (by the menu item's ``name``).
LABELS = {
    "action-cancel-workflow": WITHDRAW,
    "action-restart-workflow": RESTART,
}
# The next action, in order of preference: a decision the person can take on the campaign's
# current review step (approve first), then submitting it for review.
NEXT_ACTIONS = ("approve", "reject", "action-submit")


def is_campaign(page) -> bool:
    """Is ``page`` (any Page instance, specific or not) a campaign? No query. Anything else
    (a snippet in a shared admin template, None) is not."""
    return getattr(page, "specific_class", None) is CampaignPage


def is_campaigns_index(page) -> bool:
    """Is ``page`` the brand's campaigns index (never shown anywhere, so never "live")?"""
    return getattr(page, "specific_class", None) is CampaignIndexPage


def status_label(page) -> str:
    """What a page's status tag says: a campaign's status (``CampaignStatus``), or Wagtail's
    word for any other page. One query at most (none when Wagtail prefetched the page's
    approval runs, as its listings do)."""
    if is_campaign(page):
        return str(status_of(page).label)
    return page.status_string


def history_status(status: str | None, page) -> str | None:
    """A revision's tag in a campaign's history: the version out is the approved one."""
    if status and is_campaign(page) and status == gettext("Live version"):
        return APPROVED_VERSION
    return status


class SubmitForReviewMenuItem(SubmitForModerationMenuItem):
    """Wagtail's "Submit to <workflow>" / "Resubmit to <step>", in the agency's words."""

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        page = context.get("page")
        state = page.current_workflow_state if page is not None and page.pk else None
        sent_back = state is not None and state.status == WorkflowState.STATUS_NEEDS_CHANGES
        context["label"] = RESUBMIT if sent_back else SUBMIT
        return context


class ReviewAndApproveMenuItem(ActionMenuItem):
    """A sensitivity reviewer's "Approve": to the review page, where the findings are waived
    and the checklist ticked. (Wagtail's own approve button saves the editor's form first, as a
    new revision, which would start the review over.)"""

    name = "approve"
    label = "Approve"
    icon_name = "success"

    def __init__(self, task_state, order=None):
        super().__init__(order=order)
        self.task_state = task_state

    def is_shown(self, context):
        return True

    def get_url(self, parent_context):
        return reverse("sensitivity_review", args=[self.task_state.pk])


class LockedMenuItem(PageLockedMenuItem):
    """The footer of a campaign someone cannot change now: why, not "Page locked"."""

    template_name = "campaigns/action_menu/locked.html"

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        page = context.get("page")
        in_review = page is not None and page.workflow_in_progress
        context["label"] = (CampaignStatus.IN_REVIEW.label + ": locked" if in_review
                            else "Locked")
        return context


def next_action_first(menu_items: list, request, context: dict) -> None:
    """``construct_page_action_menu``: on a campaign, Wagtail's actions in campaign words, and
    the person's next action as the footer's main button (Wagtail makes the first item the
    main one). A new campaign keeps "Save draft" first: there is nothing to submit yet."""
    page = context.get("page")
    if context.get("view") == "create":
        if not isinstance(context.get("parent_page").specific_deferred, CampaignIndexPage):
            return
    elif not is_campaign(page):
        return
    for position, item in enumerate(menu_items):
        if item.name == "action-submit":
            menu_items[position] = SubmitForReviewMenuItem(order=item.order)
        elif item.name == "action-page-locked":
            menu_items[position] = LockedMenuItem(order=item.order)
        elif item.name in LABELS:
            item.label = LABELS[item.name]
    if context.get("view") != "edit":
        return
    # A sensitivity reviewer approves on the review page (findings still to waive included).
    task_state = page.current_workflow_task_state
    if task_state is not None and isinstance(task_state.task.specific, SensitivityReviewTask) \
            and any(item.name == "reject" for item in menu_items):
        menu_items[:] = [item for item in menu_items if item.name != "approve"]
        menu_items.append(ReviewAndApproveMenuItem(task_state))
    by_name = {item.name: item for item in menu_items}
    if status_of(page) not in OPEN_FOR_EDITS:
        by_name.pop("action-submit", None)  # approved: changing it starts with a draft
    for name in NEXT_ACTIONS:
        if name in by_name:
            menu_items.remove(by_name[name])
            menu_items.insert(0, by_name[name])
            return
    # Nothing to do but wait (the campaign is in someone else's review): say so first.
    locked = by_name.get("action-page-locked")
    if locked is not None:
        menu_items.remove(locked)
        menu_items.insert(0, locked)


# --- Wagtail's messages about a campaign, in campaign words -----------------------------------

_Q = r"(?:'|&#x27;|&#39;)"  # a quote, as typed or as escaped in Wagtail's rendered message
_TITLE = _Q + r"(?P<title>.*?)" + _Q
# (Wagtail's words, ours) for messages about a campaign. First match wins.
MESSAGES = [
    (rf"Page {_TITLE} created and submitted for moderation\.",
     "Campaign “\\g<title>” saved and submitted for review."),
    (rf"Page {_TITLE} created\.", "Campaign “\\g<title>” saved as a draft."),
    (rf"Page {_TITLE} has been submitted for moderation\.",
     "Campaign “\\g<title>” submitted for review."),
    (rf"Page {_TITLE} has been replaced with version from (?P<when>.*?)\.",
     "Campaign “\\g<title>” restored to the version from \\g<when>."),
    (rf"Page {_TITLE} has been updated\.", "Campaign “\\g<title>” saved."),
    (rf"Workflow on page {_TITLE} has been cancelled\.",
     "Campaign “\\g<title>” withdrawn from review."),
    (rf"Workflow on page {_TITLE} has been restarted\.",
     "The review of campaign “\\g<title>” started over."),
    (r"The page could not be saved due to validation errors\.",
     "The campaign could not be saved: correct what is marked below."),
    (r"The page could not be saved as it is locked\.",
     "The campaign could not be saved: it is locked while in review."),
    # The lock banner over a campaign in someone else's review step.
    (rf"This (?:page|campaign) is awaiting <b>{_Q}(?P<task>.*?){_Q}</b> in the <b>{_Q}.*?{_Q}</b> "
     r"workflow\. Only reviewers for this task can edit the (?:page|campaign)\.",
     "This campaign is waiting for its \\g<task>. Only its reviewers can change it now."),
    (r"This (?:page|campaign) is currently awaiting moderation\. Only reviewers for this task "
     r"can edit the (?:page|campaign)\.",
     "This campaign is in review. Only its reviewers can change it now."),
]
_COMPILED = [(re.compile(pattern), words) for pattern, words in MESSAGES]
DECISION = "Your decision on campaign “\\g<title>” is recorded."


def reword(message, decision: bool = False):
    """Wagtail's ``message`` (text or rendered HTML) about a campaign in campaign words; any
    other message as it is. ``decision``: the save came with a review decision."""
    text = str(message)
    for pattern, words in _COMPILED:
        if decision and words.endswith(" saved."):
            words = DECISION
        new, count = pattern.subn(words, text, count=1)
        if count:
            return mark_safe(new) if isinstance(message, SafeData) else new  # noqa: S308 - Wagtail's own safe message, literal words swapped
    return message


def _about_campaign(request) -> bool:
    """Is ``request`` a Wagtail page view of a campaign (creating one, or a page id that is
    one)? At most one query."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    kwargs = match.kwargs
    if "content_type_model_name" in kwargs:
        return (kwargs.get("content_type_app_name"), kwargs["content_type_model_name"]) == (
            CampaignPage._meta.app_label, CampaignPage._meta.model_name)
    page_id = kwargs.get("page_id")
    if page_id is None:
        return False
    return Page.objects.filter(
        pk=page_id, content_type=ContentType.objects.get_for_model(CampaignPage)).exists()


class CampaignWordsStorage(FallbackStorage):
    """Django's message storage (``MESSAGE_STORAGE``), rewording Wagtail's messages about a
    campaign as they are added ("Page '…' has been updated", the lock banner, ...)."""

    def add(self, level, message, extra_tags=""):
        if isinstance(message, str):
            decision = self.request.method == "POST" and bool(
                self.request.POST.get("action-workflow-action"))
            reworded = reword(message, decision=decision)
            if reworded is not message and _about_campaign(self.request):
                message = reworded
        return super().add(level, message, extra_tags)


# --- The list of campaigns (exploring the campaigns index), in campaign words -----------------

NEW_CAMPAIGN = "New campaign"
# The listing's bulk actions a campaign never takes: "Publish" (a campaign is published by its
# approval only: campaigns.governance) and "Move" (campaigns live under the one index).
HIDDEN_BULK_ACTIONS = frozenset({"publish", "move"})


class CampaignFilterSet(PageFilterSet):
    """Wagtail's page filters without those meaningless for campaigns: "Has child pages" (a
    campaign has none) and "Site" (a brand has one); "Page type" is not offered either."""

    has_child_pages = None
    site = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["latest_revision_created_at"].label = "Last saved"
        self.filters["owner"].label = "Created by"
        self.filters["edited_by"].label = "Saved by"


class CampaignTitleColumn(PageTitleColumn):
    """A campaign's title in the list ("Edit this campaign"), counted in campaigns, with no
    "search the whole site" switch (every campaign is in the one index)."""

    cell_template_name = "campaigns/listing/title_cell.html"

    def get_header_context_data(self, parent_context):
        context = super().get_header_context_data(parent_context)
        context["result_scope"] = None
        return context


class CampaignListingView(ExplorableIndexView):
    """Wagtail's explorer of the campaigns index, speaking of campaigns: "New campaign" (not
    "Add child page"), no page type, child-pages or site filter, no "Publish" or "Move" among
    the bulk actions, "N campaigns selected" (``static/campaigns/listing.js``), and no arrow
    to a campaign's (nonexistent) child pages."""

    template_name = "campaigns/listing/index.html"
    results_template_name = "campaigns/listing/index_results.html"
    add_item_label = NEW_CAMPAIGN
    base_filterset_class = CampaignFilterSet
    base_columns = [
        BulkActionsColumn("bulk_actions"),
        CampaignTitleColumn("title", label="Title", sort_key="title", classname="title"),
        DateColumn("latest_revision_created_at", label="Last saved",
                   sort_key="latest_revision_created_at", width="16%"),
        PageStatusColumn("status", label="Status", width="16%"),
    ]

    @cached_property
    def columns(self):
        return self.base_columns

    @cached_property
    def filterset_class(self):
        return CampaignFilterSet

    @cached_property
    def explorable_columns(self):
        return self.columns  # no "navigate to child pages" arrow: campaigns have none

    @cached_property
    def header_more_buttons(self):
        return []  # Wagtail's actions on the index itself (edit, copy, sort menu order, ...)

    def get_side_panels(self):
        return MediaContainer()  # the index's own status and usage: nothing a person needs

    def get_table(self, object_list):
        table = super().get_table(object_list)
        table.ascending_title_text_format = "Sort campaigns by “%(label)s”, first to last."
        table.descending_title_text_format = "Sort campaigns by “%(label)s”, last to first."
        return table

    def get_page_title(self):
        return "Campaigns"

    def get_page_subtitle(self):
        return ""


# Wagtail's actions on one campaign of the list that a campaign never takes (the list's "…"
# menu): moving it (campaigns live under the one index), copying it Wagtail's way (with
# "publish copies"; "Duplicate as draft" is the campaign's copy) and sorting the menu order.
HIDDEN_ROW_ACTIONS = ("wagtailadmin_pages:move", "wagtailadmin_pages:copy")


def campaign_row_actions(buttons: list, page, user, context=None) -> None:
    """``construct_page_listing_buttons``: a campaign's "…" menu in the list without the
    actions in ``HIDDEN_ROW_ACTIONS`` nor "Sort menu order"."""
    if not is_campaign(page):
        return
    hidden = {reverse(name, args=[page.pk]) for name in HIDDEN_ROW_ACTIONS}
    for button in buttons:
        dropdown = getattr(button, "dropdown_buttons", None)
        if dropdown is None:
            continue
        dropdown[:] = [item for item in dropdown
                       if (item.url or "").split("?")[0] not in hidden
                       and "ordering=ord" not in (item.url or "")]


BULK_ACTION_LABELS = {"delete": "Delete the chosen campaigns",
                      "unpublish": "Withdraw the chosen campaigns (their posts not yet out are "
                                   "cancelled)"}


def campaign_bulk_action_buttons() -> list:
    """The buttons of the bulk actions a campaign can take, in Wagtail's order."""
    actions = sorted((action for action in bulk_action_registry.get_bulk_actions_for_model(
        Page._meta.app_label, Page._meta.model_name)
        if action.action_type not in HIDDEN_BULK_ACTIONS), key=lambda a: a.action_priority)
    return [ListingButton(
        action.display_name,
        reverse("wagtail_bulk_action", args=[Page._meta.app_label, Page._meta.model_name,
                                             action.action_type]),
        attrs={"aria-label": BULK_ACTION_LABELS.get(action.action_type, action.display_name),
               "data-bulk-action-button": ""},
        priority=action.action_priority,
        classname=" ".join(action.classes | {"bulk-action-btn"}))
        for action in actions]
