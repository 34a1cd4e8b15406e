"""The agency's API on the portal host: list and provision clients, manage their members.

Keys are the agency's own (created in the portal under API keys) and act for the agency admin who
created them. Writes go through ``tenants.services`` after the portal's own forms have checked the
input, so the API and the portal follow one set of rules and write the same audit events."""

from __future__ import annotations

import re
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from agency.api import errors
from agency.api.auth import KeyScope, required_scope
from agency.api.conventions import (
    ID,
    IF_MATCH,
    ApiViewSet,
    AwareDateTimeField,
    Email,
    Text,
    check_if_match,
    etag_of,
    query_choice,
    query_text,
    text_parameter,
)
from agency.api.models import ApiKey
from agency.portal.forms import COMMON_ZONES, MAX_EMAIL_LENGTH, ClientCreateForm, MemberAddForm
from tenants import selectors, services
from tenants.emails import member_invite_send
from tenants.links import brand_host, client_base_url
from tenants.models import RESERVED_SLUGS, SLUG_RE, Client, Membership, Role

User = get_user_model()

SLUG = r"[a-z0-9-]{1,40}"  # anything else is no client's short name: 404 without a query
KEYS_PAGE = "/api-keys/"
SLUG_HELP = ("Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter and "
             "ending with a letter or digit.")
ROLE_HELP = "One of: " + ", ".join(f"{value} ({label})" for value, label in Role.choices) + "."


class PortalKeyScope(KeyScope):
    """``KeyScope``, pointing at the portal (where agency keys are made) when a scope is
    missing."""

    def has_permission(self, request, view):
        allowed = super().has_permission(request, view)
        if not allowed and isinstance(request.auth, ApiKey):
            self.message = (f"This key lacks the “{required_scope(request, view)}” scope this "
                            "request needs. An agency admin can create a key with it in the "
                            f"portal under API keys ({KEYS_PAGE}).")
        return allowed


def portal_exception_handler(exc, context):
    response = errors.exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.NotAuthenticated):
        # The shared handler asks for a brand's key; here only an agency key will do.
        response.data["detail"] = (
            "Send an agency API key as “Authorization: Bearer agk_...”. Agency admins create "
            f"them in the portal under API keys ({KEYS_PAGE}); a brand's key does not work here.")
    return response


class PortalViewSet(ApiViewSet):
    permission_classes = [PortalKeyScope]
    ordering = "-id"

    def get_exception_handler(self):
        return portal_exception_handler

    def client_or_404(self, slug: str) -> Client:
        client = selectors.client_for_user(self.request.user, slug)
        if client is None:
            raise exceptions.NotFound(f"There is no client with the short name “{slug}”. List "
                                      "the clients with GET /api/v1/clients/.")
        return client


# --- Clients --------------------------------------------------------------------------------


class ClientData(serializers.Serializer):
    slug = Text(
        max_length=40, validators=[RegexValidator(SLUG_RE, SLUG_HELP)],
        help_text=f"{SLUG_HELP} Not one of {', '.join(sorted(RESERVED_SLUGS))}, nor starting "
                  "with pg. It becomes the client's host and cannot be changed later; a short "
                  "name in use answers 409.")
    name = Text(max_length=100, help_text="The brand's name, e.g. “Acme Coffee”.")
    time_zone = serializers.ChoiceField(
        choices=COMMON_ZONES, default="Europe/London",
        error_messages={"invalid_choice": "“{input}” is not a time zone we offer. Use a "
                                          "region and city name such as Europe/London (old "
                                          "names such as GB or US/Eastern are not taken)."},
        help_text="IANA time zone (region/city, no old aliases) in which post times are shown "
                  "and entered.")
    brand_colour = Text(max_length=7, default="#2F5D62",
                        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$", "Give #RRGGBB.")],
                        help_text="#RRGGBB, e.g. #2F5D62.")
    host = serializers.CharField(read_only=True, help_text="The client's own host name.")
    admin_url = serializers.CharField(read_only=True,
                                      help_text="The client's campaign studio (Wagtail admin).")
    member_count = serializers.IntegerField(read_only=True)
    archived = serializers.BooleanField(read_only=True)
    created_at = AwareDateTimeField(read_only=True)
    archived_at = AwareDateTimeField(read_only=True, allow_null=True)

    def validate(self, attrs):
        # The portal's own form, so a client made here meets exactly the rules of the portal.
        form = ClientCreateForm(data=attrs)
        if not form.is_valid():
            raise serializers.ValidationError(
                {field: list(messages) for field, messages in form.errors.items()})
        return {name: value for name, value in form.cleaned_data.items() if name != "logo"}


