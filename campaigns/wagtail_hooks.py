"""The brand's channels as Wagtail snippets."""

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel
from wagtail.admin.site_summary import PagesSummaryItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.pages import PageViewSet
from wagtail.admin.widgets import Button, HeaderButton
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet

from approvals import views as approvals_views
from campaigns import connect_views, governance, scheduling, sidebar, views, words
from campaigns.conversations import figures as inbox
from campaigns.models import CampaignIndexPage, CampaignPage, Channel
from campaigns.panels import NextPostsPanel, ReconnectPanel, SentBackPanel, SetupChecklistPanel


class ChannelIndexView(IndexView):
    """The channel list, with "Connect account" first for members who manage channels."""

    @property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if connect_views.may_manage_channels(self.request.user):
            buttons.insert(0, HeaderButton("Connect account", url=reverse("channel_connect"),
                                           icon_name="link"))
        return buttons


class ChannelViewSet(SnippetViewSet):
    model = Channel
    icon = "site"
    menu_label = "Channels"
    menu_order = 200
    add_to_admin_menu = True
    index_view_class = ChannelIndexView
    list_display = ["name", "network", "handle", "active",
                    Column("connection", label="Connection",
                           accessor=connect_views.connection_column)]
    list_filter = ["network", "active"]
    search_fields = ["name", "handle"]
    panels = [
        connect_views.ConnectionPanel(heading="Connection"),
        FieldPanel("name"),
        FieldPanel("network"),
        FieldPanel("handle"),
        FieldPanel("endpoint"),
        FieldPanel("secret"),  # write-only, from ChannelForm
        FieldPanel("active"),
        FieldPanel("posting_slots"),
        FieldPanel("network_settings", heading="Network settings"),  # from ChannelForm
    ]


register_snippet(ChannelViewSet)


@hooks.register("register_admin_urls")
def connect_urls():
    return [
        path("channels/connect/", connect_views.connect_start, name="channel_connect"),
        path("channels/connect/callback/", connect_views.connect_callback,
             name="channel_connect_callback"),
        path("channels/connect/pick/", connect_views.connect_pick, name="channel_connect_pick"),
        path("channels/<int:channel_id>/disconnect/", connect_views.channel_disconnect_view,
             name="channel_disconnect"),
    ]


class CampaignPageViewSet(PageViewSet):
    """Wagtail's page views for campaigns, with previews every member of the brand can open
    (campaigns.views: the editor's preview panel, a revision's preview), and the campaigns
    index's listing in campaign words (``words.CampaignListingView``)."""

    model = CampaignPage
    parent_models = (CampaignIndexPage,)  # exploring the campaigns index lists campaigns
    index_view_class = words.CampaignListingView
    filterset_class = words.CampaignFilterSet
    preview_on_edit_view_class = views.CampaignPreviewOnEdit
    revisions_view_class = views.CampaignRevisionPreview


@hooks.register("register_admin_viewset")
def campaign_page_viewset():
    return CampaignPageViewSet("campaign_pages")


@hooks.register("register_admin_urls")
def calendar_urls():
    return [
        path("calendar/", views.calendar_view, name="campaign_calendar"),
        path("calendar/move/<int:campaign_id>/<int:index>/", views.calendar_move,
             name="campaign_calendar_move"),
        path("calendar/feeds/", views.calendar_feed_create, name="campaign_calendar_feed_create"),
        path("campaigns/<int:campaign_id>/duplicate/", views.campaign_duplicate_view,
             name="campaign_duplicate"),
        path("campaigns/post-editor/", views.post_editor_view, name="campaign_post_editor"),
        path("campaigns/post-image/", views.post_image_upload_view,
             name="campaign_post_image_upload"),
        path("calendar/feeds/<int:feed_id>/revoke/", views.calendar_feed_revoke_view,
             name="campaign_calendar_feed_revoke"),
    ]


@hooks.register("register_admin_menu_item")
def calendar_menu_item():
    return MenuItem("Calendar", reverse("campaign_calendar"), icon_name="date", order=150)


