"""Production: every secret and host from the environment, HTTPS only, hardened cookies."""

import os
import re

from django.core.exceptions import ImproperlyConfigured

if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured("Set DATABASE_URL to your PostgreSQL server; production never "
                               "starts the embedded development database.")

from .base import *  # noqa: E402,F403

DEBUG = False
if SECRET_KEY.startswith("dev-only") or len(SECRET_KEY) < 50:  # noqa: F405
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to a random string of at least 50 characters, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
    )

if not FIELD_ENCRYPTION_KEYS:  # noqa: F405
    raise ImproperlyConfigured(
        "Set FIELD_ENCRYPTION_KEYS to one or more Fernet keys (newest first); make one with "
        "`python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'`."
    )
REQUIRE_FIELD_ENCRYPTION_KEYS = True

# Persistent, health-checked connections (DB_CONN_MAX_AGE, default 60 s): base.py.

AGENCY_SCHEME = "https"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)  # noqa: F405
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)  # noqa: F405
if not SECURE_HSTS_PRELOAD:
    # Preloading commits the whole domain to HTTPS in browsers for good: the operator opts in
    # with DJANGO_HSTS_PRELOAD=1 once every subdomain is HTTPS. Until then the check is noise.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load balancer probes speak plain HTTP
X_FRAME_OPTIONS = "DENY"
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
# Static files: WhiteNoise serves the collected, hashed and pre-compressed files from every web
# process, hashed names with a one-year immutable Cache-Control (put a CDN in front if you like).

# Email: a provider's API through django-anymail (ANYMAIL_PROVIDER and its ANYMAIL_* key), else
# SMTP (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS).
_provider = ANYMAIL_PROVIDER  # noqa: F405
if _provider:
    import importlib.util

    if (not re.fullmatch(r"[a-z][a-z0-9_]*", _provider)
            or importlib.util.find_spec(f"anymail.backends.{_provider}") is None):
        raise ImproperlyConfigured(
            f"ANYMAIL_PROVIDER={_provider!r} is not a django-anymail backend; use e.g. mailgun, "
            "postmark, sendgrid, amazon_ses, brevo, mailjet, sparkpost or resend.")
else:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # noqa: F405

# Media: agency.storage.TenantS3Storage when AWS_STORAGE_BUCKET_NAME is set (base.py), else the
# file system under MEDIA_ROOT/<schema>/ (then MEDIA_ROOT must be shared by every web process).
