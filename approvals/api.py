"""Approvals through the API: lint any text, the client's review links, a campaign's audit
trail. The same services as the admin (``approvals.links``, ``approvals.linting``)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from wagtail.models import TaskState

from agency.api.conventions import (
    ID,
    ApiViewSet,
    AwareDateTimeField,
    Cursor,
    Integer,
    Text,
    id_parameter,
    query_choice,
    query_id,
)
from agency.api.errors import Conflict
from agency.api.models import Scope
from approvals import links
from approvals.linting import brand_ruleset, post_findings
from approvals.models import (
    ApproverContact,
    ClientApprovalTask,
    LinkStatus,
    ReviewLink,
    status_of,
)
from approvals.selectors import audit_actor, audit_details, audit_entries
from approvals.sensitivity.engine import SEVERITIES
from campaigns.models import CampaignPage

# --- Lint -----------------------------------------------------------------------------------


class FindingData(serializers.Serializer):
    start = serializers.IntegerField(help_text="Character offset where the finding starts.")
    end = serializers.IntegerField(help_text="Character offset just after it.")
    rule = serializers.CharField()
    category = serializers.CharField()
    severity = serializers.ChoiceField(choices=list(SEVERITIES))
    message = serializers.CharField()
    suggestions = serializers.ListField(child=serializers.CharField())
    match = serializers.CharField()
    field = serializers.CharField()


class LintRequest(serializers.Serializer):
    text = Text(max_length=10_000, allow_blank=True, trim_whitespace=False)
    alt_texts = serializers.ListField(
        child=Text(max_length=2_000, allow_blank=True, trim_whitespace=False),
        max_length=20, default=list, help_text="Alt texts of the post's images.")


class LintResponse(serializers.Serializer):
    rules_version = serializers.CharField()
    text = FindingData(many=True)
    alt_texts = serializers.ListField(child=FindingData(many=True))


class LintViewSet(ApiViewSet):
    """The sensitivity linter, with the brand's own words, on any text."""

    pagination_class = None
    write_scope = Scope.READ  # linting changes nothing

    @extend_schema(request=LintRequest, responses={200: LintResponse})
    def create(self, request):
        data = LintRequest(data=request.data)
        data.is_valid(raise_exception=True)
        rules = brand_ruleset()
        found = post_findings(data.validated_data["text"], data.validated_data["alt_texts"],
                              rules)
        return Response(LintResponse({"rules_version": rules.version, "text": found["copy"],
                                      "alt_texts": found["alt_texts"]}).data)


# --- Review links ---------------------------------------------------------------------------


class ReviewLinkData(serializers.Serializer):
    id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    revision_id = serializers.IntegerField()
    approver = serializers.DictField(child=serializers.CharField(),
                                     help_text="The approver's id, name and email.")
    status = serializers.ChoiceField(choices=LinkStatus.values)
    decision = serializers.CharField(allow_blank=True)
    comment = serializers.CharField(allow_blank=True)
    post_comments = serializers.DictField(child=serializers.CharField(),
                                          help_text="Per post number, the approver's comment.")
    created_at = AwareDateTimeField()
    expires_at = AwareDateTimeField()
    first_opened_at = AwareDateTimeField(allow_null=True)
    decided_at = AwareDateTimeField(allow_null=True)


def link_row(link, now) -> dict:
    return {
        "id": link.pk, "campaign_id": int(link.revision.object_id),
        "revision_id": link.revision_id,
        "approver": {"id": str(link.approver_id), "name": link.approver.name,
                     "email": link.approver.email},
        "status": status_of(link, now), "decision": link.decision,
        "comment": link.comment,
        "post_comments": {str(c.post_number): c.body for c in link.comments.all()},
        "created_at": link.created_at, "expires_at": link.expires_at,
        "first_opened_at": link.first_opened_at, "decided_at": link.decided_at,
    }


class IssueLinks(serializers.Serializer):
    campaign_id = Integer(min_value=1, max_value=2**31 - 1)
    approvers = serializers.ListField(
        child=Integer(min_value=1, max_value=2**31 - 1), max_length=50,
        required=False,
        help_text="Approver contact ids; default: every active main approver of the brand.")


