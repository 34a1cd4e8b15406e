"""The brand's API keys in its Wagtail admin (Settings → API keys): create (the key is shown
once), see when each was last used, revoke. Account managers and agency admins."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agency.api.models import ApiKey, Scope
from agency.api.services import api_key_create, api_key_revoke
from tenants.models import current_zone


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use it, e.g. “Reporting "
                                                    "dashboard”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ],
        help_text="Read sees everything; write drafts campaigns, uploads media and changes "
                  "deliveries; approve sends and withdraws review links. The key never does "
                  "more than your own role allows.")


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def api_keys_view(request):
    _require(request, "api.view_apikey")
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST":
        _require(request, "api.add_apikey")
        if form.is_valid():
            try:
                key, created = api_key_create(name=form.cleaned_data["name"],
                                              scopes=form.cleaned_data["scopes"],
                                              user=request.user)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field, error)
            else:
                form = ApiKeyForm()
    return render(request, "api/api_keys.html", {
        "keys": ApiKey.objects.select_related("created_by"), "form": form, "created": created,
        "zone": current_zone(), "can_add": request.user.has_perm("api.add_apikey"),
    })


@require_POST
def api_key_revoke_view(request, key_id: int):
    _require(request, "api.change_apikey")
    key = get_object_or_404(ApiKey, pk=key_id)
    api_key_revoke(key=key)
    messages.success(request, f"“{key.name}” no longer works. Anything using it gets 401.")
    return redirect("api_keys")
