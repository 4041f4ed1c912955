"""The alliance in the admin: each sub-package registers its own viewsets and views."""

from alliance.partners import admin as partners_admin  # noqa: F401
