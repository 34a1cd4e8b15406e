"""Settings shared by every environment. Values a deployment changes come from the environment."""

import os
import sys
from pathlib import Path

from django.utils.functional import lazy

from agency.database import data_dir, database_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = data_dir(BASE_DIR)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)

# The portal lives on AGENCY_BASE_DOMAIN, each brand on <slug>.AGENCY_BASE_DOMAIN.
AGENCY_BASE_DOMAIN = os.environ.get("AGENCY_BASE_DOMAIN", "agency.localhost")
AGENCY_SCHEME = os.environ.get("AGENCY_SCHEME", "http")
AGENCY_PORT = os.environ.get("AGENCY_PORT", "")  # shown in links, e.g. "8000" in development
AGENCY_NAME = os.environ.get("AGENCY_NAME", "Agency")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", f"{AGENCY_BASE_DOMAIN},.{AGENCY_BASE_DOMAIN}")

SHARED_APPS = [
    "tenants",  # before django_tenants: its `migrate` also migrates the template schema
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",  # django-csp: its checks catch a policy in an outdated format
    "django_q",
    # Wagtail's admin code is imported on the portal too (users, forms), its tables are per brand.
    "wagtail.users",
    "wagtail.admin",
    "wagtail",
    "taggit",
    "modelcluster",
    # Empty in public, used in each brand: its review task links to (public) groups, so deleting
    # a group on the portal must find its tables.
    "approvals",
    # The outbox (public): one index finds due posts across every brand.
    "campaigns.publishing",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # API keys: the agency's in public (portal API), each brand's in its schema.
    "agency.api",
    "agency.demo",  # manage.py seed_demo
]

TENANT_APPS = [
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "taggit",
    "campaigns",
    "campaigns.conversations",
    "approvals",
    "agency.api",
    "agency.webhooks",
    "campaigns.results",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Client"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "agency.urls_public"
ROOT_URLCONF = "agency.urls_tenant"
# New brands are cloned from this schema (kept migrated by `manage.py migrate`).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# Issue `SET search_path` once per schema switch, not before every query (it was 7 of the 14
# statements of an API list request). django-tenants forgets the path on rollback, savepoint
# rollback and reconnect, so a reverted SET is issued again.
TENANT_LIMIT_SET_CALLS = True
# A worker's database connection is closed after serving this many brand schemas (tenants.tasks):
# PostgreSQL keeps every relation a backend touched cached, hundreds per brand.
TENANT_CONNECTION_MAX_SCHEMAS = int(os.environ.get("TENANT_CONNECTION_MAX_SCHEMAS", "200"))

DATABASES = {"default": database_settings(BASE_DIR)}
# Persistent connections in every environment (the embedded default too), checked before reuse:
# a new connection per request or task cost the publishing workers most of their time
# (bench/dispatch_lag.py) and the API 9 ms per request. DB_CONN_MAX_AGE=0 opens one per request.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE") or "60")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Except in Django's development server (bin/demo's web process): it serves each request on a
# thread of its own that ends without closing its connection, so a persistent one stays open
# per request until PostgreSQL refuses more clients (Django's docs say as much). Gunicorn's
# workers, django-q2's workers and the dispatcher keep theirs.
if sys.argv[1:2] == ["runserver"]:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIDDLEWARE = [
    "tenants.middleware.ClientMiddleware",
    "agency.api.middleware.ApiRequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "agency.middleware.ContentSecurityPolicyMiddleware",  # django-csp's, per path
    # Before any view or process_view reads a body (CSRF reads POST), after the middleware that
    # only set headers, so that a refusal carries them too.
    "agency.limits.RequestBodyLimitMiddleware",
    "tenants.middleware.BrandRedirectMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "agency.context_processors.agency",
            ],
        },
    },
]

WSGI_APPLICATION = "agency.wsgi.application"

