"""Logs and error reports that never carry a full ID number or mobile number.

Request paths and query strings reach the logs (``django.request``,
``django.server``, gunicorn's access log when configured through ``LOGGING``)
and the error reports mailed to the administrators; a number typed into a URL
would be kept there in clear. ``MaskPrivateNumbers`` sits on every handler in
``LOGGING`` and ``MaskedExceptionReporter`` is ``DEFAULT_EXCEPTION_REPORTER``.
"""

import logging
from contextvars import ContextVar

from django.views.debug import ExceptionReporter

from portal.masking import mask_private_numbers

# The id of the request being handled (set by portal.middleware.RequestIdMiddleware),
# for the log lines written meanwhile.
current_request_id: ContextVar[str] = ContextVar("request_id", default="-")


# URL parameters whose values are secrets (a calendar feed's token, allauth's
# password-reset and e-mail confirmation keys, a certificate's code).
SECRET_URL_PARAMETERS = ("token", "key", "code", "secret")


def url_secrets(request) -> list[str]:
    """The secret values in the URL a request resolved to (see SECRET_URL_PARAMETERS)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return []
    return [
        value
        for name, value in match.kwargs.items()
        if isinstance(value, str) and value and any(s in name for s in SECRET_URL_PARAMETERS)
    ]


def mask_url_secrets(text: str, request) -> str:
    for secret in url_secrets(request):
        text = text.replace(secret, "***")
    return text


class MaskPrivateNumbers(logging.Filter):
    """Mask ID-number-like and mobile-like digit runs in a record's message and
    traceback text before any handler formats it, and the request's secret URL
    parts (Django's "Not Found: /calendar/<token>.ics")."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_url_secrets(mask_private_numbers(message), getattr(record, "request", None))
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_private_numbers(record.exc_text)
        return True


class RequestId(logging.Filter):
    """Put the id of the request being handled (``portal.middleware.RequestIdMiddleware``)
    on the record as ``request_id`` ("-" outside a request). Django writes its
    4xx and 5xx lines after the middleware has finished, with the request on the
    record: its id is taken from there."""

    def filter(self, record: logging.LogRecord) -> bool:
        given = getattr(getattr(record, "request", None), "request_id", None)
        record.request_id = given if isinstance(given, str) else current_request_id.get()
        return True


class MaskedExceptionReporter(ExceptionReporter):
    """Django's error report (the admins' e-mail, the debug page) with every
    ID-number-like and mobile-like run masked: the URL, GET and POST values,
    headers and local variables alike."""

    def get_traceback_html(self):
        return mask_private_numbers(super().get_traceback_html())

    def get_traceback_text(self):
        return mask_private_numbers(super().get_traceback_text())
