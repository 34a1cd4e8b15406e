"""The networks' OAuth providers (``campaigns.connections.Provider``), one module each, each
registering itself when imported here."""

from campaigns.providers import facebook, instagram, linkedin, mastodon, threads, x  # noqa: F401