AUTHENTICATION_BACKENDS = ["tenants.backends.ClientRoleBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Paths, not URL names: they must resolve on the portal and on every brand host alike.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
# Failed sign-ins per account and per address within the window before sign-in is refused.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_S = int(os.environ.get("LOGIN_FAILURE_WINDOW_S", "900"))
# Review-link addresses that lead nowhere, per client address within the same window, before
# that address's unknown links are answered 429. A valid link always opens, whatever else its
# address sent (approvers share office addresses with strays).
REVIEW_FAILURE_LIMIT = int(os.environ.get("REVIEW_FAILURE_LIMIT", "20"))
# Behind a proxy, the META key of the header it appends the client's address to (e.g.
# HTTP_X_FORWARDED_FOR); unset, REMOTE_ADDR is used. Never trust a header no proxy of ours sets.
TRUSTED_PROXY_IP_HEADER = os.environ.get("DJANGO_TRUSTED_PROXY_HEADER", "")

# One sign-in for the portal and every brand host: the session cookie covers the parent domain.
SESSION_COOKIE_DOMAIN = os.environ.get("SESSION_COOKIE_DOMAIN", f".{AGENCY_BASE_DOMAIN}")
# The CSRF cookie stays per host: a script on one brand host cannot read another host's token.
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(DATA_DIR / "media"))
# Each brand's files live under MEDIA_ROOT/<schema>/ and are served only on that brand's host.
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Media on S3-compatible object storage when a bucket is named (agency/storage.py): keys under
# [AWS_LOCATION/]<schema>/, private objects, read through short-lived signed URLs that the brand
# host's /media/ view hands to members. Credentials: boto3's own chain (AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY in the environment, or an instance role).
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None  # e.g. https://<r2, minio…>
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
AWS_LOCATION = os.environ.get("AWS_LOCATION", "")
AWS_S3_SIGNATURE_VERSION = "s3v4"
AWS_QUERYSTRING_EXPIRE = int(os.environ.get("MEDIA_SIGNED_URL_SECONDS", "300"))
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {"BACKEND": "agency.storage.TenantS3Storage"}

# Every cache alias prefixes keys with the schema, so one brand never reads another's entries.
_CACHE_KEYS = {
    "KEY_FUNCTION": "django_tenants.cache.make_key",
    "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
}
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    _cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
else:
    _cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
CACHES = {
    "default": {**_cache, **_CACHE_KEYS, "LOCATION": _cache.get("LOCATION", "default")},
    "renditions": {**_cache, **_CACHE_KEYS, "LOCATION": _cache.get("LOCATION", "renditions"),
                   "TIMEOUT": 600},
}

