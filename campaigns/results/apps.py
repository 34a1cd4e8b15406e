from django.apps import AppConfig


class ResultsConfig(AppConfig):
    """Per brand (tenant schema): the counts of the brand's published posts and its channels'
    followers. Deliveries live in the public outbox; results refer to them by id."""

    name = "campaigns.results"
    label = "results"
    verbose_name = "Results"
    default_auto_field = "django.db.models.BigAutoField"
