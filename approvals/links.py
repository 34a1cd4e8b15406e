"""Review links: issued when the client approval task starts, one per approver.

A link is a 256-bit random token, shown once (in the email) and stored only as its SHA-256. It
is bound to this brand (it lives in the brand's schema and is looked up on the brand's host),
to one campaign revision and one approver; it expires, can be withdrawn, and is closed when the
task is decided or superseded by a newer revision; how it stands is
``approvals.models.status_of`` (one ``LinkStatus``) on every screen, in the API and the tasks.
Opening it never changes the workflow; decisions are POSTs with CSRF. A GET only records that
the link was fetched (mail scanners fetch links too); "opened" needs a sign of a person
(``mark_opened``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import TaskState
from wagtail.signals import task_approved, task_rejected, task_submitted

from approvals.records import ApproverContact, LinkStatus, ReviewComment, ReviewLink, status_of
from approvals.task_types import ClientApprovalTask, earlier_steps_current
from tenants.emails import send_client_email
from tenants.links import client_base_url
from tenants.models import current_client
from tenants.ratelimit import client_ip

TOKEN_BYTES = 32  # 256 bits


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _review_url(client, token: str) -> str:
    return f"{client_base_url(client)}/review/{token}/"


def issue_links(task_state, task, approvers=None) -> list[tuple[object, str]]:
    """Create a link per active main approver (or per given approver) and email each its
    address after commit. Returns [(link, token)]; the token is not stored anywhere."""
    approvers = list(approvers if approvers is not None
                     else ApproverContact.objects.filter(active=True, backup=False))
    issued = []
    for approver in approvers:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        link = ReviewLink.objects.create(
            token_hash=token_hash(token), task_state_id=task_state.pk,
            revision=task_state.revision, approver=approver,
            expires_at=timezone.now() + timedelta(days=task.link_days))
        issued.append((link, token))
    client = current_client()
    page_title = task_state.revision.object_str
    for link, token in issued:
        transaction.on_commit(lambda link=link, token=token: _send(client, link, token,
                                                                    page_title))
    _log(task_state, "approvals.links_issued",
         {"approvers": [link.approver.email for link, _ in issued]})
    return issued


def _send(client, link, token: str, page_title: str) -> None:
    send_client_email(client=client, to=[link.approver.email],
                      subject=f"Please review “{page_title}” for {client.name}",
                      template="approvals/email/review_link", context={
                          "approver": link.approver, "title": page_title,
                          "url": _review_url(client, token), "expires_at": link.expires_at})


def send_reminder(client, link) -> None:
    """The approver has not decided and the link expires soon: say so (the address itself is
    not stored, so the reminder points to the first email and offers a fresh link)."""
    send_client_email(client=client, to=[link.approver.email],
                      subject=f"Reminder: “{link.revision.object_str}” is waiting for you",
                      template="approvals/email/review_reminder", context={
                          "approver": link.approver, "title": link.revision.object_str,
                          "expires_at": link.expires_at})


def _log(task_state, action: str, data: dict, user=None) -> None:
    revision = task_state.revision
    log(instance=revision.content_object, action=action, user=user, revision=revision,
        data=data)


@dataclass
class LinkCheck:
    link: object | None  # None: no link of this brand has the token
    status: str = ""  # the link's ``LinkStatus`` (``status_of``); "" when there is no link

    @property
    def usable(self) -> bool:
        return self.status in LinkStatus.usable()


def check(token: str) -> LinkCheck:
    """What a token leads to, in the active brand's schema, and how that link stands."""
    if not token or len(token) > 100:
        return LinkCheck(None)
    link = (ReviewLink.objects.with_status().select_related("approver", "revision")
            .filter(token_hash=token_hash(token)).first())
    if link is None:
        return LinkCheck(None)
    return LinkCheck(link, status_of(link))


def _client_details(link, request) -> dict:
    return {"approver": link.approver.email, "ip": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300]}


def mark_fetched(link, request) -> None:
    """The page was fetched (a GET). Mail scanners fetch every link in a message, so this is
    recorded once as a fetch, never as the approver opening it."""
    if link.first_fetched_at is None and ReviewLink.objects.filter(
            pk=link.pk, first_fetched_at__isnull=True).update(first_fetched_at=timezone.now()):
        _log(TaskState.objects.get(pk=link.task_state_id), "approvals.link_fetched",
             _client_details(link, request))


def mark_opened(link, request) -> None:
    """A person has the page open: its script saw a scroll, touch, key or pointer, or the page
    sent a POST. Recorded once, with the address and browser."""
    if link.first_opened_at is None and ReviewLink.objects.filter(
            pk=link.pk, first_opened_at__isnull=True).update(first_opened_at=timezone.now()):
        _log(TaskState.objects.get(pk=link.task_state_id), "approvals.link_opened",
             _client_details(link, request))