@hooks.register("register_page_header_buttons")
def duplicate_button(page, user, view_name, next_url=None):
    if isinstance(page.specific_deferred, CampaignPage) or page.specific_class is CampaignPage:
        yield Button("Duplicate as draft", reverse("campaign_duplicate", args=[page.pk]),
                     icon_name="copy", priority=35)


@hooks.register("register_page_listing_more_buttons")
def duplicate_listing_button(page, user, next_url=None):
    """In the list of campaigns, a campaign's copy is "Duplicate as draft" (Wagtail's "Copy",
    which offers to publish the copy, is not there: ``words.campaign_row_actions``)."""
    if page.specific_class is CampaignPage and page.permissions_for_user(user).can_edit():
        yield Button("Duplicate as draft", reverse("campaign_duplicate", args=[page.pk]),
                     icon_name="copy", priority=20)


hooks.register("construct_page_listing_buttons", words.campaign_row_actions)


# The footer's main button is the person's next action on a campaign, in campaign words.
hooks.register("construct_page_action_menu", words.next_action_first)


@hooks.register("construct_homepage_panels")
def studio_panels(request, panels):
    panels.append(ReconnectPanel(request))
    panels.append(SetupChecklistPanel(request))
    panels.append(SentBackPanel(request.user))
    panels.append(NextPostsPanel())


# --- Scheduling: posting slots, CSV import, copy already scheduled ---------------------------

@hooks.register("register_admin_urls")
def scheduling_urls():
    return [
        path("campaigns/next-slot/", scheduling.next_slot_view, name="campaign_next_slot"),
        path("campaigns/import/", scheduling.import_view, name="campaign_import"),
        path("campaigns/import/template.csv", scheduling.import_template_view,
             name="campaign_import_template"),
    ]


class ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return scheduling.may_import(request.user)


@hooks.register("register_admin_menu_item")
def import_menu_item():
    return ImportMenuItem("Import posts", reverse("campaign_import"), icon_name="upload",
                          order=160)


@hooks.register("insert_editor_js")
def next_slot_js():
    return format_html('<script src="{}" data-next-slot-url="{}" defer></script>'
                       '<link rel="stylesheet" href="{}">',
                       static("campaigns/slots.js"), reverse("campaign_next_slot"),
                       static("campaigns/scheduling.css"))


@hooks.register("after_create_page")
@hooks.register("after_edit_page")
def copy_already_scheduled_warning(request, page):
    scheduling.warn_copy_already_scheduled(request, page)


# --- A campaign is published by its approval only, never directly ----------------------------

hooks.register("construct_page_action_menu", governance.drop_publish)
hooks.register("before_edit_page", governance.refuse_publish_on_edit)
hooks.register("before_create_page", governance.refuse_publish_on_create)
hooks.register("before_publish_page", governance.refuse_publish)
hooks.register("before_copy_page", governance.refuse_published_copy)
hooks.register("before_bulk_action", governance.refuse_bulk_publish)

# A review decision from the editor's footer is taken on the revision under review, never on a
# new one saved from the form first (which would start the review over).
hooks.register("before_edit_page", approvals_views.decide_from_editor)


# --- The studio's menu and dashboard in campaign words ----------------------------------------

# The sidebar's menu kept rendered per brand and account (campaigns/sidebar.py).
sidebar.install()

@hooks.register("construct_main_menu")
def pages_menu_is_campaigns(request, menu_items):
    for item in menu_items:
        if item.name == "explorer":
            item.label = "Campaigns"


@hooks.register("construct_homepage_summary_items")
def no_pages_count(request, summary_items):
    """Wagtail's "N Pages created" counts the campaigns index and home page too: not shown."""
    summary_items[:] = [item for item in summary_items if not isinstance(item, PagesSummaryItem)]


# --- The inbox's figures on the Results page (results and conversations do not know each other)


@hooks.register("results_brand_panels")
def inbox_figures_panel(request, *, since, now, channel_id, zone):
    found = inbox.inbox_figures(since=since, now=now, channel_id=channel_id)
    return render_to_string("results/_inbox_figures.html", {
        "inbox": found, "zone": zone, "channel_id": channel_id,
        "median": inbox.in_words(found.median), "p90": inbox.in_words(found.p90)},
        request=request)