# django-q2: the ORM broker (tables in the public schema) unless Redis is configured.
Q_CLUSTER = {
    "name": "agency",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 1,
    "queue_limit": 50,
    "bulk": 10,
    "poll": 0.2,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Every periodic job, in one place (agency/schedules.py keeps django-q2's schedules equal to this
# list on each `manage.py migrate`). Jobs that visit every brand use tenants.tasks.for_each_brand.
PERIODIC_JOBS = {
    "approval reminders": {"func": "approvals.tasks.review_reminders", "every": "minutes",
                           "minutes": 15},
    "webhook log pruning": {"func": "agency.webhooks.tasks.webhook_logs_prune", "every": "daily"},
    # Connected accounts: refresh tokens ahead of expiry, warn where they cannot be refreshed.
    "connected account tokens": {"func": "campaigns.publishing.connected.tokens_check_all",
                                 "every": "hourly"},
    "results collection": {"func": "campaigns.results.tasks.collect_results", "every": "minutes",
                           "minutes": int(os.environ.get("RESULTS_COLLECT_EVERY_MINUTES", "5"))},
    # Client reports emailed on each brand's schedule, once per period (campaigns.results).
    "client reports": {"func": "campaigns.results.tasks.send_scheduled_reports",
                       "every": "hourly"},
    # Conversations: replies, mentions and quotes polled from each channel's notifications.
    "conversations polling": {"func": "campaigns.conversations.tasks.poll_conversations",
                              "every": "minutes",
                              "minutes": int(os.environ.get("CONVERSATIONS_POLL_MINUTES", "2"))},
}

# Conversations (campaigns/conversations): polling the networks' notifications.
CONVERSATIONS = {
    "TIMEOUT_SECONDS": env_float("CONVERSATIONS_TIMEOUT_SECONDS", 10.0),
    # A channel the network rate limits (without Retry-After) or that fails waits this long,
    # doubling while it keeps failing.
    "DEFER_MINUTES": int(os.environ.get("CONVERSATIONS_DEFER_MINUTES", "5")),
}

# Meta's signed webhooks (campaigns/conversations/push.py, at /webhooks/meta on the portal's
# host): the verify token given in the app's webhook settings, and the app secret that signs
# each delivery (X-Hub-Signature-256; default: the Facebook login's client secret, the same
# app's). Empty verify token: the address answers 404.
META_WEBHOOK = {
    "VERIFY_TOKEN": os.environ.get("META_WEBHOOK_VERIFY_TOKEN", ""),
    "APP_SECRET": os.environ.get("META_APP_SECRET", ""),
    "MAX_BYTES": int(os.environ.get("META_WEBHOOK_MAX_BYTES", str(256 * 1024))),
}

# Results (campaigns/results): when a published post's counts are read from its network. Often
# in its first hours (minutes after publishing), then daily, then never after STOP_AFTER_DAYS.
RESULTS = {
    "SCHEDULE_MINUTES": [int(m) for m in env_list("RESULTS_SCHEDULE_MINUTES",
                                                  "15,60,180,360,720,1440")],
    "STOP_AFTER_DAYS": int(os.environ.get("RESULTS_STOP_AFTER_DAYS", "30")),
    "POSTS_PER_ROUND": int(os.environ.get("RESULTS_POSTS_PER_ROUND", "5000")),  # per brand
    "TIMEOUT_SECONDS": env_float("RESULTS_TIMEOUT_SECONDS", 10.0),
    # A channel the network rate limits (or that fails) waits this long when it names no time.
    "DEFER_MINUTES": int(os.environ.get("RESULTS_DEFER_MINUTES", "15")),
}

# The publishing engine (campaigns/publishing): the dispatcher's and workers' timings.
PUBLISHING = {
    "LEASE_SECONDS": env_float("PUBLISHING_LEASE_SECONDS", 60.0),  # claim → start of sending
    "SEND_TIMEOUT_SECONDS": env_float("PUBLISHING_SEND_TIMEOUT_SECONDS", 20.0),
    "CHECK_AFTER_SECONDS": env_float("PUBLISHING_CHECK_AFTER_SECONDS", 45.0),  # unknown → ask
    "MAX_ATTEMPTS": int(os.environ.get("PUBLISHING_MAX_ATTEMPTS", "6")),
    "BACKOFF_BASE_SECONDS": env_float("PUBLISHING_BACKOFF_BASE_SECONDS", 10.0),
    "BACKOFF_MAX_SECONDS": env_float("PUBLISHING_BACKOFF_MAX_SECONDS", 900.0),
    "ALERT_AFTER_CHECKS": int(os.environ.get("PUBLISHING_ALERT_AFTER_CHECKS", "5")),
    "LATE_GRACE_SECONDS": env_float("PUBLISHING_LATE_GRACE_SECONDS", 300.0),
    "IDLE_POLL_SECONDS": env_float("PUBLISHING_IDLE_POLL_SECONDS", 0.2),
    "BATCH": int(os.environ.get("PUBLISHING_BATCH", "200")),  # claimed per look at the queue
    "PREFETCH_SECONDS": env_float("PUBLISHING_PREFETCH_SECONDS", 1.0),  # handed over early
    "DELIVERIES_PER_TASK": int(os.environ.get("PUBLISHING_DELIVERIES_PER_TASK", "20")),
    # claimed but not started, at most (0: twice what the workers take in one round)
    "MAX_WAITING": int(os.environ.get("PUBLISHING_MAX_WAITING", "0")),
    "CLUSTER": os.environ.get("PUBLISHING_CLUSTER") or None,
}
# How long a post's media link stays valid for Instagram and Threads to fetch it
# (campaigns/publishing/media_links.py).
PUBLISHING_MEDIA_LINK_SECONDS = int(os.environ.get("PUBLISHING_MEDIA_LINK_SECONDS", "900"))

# The integrator API (agency/api): keys, scopes, problem details, cursor pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["agency.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["agency.api.auth.KeyScope"],
    "DEFAULT_THROTTLE_CLASSES": ["agency.api.auth.KeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "agency.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS: the OpenAPI document says it all
}
# Requests per API key (the window: s, m, h or d). Over it, 429 with Retry-After.
API_RATE = os.environ.get("API_RATE", "600/min")
SPECTACULAR_SETTINGS = {
    "TITLE": f"{AGENCY_NAME} API",
    "DESCRIPTION": (
        "The brand's campaigns, posts, channels, media, calendar, review links, deliveries and "
        "audit trail. Every request carries a brand API key (`Authorization: Bearer agk_...`) "
        "and goes to the brand's own host. Errors are RFC 9457 problem details; lists use "
        "cursor pagination (`next`/`previous`); updates need `If-Match` with the ETag last "
        "read; POSTs take an `Idempotency-Key`. Every time carries its offset."),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "PREPROCESSING_HOOKS": ["agency.api.schema.only_api"],
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.status.CampaignStatus",
        "CalendarChannelStateEnum": "campaigns.selectors.ChannelState",
        "DeliveryStateEnum": "campaigns.publishing.models.State",
        "ReviewLinkStatusEnum": ["sent", "opened", "decided", "withdrawn", "closed", "expired"],
        "ItemStateEnum": "campaigns.conversations.models.ItemState",
        "ItemKindEnum": "campaigns.conversations.models.Kind",
        "ReplyStateEnum": "campaigns.conversations.models.ReplyState",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "agency.api.schema.add_problem_responses",
                             "agency.api.schema.state_the_rules",
                             "agency.api.schema.name_enum_members",
                             "agency.api.schema.add_links"],
}

# Wagtail 8 hands search-index and reference-index updates to django-tasks. They run at once, in
# the request's own schema: a queued backend would run them on a worker outside any brand schema.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"noreply@{AGENCY_BASE_DOMAIN}")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# An email provider's API through django-anymail: ANYMAIL_PROVIDER names the backend (mailgun,
# postmark, sendgrid, amazon_ses, brevo, …); every other ANYMAIL_<NAME> variable becomes
# ANYMAIL["<NAME>"], e.g. ANYMAIL_MAILGUN_API_KEY, ANYMAIL_POSTMARK_SERVER_TOKEN.
ANYMAIL_PROVIDER = os.environ.get("ANYMAIL_PROVIDER", "").strip().lower()
ANYMAIL = {name[len("ANYMAIL_"):]: value for name, value in os.environ.items()
           if name.startswith("ANYMAIL_") and name != "ANYMAIL_PROVIDER"}
if ANYMAIL_PROVIDER:
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_PROVIDER}.EmailBackend"

