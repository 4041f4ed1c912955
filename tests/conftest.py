import os
import shutil
import time
from types import SimpleNamespace

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from django.test import Client

from portal.models import Role
from portal.services import role_assign
from tests.factories import activate_totp, build_tree, make_member, make_user


def pytest_collection_modifyitems(config, items):
    """``TEST_SHARD=0,1,2/4`` runs the tests whose place in the collected order,
    modulo 4, is 0, 1 or 2: one run spread over processes (CI's two streams share
    the Python 3.13 run this way). Unset, every test runs."""
    shard = os.environ.get("TEST_SHARD", "")
    if not shard:
        return
    parts, total = shard.split("/")
    keep = {int(p) for p in parts.split(",")}
    chosen = [i % int(total) in keep for i in range(len(items))]
    config.hook.pytest_deselected(items=[it for it, c in zip(items, chosen, strict=True) if not c])
    items[:] = [it for it, c in zip(items, chosen, strict=True) if c]


@pytest.fixture(autouse=True)
def _force_login_is_a_full_sign_in(monkeypatch):
    """``client.force_login(user)`` stands for the whole allauth sign-in, as the
    session records it: the password and, for a user with TOTP, the second factor.
    Password-only sessions are made in tests/portal/test_auth_doors.py."""
    from allauth.mfa.models import Authenticator

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        session = self.session
        now = time.time()
        records = [{"method": "password", "at": now, "username": user.get_username()}]
        if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            records.append({"method": "mfa", "at": now, "type": "totp"})
        session[AUTHENTICATION_METHODS_SESSION_KEY] = records
        session["account_authentication_methods_user"] = str(user.pk)
        session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def tree(db):
    return build_tree()


@pytest.fixture
def users(tree):
    """One user per role, scoped to the tree; those who must use MFA have TOTP set up.

    The secretary and group leader work in branch A / group A; ``member`` is linked
    to a member record of branch A; ``gridworker`` works in branch A's grid."""
    district = make_user("district")
    role_assign(user=district, role=Role.DISTRICT_ADMIN, page=tree.district)
    coordinator = make_user("coordinator")
    role_assign(user=coordinator, role=Role.GRID_COORDINATOR, page=tree.grid2)
    secretary = make_user("secretary")
    role_assign(user=secretary, role=Role.BRANCH_SECRETARY, page=tree.branch_a)
    secretary_b = make_user("secretary_b")
    role_assign(user=secretary_b, role=Role.BRANCH_SECRETARY, page=tree.branch_b)
    leader = make_user("leader")
    role_assign(user=leader, role=Role.GROUP_LEADER, page=tree.group_a)
    member_user = make_user("member")
    own = make_member(
        branch=tree.branch_a, building_group=tree.group_a, name="赵敏", user=member_user
    )
    role_assign(user=member_user, role=Role.MEMBER, page=tree.branch_a)
    volunteer = make_user("volunteer")
    role_assign(user=volunteer, role=Role.VOLUNTEER)
    partner = make_user("partner")
    role_assign(user=partner, role=Role.PARTNER_CONTACT)
    gridworker = make_user("gridworker")
    role_assign(user=gridworker, role=Role.GRID_WORKER, page=tree.grid3a)
    for u in (district, coordinator, secretary, secretary_b):
        activate_totp(u)
    return SimpleNamespace(
        district=district,
        coordinator=coordinator,
        secretary=secretary,
        secretary_b=secretary_b,
        leader=leader,
        member=member_user,
        volunteer=volunteer,
        partner=partner,
        gridworker=gridworker,
        own_member=own,
    )


@pytest.fixture
def members(tree):
    """Members in both branches: some opted in to a public badge, some not."""
    return SimpleNamespace(
        a_public=make_member(
            branch=tree.branch_a,
            building_group=tree.group_a,
            name="刘洋",
            public_badge=True,
            badge_title="党员示范岗",
        ),
        a_private=make_member(branch=tree.branch_a, building_group=tree.group_a, name="陈静"),
        a_other_group=make_member(branch=tree.branch_a, name="杨磊"),
        b_private=make_member(branch=tree.branch_b, building_group=tree.group_b, name="黄强"),
    )


def chromium_available():
    return shutil.which("chromium") is not None or shutil.which("chromium-browser") is not None


@pytest.fixture(autouse=True)
def _chinese_first():
    """A request to /en/… leaves English active in the test thread; start each
    test in the site's default language."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttles and rate limits count in the cache (local memory in tests):
    each test starts and ends with none, so one test's lockout never leaks. The
    page cache's memo of sites goes with it (each test makes its own site)."""
    from django.core.cache import cache

    from portal import page_cache

    cache.clear()
    page_cache._sites.clear()
    yield
    cache.clear()
    page_cache._sites.clear()


@pytest.fixture
def run_worker(monkeypatch):
    """Run what `manage.py db_worker --backend scheduled` runs, once: every task
    due now. The worker closes stale connections between tasks; inside a test's
    transaction that would close the test's own connection, so it is skipped. Its
    heartbeat (tests/portal/test_workers.py) would write outside the test's
    transaction on a connection of its own, so it beats nothing here."""
    from io import StringIO

    from django.core.management import call_command

    from portal.workers import Heartbeat

    monkeypatch.setattr(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    )
    monkeypatch.setattr(Heartbeat, "beat_now", lambda self: None)
    monkeypatch.setattr(Heartbeat, "run", lambda self: None)

    def run():
        call_command(
            "db_worker",
            "--backend",
            "scheduled",
            "--batch",
            "--no-startup-delay",
            stdout=StringIO(),
            stderr=StringIO(),
        )

    return run


@pytest.fixture
def console_log():
    """What the configured console handler (the process log) writes meanwhile."""
    import io
    import logging

    handler = next(h for h in logging.getLogger("django").handlers if h.name == "console")
    out = io.StringIO()
    previous = handler.setStream(out)
    yield out
    handler.setStream(previous)
