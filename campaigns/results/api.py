"""The brand's results through the API: each published delivery's latest counts (with its
readings over time), a campaign's totals per channel, a channel's totals over a period. Read
only; every read is in the brand's own schema."""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from agency.api.conventions import (
    ID,
    ApiViewSet,
    AwareDateTimeField,
    StrictOrdering,
    id_parameter,
    query_id,
    query_time,
)
from campaigns.models import CampaignPage, Channel
from campaigns.results import selectors
from campaigns.results.models import COUNT_FIELDS, MetricSnapshot, PostResult

COUNTS_HELP = ("Null: the network does not give this figure (Mastodon and Bluesky give no "
               "impressions).")


def _count() -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True, help_text=COUNTS_HELP)


class CountsData(serializers.Serializer):
    likes = _count()
    reposts = _count()
    replies = _count()
    quotes = _count()
    impressions = _count()
    views = _count()
    saves = _count()
    clicks = _count()
    interactions = serializers.IntegerField(
        help_text="Likes, reposts, replies, quotes, saves and clicks together.")


class PostResultData(CountsData):
    delivery_id = serializers.IntegerField()
    campaign_id = serializers.IntegerField(source="page_id")
    campaign_title = serializers.CharField()
    post_number = serializers.IntegerField()
    channel_id = serializers.IntegerField()
    channel_name = serializers.CharField()
    network = serializers.CharField()
    remote_url = serializers.CharField()
    published_at = AwareDateTimeField()
    collected_at = AwareDateTimeField(allow_null=True,
                                      help_text="When the counts were read (null: not yet).")
    next_collect_at = AwareDateTimeField(allow_null=True,
                                         help_text="When they are read next (null: no more).")
    gone = serializers.BooleanField(help_text="The network no longer has the post.")
    error = serializers.CharField(help_text="Why the last reading failed, if it did.")


class SnapshotData(CountsData):
    taken_at = AwareDateTimeField()


class TotalsData(CountsData):
    posts = serializers.IntegerField()
    engagement_rate = serializers.FloatField(
        allow_null=True, help_text="Interactions per 100 followers the channel had when its "
                                   "followers were last counted, over the posts counted "
                                   "(null: no follower count yet).")
    since = AwareDateTimeField(allow_null=True, help_text="When the first post counted went out.")
    as_of = AwareDateTimeField(allow_null=True, help_text="When counts were last read.")


class ChannelTotalsData(TotalsData):
    channel_id = serializers.IntegerField()
    channel_name = serializers.CharField()


class CampaignResultsData(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    totals = TotalsData()
    channels = ChannelTotalsData(many=True)


class ChannelResultsData(TotalsData):
    channel_id = serializers.IntegerField()
    channel_name = serializers.CharField()
    days = serializers.IntegerField()
    followers = serializers.IntegerField(allow_null=True,
                                         help_text="Followers when last counted.")


def _totals_dict(totals: selectors.Totals) -> dict:
    return {**{name: totals.counts.get(name) for name in COUNT_FIELDS},
            "interactions": totals.interactions, "posts": totals.posts,
            "engagement_rate": totals.engagement_rate, "since": totals.since,
            "as_of": totals.as_of}


class PostResultViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Each published delivery's latest counts, by delivery id."""

    serializer_class = PostResultData
    lookup_field = "delivery_id"
    lookup_url_kwarg = "pk"
    lookup_value_regex = ID
    filter_backends = [StrictOrdering]
    ordering_fields = ["published_at", "delivery_id"]
    ordering = "-published_at"

    def get_queryset(self):
        results = PostResult.objects.all()
        for name, column in (("campaign", "page_id"), ("channel", "channel_id")):
            value = query_id(self.request, name)
            if value is not None:
                results = results.filter(**{column: value})
        if after := query_time(self.request, "after"):
            results = results.filter(published_at__gte=after)
        if before := query_time(self.request, "before"):
            results = results.filter(published_at__lt=before)
        return results

    @extend_schema(parameters=[
        id_parameter("campaign", "Only this campaign's posts."),
        id_parameter("channel", "Only this channel's posts."),
        OpenApiParameter("after", OpenApiTypes.DATETIME, description="Went out at or after."),
        OpenApiParameter("before", OpenApiTypes.DATETIME, description="Went out before."),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=SnapshotData(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, pk=None):
        """Every reading of the delivery's counts, oldest first."""
        result = self.get_object()
        readings = MetricSnapshot.objects.filter(delivery_id=result.delivery_id).order_by(
            "taken_at")
        return Response(SnapshotData(readings, many=True).data)


class CampaignResultsViewSet(ApiViewSet):
    """A campaign's totals, and per channel."""

    lookup_value_regex = ID
    pagination_class = None
    filter_backends = []

    @extend_schema(responses=CampaignResultsData)
    def retrieve(self, request, pk=None):
        if not CampaignPage.objects.filter(pk=int(pk)).exists():
            raise Http404
        found = selectors.campaign_results(int(pk))
        return Response(CampaignResultsData({
            "campaign_id": int(pk), "totals": _totals_dict(found.totals),
            "channels": [{**_totals_dict(ch["totals"]), "channel_id": ch["channel_id"],
                          "channel_name": ch["name"]} for ch in found.channels],
        }).data)


class ChannelResultsViewSet(ApiViewSet):
    """A channel's totals over the last ``days`` days."""

    lookup_value_regex = ID
    pagination_class = None
    filter_backends = []

    @extend_schema(parameters=[OpenApiParameter(
        "days", {"type": "integer", "minimum": 1, "maximum": 366, "default": 30},
        description="The period: posts that went out in the last this many days.")],
        responses=ChannelResultsData)
    def retrieve(self, request, pk=None):
        channel = Channel.objects.filter(pk=int(pk)).first()
        if channel is None:
            raise Http404
        raw = request.query_params.get("days", "30")
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 366):
            raise serializers.ValidationError({"days": "Give a whole number of days from 1 to "
                                                       "366 (default 30)."})
        days = int(raw)
        results = list(PostResult.objects.filter(
            channel_id=channel.pk, published_at__gte=timezone.now() - timedelta(days=days)))
        followers = selectors.latest_followers([channel.pk])
        totals = selectors.totals_of(results, followers)
        return Response(ChannelResultsData({
            **_totals_dict(totals), "channel_id": channel.pk, "channel_name": channel.name,
            "days": days, "followers": followers.get(channel.pk)}).data)
