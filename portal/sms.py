"""Swappable SMS sender, chosen by the TONGXIN_SMS_SENDER setting.

A district plugs its SMS gateway in by pointing the setting at a class with a
``send(phone, message)`` method. The default writes the message to the log.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from portal.masking import mask_phone

logger = logging.getLogger("tongxin.sms")


class ConsoleSMSSender:
    def send(self, phone: str, message: str) -> None:
        # Development only: the code must be readable on the console to sign up.
        logger.warning("SMS to %s: %s", mask_phone(phone), message)
        print(f"[SMS] {mask_phone(phone)}: {message}", flush=True)


class MemorySMSSender:
    """Keeps messages in memory, for tests."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, message: str) -> None:
        self.outbox.append((phone, message))


def get_sms_sender():
    return import_string(settings.TONGXIN_SMS_SENDER)()
