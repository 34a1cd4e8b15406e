"""Each network's OAuth provider (``campaigns.connections.Provider``), registered on import."""

from campaigns.providers import facebook, instagram, threads  # noqa: F401