def _client_row(client: Client) -> dict:
    """``client`` as the API shows it (from ``ClientViewSet.get_queryset``: counted, domains
    prefetched, so a page of clients costs two queries)."""
    host = next((d.domain for d in client.domains.all() if d.is_primary), "")
    return {
        "slug": client.slug, "name": client.name, "time_zone": client.time_zone,
        "brand_colour": client.brand_colour, "host": host or brand_host(client.slug),
        "admin_url": client_base_url(client) + "/admin/",
        "member_count": client.member_count,
        "archived": client.is_archived, "created_at": client.created_at,
        "archived_at": client.archived_at,
    }


def _client_etag(client: Client) -> str:
    return etag_of("client", client.pk, client.name, client.time_zone, client.brand_colour,
                   client.archived_at)


CLIENT_FILTERS = [
    OpenApiParameter("archived", bool, description="true: only archived clients; false: only "
                                                   "open ones. Leave out for both."),
    text_parameter("search", "Words in the client's name or short name."),
]


class ClientViewSet(PortalViewSet):
    """The agency's client brands: list, read, provision, archive and restore."""

    serializer_class = ClientData
    lookup_field = "slug"
    lookup_value_regex = SLUG

    def get_queryset(self):
        return (Client.objects.brands().annotate(member_count=Count("memberships"))
                .prefetch_related("domains"))

    def _respond(self, client: Client, code: int = status.HTTP_200_OK, **headers) -> Response:
        client = self.get_queryset().get(pk=client.pk)
        return Response(ClientData(_client_row(client)).data, status=code,
                        headers={"ETag": _client_etag(client), **headers})

    @extend_schema(parameters=CLIENT_FILTERS, responses=ClientData(many=True))
    def list(self, request):
        clients = self.get_queryset()
        archived = query_choice(
            request, "archived", ("true", "false"),
            message="Use archived=true or archived=false (or leave it out).")
        if archived is not None:
            clients = clients.filter(archived_at__isnull=archived == "false")
        search = query_text(request, "search").strip()
        if search:
            clients = clients.filter(Q(name__icontains=search) | Q(slug__icontains=search))
        page = self.paginate_queryset(clients)
        return self.get_paginated_response(
            ClientData([_client_row(c) for c in page], many=True).data)

    @extend_schema(responses=ClientData)
    def retrieve(self, request, slug: str):
        return self._respond(self.client_or_404(slug))

    @extend_schema(request=ClientData, responses={201: ClientData})
    def create(self, request):
        """Provision a client: its own schema, host, role groups and approval workflow. The key's
        person becomes the client's agency admin. Takes about a second."""
        data = ClientData(data=request.data)
        slug = request.data.get("slug") if isinstance(request.data, dict) else None
        # A short name in use is a conflict (409), not a mistake in the request; anything that
        # is no short name at all is left to the checks below (400).
        if (isinstance(slug, str) and re.fullmatch(SLUG_RE, slug)
                and Client.objects.filter(slug=slug).exists()):
            raise errors.Conflict(f"A client with the short name “{slug}” already exists. "
                                  "Choose another short name.")
        data.is_valid(raise_exception=True)
        try:
            client = services.client_provision(actor=request.user, **data.validated_data)
        except IntegrityError:
            # Another request took the same short name between the check and the insert.
            raise errors.Conflict(f"A client with the short name “{data.validated_data['slug']}” "
                                  "was just created. Choose another short name.") from None
        return self._respond(client, status.HTTP_201_CREATED,
                             Location=f"/api/v1/clients/{client.slug}/")

    @extend_schema(request=None, responses=ClientData)
    @action(detail=True, methods=["post"])
    def archive(self, request, slug: str):
        """Close the client's host and hide it from lists; nothing is deleted."""
        client = self.client_or_404(slug)
        return self._respond(services.client_archive(client=client, actor=request.user))

    @extend_schema(request=None, responses=ClientData)
    @action(detail=True, methods=["post"])
    def restore(self, request, slug: str):
        """Open an archived client's host again."""
        client = self.client_or_404(slug)
        if client.is_archived:
            client = services.client_restore(client=client, actor=request.user)
        return self._respond(client)


