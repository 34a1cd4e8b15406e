"""Test settings: real PostgreSQL (embedded unless DATABASE_URL), fast hashing, mail in memory."""

import os

os.environ.setdefault("LOG_FORMAT", "plain")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from .base import *  # noqa: E402,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if os.environ.get("AGENCY_TEST_MAIL_DIR"):  # the test's own server process: mail to files
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["AGENCY_TEST_MAIL_DIR"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}

# Serve static files straight from the source folders (no collectstatic before a run).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - WhiteNoise expects it to exist

# Uploads of one test run never meet the next run's brands (which reuse the same short names).
import tempfile  # noqa: E402

MEDIA_ROOT = os.environ.get("AGENCY_TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="agency-media-")
os.environ["AGENCY_TEST_MEDIA_ROOT"] = MEDIA_ROOT  # the test's server and workers share it

# Tests call local http servers (webhook receivers, fake networks); the tests of the outbound
# guard switch this off.
OUTBOUND_ALLOW_PRIVATE = True
