"""The publishing engine: outbox, dispatcher, worker tasks and channel adapters."""


def config(name: str):
    """One of the engine's settings (``settings.PUBLISHING``)."""
    from django.conf import settings

    return settings.PUBLISHING[name]
