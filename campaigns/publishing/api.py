"""The brand's deliveries (one per approved post and channel) through the API: list by state
and time, cancel, retry. The same transitions as the admin's publishing queue (``transitions``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from agency.api.conventions import (
    ID,
    ApiViewSet,
    AwareDateTimeField,
    StrictOrdering,
    id_parameter,
    query_choice,
    query_id,
    query_time,
)
from agency.api.errors import Conflict
from campaigns.publishing import transitions
from campaigns.publishing.models import Delivery, State
from tenants.models import current_client


class DeliveryData(serializers.ModelSerializer):
    campaign_id = serializers.IntegerField(source="page_id")
    held = serializers.SerializerMethodField(help_text="Held by a crisis hold: it will not go "
                                                       "out until released.")
    text = serializers.SerializerMethodField()
    publish_at = AwareDateTimeField()
    published_at = AwareDateTimeField(allow_null=True)
    remote_url = serializers.SerializerMethodField(
        help_text="The published post's address (null until published).")

    class Meta:
        model = Delivery
        fields = ["id", "campaign_id", "campaign_title", "revision_id", "post_number",
                  "channel_id", "channel_name", "network", "state", "held", "publish_at",
                  "attempts", "remote_id", "remote_url", "published_at", "error", "text",
                  "idempotency_key"]

    def get_held(self, delivery) -> bool:
        return delivery.hold_id is not None and delivery.state == State.SCHEDULED

    def get_text(self, delivery) -> str:
        return (delivery.content or {}).get("text", "")

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_remote_url(self, delivery) -> str | None:
        url = delivery.remote_url
        request = self.context.get("request")
        # Sandbox posts of before were kept as a path on this host: a full address all the same.
        if url.startswith("/") and request is not None:
            return request.build_absolute_uri(url)
        return url or None


FILTERS = [
    OpenApiParameter("state", str, enum=State.values, description="Only deliveries in this "
                                                                  "state."),
    id_parameter("campaign", "Only this campaign's deliveries."),
    id_parameter("channel", "Only this channel's deliveries."),
    OpenApiParameter("after", OpenApiTypes.DATETIME, description="Due at or after this time."),
    OpenApiParameter("before", OpenApiTypes.DATETIME, description="Due before this time."),
]


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """What the publishing engine sends, per post and channel, and what came of it."""

    serializer_class = DeliveryData
    lookup_value_regex = ID
    filter_backends = [StrictOrdering]
    ordering_fields = ["publish_at", "id"]
    ordering = "publish_at"

    def get_queryset(self):
        deliveries = Delivery.objects.filter(client=current_client()).defer(
            "claim", "lease_until", "schema_name")
        if state := query_choice(self.request, "state", State.values):
            deliveries = deliveries.filter(state=state)
        for name, field in (("campaign", "page_id"), ("channel", "channel_id")):
            value = query_id(self.request, name)
            if value is not None:
                deliveries = deliveries.filter(**{field: value})
        if after := query_time(self.request, "after"):
            deliveries = deliveries.filter(publish_at__gte=after)
        if before := query_time(self.request, "before"):
            deliveries = deliveries.filter(publish_at__lt=before)
        return deliveries

    @extend_schema(parameters=FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _change(self, pk, change):
        if not self.request.user.has_perm("publishing.change_delivery"):
            raise PermissionDenied("Only account managers and agency admins change deliveries.")
        get_object_or_404(self.get_queryset(), pk=pk)
        try:
            delivery = change(int(pk), user=self.request.user)
        except ValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from None
        return Response(DeliveryData(delivery, context={"request": self.request}).data)

    @extend_schema(request=None, responses=DeliveryData)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a scheduled or failed delivery: it will not go out."""
        return self._change(pk, transitions.cancel)

    @extend_schema(request=None, responses=DeliveryData)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Send a failed delivery again now (same idempotency key), or ask the network again
        about one whose outcome is unknown."""
        return self._change(pk, transitions.retry)
