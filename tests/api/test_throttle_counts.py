"""The throttle's window counter on both caches it meets: Redis (production, one pipelined round
trip) and per-process memory (development)."""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from agency.api.auth import window_count

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_cache():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL} (set TEST_REDIS_URL): the Redis path is untested "
                    "here; the memory path still is")
    return RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})


@pytest.mark.parametrize("make", [_redis_cache, lambda: LocMemCache("throttle-test", {})],
                         ids=["redis", "memory"])
def test_each_call_counts_once_per_key_and_the_count_expires(make):
    cache = make()
    assert [window_count(cache, "k:1", 30) for _ in range(3)] == [1, 2, 3]
    assert window_count(cache, "k:2", 30) == 1  # another key, another count
    assert cache.get("k:1") == 4 - 1  # readable through the cache API too
    if isinstance(cache, RedisCache):
        full = cache.make_and_validate_key("k:1")
        ttl = cache._cache.get_client(full).ttl(full)
        assert 0 < ttl <= 30  # set once, when the window's count was created
    cache.delete("k:1")
    assert window_count(cache, "k:1", 30) == 1
    cache.delete_many(["k:1", "k:2"])


def test_the_api_throttle_takes_the_one_round_trip_path_on_redis(monkeypatch, settings):
    """DRF's throttles hold ``django.core.cache.cache`` (a proxy): the Redis path must still be
    taken, not the cache API's add/incr."""
    from django.core.cache import cache as proxy

    from agency.api.auth import KeyRateThrottle

    _redis_cache()  # skips without Redis
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}

    def refuse(*args, **kwargs):
        raise AssertionError("the cache API's add/incr was used")

    monkeypatch.setattr(RedisCache, "add", refuse)
    monkeypatch.setattr(RedisCache, "incr", refuse)
    assert KeyRateThrottle.cache is proxy
    assert [window_count(KeyRateThrottle.cache, "k:proxy", 30) for _ in range(2)] == [1, 2]
    proxy.delete("k:proxy")