class ReviewLinkViewSet(mixins.ListModelMixin, ApiViewSet):
    """Links that let the client's approvers review a campaign. Tokens are emailed to the
    approver and never shown here (only their hash is kept)."""

    lookup_value_regex = ID
    write_scope = Scope.APPROVE
    ordering = "-id"
    serializer_class = ReviewLinkData

    @property
    def pagination_class(self):
        # Issuing links answers with every link made: a list, not a page of one.
        return None if getattr(self, "action", None) == "create" else Cursor

    def get_queryset(self, now=None):
        links_ = (ReviewLink.objects.with_status(now).select_related("approver", "revision")
                  .prefetch_related("comments"))
        campaign = query_id(self.request, "campaign")
        if campaign is not None:
            links_ = links_.filter(revision__object_id=str(campaign))
        return links_

    @extend_schema(parameters=[
        id_parameter("campaign", "Only this campaign's links."),
        OpenApiParameter("status", str, enum=LinkStatus.values,
                         description="Only links in this state.")],
        responses=ReviewLinkData(many=True))
    def list(self, request):
        now = timezone.now()
        links_ = self.get_queryset(now)
        if wanted := query_choice(request, "status", LinkStatus.values):
            links_ = links_.filter(status=wanted)
        page = self.paginate_queryset(self.filter_queryset(links_))
        return self.get_paginated_response(ReviewLinkData([link_row(x, now) for x in page],
                                                          many=True).data)

    def _manageable(self, page):
        if not page.permissions_for_user(self.request.user).can_publish():
            raise PermissionDenied("Only account managers and agency admins manage review "
                                   "links.")

    @extend_schema(request=IssueLinks, responses={201: ReviewLinkData(many=True)})
    def create(self, request):
        """Email review links for the campaign's current client-approval step."""
        data = IssueLinks(data=request.data)
        data.is_valid(raise_exception=True)
        page = get_object_or_404(CampaignPage, pk=data.validated_data["campaign_id"])
        self._manageable(page)
        current = page.current_workflow_task_state
        if current is None or not isinstance(current.task.specific, ClientApprovalTask):
            raise Conflict("The campaign is not waiting for the client's approval, so there is "
                           "nothing to send a review link for. Submit it, and links go out when "
                           "the sensitivity review passes.")
        approvers = None
        if "approvers" in data.validated_data:
            wanted = set(data.validated_data["approvers"])
            approvers = list(ApproverContact.objects.filter(pk__in=wanted, active=True))
            missing = wanted - {a.pk for a in approvers}
            if missing:
                raise serializers.ValidationError({"approvers": [
                    f"Approver {pk} is not an active approver contact of this brand."
                    for pk in sorted(missing)]})
        issued = links.issue_links(TaskState.objects.get(pk=current.pk),
                                   current.task.specific, approvers=approvers)
        now = timezone.now()
        rows = [link_row(ReviewLink.objects.with_status(now).select_related("approver", "revision")
                         .get(pk=link.pk), now) for link, _ in issued]
        return Response(ReviewLinkData(rows, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ReviewLinkData)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Withdraw a link: it stops working at once (logged in the audit trail)."""
        link = get_object_or_404(self.get_queryset(), pk=pk)
        self._manageable(link.revision.content_object)
        try:
            links.revoke(link, user=request.user)
        except ValueError as exc:
            raise Conflict(str(exc)) from None
        link = self.get_queryset().get(pk=pk)
        return Response(ReviewLinkData(link_row(link, timezone.now())).data)


# --- Audit trail ----------------------------------------------------------------------------


class AuditEntryData(serializers.Serializer):
    id = serializers.IntegerField()
    at = AwareDateTimeField()
    action = serializers.CharField(help_text="e.g. wagtail.workflow.start, "
                                             "approvals.client_approved")
    message = serializers.CharField()
    by = serializers.CharField(allow_blank=True, help_text="A person, or the approver's email.")
    revision_id = serializers.IntegerField(allow_null=True)
    details = serializers.DictField()


class AuditViewSet(ApiViewSet):
    """A campaign's approval history: submissions, findings waived, decisions, comments,
    links issued, opened and revoked, with who, when and which revision."""

    ordering = "id"

    @extend_schema(responses=AuditEntryData(many=True))
    def list(self, request, campaign_pk=None):
        page = get_object_or_404(CampaignPage, pk=campaign_pk)
        entries = self.paginate_queryset(audit_entries(page.pk).order_by("id"))
        return self.get_paginated_response(AuditEntryData([{
            "id": e.pk, "at": e.timestamp, "action": e.action, "message": str(e.message),
            "by": audit_actor(e), "revision_id": e.revision_id,
            "details": audit_details(e)} for e in entries], many=True).data)
