"""The brand's conversations, in its own schema: what people said under its posts (``Item``),
staff's notes on them, every moderation action (automatic or not, undoable), the replies sent as
the brand (``Reply``, exactly once: a key stored before sending), where each channel's polling
stands (``PollCursor``) and the brand's settings (``ConversationSettings``).

The outbox (``publishing.Delivery``) is a public table: an item names the delivery it answers by
id (no foreign key across schemas), as results do.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q
from django.utils import timezone
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from campaigns.conversations.moderation import ACTIONS, CATEGORIES

# What a brand may name for a second approval: the classifier's categories and actions.
APPROVAL_TOPICS = (*CATEGORIES, *ACTIONS)


class ItemState(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    WAITING = "waiting", "Waiting"
    DONE = "done", "Done"


class Kind(models.TextChoices):
    REPLY = "reply", "Reply"
    MENTION = "mention", "Mention"
    QUOTE = "quote", "Quote"


class Item(models.Model):
    """One reply, mention or quote on one of the brand's channels."""

    channel = models.ForeignKey("campaigns.Channel", on_delete=models.CASCADE,
                                related_name="conversation_items")
    network = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REPLY)
    remote_id = models.CharField(max_length=300, help_text="The network's id (Mastodon status "
                                                           "id, Bluesky at:// URI).")
    remote_cid = models.CharField(max_length=120, blank=True, help_text="Bluesky: its CID.")
    remote_url = models.URLField(max_length=500, blank=True)
    notification_id = models.CharField(max_length=300, blank=True)
    in_reply_to = models.CharField(max_length=300, blank=True,
                                   help_text="The remote id of what it answers.")
    thread_root = models.CharField(max_length=300, blank=True,
                                   help_text="The remote id of the thread's first post.")
    thread_root_cid = models.CharField(max_length=120, blank=True)
    delivery_id = models.BigIntegerField(null=True, blank=True,
                                         help_text="The brand's post (outbox delivery) it "
                                                   "answers, if any.")
    page_id = models.IntegerField(null=True, blank=True, help_text="The campaign.")
    campaign_title = models.CharField(max_length=255, blank=True)
    author_id = models.CharField(max_length=200, blank=True,
                                 help_text="Mastodon account id, Bluesky DID.")
    author_handle = models.CharField(max_length=300)
    author_name = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    has_media = models.BooleanField(default=False)
    media = models.JSONField(default=list, blank=True,
                             help_text="The photos and videos it carries, as the network "
                                       "gives them: [{\"url\": ..., \"kind\": \"image\" or "
                                       "\"video\", \"alt\": ...}].")
    created_at = models.DateTimeField(help_text="When the author posted it.")
    received_at = models.DateTimeField(default=timezone.now)

    state = models.CharField(max_length=16, choices=ItemState.choices, default=ItemState.NEW)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    pinned = models.BooleanField(default=False)
    responded_at = models.DateTimeField(null=True, blank=True)
    target_missed_at = models.DateTimeField(null=True, blank=True,
                                            help_text="When the team was told the response "
                                                      "target was missed (once).")

    action = models.CharField(max_length=16, default="none",
                              help_text="The classifier's: hide, escalate, reply or none.")
    categories = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    reason = models.TextField(blank=True)
    urgent = models.BooleanField(default=True, help_text="An escalation the on-call people are "
                                                         "emailed about; a quiet one (the model "
                                                         "alone, not sure) is pinned only.")
    hidden = models.BooleanField(default=False, help_text="Hidden on the network.")
    hidden_by_us = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False, help_text="Needs staff: the network cannot "
                                                           "hide it.")

    class Meta:
        ordering = ["-pinned", "-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "remote_id"],
                                               name="conversation_item_once")]
        indexes = [
            # The inbox list: pinned first, newest first, keyset paged; and per state.
            models.Index(fields=["-pinned", "-created_at", "-id"], name="item_inbox"),
            models.Index(fields=["state", "-pinned", "-created_at", "-id"],
                         name="item_inbox_state"),
            models.Index(fields=["thread_root"], name="item_thread"),
        ]

    def __str__(self) -> str:
        return f"{self.author_handle}: {self.text[:60]}"

    @property
    def media_links(self) -> list[dict]:
        """Its photos and videos with a web address (http or https only)."""
        return [m for m in self.media or [] if isinstance(m, dict)
                and str(m.get("url", "")).lower().startswith(("https://", "http://"))]

    def due_at(self, target_hours: int):
        return self.created_at + timedelta(hours=target_hours) if target_hours else None


