from django.apps import AppConfig


class PublishingConfig(AppConfig):
    """The outbox and its dispatcher. Its tables live in the public schema: one index finds due
    posts across every brand, and the workers enter each brand's schema to publish."""

    name = "campaigns.publishing"
    label = "publishing"
    verbose_name = "Publishing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from campaigns.publishing import signals
        from campaigns.publishing.records import deliveries_record
        from tenants.transfer import register_record

        signals.connect()
        register_record("deliveries", deliveries_record)
