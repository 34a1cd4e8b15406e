"""What the inbox announces (the ``conversation.*`` webhook events listen): a new item taken in,
an item escalated (someone may be at risk), an item's response target missed (once)."""

from django.dispatch import Signal

item_created = Signal()  # item
item_escalated = Signal()  # item, reason
target_missed = Signal()  # item, hours
