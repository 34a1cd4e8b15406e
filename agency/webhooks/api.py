"""The brand's webhook endpoints and their delivery log through the API: register, change and
remove endpoints (the signing secret is shown once, in the answer to the POST), read what was
sent and what came back, replay a delivery, send a test event. The same services as the
admin's Settings → Webhooks."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from agency.api.auth import KeyScope
from agency.api.conventions import (
    ID,
    IF_MATCH,
    ApiViewSet,
    AwareDateTimeField,
    Boolean,
    Text,
    check_if_match,
    etag_of,
    query_choice,
    query_text,
    text_parameter,
)
from agency.api.errors import Conflict
from agency.webhooks import services
from agency.webhooks.models import (
    DeliveryState,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


@extend_schema_field({"type": "string", "format": "uri", "pattern": "^https://",
                      "maxLength": 500})
class EndpointUrl(Text):
    """An endpoint's address (``outbound.check`` says the rest when it is registered)."""


class WebhookEndpointData(serializers.ModelSerializer):
    url = EndpointUrl(
        max_length=500, help_text="Where events are POSTed: a public https:// address whose "
                                  "name resolves to public internet addresses (checked when "
                                  "registered, else 400).")
    description = Text(max_length=200, allow_blank=True, required=False,
                       help_text="What receives them, e.g. “CRM sync”.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), min_length=1,
        max_length=len(Event.values), help_text="The events to receive.")
    active = Boolean(required=False, help_text="Switched off, it receives nothing (default: "
                                               "on).")
    secret_hint = serializers.CharField(read_only=True, help_text="The signing secret's last "
                                                                  "characters.")
    previous_secret_until = AwareDateTimeField(
        read_only=True, allow_null=True,
        help_text="After the secret was rolled: until when the previous secret still signs "
                  "each request beside the new one.")
    switched_off_at = AwareDateTimeField(
        read_only=True, allow_null=True,
        help_text="When we switched it off because every delivery failed for days (null "
                  "otherwise). Switch it on again with active: true once the receiver works.")
    switched_off_reason = serializers.CharField(read_only=True)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True,
                                          allow_null=True, help_text="The person's user id.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "active", "switched_off_at",
                  "switched_off_reason", "secret_hint", "previous_secret_until", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class WebhookEndpointCreated(WebhookEndpointData):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_…), shown in this answer only: "
                                  "store it now. Check each request's webhook-signature with "
                                  "it (Standard Webhooks).")

    class Meta(WebhookEndpointData.Meta):
        fields = [*WebhookEndpointData.Meta.fields, "secret"]


class WebhookAttemptData(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "status_code", "error", "duration_ms"]


class WebhookDeliveryData(serializers.ModelSerializer):
    endpoint_id = serializers.IntegerField(read_only=True)
    replay_of = serializers.IntegerField(source="replay_of_id", read_only=True, allow_null=True)
    history = WebhookAttemptData(source="attempt_log", many=True, read_only=True,
                          help_text="Every attempt, first to last.")
    payload = serializers.JSONField(read_only=True, help_text="The event exactly as sent.")
    next_attempt_at = AwareDateTimeField(read_only=True, allow_null=True,
                                         help_text="While pending: when it is tried next.")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint_id", "event", "event_id", "state", "attempts",
                  "next_attempt_at", "last_status_code", "last_error", "duration_ms",
                  "created_at", "delivered_at", "replay_of", "payload", "history"]


VIEW = "webhooks.view_webhookendpoint"
CHANGE = "webhooks.change_webhookendpoint"
VIEW_LOG = "webhooks.view_webhookdelivery"


class ManagesWebhooks(BasePermission):
    """What each action needs of the key's person, on top of the key's scope: the view's
    ``needs`` by action (reading endpoint URLs too, as they are the brand's integrations)."""

    message = ("Only account managers and agency admins manage webhooks: use a key created by "
               "one of them.")

    def has_permission(self, request, view):
        needed = view.needs.get(getattr(view, "action", None) or "", VIEW)
        return request.user.has_perm(needed)


def _deliveries_filtered(request, deliveries):
    if state := query_choice(request, "state", DeliveryState.values):
        deliveries = deliveries.filter(state=state)
    if event := query_text(request, "event", max_length=64):
        deliveries = deliveries.filter(event=event)
    return deliveries


DELIVERY_FILTERS = [
    OpenApiParameter("state", str, enum=DeliveryState.values,
                     description="Only deliveries in this state."),
    text_parameter("event", "Only this event, e.g. campaign.approved.", max_length=64),
]


def _deliveries():
    return WebhookDelivery.objects.prefetch_related("attempt_log")


def _conflict(exc: ValidationError) -> Conflict:
    return Conflict(" ".join(exc.messages))


