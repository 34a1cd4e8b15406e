from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from wagtail import hooks

from tenants import branding


@hooks.register("construct_settings_menu")
def hide_portal_only_screens(request, menu_items):
    """Wagtail's Users and Groups screens answer 404 in a brand (tenants.scoping.PORTAL_ONLY_ADMIN):
    no menu item leads there."""
    menu_items[:] = [item for item in menu_items if item.name not in {"users", "groups"}]


@hooks.register("register_admin_urls")
def branding_urls():
    return [
        path("brand/colours.css", branding.brand_colours_css, name="brand_colours_css"),
        path("brand/logo/", branding.brand_logo, name="brand_logo"),
    ]


@hooks.register("insert_global_admin_css")
def branding_css():
    """The brand's colour (its own style sheet, named by the colour so a new one is fetched)
    and the rules that use it."""
    client = branding.brand_of_request()
    if client is None:
        return ""
    colour = branding.safe_colour(client.brand_colour).lstrip("#")
    return format_html('<link rel="stylesheet" href="{}?v={}">\n'
                       '<link rel="stylesheet" href="{}">',
                       reverse("brand_colours_css"), colour, static("tenants/brand.css"))
