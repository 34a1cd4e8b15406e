"""The networks' OAuth providers (``campaigns.connections.Provider``), one module each, each
registering itself when imported here."""

from campaigns.providers import (  # noqa: F401
    facebook,
    google_business,
    instagram,
    linkedin,
    mastodon,
    pinterest,
    threads,
    tiktok,
    x,
    youtube,
)
