"""Writes to campaigns. Admin views and the API call these."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError

from campaigns.models import CampaignPage
from tenants.models import current_zone


def post_move(*, campaign: CampaignPage, index: int, day: dt.date, user) -> CampaignPage:
    """Move post ``index`` of ``campaign`` to ``day``, keeping its time of day in the brand's
    zone, as a new revision. Only while the campaign is a draft: once it is in review or
    approved, moving it would change what reviewers and the client agreed to."""
    if not campaign.permissions_for_user(user).can_edit():
        raise PermissionDenied("You cannot edit this campaign.")
    if campaign.workflow_in_progress:
        raise ValidationError("This campaign is in review: moving a post would change what the "
                              "reviewers see. Withdraw it from review first.")
    if campaign.live and not campaign.has_unpublished_changes:
        raise ValidationError("This campaign is approved: its posts keep the times the client "
                              "approved. Edit the campaign to start a new approval.")
    draft = campaign.get_latest_revision_as_object()
    posts = list(draft.posts.all())
    if not 0 <= index < len(posts) or posts[index].publish_at is None:
        raise ValidationError("That post is no longer in the campaign, or has no time. Reload "
                              "the calendar.")
    post = posts[index]
    zone = current_zone()
    local = post.publish_at.astimezone(zone)
    post.publish_at = dt.datetime.combine(day, local.time(), tzinfo=zone)
    draft.posts = posts
    draft.save_revision(user=user, log_action=True)
    return draft
