"""``python manage.py load_demo [--scale small|seed] [--seed N]``: demo data and
demo accounts (one per role). See branches/demo.py."""

from io import StringIO

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from branches import demo, demo_plan, demo_tree
from portal import page_cache
from search.backends import get_backend


class Command(BaseCommand):
    help = (
        "Load the demo district and one demo account per role. --scale small (default) "
        "is quick; --scale seed builds the district at DESIGN.md scale for benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(demo_plan.SCALES), default="small")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")

    def handle(self, *args, scale, seed, verbosity=1, **options):
        loaded = demo_tree.existing_demo()
        if loaded == "other":
            raise CommandError(
                "This database already has a district that is not the demo; "
                "load the demo into an empty database (e.g. DATABASE_URL=sqlite:////tmp/demo.sqlite3)."
            )
        if loaded is not None and loaded != scale:
            raise CommandError(
                f"The {loaded!r} demo is already loaded here; to load the {scale!r} demo, "
                "delete the database (or point DATABASE_URL at a new file), migrate, and run again."
            )
        if loaded == scale:
            self.stdout.write(f"The {scale} demo is already loaded; nothing changed.")
        else:
            self.stdout.write(f"Loading the {scale} demo (seed {seed})…")
            # The time of each step: at seed scale (minutes), or when asked for (-v 2).
            timings = verbosity >= 2 or (verbosity >= 1 and scale != "small")
            # The demo's notifications (offers, invitations, minutes) go to the
            # demo accounts' inboxes; their emails are not printed to the console.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                result = demo.load(
                    demo_plan.SCALES[scale], seed=seed, out=self.stdout.write if timings else None
                )
            # Bulk inserts skip the save signals: build the search indexes once,
            # and let no page cached before the load be served.
            call_command("update_index", verbosity=0)
            page_cache.site_changed()
            total = dict(result.timings)["total"]
            self.stdout.write(self.style.SUCCESS(f"Loaded in {total:.1f} s."))
            for name, count in result.counts.items():
                self.stdout.write(f"  {name:<24} {count:>9,}")
            if scale == "small":
                call_command("search_index", "rebuild", quiet=True, stdout=StringIO())
                indexed = sum(get_backend().count().values())
                self.stdout.write(f"  {'search index documents':<24} {indexed:>9,}")
            else:
                # ~5 minutes at seed scale: a separate, timed step (bench/search.py).
                self.stdout.write(
                    "Build the search index with: python manage.py search_index rebuild"
                )
        self.print_accounts()

    def print_accounts(self):
        rows = demo.demo_accounts()
        if not rows:
            return
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (password for all: {demo.DEMO_PASSWORD})")
        headers = ("username", "password", "role", "unit", "MFA", "what they can do")
        table = [
            (
                r["username"],
                r["password"],
                r["role"],
                r["unit"],
                "TOTP" if r["mfa"] else "",
                r["can_do"],
            )
            for r in rows
        ]
        widths = [max(_width(str(x)) for x in col) for col in zip(headers, *table, strict=False)]
        for row in (headers, *table):
            cells = [_pad(str(cell), w) for cell, w in zip(row, widths, strict=True)]
            self.stdout.write("  ".join(cells).rstrip())
        self.stdout.write("")
        self.stdout.write(
            f"TOTP accounts share the demo secret {demo.DEMO_TOTP_SECRET} "
            "(add it to an authenticator app), or run: python manage.py demo_totp <username>"
        )
        self.stdout.write(
            "Recovery codes (same for each TOTP account): "
            + " ".join(demo.demo_recovery_codes()[:3])
            + " …"
        )


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
