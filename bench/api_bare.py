"""The baseline of ``bench/api.py``: the brand's URL conf plus one bare DRF endpoint over the same
table as ``/api/v1/campaigns/`` (``CampaignPage``), selected by ``bench/api_settings.py`` only.

    GET  /bench-bare/campaigns/   a ListAPIView: ModelSerializer, CursorPagination (50, -id)
    POST /bench-bare/campaigns/   a CreateAPIView: the title only, put in the page tree

No authentication, no permission, no throttle, no idempotency, no revision: what listing and adding
this table costs through DRF and Wagtail alone, behind the same middleware, on the same server."""

from django.urls import path
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny

from agency import urls_tenant
from campaigns.models import CampaignIndexPage, CampaignPage

FIELDS = ["id", "title", "draft_title", "live", "has_unpublished_changes", "latest_revision",
          "latest_revision_created_at", "last_published_at"]


class BareCursor(CursorPagination):
    page_size = 50
    ordering = "-id"


class BareCampaign(serializers.ModelSerializer):
    class Meta:
        model = CampaignPage
        fields = FIELDS
        read_only_fields = [name for name in FIELDS if name != "title"]


class BareCampaigns(generics.ListCreateAPIView):
    serializer_class = BareCampaign
    pagination_class = BareCursor
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get_queryset(self):
        return CampaignPage.objects.only(*[f for f in FIELDS if f != "latest_revision"],
                                         "latest_revision_id")

    def perform_create(self, serializer):
        page = CampaignPage(title=serializer.validated_data["title"], live=False,
                            has_unpublished_changes=True)
        CampaignIndexPage.objects.get().add_child(instance=page)  # slug made by full_clean
        serializer.instance = page


urlpatterns = [
    path("bench-bare/campaigns/", BareCampaigns.as_view(), name="bench-bare-campaigns"),
    *urls_tenant.urlpatterns,
]
handler404 = urls_tenant.handler404
handler500 = urls_tenant.handler500
