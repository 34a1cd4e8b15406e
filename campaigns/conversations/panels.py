"""The inbox's counts on the brand's dashboard (admin home) and on the brand's card in the agency
portal."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.admin.ui.components import Component

from campaigns.conversations.models import ConversationSettings, Item, ItemState


def inbox_counts(user=None) -> dict:
    """Open items, new ones nobody has, escalations still open, those past the response
    target, and the user's own (one query)."""
    brand = ConversationSettings.load()
    open_items = ~Q(state=ItemState.DONE)
    overdue = Q(pk__in=[])
    if brand.response_target_hours:
        overdue = open_items & Q(responded_at__isnull=True, created_at__lt=timezone.now()
                                 - timedelta(hours=brand.response_target_hours))
    return Item.objects.aggregate(
        open=Count("pk", filter=open_items),
        new=Count("pk", filter=Q(state=ItemState.NEW)),
        escalated=Count("pk", filter=open_items & Q(pinned=True)),
        overdue=Count("pk", filter=overdue),
        mine=Count("pk", filter=open_items & Q(assignee=user)) if user else Count(
            "pk", filter=Q(pk__in=[])))


def client_inbox_counts(client) -> list[tuple[str, str, int]]:
    """The inbox on the brand's portal card, as (key, label, count): open conversations (new or
    assigned) and escalations still awaiting someone (pinned, not done). One query per brand,
    read by the indexes the inbox list uses."""
    with schema_context(client.schema_name):
        counts = Item.objects.aggregate(
            open=Count("pk", filter=Q(state__in=[ItemState.NEW, ItemState.ASSIGNED])),
            escalated=Count("pk", filter=Q(pinned=True) & ~Q(state=ItemState.DONE)))
    return [("inbox_open", "Open conversations", counts["open"]),
            ("inbox_escalated", "Escalations awaiting", counts["escalated"])]


class InboxPanel(Component):
    name = "inbox"
    order = 92
    template_name = "conversations/panel.html"

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context=None):
        return {"counts": inbox_counts(self.user)}
