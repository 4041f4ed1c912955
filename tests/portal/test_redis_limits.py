"""The brakes hold with the production cache: Redis shared by every process
(``CACHE_URL``). Skipped when no Redis answers at 127.0.0.1:6379."""

import os
import socket
import threading

import pytest
from django.core.cache import cache

from portal import throttle
from tests.factories import make_user

# A database of its own (CI runs two suites at once: each names its own).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    cache.clear()
    yield cache
    cache.clear()


def test_a_lockout_trips_exactly_once_under_racing_failures(redis_cache):
    limit = throttle.Limit("redis-test", failures=5, window=60, cooldown=60)
    trips = []
    barrier = threading.Barrier(16)

    def guess():
        barrier.wait()
        for _ in range(10):
            trips.append(throttle.fail(limit, "shift-1"))

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert trips.count(True) == 1
    assert throttle.locked_for(limit, "shift-1") > 0
    assert throttle.locked_for(limit, "shift-2") == 0


def test_sign_in_failures_count_per_account_in_redis(client, db, redis_cache):
    from portal.models import UserPhone

    user = make_user("redisuser")
    UserPhone.objects.create(user=user, phone="13700000009", verified=True)
    for n in range(5):
        client.post(
            "/accounts/login/",
            {"login": "13700000009", "password": "wrong"},
            REMOTE_ADDR=f"10.3.0.{n + 1}",
        )
    client.post(
        "/accounts/login/",
        {"login": "redisuser", "password": "pw-Test-12345"},
        REMOTE_ADDR="10.3.1.1",
    )
    assert "_auth_user_id" not in client.session