# Channel credentials and other secrets at rest (agency/crypto.py). Newest key first.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")

WAGTAIL_SITE_NAME = AGENCY_NAME


def _brand_admin_base_url() -> str:
    # Deferred: settings load before any app; this runs when a link is built.
    from tenants.links import current_base_url

    return current_base_url()


# Wagtail builds links in its emails from this setting; evaluated lazily, it names the brand whose
# schema is active, so a link in a brand's email points at that brand's own host.
WAGTAILADMIN_BASE_URL = lazy(_brand_admin_base_url, str)()
WAGTAILADMIN_USER_LOGIN_FORM = "tenants.forms.WagtailLoginForm"
WAGTAIL_ENABLE_UPDATE_CHECK = False
# People are managed in the portal: an address changed in one brand's admin, unverified, would
# change the one global account.
WAGTAIL_EMAIL_MANAGEMENT_ENABLED = False
# Times in a brand's admin are in the brand's zone for everyone (tenants.services).
WAGTAIL_USER_TIME_ZONES: list[str] = []
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # no third-party requests from the admin
WAGTAIL_ALLOW_UNICODE_SLUGS = False
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 15 * 1024 * 1024
WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40_000_000
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]
WAGTAILDOCS_SERVE_METHOD = "serve_view"
# The largest video a post can carry, uploaded through the API (/api/v1/videos/).
VIDEO_MAX_MB = int(os.environ.get("VIDEO_MAX_MB", "200"))
# Request bodies over their route's cap are refused (413) before they are read (agency.limits):
# images and videos (admin documents too) their size above plus 1 MB, API JSON API_BODY_MAX_KB,
# anything else (forms) REQUEST_BODY_MAX_MB.
API_BODY_MAX_KB = int(os.environ.get("API_BODY_MAX_KB", "1024"))
REQUEST_BODY_MAX_MB = int(os.environ.get("REQUEST_BODY_MAX_MB", "10"))
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = True
WAGTAIL_MODERATION_ENABLED = True
# When a campaign's workflow finishes, publish the revision that was approved (and record it).
WAGTAIL_FINISH_WORKFLOW_ACTION = "approvals.finish.publish_approved_revision"
WAGTAIL_USER_EDIT_FORM = None

