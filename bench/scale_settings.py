"""Settings for bench/tenants_at_scale.py: the test settings plus the bench-only tenant app
``bench.scale_app`` (its 0002 is the additive migration the bench rolls out)."""

from agency.settings.test import *  # noqa: F403

SCALE_APP = "bench.scale_app.apps.ScaleAppConfig"
TENANT_APPS = [*TENANT_APPS, "bench.scale_app"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, SCALE_APP]  # noqa: F405
