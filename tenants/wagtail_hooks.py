from wagtail import hooks


@hooks.register("construct_settings_menu")
def hide_portal_only_screens(request, menu_items):
    """Wagtail's Users and Groups screens answer 404 in a brand (tenants.scoping.PORTAL_ONLY_ADMIN):
    no menu item leads there."""
    menu_items[:] = [item for item in menu_items if item.name not in {"users", "groups"}]
