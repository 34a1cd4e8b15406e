"""Telling the brand's team that a post did not go out: email, the dashboard (which reads failed
deliveries), and the ``delivery_failed`` signal for outbound webhooks."""

from __future__ import annotations

import logging

from django.dispatch import Signal

from campaigns.publishing.models import Delivery
from tenants.emails import send_client_email
from tenants.models import Membership, Role

logger = logging.getLogger(__name__)

# Sent with ``delivery`` (a Delivery) when a post fails or its outcome stays unknown.
delivery_failed_signal = Signal()
# Sent with ``delivery`` (a Delivery) once a post is recorded published (outbound webhooks).
delivery_published_signal = Signal()


def team_emails(client) -> list[str]:
    return sorted({email for email in Membership.objects.filter(
        client=client, role__in=[Role.AGENCY_ADMIN, Role.ACCOUNT_MANAGER])
        .values_list("user__email", flat=True) if email})


def delivery_failed(delivery) -> None:
    """Runs on the worker, inside the brand's schema. Never raises: the outcome is recorded."""
    try:
        client = delivery.client
        recipients = team_emails(client)
        if recipients:
            unknown = delivery.state == "unconfirmed"
            subject = (f"Check a post: “{delivery.campaign_title}” on {delivery.channel_name}"
                       if unknown else
                       f"Not published: “{delivery.campaign_title}” on {delivery.channel_name}")
            send_client_email(client=client, to=recipients, subject=subject,
                              template="publishing/email/delivery_failed",
                              context={"delivery": delivery, "unknown": unknown})
    except Exception:  # noqa: BLE001 - an alert must not undo the recorded outcome
        logger.exception("could not send the failure alert for delivery %s", delivery.pk)
    # Apart from the email: a mail server down must not silence the webhooks.
    try:
        delivery_failed_signal.send(sender=type(delivery), delivery=delivery)
    except Exception:  # noqa: BLE001 - as above
        logger.exception("a delivery_failed receiver failed for delivery %s", delivery.pk)


def delivery_published(delivery_id: int) -> None:
    """Runs on the worker once the outcome is committed. Never raises."""
    deliveries_published([delivery_id])


def deliveries_published(delivery_ids: list[int]) -> None:
    """``delivery_published`` for several deliveries: one query reads them all (none without
    a receiver). Never raises; one receiver failing does not keep the others from the rest."""
    if not delivery_ids or not delivery_published_signal.has_listeners(Delivery):
        return
    try:
        deliveries = list(Delivery.objects.filter(pk__in=delivery_ids).order_by("pk"))
    except Exception:  # noqa: BLE001 - the posts are out and recorded
        logger.exception("could not read deliveries %s for delivery_published", delivery_ids)
        return
    for delivery in deliveries:
        try:
            delivery_published_signal.send(sender=Delivery, delivery=delivery)
        except Exception:  # noqa: BLE001 - the post is out and recorded; a receiver must not
            logger.exception("a delivery_published receiver failed for delivery %s", delivery.pk)
