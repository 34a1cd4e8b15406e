"""Approvals' models, for Django to find: the records (``approvals.records``) and the workflow's
task types (``approvals.task_types``). Import them from here or from their own module."""

from approvals.records import (  # noqa: F401
    ApprovalRecord,
    ApprovalSettings,
    ApproverContact,
    BrandTerm,
    DeadlineMiss,
    FindingWaiver,
    LinkStatus,
    ReviewComment,
    ReviewLink,
    ReviewLinkQuerySet,
    status_of,
)
from approvals.task_types import (  # noqa: F401
    ClientApprovalTask,
    SensitivityReviewTask,
    earlier_steps_current,
)