# --- Memberships ----------------------------------------------------------------------------


ROLE_ERRORS = {"invalid_choice": "“{input}” is not a role. " + ROLE_HELP}


class MembershipData(serializers.Serializer):
    user_id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    role_label = serializers.CharField(read_only=True)
    password_set = serializers.BooleanField(
        read_only=True, help_text="False while an invited person has not yet set a password.")
    created_at = AwareDateTimeField(read_only=True)


class MembershipCreate(serializers.Serializer):
    email = Email(max_length=MAX_EMAIL_LENGTH,
                  error_messages={"max_length": f"Use an email address of at most "
                                                f"{MAX_EMAIL_LENGTH} characters: it is what "
                                                "the person signs in with."},
                  help_text="Their work email, which they sign in with. New people get an "
                            "email to set a password.")
    role = serializers.ChoiceField(choices=Role.choices, error_messages=ROLE_ERRORS,
                                   help_text=ROLE_HELP)
    first_name = Text(max_length=150, allow_blank=True, default="")
    last_name = Text(max_length=150, allow_blank=True, default="")

    def validate(self, attrs):
        # The portal's add-member form: the same email normalising and limits.
        form = MemberAddForm(data=attrs)
        if not form.is_valid():
            raise serializers.ValidationError(
                {field: list(messages) for field, messages in form.errors.items()})
        return form.cleaned_data


class MembershipUpdate(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, error_messages=ROLE_ERRORS,
                                   help_text=ROLE_HELP)


def _membership_row(membership: Membership) -> dict:
    user = membership.user
    return {"user_id": user.pk, "email": user.email, "first_name": user.first_name,
            "last_name": user.last_name, "role": membership.role,
            "role_label": Role(membership.role).label,
            "password_set": user.has_usable_password(), "created_at": membership.created_at}


@contextmanager
def _refusal_as_403():
    """Who may grant which role is ``services.check_grantable``'s rule (agency keys act for
    agency admins, who may grant every role; held to it all the same): its refusal is a 403
    problem with its reason, and nothing of the request stays."""
    try:
        with transaction.atomic():
            yield
    except services.NotAllowed as refusal:
        raise exceptions.PermissionDenied(str(refusal)) from None


def _membership_etag(membership: Membership) -> str:
    return etag_of("membership", membership.pk, membership.role)


@extend_schema(tags=["memberships"], parameters=[OpenApiParameter(
    "slug", str, OpenApiParameter.PATH, pattern=f"^{SLUG}$",
    description="The client's short name.")])
