from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Clients and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Deferred: an app's modules that use models load once Django calls ready().
        from tenants import scoping, signals  # noqa: F401 - signals connect on import

        scoping.choice_fields_scope()
