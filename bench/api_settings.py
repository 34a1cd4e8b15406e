"""Settings for ``bench/api.py``: production's own (DEBUG off, HTTPS behind a proxy, Redis cache),
with the URL conf that adds the bare baseline route (``bench/api_bare.py``). Bench-only: the
project's URL confs stay as they are.

``bench/api.py`` supplies what production requires from the environment (a secret key, encryption
keys, ``DATABASE_URL``) and raises ``API_RATE`` so the throttle counts but never refuses; its
``--set NAME=VALUE`` overrides a setting for one run (``BENCH_SETTINGS``, JSON)."""

import json
import os

from agency.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.api_bare"

# Cache keys of this run apart from anything else in the shared Redis (the bench deletes them).
_prefix = os.environ.get("BENCH_CACHE_PREFIX", "")
if _prefix:
    for _alias in CACHES.values():  # noqa: F405
        _alias["KEY_PREFIX"] = _prefix

# ``bench/api.py --set NAME=VALUE``: try a setting (a JSON value) without editing the project's.
globals().update(json.loads(os.environ.get("BENCH_SETTINGS") or "{}"))
