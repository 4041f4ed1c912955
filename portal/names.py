"""People's names: one rule, used on every page, list, export, feed and PDF.

A name is written in Chinese order, family name first and no space between
(``邓娜倩``, never ``娜倩 邓``). A person is called by their member record's
name when they have one, else by their account's name, else by their account
(user) name. ``full_name_sql`` is the same rule for queries that name people in
the database (sorting, ``values()`` rows); ``install`` makes the account model's
``get_full_name`` follow it too, so the Wagtail and Django admins (page
history, workflow, audit log, user lists) agree with our pages."""

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim


def member_of(user):
    """The member record linked to this account, if any."""
    return getattr(user, "member", None) if hasattr(user, "member") else None


def full_name(first_name: str | None, last_name: str | None) -> str:
    """Family name first, then the given name, no space between."""
    return f"{(last_name or '').strip()}{(first_name or '').strip()}"


def account_name(user) -> str:
    """The account's name in Chinese order, else its user name ("" for none)."""
    if user is None:
        return ""
    return full_name(user.first_name, user.last_name) or user.get_username()


def person_name(user) -> str:
    """How a person is named: their member name, else ``account_name``."""
    if user is None:
        return ""
    member = member_of(user)
    if member is not None and member.name:
        return member.name
    return account_name(user)


def full_name_sql(prefix: str = ""):
    """``full_name`` of the user at ``prefix`` (e.g. ``"owner__"``) as a query
    expression: NULL when both parts are empty."""
    return NullIf(Trim(Concat(F(f"{prefix}last_name"), F(f"{prefix}first_name"))), Value(""))


def person_name_sql(prefix: str = ""):
    """``person_name`` as a query expression (member name, account name, user name)."""
    return Coalesce(
        NullIf(F(f"{prefix}member__name"), Value("")),
        full_name_sql(prefix),
        F(f"{prefix}username"),
    )


def _get_full_name(user) -> str:
    return full_name(user.first_name, user.last_name)


def install():
    """Make ``User.get_full_name`` write names in Chinese order (called once
    from ``PortalConfig.ready``)."""
    from django.contrib.auth import get_user_model

    get_user_model().get_full_name = _get_full_name