class Note(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class What(models.TextChoices):
    HIDE = "hide", "Hidden on the network"
    FLAG = "flag", "Flagged for staff (the network cannot hide it)"
    PIN = "pin", "Pinned: a person may be at risk"
    NOTIFY = "notify", "On-call people emailed"
    MUTE = "mute", "Author muted"
    BLOCK = "block", "Author blocked"


class ModerationAction(models.Model):
    """An action on an item: what, why, by whom (empty: automatic), and its undoing."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="actions")
    what = models.CharField(max_length=16, choices=What.choices)
    reason = models.TextField(blank=True)
    automatic = models.BooleanField(default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    @property
    def undoable(self) -> bool:
        return self.undone_at is None and self.what in (What.HIDE, What.FLAG, What.MUTE,
                                                        What.BLOCK)


class ReplyState(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting second approval"
    RETURNED = "returned", "Returned to the writer"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    UNCONFIRMED = "unconfirmed", "Sent? Checking with the network"
    FAILED = "failed", "Failed"


class Reply(models.Model):
    """A reply as the brand. The row (and its key) is committed before the network call; a
    repeat of the key finds the row, and a resend uses the same key, which the network drops
    (Mastodon: Idempotency-Key; Bluesky: the record key derived from the row).

    A reply on one of the brand's second-approval topics waits (``awaiting_approval``, with
    ``approval_reason``) until another member approves it (then it is sent) or returns it with
    a note (``returned``: never sent)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="replies")
    text = models.TextField()
    idempotency_key = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=20, choices=ReplyState.choices,
                             default=ReplyState.SENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    remote_id = models.CharField(max_length=300, blank=True)
    remote_url = models.URLField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    approval_reason = models.TextField(blank=True, help_text="Why it needs a second person's "
                                                             "approval (empty: it does not).")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    help_text="Who approved or returned it.")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, help_text="Why it was returned.")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state"], name="reply_open",
                                condition=Q(state__in=["sending", "unconfirmed"])),
                   models.Index(fields=["item"], name="reply_awaiting",
                                condition=Q(state="awaiting_approval")),
                   models.Index(fields=["remote_id"], name="reply_remote",
                                condition=~Q(remote_id=""))]


class ShareStatus(models.TextChoices):
    ASKED = "asked", "Asked"
    GRANTED = "granted", "Granted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ShareRequest(models.Model):
    """Asking an author's permission to share their photo or video: the asking reply (sent
    through the normal reply path), who asked and when, the author's answer (recorded by staff,
    or recognised from the author's reply carrying ``keyword``), and the draft campaign that
    credits them once granted (``page_id``)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="share_requests")
    reply = models.OneToOneField(Reply, on_delete=models.PROTECT, related_name="share_request",
                                 help_text="The reply that asked.")
    status = models.CharField(max_length=16, choices=ShareStatus.choices,
                              default=ShareStatus.ASKED)
    keyword = models.CharField(max_length=40, blank=True,
                               help_text="The word the author answers with to agree (from "
                                         "the saved reply, e.g. #yes).")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="+")
    asked_at = models.DateTimeField(default=timezone.now)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    help_text="Who recorded the answer (empty: recognised "
                                              "from the author's reply).")
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", help_text="The author's reply that "
                                                                "said yes, if recognised.")
    page_id = models.IntegerField(null=True, blank=True,
                                  help_text="The draft campaign crediting the author.")
    draft_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    draft_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]
        constraints = [
            # One open request an item: asked again only once declined or withdrawn.
            models.UniqueConstraint(fields=["item"], name="share_request_open",
                                    condition=Q(status__in=["asked", "granted"])),
            # One draft per permission (two clicks start one campaign).
            models.UniqueConstraint(fields=["page_id"], name="share_request_draft_once",
                                    condition=Q(page_id__isnull=False)),
        ]

    @property
    def open(self) -> bool:
        return self.status in (ShareStatus.ASKED, ShareStatus.GRANTED)


class PollCursor(models.Model):
    """Where polling a channel's notifications stands, and whether it waits (rate limit)."""

    channel = models.OneToOneField("campaigns.Channel", on_delete=models.CASCADE,
                                   related_name="conversation_cursor")
    cursor = models.CharField(max_length=300, blank=True,
                              help_text="Mastodon: the newest notification id taken; Bluesky: "
                                        "the newest indexedAt taken.")
    polled_at = models.DateTimeField(null=True, blank=True)
    deferred_until = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)


