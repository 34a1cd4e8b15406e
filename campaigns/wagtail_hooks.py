"""The brand's channels as Wagtail snippets."""

from wagtail.admin.panels import FieldPanel
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from campaigns.models import Channel


class ChannelViewSet(SnippetViewSet):
    model = Channel
    icon = "site"
    menu_label = "Channels"
    menu_order = 200
    add_to_admin_menu = True
    list_display = ["name", "network", "handle", "active"]
    list_filter = ["network", "active"]
    search_fields = ["name", "handle"]
    panels = [
        FieldPanel("name"),
        FieldPanel("network"),
        FieldPanel("handle"),
        FieldPanel("endpoint"),
        FieldPanel("secret"),  # write-only, from ChannelForm
        FieldPanel("active"),
    ]


register_snippet(ChannelViewSet)
