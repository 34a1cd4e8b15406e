"""The brand's API keys under Settings in its admin."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from agency.api import admin_views


@hooks.register("register_admin_urls")
def api_key_urls():
    return [
        path("api-keys/", admin_views.api_keys_view, name="api_keys"),
        path("api-keys/<int:key_id>/revoke/", admin_views.api_key_revoke_view,
             name="api_key_revoke"),
    ]


class ApiKeysMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("api.view_apikey")


@hooks.register("register_settings_menu_item")
def api_keys_menu_item():
    return ApiKeysMenuItem("API keys", reverse("api_keys"), icon_name="key", order=900)