# One Content-Security-Policy for every page (django-csp; agency.middleware adds what Wagtail's
# admin and the API reference need on their own paths, and lets previews be framed by the admin).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if AWS_STORAGE_BUCKET_NAME:
    # Members' images and videos are redirects to the bucket: our pages may load them from there.
    from urllib.parse import urlsplit

    if os.environ.get("MEDIA_ORIGIN"):
        _media_origins = os.environ["MEDIA_ORIGIN"].split()
    elif AWS_S3_ENDPOINT_URL:
        _endpoint = urlsplit(AWS_S3_ENDPOINT_URL)
        _media_origins = [f"{_endpoint.scheme}://{_endpoint.netloc}",  # path style
                          f"{_endpoint.scheme}://{AWS_STORAGE_BUCKET_NAME}.{_endpoint.netloc}"]
    else:
        _media_origins = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"] + (
            [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{AWS_S3_REGION_NAME}.amazonaws.com"]
            if AWS_S3_REGION_NAME else [])
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += _media_origins
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["media-src"] += _media_origins

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant": {"()": "agency.logging.TenantFilter"}},
    "formatters": {
        "json": {"()": "agency.logging.JsonFormatter"},
        "plain": {"()": "agency.logging.PlainFormatter",
                  "fmt": "%(asctime)s %(levelname)s [%(tenant)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["tenant"],
            "formatter": os.environ.get("LOG_FORMAT", "json"),
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own lines (requests, errors) go through our handler too, not Django's default
        # console handler: tenant named, secret paths redacted.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "pgserver": {"level": "WARNING"},
    },
}

# Outbound webhooks (agency/webhooks): attempts, timeouts and backoff of each delivery.
WEBHOOKS_MAX_ATTEMPTS = int(os.environ.get("WEBHOOKS_MAX_ATTEMPTS", "8"))
WEBHOOKS_TIMEOUT_SECONDS = env_float("WEBHOOKS_TIMEOUT_SECONDS", 10.0)
WEBHOOKS_BACKOFF_BASE_SECONDS = env_float("WEBHOOKS_BACKOFF_BASE_SECONDS", 60.0)
WEBHOOKS_BACKOFF_MAX_SECONDS = env_float("WEBHOOKS_BACKOFF_MAX_SECONDS", 4 * 3600.0)
# Finished deliveries (delivered or failed) and their attempts are kept this many days in each
# brand's log, then removed by a daily task; pending ones are kept until they finish.
WEBHOOKS_LOG_DAYS = int(os.environ.get("WEBHOOKS_LOG_DAYS", "30"))
# An endpoint whose every delivery failed for this many days is switched off and the brand's
# account managers are told (0: never).
WEBHOOKS_SWITCH_OFF_AFTER_DAYS = env_float("WEBHOOKS_SWITCH_OFF_AFTER_DAYS", 5.0)
# After a signing secret is rolled, the old one keeps signing beside the new for this long.
WEBHOOKS_SECRET_OVERLAP_HOURS = env_float("WEBHOOKS_SECRET_OVERLAP_HOURS", 24.0)

