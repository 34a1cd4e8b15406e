from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Clients and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401

        _scope_wagtail_group_choices()


def brand_groups_q():
    """Groups of the brand whose schema is active: the only ones a brand's forms may offer."""
    from django.db import connection
    from django.db.models import Q

    return Q(role_scope__client__schema_name=connection.schema_name)


def _scope_wagtail_group_choices() -> None:
    """auth is shared, so Wagtail's group pickers would list every brand's groups (and so every
    client's name). Approval tasks and view restrictions offer only this brand's groups."""
    from django.contrib.auth.models import Group
    from wagtail.admin.forms.view_restrictions import BaseViewRestrictionForm
    from wagtail.models import GroupApprovalTask

    GroupApprovalTask._meta.get_field("groups").remote_field.limit_choices_to = brand_groups_q
    original_init = BaseViewRestrictionForm.__init__

    def scoped_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if "groups" in self.fields:
            self.fields["groups"].queryset = Group.objects.filter(brand_groups_q())

    BaseViewRestrictionForm.__init__ = scoped_init
