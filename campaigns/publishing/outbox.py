"""Writing to the outbox: deliveries made from an approved revision, and what staff do to them.

Every function here runs inside the brand's schema (its pages, posts and channels) and writes the
public outbox rows of that brand. Each changes state under a row lock, writes the event that says
who did what, and refuses a change the delivery's state does not allow.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.publishing import config
from campaigns.publishing.models import (
    NOT_SENT,
    OUT_OR_GOING,
    CrisisHold,
    Delivery,
    DeliveryEvent,
    State,
)


def idempotency_key(schema: str, post_id: int, channel_id: int, revision_id: int) -> str:
    """Derived, not random: the same approved post and channel always get the same key."""
    raw = f"{schema}:{post_id}:{channel_id}:{revision_id}".encode()
    return hashlib.sha256(raw).hexdigest()[:40]


def frozen_content(post) -> dict:
    """What goes out for ``post``, as plain data: nothing later edits can change."""
    draft = post.draft()
    images, videos = [], []
    for block in post.media:
        if block.block_type == "image" and block.value.get("image") is not None:
            image = block.value["image"]
            images.append({"id": image.pk, "alt": block.value["alt_text"],
                           "file": image.file.name})
        elif block.block_type == "video" and block.value.get("video") is not None:
            video = block.value["video"]
            videos.append({"id": video.pk, "description": block.value["description"],
                           "file": video.file.name})
    return {"text": draft.text, "link": post.link, "first_comment": post.first_comment,
            "images": images, "videos": videos}


def content_digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def log(delivery, kind: str, detail: str = "", actor=None) -> None:
    DeliveryEvent.objects.create(delivery=delivery, kind=kind, detail=detail,
                                 actor=actor if getattr(actor, "pk", None) else None)


def _client():
    from tenants.models import current_client

    client = current_client()
    if client is None:
        raise RuntimeError("The outbox is written inside a brand's schema.")
    return client


@transaction.atomic
def schedule_approved(page, revision, *, user=None) -> list[Delivery]:
    """One delivery per post and channel of ``page`` as just published from ``revision``.

    A post already out (or on its way) on a channel is not sent again. A scheduled delivery whose
    post changed is cancelled and replaced; one whose post and time are unchanged is kept. Posts
    dropped from the campaign have their deliveries cancelled. A post whose time has passed by
    more than the grace period is not sent late by surprise: it waits as failed, to be
    rescheduled or sent now by staff."""
    client = _client()
    now = timezone.now()
    tags = sorted({tag.name.lower() for tag in page.tags.all()})
    existing = {}
    for delivery in (Delivery.objects.select_for_update()
                     .filter(client=client, page_id=page.pk).exclude(state=State.CANCELLED)
                     .order_by("id")):
        existing[(delivery.post_id, delivery.channel_id)] = delivery
    # What went out (or is on its way), by channel, content and approved time: a post that
    # Wagtail recreated with a new id (an edit based on a pre-publish revision) is not resent.
    out = {(d.channel_id, d.content_hash, d.approved_time) for d in existing.values()
           if d.state in OUT_OR_GOING}
    wanted, created = set(), []
    holds = list(CrisisHold.objects.filter(released_at__isnull=True)
                 .filter(Q(client__isnull=True) | Q(client=client)))
    posts = list(page.posts.order_by("sort_order", "pk").prefetch_related("channels"))
    for number, post in enumerate(posts, start=1):
        if post.publish_at is None:
            continue
        content = frozen_content(post)
        digest = content_digest(content)
        for channel in post.channels.all():
            wanted.add((post.pk, channel.pk))
            previous = existing.get((post.pk, channel.pk))
            if previous is not None and previous.state in OUT_OR_GOING:
                if previous.content_hash != digest:
                    log(previous, "not_resent", f"Revision {revision.pk} changed this post, but it "
                        "had already gone out; it is not sent again.", user)
                continue
            if previous is None and (channel.pk, digest, post.publish_at) in out:
                continue
            if previous is not None:
                # unchanged (a time staff moved since counts as unchanged): kept
                if (previous.state == State.SCHEDULED and previous.content_hash == digest
                        and previous.approved_time == post.publish_at):
                    continue
                _cancel(previous, f"Replaced by revision {revision.pk}.", user)
            delivery = Delivery(
                client=client, schema_name=connection.schema_name, page_id=page.pk,
                revision_id=revision.pk, post_id=post.pk, post_number=number,
                channel_id=channel.pk, network=channel.network, channel_name=channel.name,
                campaign_title=page.title[:255], tags=tags, content=content, content_hash=digest,
                idempotency_key=idempotency_key(connection.schema_name, post.pk, channel.pk,
                                                revision.pk),
                publish_at=post.publish_at, approved_time=post.publish_at,
                next_attempt_at=post.publish_at)
            if post.publish_at < now - timedelta(seconds=config("LATE_GRACE_SECONDS")):
                delivery.state = State.FAILED
                delivery.error = ("Approved after its time. Reschedule it, or send it now with "
                                  "“Retry”.")
            delivery.hold = next((h for h in holds if hold_matches(h, delivery)), None)
            delivery.save()
            log(delivery, "created", f"From approved revision {revision.pk}.", user)
            if delivery.state == State.FAILED:
                log(delivery, "failed", delivery.error)
            if delivery.hold is not None:
                log(delivery, "held", f"Crisis hold: {delivery.hold.describe()}.")
            created.append(delivery)
    for pair, delivery in existing.items():
        if pair in wanted:
            continue
        reason = f"No longer in the campaign as approved in revision {revision.pk}."
        if delivery.state in NOT_SENT:
            _cancel(delivery, reason, user)
        elif delivery.state in (State.CLAIMED, State.UNCONFIRMED):
            _withdraw(delivery, reason, user)
    return created


def hold_matches(hold: CrisisHold, delivery: Delivery) -> bool:
    """The same test as ``operations.matching`` (in SQL): the tag, or the word as a whole word
    (no letter, digit or _ right before or after it), case-insensitive."""
    import re

    if hold.client_id and hold.client_id != delivery.client_id:
        return False
    if hold.tag:
        return hold.tag.lower() in delivery.tags
    if hold.word:
        pattern = r"(?<!\w)" + re.escape(hold.word) + r"(?!\w)"
        return re.search(pattern, delivery.content.get("text", ""), re.IGNORECASE) is not None
    return True


def _withdraw(delivery: Delivery, reason: str, user=None) -> None:
    """On its way or not confirmed: if the network turns out not to have it, it is not sent
    again."""
    delivery.withdrawn = True
    delivery.save(update_fields=["withdrawn", "updated_at"])
    log(delivery, "withdrawn", f"{reason} If the network does not have it, it is not sent "
                               "again.", user)


def _cancel(delivery: Delivery, reason: str, user=None) -> None:
    delivery.state = State.CANCELLED
    delivery.claim = None
    delivery.lease_until = None
    delivery.error = ""
    delivery.save(update_fields=["state", "claim", "lease_until", "error", "updated_at"])
    log(delivery, "cancelled", reason, user)


@transaction.atomic
def cancel_page(page_id: int, reason: str, user=None) -> int:
    """Cancel every delivery of a campaign that has not gone out."""
    client = _client()
    deliveries = list(Delivery.objects.select_for_update()
                      .filter(client=client, page_id=page_id,
                              state__in=[*NOT_SENT, State.CLAIMED, State.UNCONFIRMED]))
    for delivery in deliveries:
        if delivery.state in NOT_SENT:
            _cancel(delivery, reason, user)
        else:
            _withdraw(delivery, reason, user)
    return len(deliveries)


def _locked(delivery_id: int) -> Delivery:
    return Delivery.objects.select_for_update().get(client=_client(), pk=delivery_id)


@transaction.atomic
def cancel(delivery_id: int, user=None) -> Delivery:
    delivery = _locked(delivery_id)
    if delivery.state not in NOT_SENT:
        raise ValidationError(f"This post is {delivery.get_state_display().lower()}; only a "
                              "scheduled or failed post can be cancelled.")
    _cancel(delivery, "Cancelled by staff.", user)
    return delivery


@transaction.atomic
def retry(delivery_id: int, user=None) -> Delivery:
    """Send a failed delivery again now, or ask the network again about an unconfirmed one."""
    delivery = _locked(delivery_id)
    now = timezone.now()
    if delivery.state == State.FAILED:
        delivery.state = State.SCHEDULED
        delivery.attempts = 0
        log(delivery, "retry", "Sent again by staff.", user)
    elif delivery.state == State.UNCONFIRMED:
        delivery.lease_until = None
        log(delivery, "check", "Staff asked to check the network again.", user)
    else:
        raise ValidationError(f"This post is {delivery.get_state_display().lower()}; only a "
                              "failed or unconfirmed post can be retried.")
    delivery.next_attempt_at = now
    delivery.save()
    return delivery


@transaction.atomic
def confirm(delivery_id: int, url: str = "", user=None) -> Delivery:
    """Staff saw an unconfirmed post on the network: record it as published."""
    delivery = _locked(delivery_id)
    if delivery.state != State.UNCONFIRMED:
        raise ValidationError("Only a post whose outcome is unknown can be confirmed by hand.")
    if url and not url.startswith(("https://", "http://")):
        raise ValidationError("Give the post's address starting with https://, or leave it "
                              "empty.")
    delivery.state, delivery.remote_url = State.PUBLISHED, url[:500]
    delivery.published_at, delivery.lease_until, delivery.error = timezone.now(), None, ""
    delivery.save()
    log(delivery, "published", "Confirmed by staff" + (f": {url}" if url else "."), user)
    from campaigns.publishing import alerts

    transaction.on_commit(lambda: alerts.delivery_published(delivery.pk))  # webhooks
    return delivery


@transaction.atomic
def mark_not_sent(delivery_id: int, user=None) -> Delivery:
    """Staff checked: an unconfirmed post is not on the network. It becomes failed, and
    "Retry" sends it (with the same idempotency key)."""
    delivery = _locked(delivery_id)
    if delivery.state != State.UNCONFIRMED:
        raise ValidationError("Only a post whose outcome is unknown can be marked as not sent.")
    delivery.state, delivery.lease_until = State.FAILED, None
    delivery.error = "Not on the network (checked by staff). Retry to send it."
    delivery.sending_at = None
    delivery.save()
    log(delivery, "not_sent", "Marked as not sent by staff.", user)
    return delivery


def staff_may_move_approved_posts() -> bool:
    from campaigns.models import PublishingSettings

    return PublishingSettings.load().staff_may_move_approved_posts


@transaction.atomic
def reschedule(delivery_id: int, when: datetime, user=None) -> Delivery:
    """Move a post that has not gone out. An approved post's time is part of what the client
    approved: moving it needs their approval again unless the brand lets staff do it."""
    delivery = _locked(delivery_id)
    if delivery.state not in NOT_SENT:
        raise ValidationError(f"This post is {delivery.get_state_display().lower()}; only a "
                              "scheduled or failed post can be moved.")
    if not staff_may_move_approved_posts():
        raise ValidationError("Moving an approved post needs the client's approval: change its "
                              "time in the campaign and submit it again, or ask an agency admin "
                              "to let staff move approved posts (Settings → Publishing).")
    if when <= timezone.now():
        raise ValidationError("Pick a time in the future.")
    before = delivery.publish_at
    delivery.publish_at = when
    delivery.next_attempt_at = when
    delivery.state = State.SCHEDULED
    delivery.attempts = 0
    delivery.error = ""
    delivery.save()
    log(delivery, "rescheduled", f"Moved from {before.isoformat()} to {when.isoformat()}.", user)
    return delivery
