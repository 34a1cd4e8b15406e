"""The networks' OAuth providers (``campaigns.connections.Provider``), one module each, each
registering itself when imported here."""

from campaigns.providers import (  # noqa: F401
    facebook,
    instagram,
    linkedin,
    mastodon,
    pinterest,
    threads,
    tiktok,
    x,
    youtube,
)
