"""Reads about campaigns inside the active client schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tenants.utils import schema_context
from wagtail.models import Revision, WorkflowState

from campaigns.models import CampaignPage, Channel


def campaign_status_counts() -> dict[str, int]:
    """Counts for the portal card of the active client: drafts, in review, scheduled, failed."""
    now = timezone.now()
    page_type = ContentType.objects.get_for_model(CampaignPage)
    in_review_ids = set(
        WorkflowState.objects.active()
        .filter(content_type=page_type)
        .values_list("object_id", flat=True)
    )
    from campaigns.publishing.models import Delivery, State
    from tenants.models import current_client

    deliveries = Delivery.objects.filter(client=current_client())
    return {
        "drafts": CampaignPage.objects.filter(live=False)
        .exclude(pk__in=[int(pk) for pk in in_review_ids]).count(),
        "in_review": len(in_review_ids),
        # campaigns with posts waiting to go out
        "scheduled": deliveries.filter(state=State.SCHEDULED, publish_at__gt=now)
        .values("page_id").distinct().count(),
        # posts that did not go out, or whose outcome is not confirmed
        "failed": deliveries.filter(state__in=[State.FAILED, State.UNCONFIRMED]).count(),
    }


def client_status_counts(client) -> dict[str, int]:
    with schema_context(client.schema_name):
        return campaign_status_counts()


# --- The content calendar -------------------------------------------------------------------

STATES = [("draft", "Draft"), ("in_review", "In review"), ("approved", "Approved"),
          ("scheduled", "Scheduled"), ("published", "Published"), ("failed", "Failed")]


@dataclass(frozen=True)
class CalendarEntry:
    campaign_id: int
    campaign_title: str
    index: int  # position of the post in the campaign's latest revision
    copy: str
    publish_at: datetime
    channel_ids: tuple[int, ...]
    channel_names: tuple[str, ...]
    state: str

    @property
    def movable(self) -> bool:
        return self.state == "draft"


def calendar_entries(*, start: datetime, end: datetime, channel_id: int | None = None,
                     campaign_id: int | None = None) -> list[CalendarEntry]:
    """Every post due in [start, end) across the brand's campaigns, as its latest revision has
    it (drafts included). A fixed number of queries, however many campaigns and posts."""
    pages = CampaignPage.objects.values("id", "title", "live", "latest_revision_id",
                                        "has_unpublished_changes")
    if campaign_id:
        pages = pages.filter(id=campaign_id)
    pages = {p["latest_revision_id"]: p for p in pages if p["latest_revision_id"]}
    page_type = ContentType.objects.get_for_model(CampaignPage)
    in_review = {int(pk) for pk in WorkflowState.objects.active().filter(
        content_type=page_type).values_list("object_id", flat=True)}
    now = timezone.now()
    names = dict(Channel.objects.values_list("id", "name"))
    delivered = _delivery_states([p["id"] for p in pages.values()])
    entries = []
    for revision_id, content in Revision.objects.filter(id__in=list(pages)).values_list(
            "id", "content"):
        page = pages[revision_id]
        for index, post in enumerate(content.get("posts", [])):
            when = parse_datetime(post.get("publish_at") or "")
            if when is None or not (start <= when < end):
                continue
            channels = tuple(post.get("channels") or ())
            if channel_id and channel_id not in channels:
                continue
            outbox = delivered.get(post.get("pk"))
            if outbox in ("published", "failed"):
                state = outbox
            elif page["id"] in in_review:
                state = "in_review"
            elif page["live"] and not page["has_unpublished_changes"]:
                state = "scheduled" if when > now else "approved"
            else:
                state = "draft"
            entries.append(CalendarEntry(
                campaign_id=page["id"], campaign_title=page["title"], index=index,
                copy=post.get("copy") or "", publish_at=when, channel_ids=channels,
                channel_names=tuple(names.get(c, "(removed channel)") for c in channels),
                state=state))
    return sorted(entries, key=lambda e: (e.publish_at, e.campaign_title, e.index))


def _delivery_states(page_ids: list[int]) -> dict[int, str]:
    """Per post id, what the outbox says: "failed" if any of its channels failed (or is not
    confirmed), "published" once every channel has it, "scheduled" while waiting. One query."""
    from campaigns.publishing.models import Delivery, State
    from tenants.models import current_client

    by_post: dict[int, set] = {}
    for post_id, state in (Delivery.objects.filter(client=current_client(), page_id__in=page_ids)
                           .exclude(state=State.CANCELLED).values_list("post_id", "state")):
        by_post.setdefault(post_id, set()).add(state)
    result = {}
    for post_id, states in by_post.items():
        if states & {State.FAILED, State.UNCONFIRMED}:
            result[post_id] = "failed"
        elif states == {State.PUBLISHED}:
            result[post_id] = "published"
        else:
            result[post_id] = "scheduled"
    return result
