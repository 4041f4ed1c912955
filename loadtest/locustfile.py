"""The load test's journeys (Locust). ``loadtest/run.py`` runs them headless
against gunicorn on 127.0.0.1; by hand, after a run has prepared the fixtures:

    .venv/bin/locust -f loadtest/locustfile.py --host http://127.0.0.1:<port>

Who comes, in these shares (the ``weight`` of each user class):

- anonymous readers (40): the district home, grids of each level, branch and
  building-group pages, a unit's ``notices/`` listing, publications, a unit's
  calendar and its ``calendar/ics/`` feed — URLs gathered at start by walking
  down the tree from the home page (no page ids are written here);
- searchers (20): ``/search/?q=`` with common and rarer words, some filtered by
  record type or date, and a second page of results;
- members (20): sign in through allauth's form (``lt-member-NNN`` and the demo
  member accounts), their pages (``/me/``, notices, service, inbox, tasks), the
  shift list, signing up for a shift, checking in and out of a shift under way
  with the organiser's current 6-digit code, accepting an offered task;
- staff and partners (20): secretaries, the coordinator and the district
  administrator sign in with a password and a TOTP code, then use the request
  and alliance pages, the admin (dashboard, member list, their branch's page
  explorer), the organiser's check-in code screen and the minutes editor of a
  held joint meeting; the grid worker records and dispatches a resident's
  request; the partner contact answers an invitation and comments on
  circulated minutes.

Every request is named by its kind (``name=``), so the statistics group by
kind, not by URL. Forms are read from the page (CSRF token included) and
submitted as a browser would. A refusal the product gives on purpose (the
shift is full or overlaps, the task's places are taken, the code window just
turned) is a success here: the page answered correctly. A 5xx, an unexpected
status, being sent back to sign in, or a page without the expected form is a
failure. What the actions came to (confirmed, waitlisted, refused …) is counted
and written to ``outcomes.json`` beside the fixtures for the report.

The browser they share (checked and named requests, forms, codes, signing in,
and spreading requests over several instances with ``LOADTEST_HOSTS``) is in
``loadtest/browser.py``. With ``LOADTEST_STATUS_CSV`` every request is also
written down with its time and status for ``loadtest/faults.py`` (the end of
this file).
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import time
from collections import defaultdict
from urllib.parse import urlencode, urlsplit

from browser import FIXTURES, FIXTURES_FILE, OUTCOMES, Browser, SignedIn, shift_code
from htmlforms import Page, parse
from locust import events, task

OUTCOMES_FILE = FIXTURES_FILE.with_name("outcomes.json")

COMMON_WORDS = ["志愿", "党员", "网格", "社区", "服务", "支部"]
RARE_WORDS = ["业委会", "微心愿", "垃圾分类", "独居老人", "加装电梯", "护学岗", "四点半课堂"]
PUBLIC_TYPES = ["unit", "duty", "shift", "partner"]
STAFF_WORDS = ["党员", "独居老人", "3号楼", "王", "低保户", "志愿服务"]


# --- The site's URLs, gathered once at the start ------------------------------------------------

SITE: dict[str, list[str]] = defaultdict(list)
SKIP = ("/accounts/", "/admin/", "/search/", "/me/", "/volunteer/", "/requests/", "/alliance/",
        "/en/", "/static/", "/media/", "/documents/", "/verify/", "/i18n/", "/calendar/")  # fmt: skip
GRID_KINDS = [("一级", "grid L1"), ("二级", "grid L2"), ("三级", "grid L3"), ("微", "micro-grid"),
              ("专属", "dedicated grid"), ("First", "grid L1"), ("Second", "grid L2"),
              ("Third", "grid L3"), ("Micro", "micro-grid"), ("Dedicated", "dedicated grid")]  # fmt: skip


def page_kind(page: Page) -> str:
    classes = page.body_class.split()
    if "page-districtpage" in classes:
        return "district home"
    if "page-gridbranchpage" in classes:
        return "branch"
    if "page-buildinggrouppage" in classes:
        return "building group"
    if "page-publication" in classes:
        return "publication"
    if "page-gridpage" in classes:
        return next((k for word, k in GRID_KINDS if word in page.unit_kind), "grid")
    return ""


def child_links(page: Page, path: str) -> list[str]:
    """Links to the pages one level below ``path`` in the tree."""
    depth = path.strip("/").count("/") + 1 if path.strip("/") else 0
    out = []
    for link in page.local_links():
        if "?" in link or not link.startswith(path) or link == path or link.startswith(SKIP):
            continue
        if link.strip("/").count("/") + 1 == depth + 1 and not link.endswith(
            ("/notices/", "/calendar/")
        ):
            out.append(link)
    return out


def crawl(host: str, walks: int = 20, seed: int = 7) -> None:
    """Walk down the tree from the home page (and from the demo branch, which has
    publications) along random child links, recording each page's kind; then
    the listings (``notices/``) and publications of the units seen."""
    import requests  # after locust's gevent patching

    rng = random.Random(seed)
    session = requests.Session()
    kinds: dict[str, str] = {}

    def fetch(path: str) -> Page | None:
        response = session.get(host + path, timeout=60)
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            return None
        page = parse(response.text, response.url)
        kinds[path] = page_kind(page)
        return page

    starts = ["/"] * walks + [FIXTURES["branch_url"]] * 2
    for start in starts:
        path = start
        for _ in range(8):
            page = fetch(path)
            if page is None or kinds[path] == "publication":
                break
            children = child_links(page, path)
            if not children:
                break
            path = rng.choice(children)
    for path in (FIXTURES["branch_url"], "/"):
        listing = fetch(path + "notices/")
        if listing is None:
            continue
        SITE["notices listing"].append(path + "notices/")
        for link in listing.local_links():
            if link.startswith(path) and link not in kinds and not link.startswith(SKIP):
                if "?" in link:
                    if "page=2" in link:
                        SITE["listing page 2"].append(link)
                    continue
                fetch(link)
    for path, kind in kinds.items():
        if kind and path not in SITE[kind]:
            SITE[kind].append(path)
    SITE["unit"] = [p for k in ("district home", "grid L1", "grid L2", "grid L3", "branch",
                                "micro-grid", "dedicated grid", "building group")
                    for p in SITE.get(k, [])]  # fmt: skip


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    crawl(environment.host.rstrip("/"))
    found = ", ".join(f"{k} {len(v)}" for k, v in sorted(SITE.items()))
    print(f"site gathered: {found}", flush=True)


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    data = {
        "outcomes": dict(sorted(OUTCOMES.items())),
        "site": {k: len(v) for k, v in sorted(SITE.items())},
    }
    OUTCOMES_FILE.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


# --- Anonymous readers ------------------------------------------------------------------------


class Reader(Browser):
    """Someone reading the public site on a phone, going down the tree."""

    weight = 40

    def pick(self, kind: str) -> str | None:
        return random.choice(SITE[kind]) if SITE.get(kind) else None

    @task(4)
    def down_the_tree(self):
        self.page("page: district home", "/")
        for kind in ("grid L1", "grid L2", "grid L3", "branch"):
            path = self.pick(kind)
            if path:
                self.think()
                self.page(f"page: {kind}", path)

    @task(3)
    def branch_news(self):
        path = self.pick("branch")
        if path is None:
            return
        self.page("page: branch", path)
        self.think()
        self.page("unit: notices/", path + "notices/")
        publication = self.pick("publication")
        if publication:
            self.think()
            self.page("page: publication", publication)
        listing = self.pick("notices listing")
        if listing:
            self.think()
            self.page("unit: notices/ (demo branch or district)", listing)
        page2 = self.pick("listing page 2")
        if page2:
            self.think()
            self.page("unit: notices/ page 2", page2)

    @task(2)
    def calendar(self):
        path = self.pick("unit")
        if path is None:
            return
        self.page("unit: calendar/", path + "calendar/")
        self.think()
        self.request("unit: calendar/ics/", path + "calendar/ics/", content="text/calendar")

    @task(1)
    def small_units(self):
        for kind in ("micro-grid", "dedicated grid", "building group"):
            path = self.pick(kind)
            if path:
                self.page(f"page: {kind}", path)
                self.think()


# --- Search -----------------------------------------------------------------------------------


def search_path(q: str, **extra) -> str:
    return "/search/?" + urlencode({"q": q, **extra}, doseq=True)


class Searcher(Browser):
    """Someone using the search box (anonymous: public records only)."""

    weight = 20

    @task(5)
    def common_word(self):
        self.page("search: common word", search_path(random.choice(COMMON_WORDS)))

    @task(3)
    def rare_word(self):
        self.page("search: rarer word", search_path(random.choice(RARE_WORDS)))

    @task(2)
    def filtered(self):
        word = random.choice(COMMON_WORDS + RARE_WORDS)
        self.page("search: filtered by type", search_path(word, type=random.choice(PUBLIC_TYPES)))

    @task(1)
    def dated(self):
        today = time.strftime("%Y-%m-%d")
        year_ago = time.strftime("%Y-%m-%d", time.localtime(time.time() - 365 * 86400))
        self.page(
            "search: filtered by date",
            search_path(random.choice(COMMON_WORDS), date_from=year_ago, date_to=today),
        )

    @task(1)
    def second_page(self):
        self.page("search: page 2", search_path(random.choice(COMMON_WORDS[:3]), page=2))


# --- Members ----------------------------------------------------------------------------------


class Member(SignedIn):
    """A party member or volunteer on their phone."""

    weight = 20
    pool = "members"
    now_shift: int | None = None

    @task(3)
    def my_pages(self):
        if not self.ensure_signed_in():
            return
        self.page("me: home", "/me/")
        self.think()
        self.page(*random.choice([("me: notices", "/me/notices/"), ("me: inbox", "/me/inbox/")]))
        self.think()
        self.page("me: service", "/me/service/")

    @task(3)
    def sign_up(self):
        """The shift list, a shift, "sign up": mostly a shift under way (to check
        in to next), otherwise one in the coming days."""
        if not self.ensure_signed_in():
            return
        self.page("volunteer: shift list", "/volunteer/")
        self.think()
        now = self.now_shift is None and random.random() < 0.7
        shift_id = random.choice(FIXTURES["now_shifts" if now else "later_shifts"])
        page = self.page("volunteer: shift", f"/volunteer/shifts/{shift_id}/")
        form = page and page.form("/sign-up/")
        if form is None:
            OUTCOMES["sign up: no sign-up form (signed up already)"] += 1
            return
        self.think()
        done = self.submit("volunteer: sign up", form, outcome="sign up")
        if now and done is not None and done.form("/check/", having="code") is not None:
            self.now_shift = shift_id  # confirmed on a shift under way

    @task(2)
    def check_in_and_out(self):
        """Type the organiser's current code on the shift under way: check in, or
        (already in) now and then check out, which credits the service."""
        if not self.ensure_signed_in() or self.now_shift is None:
            return
        shift_id = self.now_shift
        page = self.page("volunteer: shift", f"/volunteer/shifts/{shift_id}/")
        form = page and page.form("/check/", having="code")
        if form is None:
            OUTCOMES["check: no code form (checked out already)"] += 1
            return
        label = " ".join(form.labels)
        action = "out" if ("签退" in label or "out" in label.lower()) else "in"
        if action == "out" and random.random() < 0.7:
            return  # stays for the rest of the shift
        self.think()
        self.submit(
            f"volunteer: check {action}",
            form,
            outcome=f"check {action}",
            code=shift_code(shift_id, action),
        )

    @task(2)
    def task_offers(self):
        """ "我的任务": accept an offered task when one is open."""
        if not self.ensure_signed_in():
            return
        page = self.page("me: tasks", "/me/tasks/")
        if page is None:
            return
        offers = [f for f in page.forms if f.action.endswith("/accept/")]
        if not offers:
            OUTCOMES["task: none open"] += 1
            return
        self.think()
        self.submit("task: accept", random.choice(offers), outcome="task accept")

    @task(1)
    def search(self):
        if not self.ensure_signed_in():
            return
        self.page("search: signed-in member", search_path(random.choice(COMMON_WORDS)))


# --- Staff: secretaries, the coordinator, the district -----------------------------------------


class Staff(SignedIn):
    """A secretary (or the coordinator, or the district administrator) with
    TOTP, between the site and the admin."""

    weight = 14
    pool = "staff"

    def runs_first_branch(self) -> bool:
        return self.account["username"] in FIXTURES["accounts"]["minutes_staff"]

    @task(3)
    def request_pages(self):
        if not self.ensure_signed_in():
            return
        page = self.page("requests: list", "/requests/")
        if page is None:
            return
        details = [x for x in page.local_links() if re.fullmatch(r"/requests/\d+/", x)]
        if details:
            self.think()
            self.page("requests: request", random.choice(details))

    @task(2)
    def admin(self):
        if not self.ensure_signed_in():
            return
        self.page("admin: dashboard", "/admin/")
        self.think()
        if random.random() < 0.5:
            self.page("admin: member list", "/admin/members/")
        else:
            self.page("admin: pages (own unit)", "/admin/pages/")

    @task(2)
    def alliance(self):
        if not self.ensure_signed_in():
            return
        self.page(*random.choice([
            ("alliance: needs", "/alliance/needs/"),
            ("alliance: projects", "/alliance/projects/"),
            ("alliance: follow-up board", "/alliance/followup/"),
            ("alliance: partners", "/alliance/partners/"),
        ]))  # fmt: skip
        self.think()
        page = self.page("alliance: meetings", "/alliance/meetings/")
        links = page.local_links() if page else []
        meetings = [x for x in links if re.fullmatch(r"/alliance/meetings/\d+/", x)]
        if meetings:
            self.think()
            self.page("alliance: meeting", random.choice(meetings))

    @task(2)
    def minutes(self):
        """Edit the draft minutes of the run's held meeting (its staff only)."""
        if not self.ensure_signed_in() or not self.runs_first_branch():
            return
        meeting = FIXTURES["draft_meeting"]
        page = self.page("minutes: editor", f"/alliance/meetings/{meeting}/minutes/")
        form = page and page.form(f"/meetings/{meeting}/minutes/", having="summary")
        if form is None:
            return
        item = next((n for n, _ in form.fields if n.startswith("discussion-")), None)
        self.think()
        stamp = time.strftime("%H:%M:%S")
        values = {"summary": f"会议由支部书记主持，共建单位参加。（{stamp} 修改）"}
        if item:
            values[item] = f"{form.get(item)[:200]}\n{self.account['username']} {stamp} 补充意见。"
        self.submit("minutes: save", form, outcome="minutes save", **values)

    @task(1)
    def code_screen(self):
        """The organiser's phone showing the rotating check-in code."""
        if not self.ensure_signed_in() or not self.runs_first_branch():
            return
        shift_id = random.choice(FIXTURES["now_shifts"])
        self.page("volunteer: organiser code screen", f"/volunteer/shifts/{shift_id}/code/")

    @task(1)
    def search(self):
        if not self.ensure_signed_in():
            return
        self.page("search: staff (private records)", search_path(random.choice(STAFF_WORDS)))


