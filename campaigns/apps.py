from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Deferred: an app's modules that use models load once Django calls ready().
        from campaigns import providers, setup  # noqa: F401 - providers register themselves

        setup.register()  # the campaigns index in the template and each new brand
