"""The alliance in the admin: each module registers its own viewsets and views."""

from alliance import partner_admin  # noqa: F401
