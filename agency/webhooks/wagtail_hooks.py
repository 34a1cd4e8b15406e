"""The brand's webhooks under Settings in its admin."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from agency.webhooks import admin_views as views


@hooks.register("register_admin_urls")
def webhook_urls():
    return [
        path("webhooks/", views.endpoints_view, name="webhooks_endpoints"),
        path("webhooks/add/", views.endpoint_add_view, name="webhooks_endpoint_add"),
        path("webhooks/<int:endpoint_id>/", views.endpoint_edit_view,
             name="webhooks_endpoint_edit"),
        path("webhooks/<int:endpoint_id>/delete/", views.endpoint_delete_view,
             name="webhooks_endpoint_delete"),
        path("webhooks/<int:endpoint_id>/deliveries/", views.deliveries_view,
             name="webhooks_deliveries"),
        path("webhooks/<int:endpoint_id>/test/", views.endpoint_test_view,
             name="webhooks_endpoint_test"),
        path("webhooks/<int:endpoint_id>/roll-secret/", views.endpoint_roll_secret_view,
             name="webhooks_endpoint_roll_secret"),
        path("webhooks/deliveries/<int:delivery_id>/", views.delivery_view,
             name="webhooks_delivery"),
        path("webhooks/deliveries/<int:delivery_id>/replay/", views.delivery_replay_view,
             name="webhooks_delivery_replay"),
    ]


class WebhooksMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(views.VIEW)


@hooks.register("register_settings_menu_item")
def webhooks_menu_item():
    return WebhooksMenuItem("Webhooks", reverse("webhooks_endpoints"), icon_name="link",
                            order=910)
