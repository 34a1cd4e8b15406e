"""What the brand's published posts achieved, in the brand's own schema.

The outbox (``publishing.Delivery``) is a public table shared by every brand: results refer to a
delivery by its id (no foreign key across schemas: deleting a brand's deliveries from the public
schema must not look for tables that only exist in brand schemas). ``PostResult`` keeps the
latest counts of each published delivery, with what the dashboards group by, so a dashboard is
one indexed read of one table; ``MetricSnapshot`` keeps every reading, for growth over time.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

COUNT_FIELDS = ("likes", "reposts", "replies", "quotes", "impressions", "views", "saves",
                "clicks")


class Counted(models.Model):
    """A network's public counts. Empty (null): the network does not give that figure."""

    likes = models.PositiveIntegerField(null=True, blank=True,
                                        help_text="Likes (Mastodon: favourites).")
    reposts = models.PositiveIntegerField(null=True, blank=True,
                                          help_text="Reposts (Mastodon: boosts).")
    replies = models.PositiveIntegerField(null=True, blank=True)
    quotes = models.PositiveIntegerField(null=True, blank=True)
    impressions = models.PositiveBigIntegerField(null=True, blank=True)
    views = models.PositiveBigIntegerField(null=True, blank=True)
    saves = models.PositiveIntegerField(null=True, blank=True)
    clicks = models.PositiveIntegerField(null=True, blank=True)
    interactions = models.PositiveBigIntegerField(
        default=0, help_text="Likes, reposts, replies, quotes, saves and clicks together.")

    class Meta:
        abstract = True


class PostResult(Counted):
    """The latest counts of one published delivery (a post on one channel), and when they are
    read next (``next_collect_at``; empty once the post is older than collection lasts)."""

    delivery_id = models.BigIntegerField(unique=True)
    page_id = models.IntegerField(help_text="The campaign.")
    post_id = models.IntegerField()
    post_number = models.PositiveSmallIntegerField()
    channel_id = models.IntegerField()
    network = models.CharField(max_length=32)
    channel_name = models.CharField(max_length=120)
    campaign_title = models.CharField(max_length=255)
    text = models.TextField(blank=True)
    remote_id = models.CharField(max_length=255)
    remote_url = models.URLField(max_length=500, blank=True)
    published_at = models.DateTimeField()
    # When it went out in the brand's time zone (then): the best-hours heat map groups by these
    # without converting every row's time.
    posted_weekday = models.PositiveSmallIntegerField(help_text="1 Monday .. 7 Sunday.")
    posted_hour = models.PositiveSmallIntegerField()
    collected_at = models.DateTimeField(null=True, blank=True,
                                        help_text="When the counts were last read.")
    collections = models.PositiveIntegerField(default=0)
    next_collect_at = models.DateTimeField(null=True, blank=True)
    gone = models.BooleanField(default=False, help_text="The network no longer has the post.")
    error = models.CharField(max_length=500, blank=True, help_text="Why the last reading failed.")

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["next_collect_at"], name="result_due",
                         condition=Q(next_collect_at__isnull=False)),
            models.Index(fields=["page_id", "post_number"], name="result_campaign"),
            models.Index(fields=["published_at"], name="result_published"),
            models.Index(fields=["channel_id", "published_at"], name="result_channel"),
            models.Index(fields=["posted_weekday", "posted_hour"], include=["interactions"],
                         name="result_posting_time"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_title} · post {self.post_number} → {self.channel_name}"


class MetricSnapshot(Counted):
    """One reading of a delivery's counts."""

    delivery_id = models.BigIntegerField()
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delivery_id", "taken_at"]
        indexes = [models.Index(fields=["delivery_id", "taken_at"], name="snapshot_delivery")]


class FollowerCount(models.Model):
    """A channel's followers, read once a day."""

    channel_id = models.IntegerField()
    day = models.DateField()
    followers = models.PositiveBigIntegerField()
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["channel_id", "day"]
        constraints = [models.UniqueConstraint(fields=["channel_id", "day"],
                                               name="one_follower_count_a_day")]


class ChannelCollection(models.Model):
    """How reading a channel's counts goes: a channel the network rate limits or that stops
    answering waits until ``deferred_until``; the others go on."""

    channel_id = models.IntegerField(unique=True)
    deferred_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Failed rounds in a row.")
    succeeded_at = models.DateTimeField(null=True, blank=True)


class ReportShare(models.Model):
    """A read-only link to one client report, as safe as a review link: a 256-bit random token
    shown once and kept only as its SHA-256, in the brand's schema (looked up on the brand's
    host only), expiring, revocable, opened without signing in."""

    token_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, help_text="campaign or month")
    page_id = models.IntegerField(null=True, blank=True)
    month = models.DateField(null=True, blank=True, help_text="The month's first day.")
    created_by_id = models.IntegerField(null=True)
    created_by_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_name = models.CharField(max_length=200, blank=True)
    opened_count = models.PositiveIntegerField(default=0)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "page_id", "month"], name="report_share_scope")]

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "active"

    @property
    def is_usable(self) -> bool:
        return self.status == "active"

    @property
    def status_label(self) -> str:
        return {"revoked": f"Revoked by {self.revoked_by_name or 'staff'}",
                "expired": "Expired", "active": "Active"}[self.status]


class ReportSchedule(models.Model):
    """Client reports emailed on a schedule to chosen client contacts: each month on ``day``
    (the month before, in the brand's time zone), or after each campaign ends."""

    MONTHLY, CAMPAIGN_END = "monthly", "campaign_end"
    KINDS = [(MONTHLY, "Monthly, on a day of the month (the month before)"),
             (CAMPAIGN_END, "After each campaign ends (a day after its last post)")]

    kind = models.CharField(max_length=16, choices=KINDS, default=MONTHLY)
    day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Monthly: the day of the month the report goes out (1 to 28).")
    recipients = ArrayField(models.EmailField(), default=list,
                            help_text="Client contacts' email addresses.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return dict(self.KINDS)[self.kind]


class ReportSent(models.Model):
    """A scheduled report that went out: one per schedule and period, so it is sent once."""

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="sent")
    period = models.CharField(max_length=40, help_text="month-YYYY-MM or campaign-<id>")
    title = models.CharField(max_length=300)
    recipients = ArrayField(models.EmailField(), default=list)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["schedule", "period"],
                                               name="one_report_per_schedule_and_period")]
