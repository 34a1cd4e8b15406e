"""The publishing queue and sandbox feeds in each brand's admin, and a dashboard panel."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from campaigns.models import Channel
from campaigns.publishing import views
from campaigns.publishing.panels import FailedPostsPanel


@hooks.register("register_admin_urls")
def publishing_urls():
    return [
        path("publishing/", views.queue_view, name="publishing_queue"),
        path("publishing/<int:delivery_id>/", views.delivery_view, name="publishing_delivery"),
        path("publishing/<int:delivery_id>/<slug:action>/", views.delivery_action_view,
             name="publishing_delivery_action"),
        path("publishing/sandbox/", views.sandbox_feeds_view, name="sandbox_feeds"),
        path("publishing/sandbox/<int:channel_id>/", views.sandbox_feed_view,
             name="sandbox_feed"),
    ]


@hooks.register("register_admin_menu_item")
def publishing_menu_item():
    return MenuItem("Publishing", reverse("publishing_queue"), icon_name="upload", order=160)


class SandboxFeedMenuItem(MenuItem):
    """In brands with a sandbox channel: what their sandbox channels published."""

    def is_shown(self, request):
        return Channel.objects.filter(network="sandbox").exists()


@hooks.register("register_admin_menu_item")
def sandbox_feed_menu_item():
    return SandboxFeedMenuItem("Sandbox feed", reverse("sandbox_feeds"), icon_name="site",
                               order=165)


@hooks.register("construct_homepage_panels")
def failed_panel(request, panels):
    panels.append(FailedPostsPanel())
