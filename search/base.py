"""The search API every part of the portal uses, independent of the backend.

A *document* is a plain dict built from a record by its registered SearchType
(see registry.py). Both backends index the same documents and answer the same
``SearchQuery``; visibility is part of every document, so the permission filter
is one rule expressed in each backend's query language.
"""

from dataclasses import dataclass, field
from datetime import datetime

# Keys of a document, in the order both backends store them.
DOCUMENT_FIELDS = (
    "doc_type",  # registry name, e.g. "member"
    "object_id",  # str(pk)
    "title",  # shown as the hit's heading
    "summary",  # a publication's lead: weighs less than the title, more than the body
    "body",  # searchable text (private values masked, never clear)
    "keywords",  # extra searchable words: roles, categories, pinyin of names
    "url",  # where the hit links to ("" when there is no page)
    "date",  # datetime or None: recency tie-breaker and date filter
    "status",  # short code for the status filter ("" when not applicable)
    "grid_path",  # tree path of the unit the record belongs to (grid subtree filter)
    "public",  # bool: anyone may see it
    "unit_path",  # tree path a coordinator/secretary scope must cover ("" = none)
    "group_id",  # building group page id a group leader may see (None = none)
    "owner_id",  # user id who may always see it (None = none)
    "hashes",  # list of keyed hashes (ID number, phone) for exact lookup
)


@dataclass(frozen=True)
class Visibility:
    """What the asking user may see, in backend-neutral terms."""

    everything: bool = False
    paths: tuple[str, ...] = ()
    group_ids: tuple[int, ...] = ()
    user_id: int | None = None
    may_lookup_private: bool = False
    # A grid worker's grids: documents of ``grid_worker_types`` whose grid_path
    # lies under one of them are visible too.
    grid_worker_paths: tuple[str, ...] = ()
    grid_worker_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    text: str
    tokens: tuple[str, ...]  # query tokens (jieba precise mode, normalised)
    visibility: Visibility
    doc_types: tuple[str, ...] = ()
    grid_path: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    status: str = ""
    lookup_hash: str = ""  # set when the text is a full ID number or phone and the role may look up
    offset: int = 0
    limit: int = 20
    # The substring form (search.text.query_grams): bigram phrases of its Chinese runs.
    grams: tuple[tuple[str, ...], ...] = ()
    # Documents of these types dated before ``history_before`` are left out (past
    # shifts for a user who is not staff; see SearchType.past_is_history).
    history_types: tuple[str, ...] = ()
    history_before: datetime | None = None


@dataclass
class Hit:
    doc_type: str
    object_id: str
    title: str
    snippet: str  # HTML-safe, with <mark> around matched words
    url: str
    date: datetime | None
    score: float = 0.0


@dataclass
class SearchResults:
    hits: list[Hit]
    total: int
    facets: dict[str, int] = field(default_factory=dict)  # doc_type -> count


class SearchBackend:
    """Interface of a search backend."""

    def index(self, documents: list[dict]) -> None:
        raise NotImplementedError

    def delete(self, doc_type: str, object_ids: list[str]) -> None:
        raise NotImplementedError

    def search(self, query: SearchQuery) -> SearchResults:
        raise NotImplementedError

    def rebuild_begin(self) -> None:
        """Start a full rebuild (a new, empty index the searches do not see yet)."""
        raise NotImplementedError

    def rebuild_commit(self) -> None:
        """Make the rebuilt index the live one."""
        raise NotImplementedError

    def count(self) -> dict[str, int]:
        """Documents per doc_type in the live index."""
        raise NotImplementedError
