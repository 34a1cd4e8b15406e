"""Writes to campaigns. Admin views and the API call these."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from campaigns.models import CalendarFeed, CampaignPage, Post
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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_issue(*, label: str, user) -> tuple[CalendarFeed, str]:
    """A new feed and its token (shown once; only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(label=label.strip() or "Calendar feed",
                                       token_hash=_token_hash(token),
                                       created_by_id=getattr(user, "pk", None))
    return feed, token


def calendar_feed_revoke(*, feed: CalendarFeed) -> None:
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])


def calendar_feed_find(token: str) -> CalendarFeed | None:
    """The live feed for ``token``, noting its use; None for an unknown or revoked token."""
    feed = CalendarFeed.objects.filter(token_hash=_token_hash(token), revoked_at__isnull=True
                                       ).first()
    if feed is not None:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
    return feed


def campaign_duplicate(*, campaign: CampaignPage, user) -> CampaignPage:
    """A new draft campaign with the brief, story, tags and posts of ``campaign``'s latest
    revision, and without its approvals, schedule (post times) or history."""
    from wagtail.models import Page

    if not campaign.get_parent().permissions_for_user(user).can_add_subpage():
        raise PermissionDenied("You cannot add campaigns here.")
    source = campaign.get_latest_revision_as_object()
    title = f"{source.title} (copy)"
    slug = base = f"{source.slug}-copy"
    siblings = Page.objects.child_of(campaign.get_parent())
    number = 2
    while siblings.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    copy = CampaignPage(
        title=title, slug=slug, live=False, owner=user, goal=source.goal,
        audience=source.audience, key_message=source.key_message, story=source.story,
        starts_on=None, ends_on=None,
    )
    copy.posts = [Post(copy=post.copy, media=post.media.raw_data, link=post.link,
                       first_comment=post.first_comment, channels=list(post.channels.all()),
                       publish_at=None) for post in source.posts.all()]
    campaign.get_parent().add_child(instance=copy)
    copy.tags.set(source.tags.all())
    copy.save_revision(user=user, log_action=True)
    return copy
