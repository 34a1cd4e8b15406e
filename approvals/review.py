"""The sensitivity review of one campaign revision: its findings and their waivers."""

from __future__ import annotations

from dataclasses import dataclass

from approvals.linting import brand_ruleset
from approvals.records import ReviewLink
from approvals.sensitivity import Finding, lint
from campaigns.revisions import read_revision


@dataclass
class RevisionFinding:
    post_number: int  # 1-based, as the editor shows posts
    where: str  # "copy" or "alt text of image 2"
    key: str  # stable within the revision: post, field, image, rule, offset
    finding: Finding
    text: str  # the text the finding is in, for context
    waiver: object | None = None

    @property
    def context(self) -> tuple[str, str, str]:
        """(before, match, after) around the finding, for display."""
        start, end = self.finding.start, self.finding.end
        return (self.text[max(0, start - 60):start], self.text[start:end],
                self.text[end:end + 60])


def revision_findings(revision, rules=None) -> list[RevisionFinding]:
    """Every finding in the posts of a campaign revision (copy and image alt texts)."""
    rules = rules or brand_ruleset()
    found = []
    for index, post in enumerate(read_revision(revision).posts):
        texts = [("copy", "copy", post.copy)]
        for number, image in enumerate(post.images, start=1):
            texts.append(("alt_text", f"alt text of image {number}", image.alt_text))
        for field, where, text in texts:
            for finding in lint(text, field=field, rules=rules):
                key = f"{index}:{where}:{finding.rule}:{finding.start}"
                found.append(RevisionFinding(index + 1, where, key, finding, text))
    return found


def with_waivers(revision, findings: list[RevisionFinding]) -> list[RevisionFinding]:
    waivers = {w.key: w for w in revision.finding_waivers.all()}
    for item in findings:
        item.waiver = waivers.get(item.key)
    return findings


def unresolved_errors(revision, findings=None) -> list[RevisionFinding]:
    """Error-level findings without a waiver (``findings``: already with their waivers)."""
    if findings is None:
        findings = with_waivers(revision, revision_findings(revision))
    return [f for f in findings if f.finding.severity == "error" and f.waiver is None]


def sent_back_notes(page) -> dict | None:
    """Why the campaign was sent back, while it waits for the editors' changes: who, when, the
    comment, and (from the client) comments per post number. None when it is not sent back."""
    from wagtail.models import TaskState, WorkflowState

    if page is None or not page.pk:
        return None
    state = (WorkflowState.objects.filter(object_id=str(page.pk),
                                          base_content_type_id=page.get_base_content_type().pk)
             .order_by("-created_at", "-pk").first())
    if state is None or state.status != WorkflowState.STATUS_NEEDS_CHANGES:
        return None
    rejected = (TaskState.objects.filter(workflow_state=state, status=TaskState.STATUS_REJECTED)
                .select_related("task", "finished_by").order_by("-finished_at").first())
    if rejected is None:
        return None
    link = (ReviewLink.objects.filter(task_state_id=rejected.pk, decision="changes_requested")
            .select_related("approver").prefetch_related("comments").first())
    posts: dict[int, list[str]] = {}
    if link is not None:
        for comment in link.comments.all():
            posts.setdefault(comment.post_number, []).append(comment.body)
        who = f"{link.approver.name} (client)"
        comment = link.comment
    else:
        user = rejected.finished_by
        who = (user.get_full_name() or user.get_username()) if user else "A reviewer"
        comment = rejected.comment
    return {"step": rejected.task.name, "by": who, "at": rejected.finished_at,
            "comment": comment, "posts": posts}


def review_blockers(task_state, user, findings=None) -> list[str]:
    """Why ``user`` cannot approve ``task_state`` now (empty when they can). ``findings``: the
    revision's findings with their waivers, when the caller has them (linting is the cost)."""
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
