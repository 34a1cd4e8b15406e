"""Each network's OAuth 2 provider (campaigns.connections.Provider), registered on import."""

from campaigns.providers import linkedin  # noqa: F401