def _emails(value: str) -> list[str]:
    return [line.strip() for line in (value or "").replace(",", "\n").splitlines()
            if line.strip()]


@register_setting(icon="mail")
class ConversationSettings(BaseGenericSetting):
    """The brand's inbox: who is on call for people at risk, what they are told, and how fast
    people should be answered."""

    on_call_emails = models.TextField(
        blank=True, help_text="Emailed at once when someone in a thread may be at risk. One "
                              "address a line.")
    guidance = models.TextField(
        blank=True, help_text="The brand's guidance and help lines, sent to the on-call people "
                              "and shown on the reply screen of an escalated item.")
    response_target_hours = models.PositiveIntegerField(
        default=4, help_text="People should get an answer within this many hours (0: no "
                             "target).")
    saved_replies = models.TextField(
        blank=True, help_text="Replies the team uses often, offered on every item's reply "
                              "form: one a paragraph (a blank line between them), its name "
                              "first and a colon, e.g. “Ask to share: We love your photo! May "
                              "we share it on our page, crediting you?”.")
    hide_words = models.TextField(
        blank=True, help_text="The brand's own words that hide a reply (one a line).")
    escalate_words = models.TextField(
        blank=True, help_text="The brand's own words that mean someone may be at risk, e.g. a "
                              "product's known hazard (one a line).")
    fine_words = models.TextField(
        blank=True, help_text="Words that are fine in this brand's threads, e.g. a product "
                              "called “Killer Bean” (one a line).")
    trusted_authors = models.TextField(
        blank=True, help_text="Handles never hidden automatically (the brand's own people, "
                              "partners), e.g. @ada@mastodon.social or @ada.bsky.social; one "
                              "a line.")
    second_approval_words = models.TextField(
        blank=True, help_text="Replies on these topics go out only once a second member "
                              "approves them: words or phrases (one a line), found in the "
                              "reply or in what it answers, e.g. refund, lawsuit, recall.")
    second_approval_categories = models.TextField(
        blank=True, help_text="The same for what the classifier found in the item: categories "
                              "or actions, one a line, e.g. complaint, product_injury, "
                              "escalate.")

    class Meta:
        verbose_name = "inbox"

    def clean(self):
        bad = []
        for address in _emails(self.on_call_emails):
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError({"on_call_emails": "Not an email address: " + ", ".join(bad)
                                   + ". Write one address a line."})
        unknown = [c for c in self.approval_categories if c not in APPROVAL_TOPICS]
        if unknown:
            raise ValidationError({"second_approval_categories": (
                "Not a category or action of the classifier: " + ", ".join(unknown)
                + ". Use one a line of: " + ", ".join(APPROVAL_TOPICS) + ".")})

    @property
    def approval_words(self) -> list[str]:
        return [w.strip() for w in self.second_approval_words.splitlines() if w.strip()]

    @property
    def approval_categories(self) -> list[str]:
        return [c.strip().lower() for c in self.second_approval_categories.replace(",", "\n")
                .splitlines() if c.strip()]

    @property
    def on_call(self) -> list[str]:
        return _emails(self.on_call_emails)

    @property
    def saved(self) -> list[tuple[str, str]]:
        """The saved replies as (name, text)."""
        found = []
        for block in re.split(r"\n\s*\n", (self.saved_replies or "").strip()):
            name, colon, text = block.strip().partition(":")
            if block.strip():
                found.append((name.strip(), text.strip()) if colon and text.strip()
                             and len(name) <= 60 else (block.strip()[:40], block.strip()))
        return found

    @property
    def brand_words(self) -> dict[str, list[str]]:
        words = {"hide": self.hide_words, "escalate": self.escalate_words,
                 "none": self.fine_words}
        return {action: lines for action, text in words.items()
                if (lines := [w.strip() for w in text.splitlines() if w.strip()])}

    def trusts(self, handle: str) -> bool:
        wanted = (handle or "").strip().lstrip("@").lower()
        return bool(wanted) and wanted in {
            line.strip().lstrip("@").lower() for line in self.trusted_authors.splitlines()}
