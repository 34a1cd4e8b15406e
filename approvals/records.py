"""What approvals keep: the brand's words for the linter, waivers, approver contacts, review
links and the client's comments, what was approved, deadlines and the approval settings.

These models read nothing of the approval logic, so the linter, the review and the links
(``linting``, ``review``, ``links``) import them, and the task types (``task_types``) build on
those. ``approvals.models`` gathers both for Django."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.models import Revision, TaskState


class BrandTerm(models.Model):
    """A word the brand bans, or prefers another word to. The linter adds these to its rules."""

    term = models.CharField(
        max_length=80, unique=True,
        help_text="A word or short phrase, e.g. “cheap”. Its plural and other endings match too.")
    replacement = models.CharField(
        max_length=80, blank=True,
        help_text="What to say instead, e.g. “affordable”. Leave blank to ban the word outright "
                  "(an error the sensitivity reviewer must see fixed or waived).")
    note = models.CharField(max_length=200, blank=True,
                            help_text="Why, shown with the finding, e.g. “Never name "
                                      "competitors.”")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["term"]
        verbose_name = "brand word"

    def __str__(self) -> str:
        return f"{self.term} → {self.replacement}" if self.replacement else f"{self.term} (banned)"

    def clean(self):
        self.term = " ".join(self.term.split())
        self.replacement = " ".join(self.replacement.split())
        if not any(c.isalnum() for c in self.term):
            raise ValidationError({"term": "Enter a word or phrase with letters or digits."})
        if self.replacement and self.replacement.lower() == self.term.lower():
            raise ValidationError({"replacement": "The replacement is the same as the word; "
                                                  "change it or leave it blank to ban the word."})


class FindingWaiver(models.Model):
    """A sensitivity reviewer's written reason to let one finding of one revision stand."""

    revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.CASCADE,
                                 related_name="finding_waivers")
    key = models.CharField(max_length=200)
    rule = models.CharField(max_length=80)
    match = models.CharField(max_length=400)
    reason = models.TextField()
    # Who, as id and name: people live in the public schema and may be deleted; the record stays.
    waived_by_id = models.IntegerField(null=True)
    waived_by_name = models.CharField(max_length=200, blank=True)
    waived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["revision", "key"],
                                               name="one_waiver_per_finding")]

    def __str__(self) -> str:
        return f"{self.rule} “{self.match}” waived"

    @property
    def by(self) -> str:
        return self.waived_by_name or "a former reviewer"


class ApprovalRecord(models.Model):
    """What was approved: the exact revision that finished the workflow and a hash of its
    content. Only this revision is published, and the schedule is built from it alone."""

    revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.PROTECT,
                                 related_name="approval_records")
    content_hash = models.CharField(max_length=64)
    workflow_state_id = models.IntegerField(null=True)
    approved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-approved_at"]

    def __str__(self) -> str:
        return f"Revision {self.revision_id} approved {self.approved_at:%Y-%m-%d %H:%M}"


