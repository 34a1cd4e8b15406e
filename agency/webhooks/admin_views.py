"""The brand's webhooks in its Wagtail admin (Settings → Webhooks): register an endpoint (its
signing secret is shown once), change or remove it, send a test event, read the delivery log
and replay a delivery. Account managers and agency admins."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from agency.forms import add_service_errors
from agency.webhooks import services
from agency.webhooks.models import DeliveryState, Event, WebhookDelivery, WebhookEndpoint
from tenants.models import current_zone

VIEW = "webhooks.view_webhookendpoint"
ADD = "webhooks.add_webhookendpoint"
CHANGE = "webhooks.change_webhookendpoint"
DELETE = "webhooks.delete_webhookendpoint"
VIEW_LOG = "webhooks.view_webhookdelivery"


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Address", max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/agency"}),
        help_text="Where events are POSTed: your receiver's public https:// address.")
    description = forms.CharField(max_length=200, required=False,
                                  help_text="What receives them, e.g. “CRM sync”.")
    events = forms.MultipleChoiceField(
        choices=Event.choices, widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint receives.")
    active = forms.BooleanField(required=False, initial=True, label="Switched on",
                                help_text="Switched off, it receives nothing.")


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def endpoints_view(request):
    _require(request, VIEW)
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-id")
    endpoints = WebhookEndpoint.objects.annotate(
        last_state=Subquery(latest.values("state")[:1]),
        last_at=Subquery(latest.values("created_at")[:1]))
    return render(request, "webhooks/endpoints.html", {
        "endpoints": endpoints, "zone": current_zone(), "labels": dict(Event.choices),
        "can_add": request.user.has_perm(ADD),
    })


def endpoint_add_view(request):
    _require(request, ADD)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = services.endpoint_create(
                url=data["url"], events=data["events"], description=data["description"],
                active=data["active"], user=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Rendered, not redirected: the secret must not travel in a URL or a session.
            return render(request, "webhooks/endpoint_created.html", {
                "endpoint": endpoint, "secret": secret})
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": None})


def endpoint_edit_view(request, endpoint_id: int):
    _require(request, VIEW)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description,
               "events": endpoint.events, "active": endpoint.active}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST":
        _require(request, CHANGE)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.endpoint_update(endpoint=endpoint, url=data["url"],
                                         events=data["events"],
                                         description=data["description"],
                                         active=data["active"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved “{endpoint}”.")
                return redirect("webhooks_endpoints")
    return render(request, "webhooks/endpoint_form.html", {
        "form": form, "endpoint": endpoint, "can_change": request.user.has_perm(CHANGE),
        "zone": current_zone(), "overlap_hours": f"{settings.WEBHOOKS_SECRET_OVERLAP_HOURS:g}",
        "previous_until": (
            endpoint.previous_secret_until
            if endpoint.previous_secret_until and endpoint.previous_secret_until > timezone.now()
            else None),
        "can_delete": request.user.has_perm(DELETE)})


def endpoint_delete_view(request, endpoint_id: int):
    _require(request, DELETE)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    if request.method == "POST":
        name = str(endpoint)
        services.endpoint_delete(endpoint=endpoint)
        messages.success(request, f"Removed “{name}” and its delivery log. It receives nothing "
                                  "more.")
        return redirect("webhooks_endpoints")
    return render(request, "webhooks/endpoint_delete.html", {
        "endpoint": endpoint, "deliveries": endpoint.deliveries.count()})


def deliveries_view(request, endpoint_id: int):
    _require(request, VIEW_LOG)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    deliveries = endpoint.deliveries.all()
    state = request.GET.get("state", "")
    if state in DeliveryState.values:
        deliveries = deliveries.filter(state=state)
    else:
        state = ""
    page = Paginator(deliveries.order_by("-id"), 50).get_page(request.GET.get("p"))
    return render(request, "webhooks/deliveries.html", {
        "endpoint": endpoint, "page_obj": page, "state": state,
        "states": [("", "All"), *DeliveryState.choices], "zone": current_zone(),
        "can_send": request.user.has_perm(CHANGE)})


def delivery_view(request, delivery_id: int):
    _require(request, VIEW_LOG)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"),
                                 pk=delivery_id)
    return render(request, "webhooks/delivery.html", {
        "delivery": delivery, "attempts": delivery.attempt_log.all(),
        "body": services.body_of(delivery.payload).decode(), "zone": current_zone(),
        "can_send": request.user.has_perm(CHANGE)})


@require_POST
def endpoint_test_view(request, endpoint_id: int):
    _require(request, CHANGE)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    services.endpoint_test(endpoint=endpoint, user=request.user)
    messages.success(request, "A test event is on its way. Its outcome shows here in a moment "
                              "(reload the page).")
    return redirect("webhooks_deliveries", endpoint.pk)


@require_POST
def endpoint_roll_secret_view(request, endpoint_id: int):
    _require(request, CHANGE)
    endpoint, secret = services.endpoint_roll_secret(
        endpoint=get_object_or_404(WebhookEndpoint, pk=endpoint_id))
    # Rendered, not redirected: the secret must not travel in a URL or a session.
    return render(request, "webhooks/endpoint_created.html", {
        "endpoint": endpoint, "secret": secret, "rolled": True, "zone": current_zone()})


@require_POST
def delivery_replay_view(request, delivery_id: int):
    _require(request, CHANGE)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"),
                                 pk=delivery_id)
    try:
        services.delivery_replay(delivery=delivery, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Sending {delivery.event} again, with the same event id "
                                  "and payload.")
    return redirect(reverse("webhooks_deliveries", args=[delivery.endpoint_id]))
