"""While Redis is away (a restart), the portal carries on without its cache:
pages, sign-in and signed-in pages answer as usual, and /readyz says the cache
is failing. A Redis nobody listens on stands for one that is restarting."""

import json

import pytest
from django.core.cache import cache

from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_away(settings):
    settings.CACHES = {
        "default": {"BACKEND": "portal.cache.ResilientRedisCache", "LOCATION": NOBODY_LISTENS}
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.TONGXIN_PAGE_CACHE = True
    yield cache


def test_the_cache_reads_nothing_and_drops_writes(redis_away):
    assert redis_away.get("k", "fallback") == "fallback"
    assert redis_away.get_many(["a", "b"]) == {}
    redis_away.set("k", 1)
    assert redis_away.add("k", 1) is True  # as if absent
    assert redis_away.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert redis_away.incr("counter") == 1


def test_pages_sign_in_and_signed_in_pages_answer_while_redis_is_away(client, tree, redis_away):
    for _ in range(2):
        assert client.get(tree.branch_a.url).status_code == 200

    make_user("reader")
    wrong = client.post("/accounts/login/", {"login": "reader", "password": "not-the-password"})
    assert wrong.status_code == 200  # the form says so; no error page
    signed_in = client.post("/accounts/login/", {"login": "reader", "password": "pw-Test-12345"})
    assert signed_in.status_code == 302
    assert client.get("/me/").status_code == 200

    status = client.get("/readyz")
    assert status.status_code == 503
    assert json.loads(status.content)["checks"]["cache"] == "failing"
