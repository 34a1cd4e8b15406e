"""What happens when a campaign's approval workflow finishes (WAGTAIL_FINISH_WORKFLOW_ACTION).

Wagtail imports this setting while it defines its own models, so this module imports nothing
of the project at its top: the work is ``approvals.workflows.approve_revision``."""


def publish_approved_revision(workflow_state, user=None):
    """Publish the revision the last task approved (not whatever is latest), and record it.

    Wagtail's default publishes the latest revision with the approver's own page permissions;
    here the approvers (a sensitivity reviewer, a client with a review link) do not publish pages,
    the workflow does, and it publishes exactly what they saw."""
    # Deferred: Wagtail imports this module while wagtail.models is still being defined.
    from approvals.workflows import approve_revision

    approve_revision(workflow_state.current_task_state.revision, user=user,
                     workflow_state=workflow_state)