class GridWorker(SignedIn):
    """The grid worker: records a resident's request and has it dispatched."""

    weight = 2
    pool = "gridworkers"

    @task(3)
    def request_pages(self):
        if not self.ensure_signed_in():
            return
        self.page("requests: list", "/requests/")

    @task(1)
    def record_and_dispatch(self):
        if not self.ensure_signed_in():
            return
        page = self.page("requests: new form", "/requests/new/")
        form = page and page.form("/requests/new/", having="title")
        if form is None:
            return
        self.think()
        done = self.submit(
            "requests: record",
            form,
            outcome="request record",
            title=f"压测：楼道灯不亮 {time.strftime('%H%M%S')}",
            category="environment",
            grid=next((v for v in form.options.get("grid", []) if v), form.get("grid")),
            description="3号楼2单元楼道灯坏了，老人夜里出行不便。",
            address="晓园新村3号楼2单元",
            requester_name="居民",
        )
        if done is None or not re.fullmatch(r".*/requests/\d+/", done.url):
            return
        dispatch = done.form("/dispatch/")
        if dispatch is not None:
            self.think()
            self.submit("requests: auto-dispatch", dispatch, outcome="auto-dispatch",
                        button=("auto", "1"))  # fmt: skip


# --- The partner contact ------------------------------------------------------------------------


