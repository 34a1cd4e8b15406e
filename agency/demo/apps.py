from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (``manage.py seed_demo``): built on every part, so it sits at the top, where
    nothing imports it."""

    name = "agency.demo"
    label = "demo"
    verbose_name = "Demo data"
