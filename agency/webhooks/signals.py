"""Which happenings become which webhook events, and what their ``data`` holds.

- ``campaign.submitted``: Wagtail's ``workflow_submitted`` (a campaign enters review), and a
  campaign sent back for changes and resubmitted (Wagtail resumes its workflow without a signal
  of its own: the task that starts right after a rejected one).
- ``campaign.approved``: ``workflow_approved`` (the last step, the client's approval, passed).
- ``campaign.changes_requested``: ``workflow_rejected`` (the sensitivity reviewer or the client,
  through a review link or recorded by staff, sent it back).
- ``delivery.published`` / ``delivery.failed``: the publishing engine's
  ``delivery_published_signal`` / ``delivery_failed_signal``.
- ``report.ready``: ``campaigns.results.scheduled.report_ready``, a scheduled client report
  emailed (once per schedule and period).
- ``conversation.created`` / ``conversation.escalated`` / ``conversation.target_missed``:
  ``campaigns.conversations.signals``: a new inbox item (after its automatic moderation), an
  item escalated (someone may be at risk), an open item past the brand's response target (once).
  ``data`` is the item as ``/api/v1/conversations/`` lists it.

``data`` has the same field names and values as the REST API's resources (a campaign of
``/api/v1/campaigns/``, a delivery of ``/api/v1/deliveries/``), so one parser serves both.
A webhook problem never undoes the happening itself: emitting runs in a savepoint and is
logged when it fails."""

from __future__ import annotations

import logging

from django.db import transaction
from django_tenants.utils import schema_context

from agency.webhooks.models import Event
from agency.webhooks.services import event_emit, iso
from campaigns.conversations.api import ItemData
from campaigns.conversations.signals import item_created, item_escalated, target_missed
from campaigns.models import CampaignPage
from campaigns.publishing.alerts import delivery_failed_signal, delivery_published_signal
from campaigns.publishing.api import DeliveryData
from campaigns.results.scheduled import report_ready
from campaigns.revisions import read_revision
from campaigns.status import campaign_status

logger = logging.getLogger(__name__)

DELIVERY_FIELDS = ["id", "campaign_id", "post_number", "channel_id", "network", "state",
                   "remote_url", "error", "publish_at"]


def _emit(event: str, payload_of, *args) -> None:
    try:
        with transaction.atomic():
            payload = payload_of(*args)
            if payload is not None:
                event_emit(event=event, payload=payload)
    except Exception:  # noqa: BLE001 - a webhook must never undo what it reports
        logger.exception("could not emit the %s webhook event", event)


# --- Campaigns ------------------------------------------------------------------------------


def campaign_data(workflow_state, revision) -> dict | None:
    """A campaign as the API shows it, at the revision the workflow acted on (None for
    anything that is not a campaign)."""
    from django.contrib.contenttypes.models import ContentType

    if workflow_state.content_type_id != ContentType.objects.get_for_model(CampaignPage).pk:
        return None  # another page type or a snippet under moderation
    page = CampaignPage.objects.filter(pk=workflow_state.object_id).only(
        "id", "draft_title", "live", "has_unpublished_changes").first()
    if page is None:
        return None
    title = read_revision(revision).title if revision is not None else ""
    return {"id": page.pk, "title": title or page.draft_title,
            "revision_id": revision.pk if revision is not None else None,
            "status": campaign_status(live=page.live,
                                      has_unpublished_changes=page.has_unpublished_changes,
                                      workflow_status=workflow_state.status).value}


def _task_revision(workflow_state):
    task_state = workflow_state.current_task_state
    return task_state.revision if task_state is not None else None


def on_workflow_submitted(sender, instance, user=None, **kwargs):
    _emit(Event.CAMPAIGN_SUBMITTED, lambda: campaign_data(instance, _task_revision(instance)))


