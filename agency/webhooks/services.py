"""Outbound webhooks: registering endpoints, emitting events, sending and retrying deliveries.

Everything here runs in the active brand's schema. An event becomes one delivery per active
endpoint subscribed to it, sent by a background task once the transaction that caused it
commits. Each attempt first commits its follow-up (a django-q2 schedule in the database, so it
survives a worker or cluster restart), then sends: a failure is retried by that schedule with
exponential backoff and jitter, a success cancels it."""

from __future__ import annotations

import json
import logging
import random
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import schedule
from django_tenants.utils import get_public_schema_name

from agency import outbound, signing
from agency.api.conventions import AwareDateTimeField
from agency.webhooks import sending
from agency.webhooks.models import (
    TEST_EVENT,
    DeliveryState,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from campaigns.publishing.alerts import team_emails
from tenants.emails import send_client_email
from tenants.models import current_client
from tenants.tasks import enqueue_in_client

logger = logging.getLogger(__name__)

SEND_TASK = "agency.webhooks.tasks.webhook_send"
# After the last attempt, how long a vanished worker is waited for before the delivery is
# recorded as failed.
LAST_ATTEMPT_GRACE_SECONDS = 60
# A follow-up may start a moment before the time it was scheduled for.
EARLY_SLACK = timedelta(seconds=2)


def config(name: str):
    defaults = {"MAX_ATTEMPTS": 8, "TIMEOUT_SECONDS": 10.0, "BACKOFF_BASE_SECONDS": 60.0,
                "BACKOFF_MAX_SECONDS": 4 * 3600.0}
    return getattr(settings, f"WEBHOOKS_{name}", defaults[name])


# --- Endpoints ------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 500:
        raise ValidationError({"url": "Keep the address within 500 characters."})
    try:
        outbound.check(url)
    except outbound.Refused as exc:
        raise ValidationError({"url": exc.message}) from None
    return url


def _clean_events(events) -> list[str]:
    events = list(events or [])
    unknown = sorted(set(events) - set(Event.values))
    if unknown:
        raise ValidationError({"events": f"Unknown event {', '.join(unknown)}; choose from "
                                         f"{', '.join(Event.values)}."})
    if not events:
        raise ValidationError({"events": "Choose at least one event to receive, e.g. "
                                         "campaign.approved."})
    return [e for e in Event.values if e in events]


def endpoint_create(*, url: str, events: list[str], description: str = "", active: bool = True,
                    user=None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the active brand. Returns it with its signing secret, which is shown
    this once (it is stored encrypted, and never shown again)."""
    errors, cleaned = {}, {}
    for name, clean, value in (("url", _clean_url, url), ("events", _clean_events, events)):
        try:
            cleaned[name] = clean(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    secret = signing.secret_generate()
    endpoint = WebhookEndpoint(url=cleaned["url"], events=cleaned["events"],
                               description=(description or "").strip()[:200], active=active,
                               created_by_id=getattr(user, "pk", None))
    endpoint.set_secret(secret)
    endpoint.save()
    return endpoint, secret


def endpoint_update(*, endpoint: WebhookEndpoint, url: str | None = None,
                    events: list[str] | None = None, description: str | None = None,
                    active: bool | None = None) -> WebhookEndpoint:
    """Change what was given; the secret stays."""
    errors = {}
    if url is not None and url.strip() != endpoint.url:
        try:
            endpoint.url = _clean_url(url)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if events is not None:
        try:
            endpoint.events = _clean_events(events)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if description is not None:
        endpoint.description = description.strip()[:200]
    if active is not None:
        if active and not endpoint.active:  # switched on again: earlier failures are handled
            endpoint.switched_on_at = timezone.now()
            endpoint.switched_off_at, endpoint.switched_off_reason = None, ""
        endpoint.active = active
    endpoint.save()
    return endpoint


def endpoint_roll_secret(*, endpoint: WebhookEndpoint, now: datetime | None = None
                         ) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, returned to be shown once. The secret it replaces keeps signing
    every request beside it for ``WEBHOOKS_SECRET_OVERLAP_HOURS``, so a receiver can move to the
    new one without refusing a request; rolling again within that time ends the oldest."""
    now = now or timezone.now()
    secret = signing.secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_until = now + timedelta(
            hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS)
        endpoint.set_secret(secret)
        endpoint.save()
    return endpoint, secret


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint, its delivery log and the retries still scheduled for it."""
    with transaction.atomic():
        pending = endpoint.deliveries.filter(state=DeliveryState.PENDING, attempts__gt=0)
        Schedule.objects.filter(name__in=[_follow_up_name(pk, attempts) for pk, attempts
                                          in pending.values_list("pk", "attempts")]).delete()
        endpoint.delete()


# --- Events ---------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """A time as the API writes it (ISO 8601 with its offset, UTC as Z)."""
    return AwareDateTimeField().to_representation(moment)


def _envelope(event: str, payload: dict, occurred_at: datetime | None) -> dict:
    client = current_client()
    return json.loads(json.dumps({
        "event": event, "id": str(uuid.uuid4()), "occurred_at": iso(occurred_at or timezone.now()),
        "brand": client.slug if client else None, "data": payload,
    }, cls=DjangoJSONEncoder))


def event_emit(*, event: str, payload: dict, occurred_at: datetime | None = None
               ) -> list[WebhookDelivery]:
    """Send ``event`` with ``payload`` (the event's ``data``) to every active endpoint of the
    active brand that subscribes to it: one delivery each, sent once the current transaction
    commits. Returns the deliveries (none when nobody listens)."""
    if event not in Event.values:
        raise ValueError(f"Unknown webhook event {event!r}.")
    if connection.schema_name == get_public_schema_name():
        return []  # the agency's own schema has no endpoints
    endpoints = list(WebhookEndpoint.objects.filter(active=True, events__contains=[event]))
    if not endpoints:
        return []
    envelope = _envelope(event, payload, occurred_at)
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event, event_id=envelope["id"],
                        payload=envelope, next_attempt_at=now) for endpoint in endpoints)
    for delivery in deliveries:
        _enqueue(delivery)
    return deliveries


def endpoint_test(*, endpoint: WebhookEndpoint, user=None) -> WebhookDelivery:
    """A ``webhook.test`` event to this endpoint alone (switched on or not), to check that the
    receiver gets it and can verify its signature."""
    payload = {"endpoint_id": endpoint.pk,
               "message": "A test event: your endpoint receives and can verify our webhooks."}
    envelope = _envelope(TEST_EVENT, payload, None)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=TEST_EVENT, event_id=envelope["id"], payload=envelope,
        next_attempt_at=timezone.now())
    _enqueue(delivery)
    return delivery


def delivery_replay(*, delivery: WebhookDelivery, user=None) -> WebhookDelivery:
    """Send a finished delivery again: the same event id and payload (a receiver that already
    has it can drop it by its webhook-id), as a new entry in the log."""
    if delivery.state == DeliveryState.PENDING:
        raise ValidationError(
            f"This delivery is still being sent (attempt {delivery.attempts} of "
            f"{config('MAX_ATTEMPTS')}). Replay it once it is delivered or has failed.")
    endpoint = delivery.endpoint
    if not endpoint.active and delivery.event != TEST_EVENT:
        raise ValidationError("The endpoint is switched off. Switch it on, then replay.")
    replay = WebhookDelivery.objects.create(
        endpoint=endpoint, event=delivery.event, event_id=delivery.event_id,
        payload=delivery.payload, replay_of=delivery, next_attempt_at=timezone.now())
    _enqueue(replay)
    return replay


def _enqueue(delivery: WebhookDelivery) -> None:
    enqueue_in_client(SEND_TASK, delivery.pk, task_name=f"webhook-{delivery.pk}")


# --- Sending --------------------------------------------------------------------------------


def body_of(payload: dict) -> bytes:
    """The exact bytes sent (and signed): the same for every attempt and replay."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: doubling from the base, capped, with jitter
    (between half and all of the step), so receivers coming back are not hit all at once."""
    step = min(config("BACKOFF_MAX_SECONDS"), config("BACKOFF_BASE_SECONDS") * 2 ** (attempt - 1))
    return step * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret


def _follow_up_name(delivery_id: int, attempt: int) -> str:
    return f"webhook:{connection.schema_name}:{delivery_id}:{attempt}"


def _schedule_follow_up(delivery_id: int, attempt: int, when: datetime) -> None:
    # run_in_client enters this brand's schema on the worker, as for every enqueued task.
    schedule("tenants.tasks.run_in_client", connection.schema_name, SEND_TASK, [delivery_id], {},
             name=_follow_up_name(delivery_id, attempt), schedule_type=Schedule.ONCE,
             next_run=when)


def _cancel_follow_up(delivery_id: int, attempt: int) -> None:
    Schedule.objects.filter(name=_follow_up_name(delivery_id, attempt)).delete()


def delivery_attempt(*, delivery_id: int) -> str:
    """Make the next attempt of a pending delivery, if it is due. Returns what happened:
    "delivered", "retry", "failed" or "stale" (nothing to do: already sent, not due yet, or
    another worker has it)."""
    now = timezone.now()
    max_attempts = config("MAX_ATTEMPTS")
    timeout = config("TIMEOUT_SECONDS")
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("endpoint")
                    .filter(pk=delivery_id, state=DeliveryState.PENDING).first())
        if delivery is None or (delivery.next_attempt_at
                                and delivery.next_attempt_at > now + EARLY_SLACK):
            return "stale"  # a duplicate run: the attempt due now was made, its follow-up waits
        endpoint = delivery.endpoint
        if not endpoint.active and delivery.event != TEST_EVENT:
            _finish(delivery, DeliveryState.FAILED, "The endpoint was switched off before "
                    "this was sent. Switch it on and replay the delivery.")
            return "failed"
        if delivery.attempts >= max_attempts:
            _finish(delivery, DeliveryState.FAILED, (
                f"Gave up after {delivery.attempts} attempt(s): "
                f"{delivery.last_error or 'the last attempt did not finish (worker stopped)'}"))
            return "failed"
        attempt = delivery.attempts + 1
        wait = backoff(attempt) if attempt < max_attempts else LAST_ATTEMPT_GRACE_SECONDS
        follow_up = now + timedelta(seconds=timeout + wait)
        # Committed before the request: if this worker dies mid-send, the follow-up still runs.
        _schedule_follow_up(delivery.pk, attempt, follow_up)
        _cancel_follow_up(delivery.pk, attempt - 1)  # this run is (or replaces) that one
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=attempt,
                                                              next_attempt_at=follow_up)
    try:
        secrets = endpoint.signing_secrets(now)
    except ValueError:
        outcome = sending.Outcome(
            None, "The endpoint's signing secret cannot be read with the configured keys "
                  "(FIELD_ENCRYPTION_KEYS changed?). Add the old key back, or remove the "
                  "endpoint and add it again to get a new secret.", 0, refused=True)
    else:
        body = body_of(delivery.payload)
        outcome = sending.post(endpoint.url, body,
                               signing.headers_for(secrets, str(delivery.event_id), body),
                               timeout=timeout)
    return _record(delivery, attempt, outcome, follow_up)


def _finish(delivery: WebhookDelivery, state: str, error: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=state, last_error=error[:2000], next_attempt_at=None)


def _record(delivery: WebhookDelivery, attempt: int, outcome: sending.Outcome,
            follow_up: datetime) -> str:
    now = timezone.now()
    max_attempts = config("MAX_ATTEMPTS")
    fields = {"last_status_code": outcome.status_code, "last_error": outcome.error[:2000],
              "duration_ms": outcome.duration_ms}
    if outcome.ok:
        result = "delivered"
        fields.update(state=DeliveryState.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif outcome.refused or attempt >= max_attempts:
        result = "failed"
        why = ("" if outcome.refused
               else f"Gave up after {attempt} attempt{'s' if attempt > 1 else ''}: ")
        fields.update(state=DeliveryState.FAILED, next_attempt_at=None,
                      last_error=(why + outcome.error)[:2000])
    else:
        result = "retry"
        asked = min(outcome.retry_after or 0, config("BACKOFF_MAX_SECONDS"))
        if now + timedelta(seconds=asked) > follow_up:  # the receiver asked for a longer wait
            follow_up = now + timedelta(seconds=asked)
            Schedule.objects.filter(name=_follow_up_name(delivery.pk, attempt)).update(
                next_run=follow_up)
            fields["next_attempt_at"] = follow_up
    with transaction.atomic():
        WebhookAttempt.objects.create(delivery_id=delivery.pk, number=attempt,
                                      status_code=outcome.status_code,
                                      error=outcome.error[:2000],
                                      duration_ms=outcome.duration_ms)
        WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING,
                                       attempts=attempt).update(**fields)
        if result != "retry":
            _cancel_follow_up(delivery.pk, attempt)
    if result == "failed":
        # The endpoint's id, not its URL: integrators put tokens in URLs.
        logger.warning("webhook delivery %s to endpoint %s failed: %s", delivery.pk,
                       delivery.endpoint_id, fields["last_error"])
        if delivery.event != TEST_EVENT:
            switch_off_if_failing(endpoint_id=delivery.endpoint_id, now=now)
    return result


def switch_off_if_failing(*, endpoint_id: int, now: datetime | None = None) -> bool:
    """Switch the endpoint off, and tell the brand's account managers, when every delivery to
    it since ``WEBHOOKS_SWITCH_OFF_AFTER_DAYS`` ago has failed (retries and all), so a receiver
    that is gone for good stops costing retries. Test events do not count. Returns whether it
    was switched off now."""
    days = settings.WEBHOOKS_SWITCH_OFF_AFTER_DAYS
    now = now or timezone.now()
    if not days:
        return False
    finished = (WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
                .exclude(event=TEST_EVENT).exclude(state=DeliveryState.PENDING))
    last_ok = (finished.filter(state=DeliveryState.DELIVERED).order_by("-created_at")
               .values_list("created_at", flat=True).first())
    switched_on = (WebhookEndpoint.objects.filter(pk=endpoint_id)
                   .values_list("switched_on_at", flat=True).first())
    failing = finished.filter(state=DeliveryState.FAILED)
    for since in (last_ok, switched_on):  # only failures after both count
        if since is not None:
            failing = failing.filter(created_at__gt=since)
    first_failure = failing.order_by("created_at").values_list("created_at", flat=True).first()
    if first_failure is None or first_failure > now - timedelta(days=days):
        return False
    reason = (f"Every delivery since {first_failure:%Y-%m-%d %H:%M} UTC failed "
              f"({failing.count()} events, after their retries).")
    switched = WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
        active=False, switched_off_at=now, switched_off_reason=reason, updated_at=now)
    if switched:
        logger.warning("webhook endpoint %s switched off: %s", endpoint_id, reason)
        schema = connection.schema_name  # the callback may run after the schema is left
        transaction.on_commit(lambda: _tell_switched_off(schema, endpoint_id))
    return bool(switched)


def _tell_switched_off(schema: str, endpoint_id: int) -> None:
    """Email the brand's account managers and agency admins. Never raises: the switch-off is
    recorded and shows in the admin whatever the mail server does."""
    from django_tenants.utils import schema_context

    try:
        with schema_context(schema):
            client = current_client()
            endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        recipients = team_emails(client)
        if recipients:
            send_client_email(client=client, to=recipients,
                              subject=f"Webhook endpoint switched off: {endpoint.label}",
                              template="webhooks/email/endpoint_switched_off",
                              context={"endpoint": endpoint})
    except Exception:  # noqa: BLE001 - see above
        logger.exception("could not tell the team that endpoint %s was switched off",
                         endpoint_id)


def secrets_forget_expired(*, now: datetime | None = None) -> int:
    """Forget the active brand's rolled secrets whose overlap is over."""
    return WebhookEndpoint.objects.filter(previous_secret_until__lt=now or timezone.now()).update(
        previous_secret_encrypted="", previous_secret_until=None)


def log_prune(*, now: datetime | None = None, batch: int = 2000) -> int:
    """Remove the active brand's finished deliveries (and their attempts) older than
    ``WEBHOOKS_LOG_DAYS``, in batches so no transaction holds many rows. Pending deliveries
    stay, whatever their age. Returns how many deliveries were removed."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOKS_LOG_DAYS)
    old = WebhookDelivery.objects.filter(
        state__in=[DeliveryState.DELIVERED, DeliveryState.FAILED], created_at__lt=cutoff)
    removed, after = 0, 0
    while ids := list(old.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)
                      [:batch]):
        after = ids[-1]  # a batch that fails is left for the next run, not retried forever
        try:
            with transaction.atomic():
                WebhookAttempt.objects.filter(delivery_id__in=ids).delete()
                WebhookDelivery.objects.filter(replay_of_id__in=ids).update(replay_of=None)
                removed += WebhookDelivery.objects.filter(pk__in=ids)._raw_delete(
                    connection.alias)
        except IntegrityError:  # a replay of one of them was made meanwhile
            logger.warning("webhook log pruning skipped deliveries %s-%s", ids[0], ids[-1])
    return removed
