"""Record ids in URLs: an id no record can have is "not found" (404), never a
server error.

Django's ``<int:…>`` converter accepts any run of digits. ``0`` reaches views
that read it as "no id" (Wagtail's page revert), and a number too big for an
integer column makes SQLite raise ``OverflowError`` when it is compared with a
foreign key or a page's primary key (Django guards plain integer fields only).
``bound_ids`` gives every ``<int:…>`` of the URL conf, Wagtail's included, the
``IdConverter`` below, and the ``<str:pk>`` of Wagtail's chooser "chosen"
views too (every model here has an integer primary key). Django no longer lets
a project re-register ``int`` itself, hence the walk over the patterns.
"""

from django.urls import URLPattern, URLResolver
from django.urls.converters import IntConverter, StringConverter
from wagtail.admin.views.generic.chooser import ChosenViewMixin

# The largest value of a 64-bit signed integer column (SQLite INTEGER,
# PostgreSQL bigint); ids start at 1.
MAX_ID = 2**63 - 1


class IdConverter(IntConverter):
    """Digits naming a possible record: 1 … MAX_ID. Anything else does not match
    the pattern, so the resolver answers 404."""

    def to_python(self, value):
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError(f"{value} is not a record id")
        return number


def _is_chosen_view(pattern: URLPattern) -> bool:
    view_class = getattr(pattern.callback, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, ChosenViewMixin)


def bound_ids(patterns) -> None:
    """Give the id converter to every integer parameter of ``patterns`` (and the
    patterns they include), and to the ``pk`` of chooser "chosen" views."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            bound_ids(entry.url_patterns)
            continue
        converters = getattr(entry.pattern, "converters", None)
        if not isinstance(entry, URLPattern) or not converters:
            continue
        for name, converter in list(converters.items()):
            if type(converter) is IntConverter or (
                name == "pk" and type(converter) is StringConverter and _is_chosen_view(entry)
            ):
                converters[name] = IdConverter()