def on_task_submitted(sender, instance, user=None, **kwargs):
    """A task starting right after a rejected one: the campaign was resubmitted."""
    from wagtail.models import TaskState

    previous = (TaskState.objects.filter(workflow_state_id=instance.workflow_state_id)
                .exclude(pk=instance.pk).order_by("-pk").values_list("status", flat=True)
                .first())
    if previous != TaskState.STATUS_REJECTED:
        return  # the first task (workflow_submitted reports it) or the next step of a review
    _emit(Event.CAMPAIGN_SUBMITTED,
          lambda: campaign_data(instance.workflow_state, instance.revision))


def on_workflow_approved(sender, instance, user=None, **kwargs):
    _emit(Event.CAMPAIGN_APPROVED, lambda: campaign_data(instance, _task_revision(instance)))


def on_workflow_rejected(sender, instance, user=None, **kwargs):
    _emit(Event.CAMPAIGN_CHANGES_REQUESTED,
          lambda: campaign_data(instance, _task_revision(instance)))


# --- Deliveries -----------------------------------------------------------------------------


def delivery_data(delivery) -> dict:
    """A delivery as ``/api/v1/deliveries/`` shows it (the fields an integrator acts on)."""
    data = DeliveryData(delivery).data
    payload = {name: data[name] for name in DELIVERY_FIELDS}
    payload["publish_at"] = iso(delivery.publish_at)
    return payload


def on_delivery_published(sender, delivery, **kwargs):
    # The worker may call from outside the brand's schema (an outcome recorded on commit).
    with schema_context(delivery.schema_name):
        _emit(Event.DELIVERY_PUBLISHED, delivery_data, delivery)


def on_delivery_failed(sender, delivery, **kwargs):
    with schema_context(delivery.schema_name):
        _emit(Event.DELIVERY_FAILED, delivery_data, delivery)


# --- Client reports -------------------------------------------------------------------------


def report_data(sent, report) -> dict:
    """A scheduled client report that went out: what it covers, its totals, to how many."""
    return {"kind": report.scope.kind, "campaign_id": report.scope.page_id,
            "month": report.scope.month.strftime("%Y-%m") if report.scope.month else None,
            "title": report.title, "period": report.period, "sent_at": iso(sent.sent_at),
            "recipients": len(sent.recipients), "posts": report.totals.posts,
            "interactions": report.totals.interactions,
            "engagement_rate": report.totals.engagement_rate}


def on_report_ready(sender, sent, report, **kwargs):
    _emit(Event.REPORT_READY, report_data, sent, report)


# --- The inbox ------------------------------------------------------------------------------


def item_data(item, **extra) -> dict:
    """An inbox item as the API lists it (it holds no secret: what a person posted in public,
    the classifier's verdict, the item's handling)."""
    return {**ItemData(item).data, **extra}


def on_item_created(sender, item, **kwargs):
    _emit(Event.CONVERSATION_CREATED, item_data, item)


def on_item_escalated(sender, item, reason="", **kwargs):
    _emit(Event.CONVERSATION_ESCALATED, item_data, item)


def on_target_missed(sender, item, hours, **kwargs):
    _emit(Event.CONVERSATION_TARGET_MISSED, lambda i: item_data(i, target_hours=hours), item)


def connect() -> None:
    from wagtail.signals import (
        task_submitted,
        workflow_approved,
        workflow_rejected,
        workflow_submitted,
    )

    workflow_submitted.connect(on_workflow_submitted, dispatch_uid="webhooks_submitted")
    task_submitted.connect(on_task_submitted, dispatch_uid="webhooks_resubmitted")
    workflow_approved.connect(on_workflow_approved, dispatch_uid="webhooks_approved")
    workflow_rejected.connect(on_workflow_rejected, dispatch_uid="webhooks_changes_requested")
    delivery_published_signal.connect(on_delivery_published,
                                      dispatch_uid="webhooks_delivery_published")
    delivery_failed_signal.connect(on_delivery_failed, dispatch_uid="webhooks_delivery_failed")
    report_ready.connect(on_report_ready, dispatch_uid="webhooks_report_ready")
    item_created.connect(on_item_created, dispatch_uid="webhooks_conversation_created")
    item_escalated.connect(on_item_escalated, dispatch_uid="webhooks_conversation_escalated")
    target_missed.connect(on_target_missed, dispatch_uid="webhooks_conversation_target_missed")