def decide(link, *, decision: str, comment: str, post_comments, request) -> str:
    """Record an approver's decision and move the task on when it settles it.

    Returns what happened: "recorded", "approved" (the quorum was met), "changes_requested",
    or the link's ``LinkStatus`` when it stopped taking decisions meanwhile."""
    with transaction.atomic():
        task_state = TaskState.objects.select_for_update().get(pk=link.task_state_id)
        link = ReviewLink.objects.select_for_update().select_related("approver", "revision") \
            .get(pk=link.pk)
        status = status_of(link)  # reads the step locked above
        if status not in LinkStatus.usable():
            return status
        link.decided_at, link.decision, link.comment = timezone.now(), decision, comment
        link.save(update_fields=["decided_at", "decision", "comment"])
        ReviewComment.objects.bulk_create(ReviewComment(link=link, post_number=n, body=body)
                                          for n, body in post_comments)
        task_state = task_state.specific
        _log(task_state, f"approvals.client_{decision}", {
            "approver": link.approver.email, "comment": comment,
            "post_comments": dict(post_comments), "ip": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300]})
        if decision == "changes_requested":
            lines = [f"{link.approver.name} requested changes."]
            lines += [comment] if comment else []
            lines += [f"Post {n}: {body}" for n, body in post_comments]
            # Sending it back closes the other links (on_task_decided, below).
            task_state.reject(user=None, comment="\n".join(lines))
            return "changes_requested"
        approvals = ReviewLink.objects.filter(task_state_id=task_state.pk,
                                              decision="approved").count()
        issued = ReviewLink.objects.filter(task_state_id=task_state.pk, revoked_at__isnull=True,
                                           approver__backup=False).count()
        task = task_state.task.specific
        needed = task.quorum or issued
        if approvals >= needed:
            names = ", ".join(ReviewLink.objects.filter(
                task_state_id=task_state.pk, decision="approved")
                .values_list("approver__name", flat=True))
            task_state.approve(user=None, comment=f"Approved by {names}.")
            return "approved"
        return "recorded"


def close_links(task_state) -> int:
    """The task is decided: every undecided link to it stops working."""
    return ReviewLink.objects.filter(task_state_id=task_state.pk, decided_at__isnull=True,
                                     closed_at__isnull=True).update(closed_at=timezone.now())


def revoke(link, *, user=None, resend: bool = False):
    """Withdraw an undecided link (logged); with ``resend``, email the approver a fresh one
    for the same step if it is still the campaign's current step. Returns the new link, if any.
    Raises ValueError when the link can no longer change."""
    with transaction.atomic():
        changed = ReviewLink.objects.filter(pk=link.pk, decided_at__isnull=True,
                                            revoked_at__isnull=True, closed_at__isnull=True) \
            .update(revoked_at=timezone.now())
        if not changed:
            raise ValueError("That link cannot be changed any more: it was decided, withdrawn "
                             "or closed.")
        page = link.revision.content_object
        log(instance=page, action="approvals.link_revoked", user=user, revision=link.revision,
            data={"approver": link.approver.email})
        if not resend:
            return None
        current = page.current_workflow_task_state
        if current is None or current.pk != link.task_state_id \
                or not isinstance(current.task.specific, ClientApprovalTask):
            return None
        issued = issue_links(TaskState.objects.get(pk=link.task_state_id),
                             current.task.specific, approvers=[link.approver])
        return issued[0][0]


# --- Following the workflow: Wagtail's task signals issue and close the links -----------------


def on_task_started(sender, instance, user=None, **kwargs):
    """The client's approval step started: a link for each main approver. Resumed after an
    edit, the earlier steps approved older content: no links for this revision until it has
    been reviewed again (the editor's save restarts the workflow)."""
    task = instance.task.specific
    if isinstance(task, ClientApprovalTask) and earlier_steps_current(
            instance.workflow_state, task, instance.revision):
        issue_links(instance, task)


def on_task_decided(sender, instance, user=None, **kwargs):
    """A step was approved or sent back (by the links' quorum, a change request, or a decision
    staff recorded): its undecided links stop working."""
    close_links(instance)


def connect() -> None:
    """Called once from ``ApprovalsConfig.ready``."""
    task_submitted.connect(on_task_started, dispatch_uid="approvals_links_issue")
    task_approved.connect(on_task_decided, dispatch_uid="approvals_links_close_approved")
    task_rejected.connect(on_task_decided, dispatch_uid="approvals_links_close_rejected")
