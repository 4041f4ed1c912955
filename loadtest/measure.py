"""What the load test measures with wrk: one URL at a time, or the mixed load
(loadtest/mixed.lua sends a list of requests in turn), signed in where a
request carries a session cookie (``session_cookie`` signs in through
allauth's form)."""

from __future__ import annotations

import http.client
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "loadtest" / ".state"
PYTHON = sys.executable
STEP_TIMEOUT = 15 * 60


def wrk(port: int, requests: list[tuple[str, str]], seconds: int, connections: int = 16) -> dict:
    """``wrk -t2 -c<connections> -d<seconds>s`` sending ``requests`` ((path, cookie)
    pairs) in turn (loadtest/mixed.lua): req/s, p50/p90/p95/p99 in ms, responses
    that were not 2xx or 3xx, socket errors."""
    listing = STATE / "wrk-requests.txt"
    listing.write_text(
        "".join(f"{path}\t{cookie}\n" for path, cookie in requests), encoding="utf-8"
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(ROOT / "loadtest" / "mixed.lua"), f"http://127.0.0.1:{port}", "--", str(listing)],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout  # fmt: skip
    result = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    result["bad"] = result.pop("non_2xx_3xx")
    result["socket_errors"] = str(result["socket_errors"] or "")
    return result


def session_cookie(port: int, username: str, password: str) -> str:
    """Sign in through allauth's form over HTTP; the Cookie header of the session."""
    status, body, cookies = http_request(port, "GET", "/accounts/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urlencode({"login": username, "password": password, "csrfmiddlewaretoken": token})
    status, _, signed_in = http_request(
        port, "POST", "/accounts/login/", body=form, cookies=cookies,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    if status != 302 or "sessionid" not in signed_in:
        raise SystemExit(f"could not sign in as {username} (HTTP {status})")
    return f"sessionid={signed_in['sessionid']}"


def http_request(port, method, path, *, body=None, cookies=None, headers=None):
    """One request; the status, the body and the cookies it set."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        sent = dict(headers or {})
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        jar = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.read(), jar
    finally:
        conn.close()


# What the mixed load reads, besides the member's pages (see mixed_requests).
MIXED_PAGES = r"""
import json, random
from wagtail.models import Page
from branches.models import BuildingGroupPage, GridBranchPage, GridPage
from portal.publishing import PublicationPage
rng = random.Random(11)
units = list(GridPage.objects.live()) + list(GridBranchPage.objects.live())
units += list(BuildingGroupPage.objects.live()[:3000])
pages = [p.url for p in rng.sample(units, 320)]
pages += [p.url for p in PublicationPage.objects.live().order_by("-id")[:80]]
listings = [rng.choice(units).url + tail for _ in range(200)
            for tail in [rng.choice(["notices/", "calendar/", "calendar/ics/"])]]
print(json.dumps({"pages": pages, "listings": listings}))
"""
SEARCH_WORDS = [
    "党员",
    "志愿",
    "社区",
    "网格",
    "业委会",
    "微心愿",
    "垃圾分类",
    "实验小学",
    "低保户",
    "楼道",
]


def mixed_requests(env: dict, cookie: str) -> list[tuple[str, str]]:
    """The mixed load, in the issue's proportions: 40 % pages of the tree and
    publications, 20 % search, 20 % a signed-in member's pages, 20 % listings
    (notices/, calendar/, .ics), interleaved in a fixed random order."""
    found = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", MIXED_PAGES],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=STEP_TIMEOUT,
    )  # fmt: skip
    urls = json.loads(found.stdout.strip().splitlines()[-1])
    member = ["/me/", "/me/notices/", "/me/service/", "/volunteer/"]
    requests = [(path, "") for path in urls["pages"]]  # 400
    requests += [
        ("/search/?q=" + quote(SEARCH_WORDS[i % len(SEARCH_WORDS)]), "") for i in range(200)
    ]
    requests += [(member[i % len(member)], cookie) for i in range(200)]
    requests += [(path, "") for path in urls["listings"]]  # 200
    random.Random(5).shuffle(requests)
    return requests
