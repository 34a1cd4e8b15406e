"""``/api/v1/`` on a brand's host: one router over each app's API views, the OpenAPI schema and
its reference page."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from agency.api import views
from agency.webhooks.api import WebhookDeliveryViewSet, WebhookEndpointViewSet
from approvals.api import AuditViewSet, LintViewSet, ReviewLinkViewSet
from campaigns.api import (
    CalendarViewSet,
    CampaignViewSet,
    ChannelViewSet,
    MediaViewSet,
    VideoViewSet,
)
from campaigns.conversations.api import ConversationViewSet
from campaigns.publishing.api import DeliveryViewSet
from campaigns.results.api import (
    CampaignResultsViewSet,
    ChannelResultsViewSet,
    PostResultViewSet,
)

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="api-campaign")
router.register(r"campaigns/(?P<campaign_pk>[0-9]{1,9})/audit", AuditViewSet,
                basename="api-campaign-audit")
router.register("channels", ChannelViewSet, basename="api-channel")
router.register("media", MediaViewSet, basename="api-media")
router.register("videos", VideoViewSet, basename="api-video")
router.register("calendar", CalendarViewSet, basename="api-calendar")
router.register("lint", LintViewSet, basename="api-lint")
router.register("review-links", ReviewLinkViewSet, basename="api-review-link")
router.register("deliveries", DeliveryViewSet, basename="api-delivery")
router.register("results/campaigns", CampaignResultsViewSet, basename="api-result-campaign")
router.register("results/channels", ChannelResultsViewSet, basename="api-result-channel")
router.register("results", PostResultViewSet, basename="api-result")
router.register("conversations", ConversationViewSet, basename="api-conversation")
router.register("webhooks", WebhookEndpointViewSet, basename="api-webhook")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="api-webhook-delivery")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("problems/<slug:code>", views.problem_type, name="api-problem"),
    path("", include(router.urls)),
]
