"""The sensitivity review task: findings to fix or waive, a checklist, one decision, and never
by the person whose work it is."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.apps import apps as global_apps
from django.db import connection
from django_tenants.utils import schema_context
from wagtail.models import GroupApprovalTask, PageLogEntry, Task, TaskState, WorkflowTask

from approvals.forms import CHECKLIST
from approvals.models import ApprovalRecord, FindingWaiver, SensitivityReviewTask
from campaigns.models import CampaignPage
from tenants.models import Role
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, submit

pytestmark = pytest.mark.django_db

CHECKED = dict.fromkeys(CHECKLIST, "on")


@dataclass
class InReview:
    page: object
    task_state: object  # the sensitivity review task's
    url: str  # the review page


@pytest.fixture
def in_review(world) -> InReview:
    """A campaign the editor wrote and submitted: one error-level finding, one warning."""
    editor = world.acme.users[Role.EDITOR]
    with schema_context(world.acme.client.schema_name):
        channel = ChannelFactory(name="Review box", handle="@r")
        page = CampaignFactory(title="Review me", author=editor, posts=[
            PostFactory(copy="This roast is crazy good", channels=[channel],
                        publish_at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)),
            PostFactory(copy="No bullshit, just coffee", channels=[channel])])
        submit(page, editor)
        task_state = page.current_workflow_task_state
        assert isinstance(task_state.task.specific, SensitivityReviewTask)
    connection.set_schema_to_public()
    return InReview(page=page, task_state=task_state,
                    url=f"/admin/sensitivity/review/{task_state.pk}/")


def _state(world, task_state):
    with schema_context(world.acme.client.schema_name):
        return TaskState.objects.get(pk=task_state.pk).status


def test_the_review_lists_findings_and_blocks_approval_until_errors_are_waived(
        world, http, in_review):
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    html = reviewer.get(in_review.url).content.decode()
    assert "uses mental illness as a figure of speech" in html  # the warning
    assert "<mark>bullshit</mark>" in html and "Must fix or waive" in html  # the error
    assert "1 error-level finding must be fixed or waived with a reason first." in html

    response = reviewer.post(in_review.url, {"action": "approve", **CHECKED})
    assert response.status_code == 400
    assert _state(world, in_review.task_state) == "in_progress"


def test_a_waiver_needs_a_reason_and_is_kept_in_the_history(world, http, in_review):
    reviewer_user = world.acme.users[Role.SENSITIVITY_REVIEWER]
    reviewer = http(world.acme.host, user=reviewer_user)
    with schema_context(world.acme.client.schema_name):
        from approvals.review import unresolved_errors

        [error] = unresolved_errors(in_review.task_state.revision)
    short = reviewer.post(in_review.url, {"action": "waive", "key": error.key,
                                             "reason": "fine"})
    assert short.status_code == 400 and "Write at least 15 characters" in short.content.decode()
    reason = "Quoting the customer's own review, with their consent."
    done = reviewer.post(in_review.url, {"action": "waive", "key": error.key,
                                            "reason": reason})
    assert done.status_code == 302
    with schema_context(world.acme.client.schema_name):
        waiver = FindingWaiver.objects.get()
        assert (waiver.rule, waiver.match, waiver.waived_by_id) == (
            "profanity.strong", "bullshit", reviewer_user.pk)
        entry = PageLogEntry.objects.get(action="approvals.finding_waived")
        assert entry.data["reason"] == reason and entry.page_id == in_review.page.pk
    assert "Waived by" in reviewer.get(in_review.url).content.decode()


def test_approving_needs_the_whole_checklist_then_the_client_is_asked(world, http, in_review):
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    with schema_context(world.acme.client.schema_name):
        from approvals.review import unresolved_errors

        [error] = unresolved_errors(in_review.task_state.revision)
        FindingWaiver.objects.create(revision=in_review.task_state.revision, key=error.key,
                                     rule=error.finding.rule, match="bullshit",
                                     reason="Customer quote, with consent.")
    partial = reviewer.post(in_review.url, {"action": "approve", "language": "on"})
    assert partial.status_code == 400
    assert "Tick this to confirm you checked it." in partial.content.decode()
    assert _state(world, in_review.task_state) == "in_progress"
    done = reviewer.post(in_review.url, {"action": "approve", **CHECKED,
                                            "comment": "Checked images too."})
    assert done.status_code == 302
    assert _state(world, in_review.task_state) == "approved"
    with schema_context(world.acme.client.schema_name):
        # on to the client's approval; nothing is published or recorded as approved yet
        page = CampaignPage.objects.get(pk=in_review.page.pk)
        assert page.current_workflow_task.name == "Client approval"
        assert not page.live and not ApprovalRecord.objects.exists()
    again = reviewer.post(in_review.url, {"action": "approve", **CHECKED}, follow=True)
    assert "already been decided" in again.content.decode()


def test_the_author_or_submitter_cannot_approve_their_own_work(world, http, in_review):
    editor = world.acme.users[Role.EDITOR]
    reviewer = world.acme.users[Role.SENSITIVITY_REVIEWER]
    with schema_context(world.acme.client.schema_name):
        task = in_review.task_state.task.specific
        task.groups.add(*editor.groups.all())  # this editor reviews too
        FindingWaiver.objects.all().delete()
        page = CampaignPage.objects.get(pk=in_review.page.pk)
        from approvals.review import review_blockers

        task_state = page.current_workflow_task_state
        assert "You wrote or submitted this revision; another reviewer must approve it." in \
            review_blockers(task_state, editor)
        actions = [name for name, _, _ in task.get_actions(page, editor)]
        assert "approve" not in actions and "reject" in actions
        assert "approve" not in [n for n, _, _ in task.get_actions(page, reviewer)]  # error open
    response = http(world.acme.host, user=editor).post(in_review.url,
                                                       {"action": "approve", **CHECKED})
    assert response.status_code == 400
    assert _state(world, in_review.task_state) == "in_progress"


def test_requesting_changes_needs_a_comment_and_sends_it_back(world, http, in_review):
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    empty = reviewer.post(in_review.url, {"action": "reject", "comment": ""})
    assert "Tell the editors what to change." in empty.content.decode()
    done = reviewer.post(in_review.url, {"action": "reject",
                                            "comment": "Post 2: lose the swearing."})
    assert done.status_code == 302
    assert _state(world, in_review.task_state) == "rejected"


def test_reviewers_find_the_review_from_the_campaign_editor(world, http, in_review):
    edit = f"/admin/pages/{in_review.page.pk}/edit/"
    reviewer = http(world.acme.host, user=world.acme.users[Role.SENSITIVITY_REVIEWER])
    assert f'href="{in_review.url}"' in reviewer.get(edit).content.decode()
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    assert in_review.url not in editor.get(edit).content.decode()


def test_only_the_brands_reviewers_open_the_review(world, http, in_review):
    editor = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    refused = editor.get(in_review.url)  # Wagtail turns "permission denied" into this
    assert (refused.status_code, refused.url) == (302, "/admin/")
    outsider = http(world.acme.host, user=world.globex.users[Role.SENSITIVITY_REVIEWER])
    assert outsider.get(in_review.url).status_code in (302, 403)
    assert http(world.acme.host).get(in_review.url).status_code == 302


def test_older_brands_plain_review_task_is_converted_in_place(world):
    import importlib

    migration = importlib.import_module("approvals.migrations.0003_convert_sensitivity_review")
    with schema_context(world.acme.client.schema_name):
        current = SensitivityReviewTask.objects.get(name="Sensitivity review")
        groups = list(current.groups.all())
        link = WorkflowTask.objects.get(task=current)
        old = GroupApprovalTask.objects.create(name="Sensitivity review")
        old.groups.set(groups)
        link.task = old
        link.save()
        current.delete()
        with connection.schema_editor() as editor:
            migration.convert(global_apps, editor)
        converted = Task.objects.get(pk=old.pk).specific
        assert isinstance(converted, SensitivityReviewTask)
        assert list(converted.groups.all()) == groups
        assert WorkflowTask.objects.get(pk=link.pk).task_id == old.pk
        assert not GroupApprovalTask.objects.filter(pk=old.pk).exists()
