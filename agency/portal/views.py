"""The agency portal: clients, their members and roles. Views parse, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_tenants.utils import get_public_schema_name, schema_context

from agency.api.models import ApiKey
from agency.forms import add_service_errors
from agency.portal import services as portal_services
from agency.portal.forms import (
    ApiKeyCreateForm,
    ClientCreateForm,
    ClientEditForm,
    ConfirmDeleteForm,
    MemberAddForm,
    MemberRoleForm,
)
from campaigns.conversations.panels import client_inbox_counts
from campaigns.results.overview import overview
from campaigns.selectors import client_card_counts, client_status_counts
from tenants import selectors, services
from tenants.emails import member_invite_send
from tenants.links import client_base_url
from tenants.media import serve_stored
from tenants.models import Client, Role

User = get_user_model()


def _client_or_404(request, slug: str) -> Client:
    client = selectors.client_for_user(request.user, slug)
    if client is None:
        raise Http404("No such client.")
    return client


def _require_agency_admin(request) -> None:
    if not selectors.is_agency_admin(request.user):
        raise PermissionDenied("Only agency admins can do this.")


def _form_errors_to_messages(request, error: ValidationError) -> None:
    for field_errors in error.message_dict.values():
        for message in field_errors:
            messages.error(request, message)


@login_required
def home(request):
    clients = Client.objects.visible_to(request.user).prefetch_related("domains")
    mine = set(request.user.memberships.values_list("client_id", flat=True))
    cards = [
        {
            "client": client,
            "counts": client_card_counts(client) + client_inbox_counts(client),
            "admin_url": client_base_url(client) + "/admin/",
            "can_manage": selectors.can_manage_members(request.user, client),
            "is_member": client.pk in mine or request.user.is_superuser,
        }
        for client in clients
    ]
    archived = Client.objects.brands().filter(archived_at__isnull=False)
    return render(request, "portal/home.html", {
        "cards": cards,
        "is_agency_admin": selectors.is_agency_admin(request.user),
        "archived": archived if selectors.is_agency_admin(request.user) else [],
    })


OVERVIEW_PERIODS = [(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days")]


@login_required
def results_overview(request):
    """Agency admins: every active brand's results side by side over a period (one statement
    for all brands: campaigns.results.overview)."""
    _require_agency_admin(request)
    days = request.GET.get("days", "30")
    days = int(days) if days.isdigit() and int(days) in dict(OVERVIEW_PERIODS) else 30
    rows = overview(Client.objects.active().order_by("name"), days=days)
    return render(request, "portal/results_overview.html", {
        "rows": rows, "days": days, "periods": OVERVIEW_PERIODS,
        "period_label": dict(OVERVIEW_PERIODS)[days],
        "totals": {"posts": sum(r.posts for r in rows),
                   "interactions": sum(r.interactions for r in rows)}})


@login_required
def brand_colours_css(request):
    """Brand colours as a style sheet, so pages need no inline style under the CSP."""
    rules = [
        f".brand-{client.slug} {{ background: {client.brand_colour}; }}"
        for client in Client.objects.visible_to(request.user).only("slug", "brand_colour")
    ]
    return HttpResponse("\n".join(rules), content_type="text/css")


@login_required
@require_http_methods(["GET", "POST"])
def client_create(request):
    _require_agency_admin(request)
    form = ClientCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            client = services.client_provision(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{client.name} is ready at {client_base_url(client)}.")
            return redirect("portal:client_detail", slug=client.slug)
    return render(request, "portal/client_create.html", {"form": form})


@login_required
def client_detail(request, slug):
    client = _client_or_404(request, slug)
    can_manage = selectors.can_manage_members(request.user, client)
    choices = selectors.roles_user_may_grant(request.user, client)
    return render(request, "portal/client_detail.html", {
        "client": client,
        "members": selectors.client_members(client),
        "can_manage": can_manage,
        "is_agency_admin": selectors.is_agency_admin(request.user),
        "add_form": MemberAddForm(role_choices=choices) if can_manage else None,
        "role_choices": choices,
        "admin_url": client_base_url(client) + "/admin/",
        "counts": client_status_counts(client) if not client.is_archived else None,
    })


@login_required
@require_http_methods(["GET", "POST"])
def client_edit(request, slug):
    client = _manageable_client(request, slug)
    form = ClientEditForm(request.POST or None, request.FILES or None, client=client)
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(client=client, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            client.refresh_from_db()
            add_service_errors(form, error)
        else:
            messages.success(request, f"{client.name}'s details are saved.")
            return redirect("portal:client_detail", slug=client.slug)
    return render(request, "portal/client_edit.html", {"client": client, "form": form})


@login_required
def client_logo(request, slug):
    client = _client_or_404(request, slug)
    if not client.logo:
        raise Http404("This client has no logo.")
    # Logos are stored under the public schema's folder or bucket prefix.
    with schema_context(get_public_schema_name()):
        return serve_stored(client.logo.storage, client.logo.name)


def _manageable_client(request, slug) -> Client:
    client = _client_or_404(request, slug)
    if not selectors.can_manage_members(request.user, client):
        raise PermissionDenied("Only the client's agency admins and account managers manage "
                               "its members.")
    return client


@login_required
@require_http_methods(["GET", "POST"])
def member_add(request, slug):
    client = _manageable_client(request, slug)
    choices = selectors.roles_user_may_grant(request.user, client)
    form = MemberAddForm(request.POST or None, role_choices=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # A refusal (services.NotAllowed) is the 403 page with its reason; nobody is created.
        with transaction.atomic():
            user = services.staff_user_get_or_create(
                email=data["email"], first_name=data["first_name"], last_name=data["last_name"])
            services.membership_set(client=client, user=user, role=data["role"],
                                    actor=request.user)
        member_invite_send(client=client, user=user, role_label=Role(data["role"]).label,
                           invited_by=request.user)
        messages.success(request, f"{user.email} is now {Role(data['role']).label} at "
                                  f"{client.name}. We emailed them.")
        return redirect("portal:client_detail", slug=client.slug)
    return render(request, "portal/member_add.html", {"client": client, "form": form})


@login_required
@require_POST
def member_role(request, slug, user_id):
    client = _manageable_client(request, slug)
    member = get_object_or_404(User, pk=user_id, memberships__client=client)
    form = MemberRoleForm(request.POST)  # any role: whether it may be given is the service's
    if not form.is_valid():
        messages.error(request, "Choose one of the roles in the list.")
    else:
        services.membership_set(client=client, user=member, role=form.cleaned_data["role"],
                                actor=request.user)
        messages.success(request, f"{member.email} is now "
                                  f"{Role(form.cleaned_data['role']).label}.")
    return redirect("portal:client_detail", slug=client.slug)


@login_required
@require_POST
def member_remove(request, slug, user_id):
    client = _manageable_client(request, slug)
    member = get_object_or_404(User, pk=user_id, memberships__client=client)
    try:
        services.membership_remove(client=client, user=member, actor=request.user)
    except services.NotAllowed as refusal:
        if member != request.user:
            raise  # the 403 page, with the reason
        messages.error(request, str(refusal))  # one's own removal: said on the client's page
        return redirect("portal:client_detail", slug=client.slug)
    messages.success(request, f"{member.email} no longer has access to {client.name}.")
    return redirect("portal:client_detail", slug=client.slug)


@login_required
@require_http_methods(["GET", "POST"])
def client_archive(request, slug):
    _require_agency_admin(request)
    client = _client_or_404(request, slug)
    if request.method == "POST":
        services.client_archive(client=client, actor=request.user)
        messages.success(request, f"{client.name} is archived. Its host is closed; nothing "
                                  "was deleted.")
        return redirect("portal:home")
    return render(request, "portal/client_archive.html", {"client": client})


@login_required
@require_POST
def client_restore(request, slug):
    _require_agency_admin(request)
    client = _client_or_404(request, slug)
    services.client_restore(client=client, actor=request.user)
    messages.success(request, f"{client.name} is open again.")
    return redirect("portal:client_detail", slug=client.slug)


@login_required
@require_http_methods(["GET", "POST"])
def client_delete(request, slug):
    _require_agency_admin(request)
    client = _client_or_404(request, slug)
    form = ConfirmDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.client_delete(client=client, actor=request.user,
                                   confirm_slug=form.cleaned_data["confirm_slug"])
        except ValidationError as error:
            form.add_error("confirm_slug", error.message_dict["confirm_slug"][0])
        else:
            messages.success(request, f"{client.name} and all its content were deleted.")
            return redirect("portal:home")
    return render(request, "portal/client_delete.html", {"client": client, "form": form})


@never_cache  # the page that shows a new key must not stay in any cache
@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    """The agency's keys for the portal API: list, create (the key shown once), revoke."""
    _require_agency_admin(request)
    form = ApiKeyCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            key, raw = portal_services.agency_api_key_create(
                name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                user=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            created = {"key": key, "raw": raw}
            form = ApiKeyCreateForm()
    keys = ApiKey.objects.select_related("created_by")
    return render(request, "portal/api_keys.html", {
        "form": form, "created": created,
        "active": [k for k in keys if k.revoked_at is None],
        "revoked": [k for k in keys if k.revoked_at is not None],
    })


@login_required
@require_POST
def api_key_revoke(request, key_id):
    _require_agency_admin(request)
    key = get_object_or_404(ApiKey, pk=key_id)
    portal_services.agency_api_key_revoke(key=key, user=request.user)
    messages.success(request, f"“{key.name}” ({key.masked}) is revoked. Anything still using it "
                              "now gets 401 Unauthorized.")
    return redirect("portal:api_keys")


class InvitedPasswordResetForm(PasswordResetForm):
    """Django skips accounts without a usable password; invited people who lost their email
    have none yet and need the link most."""

    def get_users(self, email):
        return User.objects.filter(email__iexact=email, is_active=True)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = InvitedPasswordResetForm
    template_name = "portal/password_reset.html"
    email_template_name = "portal/email/password_reset.txt"
    subject_template_name = "portal/email/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")


class PasswordSetView(auth_views.PasswordResetConfirmView):
    template_name = "portal/password_set.html"
    success_url = reverse_lazy("portal:password_reset_complete")