class Partner(SignedIn):
    """The contact of a partner unit (a school): their unit, the meetings they
    are invited to, minutes out for comments."""

    weight = 4
    pool = "partners"

    @task(2)
    def my_unit(self):
        if not self.ensure_signed_in():
            return
        self.page("partner: my unit", "/alliance/my-unit/")
        self.think()
        self.page("alliance: follow-up board", "/alliance/followup/")

    @task(2)
    def answer_invitation(self):
        if not self.ensure_signed_in():
            return
        self.page("alliance: meetings", "/alliance/meetings/")
        self.think()
        meeting = FIXTURES["upcoming_meeting"]
        page = self.page("alliance: meeting", f"/alliance/meetings/{meeting}/")
        form = page and page.form("/rsvp/")
        if form is None:
            return
        self.think()
        choice = random.choice([("response", "attend"), ("response", "decline")])
        self.submit("partner: RSVP", form, outcome="rsvp", button=choice)

    @task(1)
    def comment_on_minutes(self):
        if not self.ensure_signed_in():
            return
        meeting = FIXTURES["circulated_meeting"]
        page = self.page("minutes: circulated (partner)", f"/alliance/meetings/{meeting}/minutes/")
        forms = [f for f in (page.forms if page else []) if f.action.endswith("/comment/")]
        if not forms:
            return
        self.think()
        self.submit("minutes: comment", random.choice(forms), outcome="minutes comment",
                    body=f"建议补充时间节点。（{time.strftime('%H:%M:%S')}）")  # fmt: skip


