"""Two reviewers pressing "Approve" on the same review at the same moment: one decision, and
neither sees an error page. Real concurrent requests on real PostgreSQL (committed data, one
database connection per thread)."""

import datetime as dt
import threading

from django.contrib.auth import get_user_model
from django.db import connection, connections
from django_tenants.utils import schema_context
from wagtail.models import PageLogEntry, TaskState

from approvals.forms import CHECKLIST
from campaigns.models import CampaignPage
from tenants.models import Role
from tenants.services import SYSTEM, membership_remove
from tests.conftest import HostClient
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    MemberFactory,
    PostFactory,
    pass_sensitivity_review,
    submit,
)


def test_two_reviewers_approving_at_once_make_one_transition(world, django_db_blocker):
    acme = world.acme
    with django_db_blocker.unblock():
        second = MemberFactory(client=acme.client, role=Role.SENSITIVITY_REVIEWER,
                               user__username="second-reviewer@acme.test").user
        with schema_context(acme.client.schema_name):
            channel = ChannelFactory(name="Race box", handle="@race")
            page = CampaignFactory(title="Race", author=acme.users[Role.EDITOR], posts=[
                PostFactory(copy="A calm post", channels=[channel],
                            publish_at=dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC))])
            submit(page, acme.users[Role.EDITOR])
            task_state = page.current_workflow_task_state
        connection.set_schema_to_public()
    url = f"/admin/sensitivity/review/{task_state.pk}/"
    barrier = threading.Barrier(2)
    responses = {}

    def approve(user):
        try:
            client = HostClient(acme.host)
            # fresh from the database: another test may have changed this account's password
            client.force_login(get_user_model().objects.get(pk=user.pk))
            barrier.wait(timeout=30)
            responses[user.pk] = client.post(url, {"action": "approve",
                                                   **dict.fromkeys(CHECKLIST, "on")})
        finally:
            connections.close_all()

    try:
        with django_db_blocker.unblock():
            threads = [threading.Thread(target=approve, args=(user,))
                       for user in (acme.users[Role.SENSITIVITY_REVIEWER], second)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert [r.status_code for r in responses.values()] == [302, 302]
            # the one who came second is told it is decided (or that it is approved), no error
            urls = [r.url for r in responses.values()]
            assert all(u in ("/admin/", url) for u in urls), urls
            with schema_context(acme.client.schema_name):
                assert TaskState.objects.get(pk=task_state.pk).status == "approved"
                assert PageLogEntry.objects.filter(page_id=page.pk,
                                                   action="wagtail.workflow.approve").count() == 1
                # one move to the next step: a single client-approval task state
                states = TaskState.objects.filter(workflow_state=task_state.workflow_state)
                assert [s.task.name for s in states.order_by("pk")] == ["Sensitivity review",
                                                                        "Client approval"]
    finally:
        with django_db_blocker.unblock():
            with schema_context(acme.client.schema_name):
                CampaignPage.objects.get(pk=page.pk).delete()
                channel.delete()
            connection.set_schema_to_public()
            # the account stays, unused
            membership_remove(client=acme.client, user=second, actor=SYSTEM)


def test_two_approvers_completing_the_quorum_at_once_make_one_transition(world,
                                                                         django_db_blocker):
    """Both main approvers press "Send my decision" at the same moment: the task is approved
    once, the workflow finishes once, and both see their thank-you page."""
    from django.core import mail

    from approvals.models import ApprovalRecord, ApproverContact, ReviewLink

    acme = world.acme
    with django_db_blocker.unblock():
        with schema_context(acme.client.schema_name):
            approvers = [ApproverContact.objects.create(name=f"Racer {n}",
                                                        email=f"racer{n}@acme.example")
                         for n in (1, 2)]
            channel = ChannelFactory(name="Race box 2", handle="@r2")
            page = CampaignFactory(title="Race to approve", author=acme.users[Role.EDITOR], posts=[
                PostFactory(copy="A calm post", channels=[channel],
                            publish_at=dt.datetime(2027, 1, 5, 9, tzinfo=dt.UTC))])
            submit(page, acme.users[Role.EDITOR])
            mail.outbox = []
            pass_sensitivity_review(page, acme.users[Role.SENSITIVITY_REVIEWER])
        connection.set_schema_to_public()
    import re

    tokens = [re.search(r"/review/([\w-]+)/", m.body).group(1) for m in mail.outbox
              if m.subject.startswith("Please review")]
    assert len(tokens) == 2
    barrier = threading.Barrier(2)
    responses = []

    def decide(token):
        try:
            client = HostClient(acme.host)
            barrier.wait(timeout=30)
            responses.append(client.post(f"/review/{token}/", {"decision": "approved"}))
        finally:
            connections.close_all()

    try:
        with django_db_blocker.unblock():
            threads = [threading.Thread(target=decide, args=(t,)) for t in tokens]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(r.status_code for r in responses) == [200, 200]
            assert all("You approved" in r.content.decode() for r in responses)
            with schema_context(acme.client.schema_name):
                assert ReviewLink.objects.filter(revision__object_id=str(page.pk),
                                                 decision="approved").count() == 2
                assert ApprovalRecord.objects.filter(
                    revision__object_id=str(page.pk)).count() == 1
                assert CampaignPage.objects.get(pk=page.pk).live
    finally:
        with django_db_blocker.unblock():
            with schema_context(acme.client.schema_name):
                ReviewLink.objects.filter(revision__object_id=str(page.pk)).delete()
                ApprovalRecord.objects.filter(revision__object_id=str(page.pk)).delete()
                CampaignPage.objects.get(pk=page.pk).delete()
                channel.delete()
                for approver in approvers:
                    approver.delete()
            connection.set_schema_to_public()
