"""The registry of searchable record types. Each package declares its types in a
``search_types.py`` module (loaded at start-up); nothing else in search/ knows
about them.

A type says how to turn one record into a document (see base.DOCUMENT_FIELDS),
which records to (re)index, and who may see each record, through the visibility
fields of the document.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Model, QuerySet
from django.utils.functional import Promise

from search.base import DOCUMENT_FIELDS


@dataclass(frozen=True)
class SearchType:
    name: str  # short code used in documents and URLs, e.g. "member"
    label: Promise | str  # shown as a facet, translated
    model: type[Model]
    queryset: Callable[[], QuerySet]  # every record that belongs in the index
    document: Callable[[Model], dict]  # the document of one record (without doc_type/object_id)
    # The records that belong to any of these unit pages (their documents carry the
    # unit's title and path, so a renamed or moved unit re-indexes them).
    in_units: Callable[[list[int]], QuerySet] | None = None
    # Grid workers (网格员) see this type's documents under their grids (by
    # grid_path), besides whoever the visibility fields admit.
    grid_workers: bool = False
    # Where a hit links for a viewer who cannot open the admin: a URL name (a
    # member's own record → "me"). Such a viewer sees a private record only as
    # its owner; without it, the hit is shown without a link.
    owner_url_name: str = ""
    # The document's date is when the record happens (a volunteer shift): once that
    # day is over it is history, which only staff (district, coordinators,
    # secretaries) find; everyone else finds what is still to come.
    past_is_history: bool = False

    def build(self, obj) -> dict:
        doc = {
            "title": "",
            "summary": "",
            "body": "",
            "keywords": "",
            "url": "",
            "date": None,
            "status": "",
            "grid_path": "",
            "public": False,
            "unit_path": "",
            "group_id": None,
            "owner_id": None,
            "hashes": [],
        }
        doc.update(self.document(obj))
        doc["doc_type"] = self.name
        doc["object_id"] = str(obj.pk)
        unknown = set(doc) - set(DOCUMENT_FIELDS)
        if unknown:
            raise ValueError(f"{self.name}: unknown document fields {sorted(unknown)}")
        return doc


_registry: dict[str, SearchType] = {}


def register(search_type: SearchType) -> SearchType:
    _registry[search_type.name] = search_type
    return search_type


def search_types() -> Iterable[SearchType]:
    return _registry.values()


def get_type(name: str) -> SearchType:
    return _registry[name]


def grid_worker_types() -> tuple[str, ...]:
    return tuple(t.name for t in _registry.values() if t.grid_workers)


def history_types() -> tuple[str, ...]:
    return tuple(t.name for t in _registry.values() if t.past_is_history)


def types_for_model(model) -> list[SearchType]:
    return [t for t in _registry.values() if issubclass(model, t.model)]