# --- The status log (loadtest/faults.py) ---------------------------------------------------------

# With LOADTEST_STATUS_CSV set, every request is written down as it ends: when it
# started and ended (Unix time), its kind, the status (0: no answer — refused,
# reset), the instance, the path, the user's number, and for a 5xx what the body
# was (the portal's 503 page with its Retry-After, a traceback, something else),
# for other failures why. The fault test compares it with its timeline.
STATUS_FILE = os.environ.get("LOADTEST_STATUS_CSV", "")
# The portal's 503 page, and the search page saying search is down (it keeps
# the reader's query and form).
UNAVAILABLE_MARKS = (
    "门户暂时无法访问",
    "The portal is briefly unavailable",
    "搜索暂时不可用",
    "Search is unavailable right now",
)
STATUS_COLUMNS = ["start", "end", "method", "name", "status", "host", "path", "user", "detail"]


def _status_detail(response, exception) -> str:
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        text = getattr(response, "text", "") or ""
        if "Traceback (most recent call last)" in text:
            return "traceback"
        if status == 503 and any(mark in text for mark in UNAVAILABLE_MARKS):
            return f"503 page, Retry-After {response.headers.get('Retry-After', 'missing')}"
        title = re.search(r"<title>(.*?)</title>", text, re.S)
        page = " ".join((title.group(1) if title else text[:80]).split())
        return f"other: {page}, Retry-After {response.headers.get('Retry-After', 'missing')}"
    return " ".join(str(exception).split())[:160] if exception else ""


if STATUS_FILE:
    _status_out = open(STATUS_FILE, "w", newline="", encoding="utf-8", buffering=1)  # noqa: SIM115
    _status_csv = csv.writer(_status_out)
    _status_csv.writerow(STATUS_COLUMNS)

    @events.request.add_listener
    def record_status(
        request_type, name, response_time, response, context, exception, start_time, url, **kw
    ):
        bits = urlsplit(url or "")
        browser = (context or {}).get("browser")
        _status_csv.writerow([
            f"{start_time:.3f}", f"{start_time + (response_time or 0) / 1000:.3f}", request_type,
            name, getattr(response, "status_code", 0) or 0, bits.port or "", bits.path,
            getattr(browser, "number", ""), _status_detail(response, exception),
        ])  # fmt: skip