class ApproverContact(models.Model):
    """Someone at the client who approves campaigns through a review link (not a user account)."""

    name = models.CharField(max_length=120)
    email = models.EmailField()
    backup = models.BooleanField(
        default=False, help_text="Asked only when the main approvers have not answered in time.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["backup", "name"]
        constraints = [models.UniqueConstraint(fields=["email"], name="one_approver_per_email")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" + (" (backup)" if self.backup else "")

    def clean(self):
        self.email = self.email.strip().lower()


class LinkStatus(models.TextChoices):
    """How a review link stands: one word for each state, the same for the approver's page, the
    staff's list, the API, reminders and decisions. Worked out by ``status_of`` (one link) and
    ``ReviewLinkQuerySet.with_status`` (in SQL, for filters); the first that applies wins, in
    this order."""

    DECIDED = "decided", "Decided"  # the approver approved or asked for changes
    WITHDRAWN = "withdrawn", "Withdrawn"  # staff withdrew it
    SUPERSEDED = "superseded", "Superseded"  # the step was restarted, or the campaign changed
    CLOSED = "closed", "Closed"  # the step finished without this approver
    EXPIRED = "expired", "Expired"
    OPENED = "opened", "Opened"  # usable, and a person has opened it
    SENT = "sent", "Sent"  # usable, not opened by a person yet

    @classmethod
    def usable(cls) -> tuple[LinkStatus, ...]:
        """The states in which the link still takes a decision."""
        return (cls.OPENED, cls.SENT)


def status_of(link, now=None) -> LinkStatus:
    """The one definition of a link's status (``ReviewLinkQuerySet.with_status`` is its SQL).

    Reads the link's step (its task state) and the campaign's latest revision from the
    annotations ``with_status`` adds when present, else from the database."""
    now = now or timezone.now()
    if link.decided_at:
        return LinkStatus.DECIDED
    if link.revoked_at:
        return LinkStatus.WITHDRAWN
    if hasattr(link, "task_status"):
        task_status = link.task_status
    else:
        task_status = TaskState.objects.filter(pk=link.task_state_id) \
            .values_list("status", flat=True).first()
    if task_status == TaskState.STATUS_CANCELLED:
        return LinkStatus.SUPERSEDED  # the step was restarted for a newer revision
    if link.closed_at or task_status != TaskState.STATUS_IN_PROGRESS:
        return LinkStatus.CLOSED
    if hasattr(link, "latest_revision_id"):
        latest = link.latest_revision_id
    else:
        latest = _latest_revision(link.revision.base_content_type_id, link.revision.object_id) \
            .values_list("id", flat=True).first()
    if latest is not None and latest != link.revision_id:
        return LinkStatus.SUPERSEDED  # edited since: approving it would approve stale content
    if link.expires_at <= now:
        return LinkStatus.EXPIRED
    return LinkStatus.OPENED if link.first_opened_at else LinkStatus.SENT


def _latest_revision(content_type_id, object_id):
    return (Revision.objects.filter(base_content_type_id=content_type_id, object_id=object_id)
            .order_by("-created_at", "-id"))


class ReviewLinkQuerySet(models.QuerySet):
    def with_status(self, now=None) -> ReviewLinkQuerySet:
        """Each link with ``status`` (a ``LinkStatus``), as ``status_of`` works it out, and the
        two facts it reads (``task_status``, ``latest_revision_id``)."""
        now = now or timezone.now()
        task_status = TaskState.objects.filter(pk=models.OuterRef("task_state_id")) \
            .values("status")[:1]
        latest = _latest_revision(models.OuterRef("revision__base_content_type_id"),
                                  models.OuterRef("revision__object_id")).values("id")[:1]
        When = models.When  # noqa: N806
        return self.annotate(
            task_status=models.Subquery(task_status),
            latest_revision_id=models.Subquery(latest),
        ).annotate(status=models.Case(
            When(decided_at__isnull=False, then=models.Value(LinkStatus.DECIDED)),
            When(revoked_at__isnull=False, then=models.Value(LinkStatus.WITHDRAWN)),
            When(task_status=TaskState.STATUS_CANCELLED, then=models.Value(LinkStatus.SUPERSEDED)),
            When(models.Q(closed_at__isnull=False) | models.Q(task_status__isnull=True),
                 then=models.Value(LinkStatus.CLOSED)),
            When(~models.Q(task_status=TaskState.STATUS_IN_PROGRESS),
                 then=models.Value(LinkStatus.CLOSED)),
            When(models.Q(latest_revision_id__isnull=False)
                 & ~models.Q(latest_revision_id=models.F("revision_id")),
                 then=models.Value(LinkStatus.SUPERSEDED)),
            When(expires_at__lte=now, then=models.Value(LinkStatus.EXPIRED)),
            When(first_opened_at__isnull=False, then=models.Value(LinkStatus.OPENED)),
            default=models.Value(LinkStatus.SENT), output_field=models.CharField()))

    def in_status(self, *statuses: LinkStatus, now=None) -> ReviewLinkQuerySet:
        """Only links whose ``status_of`` is one of ``statuses``."""
        return self.with_status(now).filter(status__in=statuses)


class ReviewLink(models.Model):
    """One approver's link to one campaign revision. Only the SHA-256 of its token is kept.
    How it stands is ``status_of(link)``: one of ``LinkStatus``."""

    token_hash = models.CharField(max_length=64, unique=True)
    task_state_id = models.IntegerField(db_index=True)
    revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.CASCADE,
                                 related_name="review_links")
    approver = models.ForeignKey(ApproverContact, on_delete=models.PROTECT,
                                 related_name="review_links")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # the task finished without it
    # Opened by a person (the page's beacon after a scroll, touch or key, or a POST); a bare GET,
    # which mail scanners make too, only sets first_fetched_at.
    first_opened_at = models.DateTimeField(null=True, blank=True)
    first_fetched_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=20, blank=True,
                                choices=[("approved", "Approved"),
                                         ("changes_requested", "Changes requested")])
    comment = models.TextField(blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Review link for {self.approver} (revision {self.revision_id})"


class ReviewComment(models.Model):
    """An approver's comment on one post, sent back with a change request."""

    link = models.ForeignKey(ReviewLink, on_delete=models.CASCADE, related_name="comments")
    post_number = models.PositiveSmallIntegerField()
    body = models.TextField()

    class Meta:
        ordering = ["post_number"]


@register_setting(icon="time")
class ApprovalSettings(BaseGenericSetting):
    """When a campaign's approval is due, and when people are chased (one per brand)."""

    due_hours_before_first_post = models.PositiveIntegerField(
        default=48, help_text="The approval is due this many hours before the campaign's first "
                              "post. Posts still unapproved then are held and the team is told.")
    remind_hours_before = models.PositiveIntegerField(
        default=24, help_text="Approvers who have not answered are reminded this many hours "
                              "before their link expires or the approval is due.")
    backup_after_hours = models.PositiveIntegerField(
        default=48, help_text="Backup approvers are asked when no main approver has answered "
                              "within this many hours, or once the reminder time is reached.")

    class Meta:
        verbose_name = "approval deadlines"


class DeadlineMiss(models.Model):
    """A campaign still not approved when its approval was due (one per workflow run): its posts
    are held, and the team was told."""

    workflow_state_id = models.IntegerField(unique=True)
    page_id = models.IntegerField()
    due_at = models.DateTimeField()
    noticed_at = models.DateTimeField(default=timezone.now)
