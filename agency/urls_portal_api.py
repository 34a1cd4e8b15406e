"""``/api/v1/`` on the agency portal's host: the agency's API (clients and their members), its
OpenAPI document and reference page. The brand API has its own at ``agency.urls_api``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from agency.api import views
from agency.portal.api import PORTAL_SCHEMA_SETTINGS, ClientViewSet, MembershipViewSet

router = SimpleRouter()
router.register("clients", ClientViewSet, basename="portal-api-client")
router.register(r"clients/(?P<slug>[a-z0-9-]{1,40})/memberships", MembershipViewSet,
                basename="portal-api-membership")

urlpatterns = [
    # The generator would otherwise read ROOT_URLCONF (the brands' URLs): describe this host's.
    path("schema/", SpectacularAPIView.as_view(urlconf="agency.urls_public",
                                               custom_settings=PORTAL_SCHEMA_SETTINGS),
         name="portal-api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="portal-api-schema"),
         name="portal-api-docs"),
    path("problems/<slug:code>", views.problem_type, name="portal-api-problem"),
    path("", include(router.urls)),
]
