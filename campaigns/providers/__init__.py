"""Each network's OAuth 2 provider (``campaigns.connections.Provider``), registered on import."""

from campaigns.providers import facebook, instagram, linkedin, threads  # noqa: F401
