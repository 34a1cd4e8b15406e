"""Approvals: the brand's words for the linter, and the sensitivity review task."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.models import AbstractGroupApprovalTask, Revision, Task, TaskState, WorkflowTask

from approvals.forms import CHECKLIST, ChecklistForm, RecordedDecisionForm


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


class SensitivityReviewTask(AbstractGroupApprovalTask):
    """The brand's sensitivity reviewers check a campaign revision.

    Approving needs: a reviewer who neither wrote nor submitted the revision; every error-level
    finding of the sensitivity linter fixed or waived with a written reason; and the reviewer's
    checklist (language, imagery and representation, social-issue context and timing,
    accessibility). Two reviewers acting at once make one decision: the task state is locked."""

    def get_actions(self, obj, user):
        if not (user.is_superuser or self._user_in_groups(user)):
            return []
        # The findings, waivers and checklist live on the review page (a header button on the
        # campaign); approving from the editor is offered once nothing blocks it.
        actions = [("reject", "Request changes", True)]
        task_state = getattr(obj, "current_workflow_task_state", None)
        if task_state is not None and not review_blockers(task_state, user):
            actions.append(("approve", "Approve (with checklist)", True))
        return actions

    def get_form_for_action(self, action):
        if action == "approve":
            return ChecklistForm
        return super().get_form_for_action(action)

    def on_action(self, task_state, user, action_name, **kwargs):
        if action_name not in ("approve", "reject"):
            return None
        comment = kwargs.get("comment", "")
        with transaction.atomic():
            # One decision per task state, however many reviewers press at the same moment.
            locked = TaskState.objects.select_for_update().get(pk=task_state.pk)
            if locked.status != TaskState.STATUS_IN_PROGRESS:
                return None
            if action_name == "approve":
                blockers = review_blockers(task_state, user)
                if blockers:
                    raise PermissionDenied(" ".join(blockers))
                checklist = {name: bool(kwargs.get(name)) for name in CHECKLIST}
                if not all(checklist.values()):
                    raise PermissionDenied("Tick every item of the checklist to approve.")
                task_state.approve(user=user, comment=comment)
            else:
                task_state.reject(user=user, comment=comment)
        return None

    @classmethod
    def get_description(cls):
        return ("The brand's sensitivity reviewers check every post against the linter's "
                "findings and a checklist before the client sees it.")

    class Meta:
        verbose_name = "sensitivity review task"
        verbose_name_plural = "sensitivity review tasks"


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


def review_blockers(task_state, user, findings=None) -> list[str]:
    """Why ``user`` cannot approve ``task_state`` now (empty when they can). ``findings``: the
    revision's findings with their waivers, when the caller has them (linting is the cost)."""
    from approvals.review import unresolved_errors

    blockers = []
    revision = task_state.revision
    if user.pk in (getattr(revision, "user_id", None),
                   task_state.workflow_state.requested_by_id):
        blockers.append("You wrote or submitted this revision; another reviewer must approve it.")
    unresolved = unresolved_errors(revision, findings)
    if unresolved:
        blockers.append(f"{len(unresolved)} error-level finding"
                        f"{'s' if len(unresolved) != 1 else ''} must be fixed or waived with a "
                        "reason first.")
    return blockers


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


# --- Client approval by review link ------------------------------------------------------------


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


def earlier_steps_current(workflow_state, task, revision) -> bool:
    """Were all the workflow's steps before ``task`` approved on ``revision`` in this run?

    Wagtail's "Resubmit" resumes at the step that sent the campaign back; after an edit, the
    steps before it (the sensitivity review) approved older content, so they must run again."""
    order = dict(WorkflowTask.objects.filter(workflow=workflow_state.workflow)
                 .values_list("task_id", "sort_order"))
    before = [task_id for task_id, position in order.items()
              if position < order.get(task.pk, 0)]
    approved = set(TaskState.objects.filter(
        workflow_state=workflow_state, revision=revision, status=TaskState.STATUS_APPROVED,
        task_id__in=before).values_list("task_id", flat=True))
    return approved == set(before)


class ClientApprovalTask(Task):
    """The client approves the campaign revision through review links, one per approver.

    Starting the task issues a link to every active main approver and emails it. The task is
    approved once the quorum approves (0: every main approver), and sent back to the editors
    as soon as one approver requests changes. Account managers and agency admins can also record
    a decision the client gave another way (by phone, in a meeting), with a note."""

    quorum = models.PositiveSmallIntegerField(
        default=0, help_text="How many approvals complete the task; 0 means every main approver.")
    link_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days a review link stays valid.")

    admin_form_fields = Task.admin_form_fields + ["quorum", "link_days"]

    def start(self, workflow_state, user=None):
        task_state = super().start(workflow_state, user=user)
        from approvals.links import issue_links

        # Resumed after an edit, the earlier steps approved older content: no links for this
        # revision until it has been reviewed again (the editor's save restarts the workflow).
        if earlier_steps_current(workflow_state, self, task_state.revision):
            issue_links(task_state, self)
        return task_state

    def _staff(self, obj, user) -> bool:
        return user.is_superuser or obj.permissions_for_user(user).can_publish()

    def get_actions(self, obj, user):
        if not self._staff(obj, user):
            return []
        return [("approve", "Record the client's approval", True),
                ("reject", "Record the client's change request", True)]

    def get_form_for_action(self, action):
        return RecordedDecisionForm

    def on_action(self, task_state, user, action_name, **kwargs):
        if action_name not in ("approve", "reject"):
            return None
        with transaction.atomic():
            locked = TaskState.objects.select_for_update().get(pk=task_state.pk)
            if locked.status != TaskState.STATUS_IN_PROGRESS:
                return None
            comment = kwargs.get("comment", "")
            if action_name == "approve":
                task_state.approve(user=user, comment=f"Recorded for the client: {comment}")
            else:
                task_state.reject(user=user, comment=f"Client asked (recorded): {comment}")
            from approvals.links import close_links

            close_links(task_state)
        return None

    def locked_for_user(self, obj, user):
        return False

    def get_task_states_user_can_moderate(self, user, **kwargs):
        return TaskState.objects.none()  # the client decides; staff only record

    @classmethod
    def get_description(cls):
        return "The client's approvers approve or request changes through review links."

    class Meta:
        verbose_name = "client approval task"
        verbose_name_plural = "client approval tasks"


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
