"""``python manage.py demo_totp <username>``: the current TOTP code of a demo
account, so someone trying the demo can pass the second sign-in step."""

import time

from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core.management.base import BaseCommand, CommandError

from branches import demo


class Command(BaseCommand):
    help = "Print the current 6-digit TOTP code of a demo account (demo accounts only)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if username not in demo.MFA_DEMO_USERS:
            raise CommandError(
                f"{username!r} is not a demo account with TOTP; choose one of: "
                + ", ".join(demo.MFA_DEMO_USERS)
            )
        authenticator = Authenticator.objects.filter(
            user__username=username, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is None:
            raise CommandError(f"{username!r} has no TOTP authenticator: run load_demo first.")
        secret = decrypt(authenticator.data["secret"])
        if secret != demo.DEMO_TOTP_SECRET:
            raise CommandError(f"{username!r} does not use the demo secret; refusing.")
        now = time.time()
        period = app_settings.TOTP_PERIOD
        code = format_hotp_value(hotp_value(secret, int(now) // period))
        self.stdout.write(code)
        left = period - int(now) % period
        self.stderr.write(f"valid for about {left} more seconds")