# Every server-side request to an address someone gave (webhooks, channel adapters; see
# agency/outbound.py) goes to public https addresses only, unless private ones are allowed:
# plain http and private, loopback or link-local addresses, for development and tests. Unset,
# this follows DEBUG. WEBHOOKS_ALLOW_PRIVATE is its former name, still read.
OUTBOUND_ALLOW_PRIVATE = next((env_bool(name) for name in ("OUTBOUND_ALLOW_PRIVATE",
                                                           "WEBHOOKS_ALLOW_PRIVATE")
                               if os.environ.get(name)), None)
# CA certificates that TLS certificates of those addresses are checked against (default:
# certifi's). WEBHOOKS_CA_BUNDLE is its former name.
OUTBOUND_CA_BUNDLE = (os.environ.get("OUTBOUND_CA_BUNDLE")
                      or os.environ.get("WEBHOOKS_CA_BUNDLE") or None)

# Wagtail's messages about a campaign ("Page '…' has been updated", the lock banner) in the
# studio's words (campaigns/words.py).
MESSAGE_STORAGE = "campaigns.words.CampaignWordsStorage"

# Connected accounts (campaigns/connections.py). One OAuth app per network per installation:
# OAUTH_<NETWORK>_CLIENT_ID and OAUTH_<NETWORK>_CLIENT_SECRET, e.g. OAUTH_FACEBOOK_CLIENT_ID.
# A network without a client id offers no "Connect account" button. (Mastodon registers its
# app on each person's own server at connection, so it needs none.)
OAUTH_CLIENTS = {
    name[len("OAUTH_"):-len("_CLIENT_ID")].lower(): {
        "client_id": value,
        "client_secret": os.environ.get(name[:-len("_CLIENT_ID")] + "_CLIENT_SECRET", ""),
    }
    for name, value in os.environ.items()
    if name.startswith("OAUTH_") and name.endswith("_CLIENT_ID") and value
}
# Where each network's API and consent screens are: the networks' own addresses unless
# NETWORK_BASE_URLS (JSON, e.g. {"facebook_graph": "http://127.0.0.1:9001"}) points some of
# them elsewhere; the demo and the tests point them at the local fakes (agency/demo/fakes).
NETWORK_BASE_URLS = __import__("json").loads(os.environ.get("NETWORK_BASE_URLS") or "{}")
# The month of LinkedIn's versioned REST API sent as LinkedIn-Version (campaigns/providers/
# linkedin.py has the default); LinkedIn serves a version for a year.
LINKEDIN_API_VERSION = os.environ.get("LINKEDIN_API_VERSION", "")
# Whether TikTok has audited this installation's app: until it has, TikTok keeps every post the
# app makes private ("Only me"), and the channel screen and the editor say so.
TIKTOK_APP_AUDITED = os.environ.get("TIKTOK_APP_AUDITED", "").lower() in ("1", "true", "yes")
# YouTube's daily quota in units per channel (campaigns/publishing/adapters/youtube.py; an
# upload costs 1,600): 10,000 unless Google granted the project more.
YOUTUBE_DAILY_QUOTA = int(os.environ.get("YOUTUBE_DAILY_QUOTA", "10000"))
# Connected channels with a post due within this many hours are asked hourly whether the network
# still takes their token (campaigns/publishing/connected.py), so a revoked one shows before then.
TOKEN_CHECK_AHEAD_HOURS = int(os.environ.get("TOKEN_CHECK_AHEAD_HOURS", "24"))
