"""The approval workflow's task types, which Wagtail runs: the sensitivity review and the
client's approval. Issuing and closing the client's review links follows Wagtail's task
signals (``approvals.links.connect``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from wagtail.models import AbstractGroupApprovalTask, Task, TaskState, WorkflowTask

from approvals.forms import CHECKLIST, ChecklistForm, RecordedDecisionForm
from approvals.review import review_blockers


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
