"""What happens to a campaign, for the parts built on it to act on.

``campaign_approved`` is sent inside the approval's transaction once a campaign's revision is
approved and published (``approvals.workflows.approve_revision``); publishing builds the outbox
from it (``campaigns.publishing.signals``), so approvals need not know publishing exists.
Arguments: ``page`` (the specific page as just published), ``revision``, ``user`` (who gave the
last approval, or None)."""

from django.dispatch import Signal

campaign_approved = Signal()
