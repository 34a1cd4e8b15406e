"""Inside a brand, every field over the shared group table or the user model offers only the
brand's own: its role groups, its members.

The fields are found by walking every installed model, so a field added later (a new workflow task
type, a snippet with an owner, ...) is checked without touching this file. Each is built as the
model's form field, as the model forms Wagtail and Django build for it, and as every form class of
the installation made for its model (Wagtail's privacy and user forms, task forms), inside
brand A's schema.
"""

from __future__ import annotations

from contextlib import suppress

import pytest
from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django_tenants.utils import schema_context
from wagtail.admin.forms import WagtailAdminModelForm

from tenants.models import Role

pytestmark = pytest.mark.django_db


def fields_over_auth() -> list[tuple[type[models.Model], models.Field]]:
    """(model, field) for every foreign key, one-to-one and many-to-many field of every installed
    model (inherited ones too: a page type's owner) whose target is the group table or the user
    model."""
    targets = (Group, get_user_model())
    return [(model, field) for model in apps.get_models() for field in model._meta.get_fields()
            if isinstance(field, (models.ForeignKey, models.ManyToManyField))
            and issubclass(field.related_model, targets)]


def _model_form_classes(model) -> list[type]:
    """Every ModelForm class of the installation made for ``model`` (Wagtail's own included)."""
    found, todo = [], list(forms.ModelForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        meta = getattr(cls, "_meta", None)
        made_by_factory = cls.__module__ == forms.models.__name__  # built above already
        if meta is not None and meta.model is model and not made_by_factory:
            found.append(cls)
    return found


def built_fields(model, field) -> dict[str, forms.Field]:
    """``model``'s ``field`` as each form that offers it would show it: where -> form field."""
    from wagtail.admin.forms.workflows import get_task_form_class
    from wagtail.models import Task

    name = field.name
    built = {"formfield()": field.formfield()}
    if field.editable:
        for base in (forms.ModelForm, WagtailAdminModelForm):
            form = forms.modelform_factory(model, form=base, fields=[name])()
            built[base.__name__] = form.fields[name]
    if issubclass(model, Task) and name in model.admin_form_fields:
        built["get_task_form_class()"] = get_task_form_class(model)().fields[name]
    for cls in _model_form_classes(model):
        form = None
        with suppress(Exception):  # some need arguments or an object: the factories cover them
            form = cls()
        if form is not None and name in form.fields:
            built[cls.__qualname__] = form.fields[name]
    return built


def _choice_ids(formfield) -> set:
    return {int(str(value)) for value, _ in formfield.choices if str(value)}


def test_the_walk_finds_the_pickers_that_matter():
    found = {f"{model._meta.label}.{f.name}" for model, f in fields_over_auth()}
    assert {"approvals.SensitivityReviewTask.groups", "wagtailcore.GroupApprovalTask.groups",
            "wagtailcore.PageViewRestriction.groups", "campaigns.CampaignPage.owner",
            "wagtailimages.Image.uploaded_by_user", "api.ApiKey.created_by",
            "tenants.Membership.user", "auth.User.groups"} <= found


def test_every_field_over_groups_or_accounts_offers_only_the_brands_own(world):
    acme = world.acme.client
    own_groups = set(Group.objects.filter(role_scope__client=acme).values_list("pk", flat=True))
    members = set(get_user_model().objects.filter(memberships__client=acme)
                  .values_list("pk", flat=True))
    foreign_group = Group.objects.get(name="globex: Sensitivity reviewer").pk
    outsider = world.globex.users[Role.SENSITIVITY_REVIEWER].pk
    assert len(own_groups) == len(Role) and len(members) >= len(Role)

    problems, checked = [], 0
    with schema_context(acme.schema_name):
        for model, field in fields_over_auth():
            own, foreign = ((own_groups, foreign_group)
                            if issubclass(field.related_model, Group) else (members, outsider))
            for where, formfield in built_fields(model, field).items():
                label = f"{model._meta.label}.{field.name} in {where}"
                checked += 1
                offered = set(formfield.queryset.values_list("pk", flat=True))
                if not offered <= own or not _choice_ids(formfield) <= own:
                    problems.append(f"{label} offers {len(offered - own)} that are not acme's")
                if not offered:
                    problems.append(f"{label} offers none of acme's own")
                value = [foreign] if isinstance(formfield, forms.ModelMultipleChoiceField) \
                    else foreign
                try:
                    formfield.clean(value)
                except ValidationError:
                    pass
                else:
                    problems.append(f"{label} accepts another brand's {foreign}")
    assert not problems, "\n".join(problems)
    assert checked > 40


def test_on_the_portal_the_same_fields_are_left_as_they_are(world):
    """Control: outside any brand the check above would see other brands' groups, so its
    passing inside a brand is the scoping's doing."""
    from approvals.models import SensitivityReviewTask

    formfield = SensitivityReviewTask._meta.get_field("groups").formfield()
    names = set(formfield.queryset.values_list("name", flat=True))
    assert {"acme: Sensitivity reviewer", "globex: Sensitivity reviewer"} <= names


def test_a_task_form_in_brand_a_shows_and_takes_only_brand_as_groups(world, http):
    """What the reviewer's leak looked like: brand A's task form listing brand B's groups."""
    from wagtail.models import Task

    admin = http(world.acme.host, user=world.acme.users[Role.AGENCY_ADMIN])
    page = admin.get("/admin/workflows/tasks/add/approvals/sensitivityreviewtask/").content
    assert b"acme: Sensitivity reviewer" in page
    assert b"globex" not in page and b"Agency: " not in page
    foreign = Group.objects.get(name="globex: Sensitivity reviewer")
    response = admin.post("/admin/workflows/tasks/add/approvals/sensitivityreviewtask/",
                          {"name": "Borrowed reviewers", "groups": [foreign.pk]})
    assert response.status_code == 200  # the form again, with its error
    assert b"Select a valid choice" in response.content
    with schema_context(world.acme.client.schema_name):
        assert not Task.objects.filter(name="Borrowed reviewers").exists()
