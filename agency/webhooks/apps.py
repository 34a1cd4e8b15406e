from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "agency.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Deferred: an app's modules that use models load once Django calls ready().
        from agency.webhooks import signals

        signals.connect()
