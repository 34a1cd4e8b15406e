"""Filling the outbox: deliveries made from an approved revision.

``schedule_approved`` runs inside the brand's schema (its pages, posts and channels) and writes
the public outbox rows of that brand, under a row lock. What it decides (create, keep, replace,
cancel or withdraw a delivery) is carried out by ``transitions``, the one writer of a delivery's
state, which is also what staff, the API and operators call to change one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns import utm
from campaigns.models import PublishingSettings
from campaigns.publishing import config, transitions
from campaigns.publishing.models import OUT_OR_GOING, CrisisHold, Delivery, State


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


def with_options(content: dict, post, channel) -> dict:
    """``content`` with the post's choices for the channel's network (``networks.Option``), if
    the network asks for any: they go out with it, frozen like the text."""
    rules = channel.rules
    if not rules.post_options:
        return content
    options = {name: value for name, value in rules.options_of(post.draft()).items()
               if value not in (None, "")}
    return dict(content, options=options) if options else content


def utm_preset() -> list[tuple[str, str]]:
    """The brand's UTM parameters (Settings → Publishing), or none."""
    try:
        return utm.parse(PublishingSettings.load().utm_parameters)
    except ValidationError:  # saved before it was checked: nothing added rather than a guess
        return []


def with_utm(content: dict, preset: list[tuple[str, str]], *, channel, page) -> dict:
    """``content`` (from ``frozen_content``) with the brand's UTM parameters added to every link
    of the text, the link and the first comment, filled in for ``channel`` and ``page``. A text
    the parameters would make too long for the network goes out untagged, as approved."""
    if not preset:
        return content
    params = utm.expand(preset, network=channel.network, channel=channel.name,
                        campaign=page.slug)
    tagged = dict(content, text=utm.tag_text(content["text"], params),
                  link=utm.tag_url(content["link"], params),
                  first_comment=utm.tag_text(content["first_comment"], params))
    rules = channel.rules
    if rules.length(tagged["text"]) > rules.max_length >= rules.length(content["text"]):
        return content
    return tagged


def content_digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


@transaction.atomic
def schedule_approved(page, revision, *, user=None) -> list[Delivery]:
    """One delivery per post and channel of ``page`` as just published from ``revision``.

    A post already out (or on its way) on a channel is not sent again. A scheduled delivery whose
    post changed is cancelled and replaced; one whose post and time are unchanged is kept. Posts
    dropped from the campaign have their deliveries cancelled. A post whose time has passed by
    more than the grace period is not sent late by surprise: it waits as failed, to be
    rescheduled or sent now by staff."""
    client = transitions.brand_client()
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
    preset = utm_preset()
    for number, post in enumerate(posts, start=1):
        if post.publish_at is None:
            continue
        untagged = frozen_content(post)
        for channel in post.channels.all():
            content = with_options(with_utm(untagged, preset, channel=channel, page=page),
                                   post, channel)
            digest = content_digest(content)
            wanted.add((post.pk, channel.pk))
            previous = existing.get((post.pk, channel.pk))
            if previous is not None and previous.state in OUT_OR_GOING:
                if previous.content_hash != digest:
                    transitions.not_resent(previous, revision.pk, user)
                continue
            if previous is None and (channel.pk, digest, post.publish_at) in out:
                continue
            if previous is not None:
                # unchanged (a time staff moved since counts as unchanged): kept
                if (previous.state == State.SCHEDULED and previous.content_hash == digest
                        and previous.approved_time == post.publish_at):
                    continue
                transitions.cancel_or_withdraw(previous, f"Replaced by revision {revision.pk}.",
                                               user)
            delivery = Delivery(
                client=client, schema_name=connection.schema_name, page_id=page.pk,
                revision_id=revision.pk, post_id=post.pk, post_number=number,
                channel_id=channel.pk, network=channel.network, channel_name=channel.name,
                campaign_title=page.title[:255], tags=tags, content=content, content_hash=digest,
                idempotency_key=idempotency_key(connection.schema_name, post.pk, channel.pk,
                                                revision.pk),
                publish_at=post.publish_at, approved_time=post.publish_at,
                next_attempt_at=post.publish_at)
            delivery.hold = next((h for h in holds if hold_matches(h, delivery)), None)
            late = post.publish_at < now - timedelta(seconds=config("LATE_GRACE_SECONDS"))
            created.append(transitions.create(delivery, revision_id=revision.pk, late=late,
                                              user=user))
    for pair, delivery in existing.items():
        if pair in wanted:
            continue
        transitions.cancel_or_withdraw(
            delivery, f"No longer in the campaign as approved in revision {revision.pk}.", user)
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
