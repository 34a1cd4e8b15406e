"""Crisis holds on the agency portal: hold matching posts across brands in one action, see what
was held, release posts one by one or all together. Agency admins only; every action audited."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaigns.publishing import operations
from campaigns.publishing.models import CrisisHold, Delivery, State
from tenants.models import Client

MATCH_CHOICES = [("tag", "Posts of campaigns tagged with this topic"),
                 ("word", "Posts whose text contains this word or phrase"),
                 ("everything", "Every scheduled post")]


class HoldForm(forms.Form):
    reason = forms.CharField(max_length=200, help_text="What happened, for the team and the "
                                                       "audit trail, e.g. “Flooding in York”.")
    match = forms.ChoiceField(choices=MATCH_CHOICES, widget=forms.RadioSelect, initial="tag",
                              label="Hold")
    value = forms.CharField(max_length=100, required=False, label="Tag or word",
                            help_text="The topic tag (e.g. “floods”) or the word (e.g. “storm”).")
    brand = forms.ChoiceField(required=False, label="Brands",
                              help_text="Leave at “All brands” to hold across every brand.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [("", "All brands")] + list(
            Client.objects.active().values_list("slug", "name"))

    def clean(self):
        data = super().clean()
        if data.get("match") in ("tag", "word") and not (data.get("value") or "").strip():
            self.add_error("value", "Type the tag or word to hold, or choose “Every scheduled "
                                    "post”.")
        return data


def _require(request):
    if not request.user.has_perm("publishing.add_crisishold"):
        raise PermissionDenied("Only agency admins can hold posts.")


@login_required
def holds_view(request):
    _require(request)
    form = HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        client = Client.objects.filter(slug=data["brand"]).first() if data["brand"] else None
        value = data["value"].strip()
        try:
            hold, count = operations.hold_create(
                reason=data["reason"], tag=value if data["match"] == "tag" else "",
                word=value if data["match"] == "word" else "",
                everything=data["match"] == "everything", client=client, user=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"Held {count} scheduled posts ({hold.describe()}). Newly "
                                      "approved posts that match are held too until you release "
                                      "the hold.")
            return redirect("portal:crisis_holds")
    active = list(CrisisHold.objects.filter(released_at__isnull=True)
                  .select_related("client", "created_by"))
    held = {}
    for delivery in (Delivery.objects.filter(hold__in=active, state=State.SCHEDULED)
                     .select_related("client").order_by("publish_at")):
        held.setdefault(delivery.hold_id, []).append(delivery)
    return render(request, "publishing/portal_holds.html", {
        "form": form, "now": timezone.now(),
        "holds": [(hold, held.get(hold.pk, [])) for hold in active],
        "released": CrisisHold.objects.filter(released_at__isnull=False)
        .select_related("client", "released_by")[:20],
    })


@login_required
@require_POST
def release_view(request, hold_id: int):
    _require(request)
    hold = get_object_or_404(CrisisHold, pk=hold_id)
    delivery = request.POST.get("delivery", "")
    if delivery:
        if not delivery.isdigit():
            messages.error(request, "That post is not held here.")
            return redirect("portal:crisis_holds")
        count = operations.hold_release(hold, user=request.user, delivery_ids=[int(delivery)])
        messages.success(request, "Released 1 post." if count else "That post is not held "
                                                                   "any more.")
    else:
        count = operations.hold_release(hold, user=request.user)
        messages.success(request, f"Hold ended: released {count} posts. Any past their time go "
                                  "out now.")
    return redirect("portal:crisis_holds")
