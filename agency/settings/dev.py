"""Local development: DEBUG on, emails to the console, the embedded database unless DATABASE_URL."""

import os

# Links in emails and the demo's printout carry the port the development server listens on.
_addr = os.environ.get("AGENCY_ADDR", "127.0.0.1:8000")
os.environ.setdefault("AGENCY_PORT", _addr.rsplit(":")[-1])
os.environ.setdefault("LOG_FORMAT", "plain")

from .base import *  # noqa: E402,F403

DEBUG = env_bool("DJANGO_DEBUG", True)  # noqa: F405

# Serve static files straight from the source folders (no collectstatic before a run).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - WhiteNoise expects it to exist
