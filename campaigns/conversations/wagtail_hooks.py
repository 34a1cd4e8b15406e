"""The inbox in each brand's admin: the "Inbox" menu item and its URLs."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from campaigns.conversations import views
from campaigns.conversations.panels import InboxPanel


@hooks.register("register_admin_urls")
def conversations_urls():
    return [
        path("inbox/", views.inbox_view, name="conversations_inbox"),
        path("inbox/<int:item_id>/", views.item_view, name="conversations_item"),
        path("inbox/<int:item_id>/change/", views.item_change_view,
             name="conversations_item_change"),
        path("inbox/<int:item_id>/reply/", views.item_reply_view,
             name="conversations_item_reply"),
        path("inbox/<int:item_id>/replies/<int:reply_id>/review/", views.reply_review_view,
             name="conversations_reply_review"),
        path("inbox/<int:item_id>/share/", views.share_view, name="conversations_share"),
    ]


@hooks.register("register_admin_menu_item")
def inbox_menu_item():
    return MenuItem("Inbox", reverse("conversations_inbox"), icon_name="mail", order=160)


@hooks.register("construct_homepage_panels")
def inbox_panel(request, panels):
    panels.append(InboxPanel(request.user))
