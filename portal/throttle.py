"""Counting failed attempts and locking a key out for a cool-down once too many
fail: the shared brake on anything that can be guessed (check-in codes, sign-in
codes).

A :class:`Limit` allows ``failures`` failed attempts per key within ``window``
seconds; the failure that reaches the cap locks the key for ``cooldown``
seconds. While locked, callers refuse every attempt, right or wrong, without
checking it (otherwise guessing goes on behind the lock).

State lives in Django's cache (local memory in development and tests, Redis
via ``CACHE_URL`` in production, shared by every process). Counting is atomic
(``cache.add`` then ``cache.incr``), and exactly one failure trips a lockout
(``cache.add`` of the lock key), so whoever must be told about it is told
once, however many requests race."""

import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    """``failures`` failed attempts within ``window`` seconds lock a key for
    ``cooldown`` seconds. ``name`` keeps the counters of different limits apart."""

    name: str
    failures: int
    window: int
    cooldown: int

    def _key(self, key, part: str) -> str:
        return f"throttle:{self.name}:{key}:{part}"


def locked_for(limit: Limit, key) -> int:
    """Seconds left in ``key``'s cool-down (at least 1), or 0 when it is not locked."""
    until = cache.get(limit._key(key, "lock"))
    if until is None:
        return 0
    return max(1, int(until - time.time() + 0.999))


def fail(limit: Limit, key) -> bool:
    """Count one failed attempt for ``key``. Returns True for the one failure
    that trips the lock (tell someone then), False otherwise."""
    counter = limit._key(key, "count")
    cache.add(counter, 0, timeout=limit.window)
    try:
        count = cache.incr(counter)
    except ValueError:  # the window ran out between add and incr
        cache.add(counter, 1, timeout=limit.window)
        count = 1
    if count < limit.failures:
        return False
    tripped = cache.add(
        limit._key(key, "lock"), time.time() + limit.cooldown, timeout=limit.cooldown
    )
    if tripped:
        cache.delete(counter)  # after the cool-down the count starts afresh
    return tripped


def clear(limit: Limit, key) -> None:
    """Forget ``key``'s failures and lock (e.g. an organiser lifts it)."""
    cache.delete_many([limit._key(key, "count"), limit._key(key, "lock")])
