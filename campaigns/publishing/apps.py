from django.apps import AppConfig


class PublishingConfig(AppConfig):
    """The outbox and its dispatcher. Its tables live in the public schema: one index finds due
    posts across every brand, and the workers enter each brand's schema to publish."""

    name = "campaigns.publishing"
    label = "publishing"
    verbose_name = "Publishing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Deferred: an app's modules that use models load once Django calls ready().
        from campaigns.publishing import records, signals

        signals.connect()  # approval builds the outbox; unpublishing cancels it
        records.register()  # a brand's export keeps its deliveries (tenants.transfer)
