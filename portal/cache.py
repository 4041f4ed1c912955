"""Django's Redis cache, made to carry on while Redis is away (a restart, a
failover): a read finds nothing, a write is dropped, and a warning is logged
(at most every ``REPORT_EVERY`` seconds per process) instead of every request
failing with a 500.

What that means while Redis is away: pages are rendered afresh (the page
cache misses), sessions are read from the database (``cached_db``), and the
rate limits and code throttles start again from zero — for seconds, which is
the price of not locking everyone out. ``/readyz`` reports the cache as
failing meanwhile. A Redis restarted empty forgets the page cache and its
tags together; one that was unreachable but kept its data may serve a page
changed meanwhile until it expires (``PAGE_CACHE_SECONDS``)."""

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
REPORT_EVERY = 10.0
_last_report = 0.0


def _report(error: Exception) -> None:
    global _last_report
    now = time.monotonic()
    if now - _last_report >= REPORT_EVERY:
        _last_report = now
        logger.warning("Redis is unavailable, carrying on without the cache: %s", error)


def _or(fallback):
    """Call the method; if Redis fails, what ``fallback(*args, **kwargs)`` gives."""

    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except RedisError as error:
                _report(error)
                return fallback(*args, **kwargs)

        return call

    return wrap


class ResilientRedisCache(RedisCache):
    get = _or(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _or(lambda keys, version=None: {})(RedisCache.get_many)
    has_key = _or(lambda *args, **kwargs: False)(RedisCache.has_key)
    # As if every key were absent: add succeeds (allauth's rate limits take a
    # lock with add: refusing it would refuse every sign-in), a counter starts
    # afresh. Other writes are dropped; set_many names every key it did not set.
    add = _or(lambda *args, **kwargs: True)(RedisCache.add)
    incr = _or(lambda key, delta=1, version=None: delta)(RedisCache.incr)
    set = _or(lambda *args, **kwargs: None)(RedisCache.set)
    touch = _or(lambda *args, **kwargs: False)(RedisCache.touch)
    set_many = _or(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    delete = _or(lambda *args, **kwargs: False)(RedisCache.delete)
    delete_many = _or(lambda *args, **kwargs: None)(RedisCache.delete_many)
    clear = _or(lambda: False)(RedisCache.clear)
