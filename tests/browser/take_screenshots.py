"""Regenerate the README screenshots in docs/screenshots/.

Needs a server with the demo data (``load_demo``) and Chromium::

    DATABASE_URL=sqlite:////tmp/demo.sqlite3 .venv/bin/python manage.py migrate
    DATABASE_URL=sqlite:////tmp/demo.sqlite3 .venv/bin/python manage.py load_demo
    DATABASE_URL=sqlite:////tmp/demo.sqlite3 .venv/bin/python manage.py runserver 127.0.0.1:8011 --noreload
    DATABASE_URL=sqlite:////tmp/demo.sqlite3 .venv/bin/python tests/browser/take_screenshots.py

The district administrator signs in with the demo password and the current
TOTP code from ``manage.py demo_totp district``.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def demo_totp(username: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "demo_totp", username],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ,
        check=True,
    )
    return result.stdout.split()[-1]


_used_codes: set[str] = set()


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click(".auth form button[type=submit]")
    page.wait_for_load_state("networkidle")
    if page.locator("input[name=code]").count():
        # allauth refuses a TOTP code that was used before: wait for a fresh one.
        code = demo_totp(username)
        while code in _used_codes:
            time.sleep(2)
            code = demo_totp(username)
        _used_codes.add(code)
        page.fill("input[name=code]", code)
        page.click(".auth form button[type=submit]")
        page.wait_for_load_state("networkidle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8011")
    parser.add_argument("--branch", default="/grid-02/grid-0201/grid-020101/branch/")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--password", default="tongxin-demo-2026")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    public = {
        "home": "/",
        "branch": args.branch,
        "branch-en": "/en" + args.branch,
        "branch-notices": args.branch + "notices/",
        "branch-calendar": args.branch + "calendar/",
    }
    admin = {
        "admin-members": "/admin/members/",
        "admin-meetings": "/admin/meetings/",
        "admin-compliance": "/admin/compliance/",
    }

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=LAUNCH_ARGS)
        for label, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            for name, path in public.items():
                if name == "branch-en" and label != "phone":
                    continue
                page.goto(args.base + path)
                page.screenshot(path=OUT / f"{name}-{label}.png", full_page=True)
            sign_in(page, args.base, "district", args.password)
            for name, path in admin.items():
                page.goto(args.base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=OUT / f"{name}-{label}.png")
            context.close()
            member = browser.new_context(viewport={"width": width, "height": height})
            page = member.new_page()
            sign_in(page, args.base, "member", args.password)
            page.goto(f"{args.base}/me/notices/")
            page.screenshot(path=OUT / f"my-notices-{label}.png", full_page=True)
            member.close()
        browser.close()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main()