class MembershipViewSet(PortalViewSet):
    """Who works on a client, in which role. Adding someone new creates their account and emails
    them a link to set a password."""

    serializer_class = MembershipData
    lookup_field = "user_id"
    lookup_value_regex = ID
    queryset = Membership.objects.none()  # for the schema: user_id is an integer

    def _members(self, client: Client):
        return Membership.objects.filter(client=client).select_related("user")

    def _membership_or_404(self, client: Client, user_id: str) -> Membership:
        membership = self._members(client).filter(user_id=user_id).first()
        if membership is None:
            raise exceptions.NotFound(
                f"User {user_id} is not a member of {client.name}. List the members with GET "
                f"/api/v1/clients/{client.slug}/memberships/.")
        return membership

    def _respond(self, membership: Membership, code: int = status.HTTP_200_OK,
                 **headers) -> Response:
        return Response(MembershipData(_membership_row(membership)).data, status=code,
                        headers={"ETag": _membership_etag(membership), **headers})

    @extend_schema(parameters=[OpenApiParameter("role", str, enum=Role.values,
                                                description="Only members with this role.")],
                   responses=MembershipData(many=True))
    def list(self, request, slug: str):
        members = self._members(self.client_or_404(slug))
        role = query_choice(request, "role", Role.values,
                            message=f"“{request.query_params.get('role')}” is not a role. "
                                    + ROLE_HELP)
        if role:
            members = members.filter(role=role)
        page = self.paginate_queryset(members)
        return self.get_paginated_response(
            MembershipData([_membership_row(m) for m in page], many=True).data)

    @extend_schema(responses=MembershipData)
    def retrieve(self, request, slug: str, user_id: str):
        return self._respond(self._membership_or_404(self.client_or_404(slug), user_id))

    @extend_schema(request=MembershipCreate, responses={201: MembershipData})
    def create(self, request, slug: str):
        """Add a person to the client (creating their account if they have none) and email
        them. Someone who is already a member is refused: change their role with PATCH."""
        client = self.client_or_404(slug)
        data = MembershipCreate(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        existing = self._members(client).filter(user__username__iexact=values["email"]).first()
        if existing is not None:
            raise errors.Conflict(
                f"{existing.user.email} is already {Role(existing.role).label} at {client.name}. "
                f"Change their role with PATCH /api/v1/clients/{client.slug}/memberships/"
                f"{existing.user_id}/.")
        with _refusal_as_403():
            user = services.staff_user_get_or_create(
                email=values["email"], first_name=values["first_name"],
                last_name=values["last_name"])
            membership = services.membership_set(client=client, user=user, role=values["role"],
                                                 actor=request.user)
        member_invite_send(client=client, user=user, role_label=Role(values["role"]).label,
                           invited_by=request.user)
        return self._respond(membership, status.HTTP_201_CREATED,
                             Location=f"/api/v1/clients/{client.slug}/memberships/{user.pk}/")

    @extend_schema(
        request=MembershipUpdate, responses=MembershipData,
        parameters=[IF_MATCH])
    def partial_update(self, request, slug: str, user_id: str):
        """Change a member's role. Needs ``If-Match`` with the ETag you last read."""
        client = self.client_or_404(slug)
        membership = self._membership_or_404(client, user_id)
        # The request itself first (400), then whether it applies to the current version.
        data = MembershipUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        check_if_match(request, _membership_etag(membership))
        role = data.validated_data["role"]
        with _refusal_as_403():
            if role != membership.role:
                membership = services.membership_set(client=client, user=membership.user,
                                                     role=role, actor=request.user)
            else:  # nothing to change, but refused all the same to whom it would be
                services.check_grantable(request.user, client, role, membership)
        return self._respond(membership)

    @extend_schema(
        request=None, responses={204: None},
        parameters=[OpenApiParameter("If-Match", {"type": "string", "minLength": 1},
                                     OpenApiParameter.HEADER,
                                     description="Optional: remove only if unchanged since "
                                                 "this ETag (else 412).")])
    def destroy(self, request, slug: str, user_id: str):
        """End a person's access to the client. Their account and other memberships stay."""
        client = self.client_or_404(slug)
        membership = self._membership_or_404(client, user_id)
        if "If-Match" in request.headers:
            check_if_match(request, _membership_etag(membership))
        with _refusal_as_403():
            services.membership_remove(client=client, user=membership.user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- The OpenAPI document -------------------------------------------------------------------


def describe_portal_api(result, generator, request, public):
    """Postprocessing hook: the shared parts speak of brands; on the portal they speak of the
    agency."""
    schemes = result.get("components", {}).get("securitySchemes", {})
    if "apiKey" in schemes:
        schemes["apiKey"]["description"] = (
            "An agency API key, created by an agency admin in the portal (API keys), sent as "
            "`Authorization: Bearer agk_…`. It acts for that admin; brand keys are refused.")
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "404" in operation.get("responses", {}):
                operation["responses"]["404"]["description"] = "No such client or member."
                operation["responses"].pop("410", None)  # the portal is never archived
    return result


PORTAL_SCHEMA_SETTINGS = {
    "TITLE": "Agency portal API",
    "DESCRIPTION": (
        "The agency's clients and their members, for agency admins. Every request carries an "
        "agency API key (`Authorization: Bearer agk_...`, created in the portal under API keys) "
        "and goes to the portal's host. Errors are RFC 9457 problem details; lists use cursor "
        "pagination (`next`/`previous`); role changes need `If-Match` with the ETag last read; "
        "POSTs take an `Idempotency-Key`. Every time carries its offset."),
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "agency.api.schema.add_problem_responses",
                             "agency.api.schema.state_the_rules",
                             "agency.api.schema.name_enum_members",
                             "agency.api.schema.add_links",
                             "agency.portal.api.describe_portal_api"],
}
