"""The brand's publishing queue and sandbox feeds in its Wagtail admin.

Every read filters the public outbox by the brand whose host this is, so a delivery id from
another brand is a 404 here."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from campaigns.models import Channel, SandboxPost
from campaigns.publishing import transitions
from campaigns.publishing.models import Delivery, Pause, State
from tenants.models import current_client, current_zone

FILTER_STATES = [("", "All"), *State.choices, ("held", "Held")]


def _queue(request):
    client = current_client()
    deliveries = Delivery.objects.filter(client=client).select_related("hold")
    state = request.GET.get("state", "")
    if state == "held":
        deliveries = deliveries.filter(hold__isnull=False, state=State.SCHEDULED)
    elif state in State.values:
        deliveries = deliveries.filter(state=state)
    if request.GET.get("campaign", "").isdigit():
        deliveries = deliveries.filter(page_id=int(request.GET["campaign"]))
    return client, deliveries, state


def queue_view(request):
    client, deliveries, state = _queue(request)
    order = "publish_at" if state in ("", State.SCHEDULED, "held") else "-publish_at"
    page = Paginator(deliveries.order_by(order, "id"), 50).get_page(request.GET.get("p"))
    counts = dict(_count_by_state(client))
    tabs = [(value, label, counts.get(value, 0) if value in counts or value in State.values
             else None) for value, label in FILTER_STATES]
    return render(request, "publishing/queue.html", {
        "page_obj": page, "state": state, "tabs": tabs,
        "zone": current_zone(), "can_change": request.user.has_perm("publishing.change_delivery"),
        "paused": Pause.objects.filter(client=client, channel_id__isnull=True).exists(),
    })


def _count_by_state(client):
    from django.db.models import Count

    return (Delivery.objects.filter(client=client).values_list("state")
            .annotate(n=Count("id")).order_by())


def delivery_view(request, delivery_id: int):
    delivery = get_object_or_404(Delivery, client=current_client(), pk=delivery_id)
    return render(request, "publishing/delivery.html", {
        "delivery": delivery, "events": delivery.events.select_related("actor"),
        "zone": current_zone(),
        "can_change": request.user.has_perm("publishing.change_delivery"),
        "may_move": transitions.staff_may_move_approved_posts(),
    })


@require_POST
def delivery_action_view(request, delivery_id: int, action: str):
    if not request.user.has_perm("publishing.change_delivery"):
        raise PermissionDenied
    get_object_or_404(Delivery, client=current_client(), pk=delivery_id)
    try:
        if action == "retry":
            transitions.retry(delivery_id, request.user)
            messages.success(request, "It will be sent (or checked with the network) now.")
        elif action == "cancel":
            transitions.cancel(delivery_id, request.user)
            messages.success(request, "Cancelled: this post will not go out.")
        elif action == "confirm":
            transitions.confirm(delivery_id, request.POST.get("url", "").strip(),
                                request.user)
            messages.success(request, "Recorded as published.")
        elif action == "not-sent":
            transitions.mark_not_sent(delivery_id, request.user)
            messages.success(request, "Marked as not sent. “Retry now” sends it.")
        elif action == "reschedule":
            transitions.reschedule(delivery_id,
                                   _parse_local(request.POST.get("publish_at", "")),
                                   request.user)
            messages.success(request, "Moved.")
        else:
            raise ValidationError("Unknown action.")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(reverse("publishing_delivery", args=[delivery_id]))


def _parse_local(value: str) -> dt.datetime:
    """A time typed in the brand's zone. A time the clocks skip, or one they pass twice, is
    refused with what to do, as the campaign editor does."""
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("Give the new time as date and time, e.g. 2026-12-01 09:30.") \
            from None
    if naive.tzinfo is not None:
        return naive
    zone = current_zone()
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        if back != naive:
            raise ValidationError(f"{naive:%H:%M} does not exist on {naive:%d %B} in {zone} "
                                  "(the clocks go forward): pick another time.")
        raise ValidationError(f"{naive:%H:%M} happens twice on {naive:%d %B} in {zone} (the "
                              "clocks go back): pick a time outside that hour.")
    return first


def sandbox_feed_view(request, channel_id: int):
    channel = get_object_or_404(Channel, pk=channel_id, network="sandbox")
    posts = Paginator(SandboxPost.objects.filter(channel=channel), 30).get_page(
        request.GET.get("p"))
    return render(request, "publishing/sandbox_feed.html", {"channel": channel, "page_obj": posts,
                                                            "zone": current_zone()})


def sandbox_feeds_view(request):
    """The menu's "Sandbox feed": the one sandbox channel's feed, or a list when there are more."""
    channels = list(Channel.objects.filter(network="sandbox").order_by("name"))
    if len(channels) == 1:
        return redirect("sandbox_feed", channels[0].pk)
    return render(request, "publishing/sandbox_feeds.html", {"channels": channels})