class WebhookEndpointViewSet(mixins.ListModelMixin, ApiViewSet):
    """The brand's webhook endpoints. Each request to an endpoint is signed as the Standard
    Webhooks specification has it (webhook-id, webhook-timestamp, webhook-signature)."""

    serializer_class = WebhookEndpointData
    permission_classes = [KeyScope, ManagesWebhooks]
    needs = {"list": VIEW, "retrieve": VIEW, "create": "webhooks.add_webhookendpoint",
             "partial_update": CHANGE, "destroy": "webhooks.delete_webhookendpoint",
             "deliveries": VIEW_LOG, "test": CHANGE, "roll_secret": CHANGE}
    lookup_value_regex = ID
    ordering = "-id"

    def get_queryset(self):
        return WebhookEndpoint.objects.all()

    def _answer(self, endpoint, status_code=status.HTTP_200_OK, serializer=WebhookEndpointData,
                secret=None, headers=None):
        if secret is not None:
            endpoint.secret = secret  # read by WebhookEndpointCreated: in this answer only
        return Response(serializer(endpoint).data, status=status_code,
                        headers={"ETag": etag_of(endpoint.pk, endpoint.updated_at),
                                 **(headers or {})})

    @extend_schema(responses=WebhookEndpointData)
    def retrieve(self, request, pk=None):
        return self._answer(get_object_or_404(self.get_queryset(), pk=pk))

    @extend_schema(request=WebhookEndpointData, responses={201: WebhookEndpointCreated})
    def create(self, request):
        """Register an endpoint. The answer carries its signing secret, this once."""
        serializer = WebhookEndpointData(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = services.endpoint_create(
            url=data["url"], events=data["events"], description=data.get("description", ""),
            active=data.get("active", True), user=request.user)
        return self._answer(endpoint, status.HTTP_201_CREATED, WebhookEndpointCreated, secret,
                            {"Location": f"/api/v1/webhooks/{endpoint.pk}/"})

    @extend_schema(request=WebhookEndpointData, responses=WebhookEndpointData,
                   parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        """Change the address, events, description or switch it on or off (the secret
        stays)."""
        endpoint = get_object_or_404(self.get_queryset(), pk=pk)
        # The request itself first (400), then whether it applies to the current version.
        serializer = WebhookEndpointData(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        check_if_match(request, etag_of(endpoint.pk, endpoint.updated_at))
        data = serializer.validated_data
        services.endpoint_update(endpoint=endpoint, url=data.get("url"),
                                 events=data.get("events"),
                                 description=data.get("description"), active=data.get("active"))
        return self._answer(endpoint)

    @extend_schema(request=None, responses=WebhookEndpointCreated)
    @action(detail=True, methods=["post"], url_path="roll-secret")
    def roll_secret(self, request, pk=None):
        """Replace the signing secret. The answer carries the new one, this once; the old one
        keeps signing beside it (a second v1 signature) until ``previous_secret_until``."""
        endpoint, secret = services.endpoint_roll_secret(
            endpoint=get_object_or_404(self.get_queryset(), pk=pk))
        return self._answer(endpoint, serializer=WebhookEndpointCreated, secret=secret)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None):
        """Remove the endpoint and its delivery log."""
        services.endpoint_delete(endpoint=get_object_or_404(self.get_queryset(), pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=DELIVERY_FILTERS, responses=WebhookDeliveryData(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """What was sent to this endpoint and what came back, newest first."""
        endpoint = get_object_or_404(self.get_queryset(), pk=pk)
        deliveries = _deliveries_filtered(request, _deliveries().filter(endpoint=endpoint))
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliveryData(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliveryData})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a webhook.test event to this endpoint now (switched on or not)."""
        endpoint = get_object_or_404(self.get_queryset(), pk=pk)
        delivery = services.endpoint_test(endpoint=endpoint, user=request.user)
        return Response(WebhookDeliveryData(delivery).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/webhook-deliveries/{delivery.pk}/"})


class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Every delivery of every endpoint of the brand, newest first."""

    serializer_class = WebhookDeliveryData
    permission_classes = [KeyScope, ManagesWebhooks]
    needs = {"list": VIEW_LOG, "retrieve": VIEW_LOG, "replay": CHANGE}
    lookup_value_regex = ID
    ordering = "-id"

    def get_queryset(self):
        deliveries = _deliveries()
        if self.action == "list":
            deliveries = _deliveries_filtered(self.request, deliveries)
        return deliveries

    @extend_schema(parameters=DELIVERY_FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={202: WebhookDeliveryData})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send a delivered or failed event again: the same event id (webhook-id) and payload,
        as a new delivery in the log."""
        delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
        try:
            replay = services.delivery_replay(delivery=delivery, user=request.user)
        except ValidationError as exc:
            raise _conflict(exc) from None
        return Response(WebhookDeliveryData(replay).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/webhook-deliveries/{replay.pk}/"})
