"""Dashboard: posts that did not go out (failed) or whose outcome is not confirmed."""

from wagtail.admin.ui.components import Component

from campaigns.publishing.models import Delivery, State
from tenants.models import current_client, current_zone


class FailedPostsPanel(Component):
    name = "failed_posts"
    order = 80
    template_name = "publishing/panels/failed.html"

    def get_context_data(self, parent_context=None):
        items = list(Delivery.objects.filter(
            client=current_client(), state__in=[State.FAILED, State.UNCONFIRMED])
            .order_by("-publish_at")[:20])
        return {"items": items, "zone": current_zone()}
