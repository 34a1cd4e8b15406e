"""A campaign is published only by its approval (``approvals.workflows.approve_revision``, at
the end of the review), never directly: that is what builds the outbox, the posts the workers
send. Wagtail offers a direct "Publish" to anyone with publish permission (account managers
have it, to manage reviews), so for campaigns the studio takes it away in every place Wagtail
offers it: the editor's footer, a forged ``action-publish`` POST to the create or edit view,
"publish copies" / alias when copying, and the listing's bulk "Publish".

Hooked into Wagtail by ``campaigns.wagtail_hooks``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from wagtail.admin.utils import get_valid_next_url_from_request

from campaigns.models import CampaignIndexPage, CampaignPage

REFUSED = ("Campaigns are not published directly: submit the campaign for review. It is "
           "published, and its posts scheduled, when the client approves it.")
COPY_REFUSED = ("A copy of a campaign starts as a draft: untick “Publish copies” and "
                "“Alias”, then submit the copy for review.")


def _is_campaign(page) -> bool:
    return page is not None and page.specific_class is CampaignPage


def _publishes(request) -> bool:
    return request.method == "POST" and bool(request.POST.get("action-publish"))


def drop_publish(menu_items: list, request, context: dict) -> None:
    """``construct_page_action_menu``: no "Publish" in a campaign's footer (new or existing)."""
    if context.get("view") == "create":
        parent = context.get("parent_page")
        if parent is None or parent.specific_class is not CampaignIndexPage:
            return
    elif not _is_campaign(context.get("page")):
        return
    menu_items[:] = [item for item in menu_items if item.name != "action-publish"]


def refuse_publish_on_edit(request, page):
    """``before_edit_page``: refuse a POST that publishes a campaign, before anything is saved."""
    if _is_campaign(page) and _publishes(request):
        messages.error(request, REFUSED)
        return redirect("wagtailadmin_pages:edit", page.pk)
    return None


def refuse_publish_on_create(request, parent_page, page_class):
    """``before_create_page``: refuse a POST that creates a campaign published."""
    if page_class is CampaignPage and _publishes(request):
        messages.error(request, REFUSED)
        return redirect(reverse("wagtailadmin_pages:add", args=[
            page_class._meta.app_label, page_class._meta.model_name, parent_page.pk]))
    return None


def refuse_publish(request, page):
    """``before_publish_page``: the last line, should any other view publish a campaign."""
    if _is_campaign(page):
        messages.error(request, REFUSED)
        return redirect("wagtailadmin_pages:edit", page.pk)
    return None


def refuse_published_copy(request, page):
    """``before_copy_page``: a campaign's copy is never published (nor a live alias)."""
    if _is_campaign(page) and request.method == "POST" and (
            request.POST.get("publish_copies") or request.POST.get("alias")):
        messages.error(request, COPY_REFUSED)
        return redirect("wagtailadmin_pages:copy", page.pk)
    return None


def refuse_bulk_publish(request, action_type, objects, action_class_instance):
    """``before_bulk_action``: the listing's bulk "Publish" never reaches a campaign (picked,
    or under a picked page)."""
    if action_type != "publish":
        return None
    if any(CampaignPage.objects.descendant_of(page, inclusive=True).exists()
           for page in objects):
        messages.error(request, REFUSED)
        return redirect(get_valid_next_url_from_request(request)
                        or reverse("wagtailadmin_explore_root"))
    return None
