"""What the load test's journeys (``loadtest/locustfile.py``) share: the run's
fixtures, the organiser's and the authenticator's codes, a browser that checks
and names each request and submits forms, and signing in through allauth.

With ``LOADTEST_HOSTS`` (comma-separated base URLs, e.g. two gunicorn instances
of ``loadtest/faults.py``) every user spreads its requests over them in turn,
as a load balancer in front would: each request with a relative path goes to
the next instance, and an instance that refused a connection is left out for
a few seconds (nginx's passive check, ``max_fails=1 fail_timeout=5s``). A form
is posted to the instance that served it. Sessions and CSRF cookies hold on
every instance (cookies do not depend on the port), which is what the portal
promises: the web processes keep no state of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.cookiejar
import itertools
import json
import os
import re
import struct
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import requests.exceptions
from htmlforms import Page, parse
from locust import HttpUser, between
from locust.clients import HttpSession

HERE = Path(__file__).resolve().parent
FIXTURES_FILE = Path(os.environ.get("LOADTEST_FIXTURES", HERE / ".state" / "fixtures.json"))
FIXTURES = json.loads(FIXTURES_FILE.read_text(encoding="utf-8"))

# The portal marks its session and CSRF cookies Secure (production settings). This
# harness speaks plain HTTP to 127.0.0.1, where in production a TLS proxy would
# be, so the client sends them over HTTP too.
http.cookiejar.DefaultCookiePolicy.return_ok_secure = lambda self, cookie, request: True


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    for line in (HERE / ".state" / "keys.env").read_text(encoding="utf-8").splitlines():
        if line.startswith("SECRET_KEY="):
            return line.partition("=")[2].strip()
    raise RuntimeError("no SECRET_KEY: run loadtest/run.py first")


SECRET_KEY = _secret_key()
THINK = between(0.5, 2.0)

# What the journeys' actions came to, by the message the page showed.
OUTCOMES: Counter = Counter()


# --- Codes ------------------------------------------------------------------------------------


def totp(secret: str, at: float | None = None) -> str:
    """The 6-digit TOTP code (RFC 6238, 30 s, SHA-1) of a base32 secret."""
    counter = int((time.time() if at is None else at) // 30)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


def shift_code(shift_id: int, action: str) -> str:
    """The 6 digits the organiser's screen shows now for a shift (portal/codes.py:
    an HMAC of the shift, the action and the 30-second window, keyed with the
    project's secret key)."""
    window = int(time.time() // 30)
    # django.utils.crypto.salted_hmac("tongxin.check-in", message), SHA-1.
    key = hashlib.sha1(b"tongxin.check-in" + SECRET_KEY.encode()).digest()
    mac = hmac.new(key, f"{shift_id}:{action}:{window}".encode(), hashlib.sha1).hexdigest()
    return f"{int(mac[:12], 16) % 1_000_000:06d}"


# --- Several web instances -----------------------------------------------------------------------

HOSTS = [
    h.strip().rstrip("/") for h in os.environ.get("LOADTEST_HOSTS", "").split(",") if h.strip()
]
DOWN_SECONDS = 5.0


class Balancer:
    """Round robin over ``HOSTS``, leaving out for DOWN_SECONDS an instance that
    refused a connection (or dropped one: its worker was killed)."""

    def __init__(self, hosts: list[str]) -> None:
        self.hosts = hosts
        self.turn = itertools.count()
        self.down_until: dict[str, float] = {}

    def pick(self) -> str:
        now = time.monotonic()
        for _ in self.hosts:
            host = self.hosts[next(self.turn) % len(self.hosts)]
            if self.down_until.get(host, 0.0) <= now:
                return host
        return host  # all left out: try the next one anyway

    def mark_down(self, url: str) -> None:
        bits = urlsplit(url)
        self.down_until[f"{bits.scheme}://{bits.netloc}"] = time.monotonic() + DOWN_SECONDS


BALANCER = Balancer(HOSTS)


class BalancedSession(HttpSession):
    """Locust's HTTP session, each request with a relative path sent to the next
    instance (an absolute URL, such as a form's action, goes where it says)."""

    def request(self, method, url, *args, **kwargs):
        if "://" not in url:
            url = BALANCER.pick() + url
        response = super().request(method, url, *args, **kwargs)
        if isinstance(getattr(response, "error", None), requests.exceptions.ConnectionError):
            BALANCER.mark_down(url)
        return response


# --- Requests ---------------------------------------------------------------------------------


def _summary(text: str) -> str:
    """A message as an outcome label: digits and times folded, kept short."""
    return re.sub(r"\d+", "#", text)[:60]


_NUMBERS = itertools.count(1)


class Browser(HttpUser):
    """What every journey shares: requests checked and named, forms submitted
    as a browser would, think time between the steps."""

    abstract = True
    wait_time = THINK
    signed_in = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.number = next(_NUMBERS)  # names the user in the status log
        if len(HOSTS) > 1:
            self.client = BalancedSession(
                base_url=HOSTS[0],
                request_event=self.environment.events.request,
                user=self,
                pool_manager=self.pool_manager,
            )
            self.client.trust_env = False

    def context(self) -> dict:
        """Given to every request event listener (the status log in locustfile.py)."""
        return {"browser": self}

    def request(
        self,
        name: str,
        path: str,
        *,
        method: str = "get",
        data=None,
        ok=(200,),
        content: str = "html",
        follow: bool = True,
    ) -> Page | requests.Response | None:
        """One request, named ``name``: a failure on 5xx, an unexpected status, a
        sign-in page when signed in, or content of the wrong type. Returns the
        parsed page (HTML), the response (other content) or None (failed)."""
        with self.client.request(
            method.upper(), path, name=name, data=data, catch_response=True, allow_redirects=follow
        ) as response:
            status = response.status_code
            if status >= 500 or status not in ok:
                response.failure(f"HTTP {status}")
                return None
            final = urlsplit(response.url).path
            if self.signed_in and final.startswith(("/accounts/login/", "/accounts/2fa/")):
                response.failure(f"sent to {final}")
                self.signed_in = False
                return None
            kind = response.headers.get("content-type", "")
            if status == 200 and content not in kind:
                response.failure(f"expected {content}, got {kind}")
                return None
            response.success()
            if "html" in kind:
                return parse(response.text, response.url)
            return response

    def page(self, name: str, path: str, **kwargs) -> Page | None:
        page = self.request(name, path, **kwargs)
        return page if isinstance(page, Page) else None

    def submit(self, name: str, form, *, outcome: str = "", button=None, **values) -> Page | None:
        """Post ``form`` (redirects followed, as a browser does) and count what
        the page that follows says (its message) under ``outcome``."""
        page = self.page(name, form.action, method="post", data=form.data(button, **values))
        if page is not None and outcome:
            said = page.messages[0] if page.messages else ("none", "no message")
            OUTCOMES[f"{outcome}: {said[0]}: {_summary(said[1])}"] += 1
        return page

    def think(self) -> None:
        self.wait()


# --- Signing in -------------------------------------------------------------------------------

POOLS = {key: itertools.cycle(FIXTURES["accounts"][key]) for key in FIXTURES["accounts"]
         if isinstance(FIXTURES["accounts"][key], list) and FIXTURES["accounts"][key]
         and isinstance(FIXTURES["accounts"][key][0], dict)}  # fmt: skip


class SignedIn(Browser):
    """A person who signs in once through allauth's form (password, then the
    TOTP step when their role needs it) and keeps the session."""

    abstract = True
    pool = ""

    def on_start(self):
        self.account = next(POOLS[self.pool])
        self.sign_in()

    def sign_in(self) -> bool:
        self.client.cookies.clear()
        page = self.page("sign-in: form", "/accounts/login/")
        form = page and page.form(having="password")
        if form is None:
            return False
        self.think()
        with self.client.post(
            form.action,
            data=form.data(login=self.account["username"], password=self.account["password"]),
            name="sign-in: password",
            catch_response=True,
            allow_redirects=False,
        ) as response:
            target = response.headers.get("location", "")
            if response.status_code != 302:
                response.failure(f"HTTP {response.status_code} (not signed in)")
                return False
            response.success()
        if "/2fa/authenticate" in target:
            target = self.second_factor(target)
            if not target:
                return False
        self.signed_in = True
        self.page("me: home", target or "/me/")
        return True

    def second_factor(self, path: str) -> str:
        """Answer the TOTP step; a code already used in this 30-second window (the
        same account signing in twice) waits for the next one."""
        for attempt in range(3):
            page = self.page("sign-in: TOTP form", path)
            form = page and page.form(having="code")
            if form is None:
                return ""
            with self.client.post(
                form.action,
                data=form.data(code=totp(self.account["totp"])),
                name="sign-in: TOTP",
                catch_response=True,
                allow_redirects=False,
            ) as response:
                if response.status_code == 302:
                    response.success()
                    return response.headers.get("location", "/me/")
                if response.status_code == 200 and attempt < 2:
                    # Refused (used or just-expired code): an answer, not an error.
                    response.success()
                    OUTCOMES["sign-in: TOTP refused, waited for the next code"] += 1
                    time.sleep(30 - time.time() % 30 + 1)
                    continue
                response.failure(f"HTTP {response.status_code} (TOTP refused)")
                return ""
        return ""

    def ensure_signed_in(self) -> bool:
        return self.signed_in or self.sign_in()
