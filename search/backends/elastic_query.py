"""Elasticsearch query bodies and responses, without a cluster: who may see a
document (``permission_filter``, the same rule as the database backend), the
text query (the raw text, its jieba words and its character bigrams, a unit
page weighed up where its name matches), the whole search request
(``search_request``: filters, facets, highlights, sort, bounded paging) and the
mapping of a response to ``SearchResults``. The backend that sends them is
search/backends/elastic.py.
"""

from datetime import date, datetime

from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from elasticsearch.dsl import Q, Search

from search.base import Hit, SearchQuery, SearchResults, Visibility
from search.text import highlight as text_highlight

# Fields the text query runs over, with their weights (as the database backend:
# title and keywords 4, summary 2, body 1).
TEXT_FIELDS = ("title^4", "keywords^4", "summary^2", "body")
# Their ``bigram`` subfields (every analyzer): a query's Chinese runs match there as
# phrases of character bigrams, so any two or more characters are found.
BIGRAM_FIELDS = tuple(
    f"{name}.bigram^{weight}"
    for name, weight in (("title", 4), ("keywords", 4), ("summary", 2), ("body", 1))
)
# A unit page weighs 1.5 times where the query matches its name (search.backends.database).
UNIT_BOOST = 1.5
NAME_FIELDS = ("title", "keywords", "title.bigram", "keywords.bigram")
HIGHLIGHT_TAGS = ("<mark>", "</mark>")
SNIPPET_CHARS = 80
# Longer query text is cut (like search.text.query_tokens does).
MAX_QUERY_CHARS = 200
# Facet buckets: more than the number of registered types.
FACET_SIZE = 100
# Hard bounds of one page (no endpoint returns unbounded rows) and of deep paging
# (Elasticsearch's default index.max_result_window).
MAX_LIMIT = 100
MAX_WINDOW = 10_000
# Fields a hit needs; never the hashes.
SOURCE_FIELDS = ("doc_type", "object_id", "title", "summary", "body", "url", "date")


# --- queries -----------------------------------------------------------------------


def permission_filter(visibility: Visibility):
    """Who may see a document, as one bool query (None: everything).

    Same rule as the database backend: public, or unit_path under one of the
    user's paths, or group_id among the user's groups, or owned by the user, or
    (for a grid worker) one of the grid workers' types under one of their grids."""
    if visibility.everything:
        return None
    should = [Q("term", public=True)]
    should += [Q("prefix", unit_path=path) for path in visibility.paths if path]
    if visibility.group_ids:
        should.append(Q("terms", group_id=list(visibility.group_ids)))
    if visibility.user_id is not None:
        should.append(Q("term", owner_id=visibility.user_id))
    if visibility.grid_worker_types:
        should += [
            Q(
                "bool",
                filter=[
                    Q("terms", doc_type=list(visibility.grid_worker_types)),
                    Q("prefix", grid_path=path),
                ],
            )
            for path in visibility.grid_worker_paths
            if path
        ]
    return Q("bool", should=should, minimum_should_match=1)


def _text_matches(query: SearchQuery, fields, bigram_fields):
    text = (query.text or "").strip()[:MAX_QUERY_CHARS]
    words = " ".join(query.tokens)
    texts = [t for t in dict.fromkeys((text, words)) if t]
    matches = [Q("multi_match", query=t, fields=list(fields), operator="and") for t in texts]
    if query.grams:
        # The substring form: the text as a phrase of bigrams (consecutive, so only
        # where the text holds the query's Chinese runs as they are).
        matches.append(Q("multi_match", query=text, fields=list(bigram_fields), type="phrase"))
    # The raw text, its jieba words (社区志愿 and 社区 志愿) and its bigrams: the best.
    return matches[0] if len(matches) == 1 else Q("dis_max", queries=matches)


def text_query(query: SearchQuery):
    if query.lookup_hash:
        return Q("term", hashes=query.lookup_hash)
    names = [f for f in NAME_FIELDS if "." not in f]
    name_bigrams = [f for f in NAME_FIELDS if "." in f]
    unit_named = Q(
        "bool",
        filter=[Q("term", doc_type="unit"), _text_matches(query, names, name_bigrams)],
    )
    return Q(
        "function_score",
        query=_text_matches(query, TEXT_FIELDS, BIGRAM_FIELDS),
        functions=[{"filter": unit_named.to_dict(), "weight": UNIT_BOOST}],
        boost_mode="multiply",
    )


def _isoformat(value):
    return value.isoformat() if isinstance(value, date) else value


def page_bounds(offset: int, limit: int) -> tuple[int, int]:
    offset = max(0, int(offset or 0))
    limit = max(0, min(int(limit or 0), MAX_LIMIT))
    offset = min(offset, MAX_WINDOW - limit)
    return offset, limit


def query_filters(query: SearchQuery) -> list:
    """The query's filters: who may see, the grid, the dates, the status, and
    the past records of the types that hide their history."""
    filters = []
    permission = permission_filter(query.visibility)
    if permission is not None:
        filters.append(permission)
    if query.grid_path:
        filters.append(Q("prefix", grid_path=query.grid_path))
    if query.date_from or query.date_to:
        bounds = {}
        if query.date_from:
            bounds["gte"] = _isoformat(query.date_from)
        if query.date_to:
            bounds["lte"] = _isoformat(query.date_to)
        filters.append(Q("range", date=bounds))
    if query.status:
        filters.append(Q("term", status=query.status))
    if query.history_types:
        past = Q(
            "bool",
            filter=[
                Q("terms", doc_type=list(query.history_types)),
                Q("range", date={"lt": _isoformat(query.history_before)}),
            ],
        )
        filters.append(Q("bool", must_not=[past]))
    return filters


def search_request(query: SearchQuery, *, index: str) -> Search:
    """The whole search request for a query against ``index``: the text query
    under the filters, the type facets, highlights, sort and one bounded page."""
    search = Search(index=index).query(
        Q("bool", must=[text_query(query)], filter=query_filters(query))
    )
    if query.doc_types:
        # After the aggregation: facets count every type, hits show the chosen ones.
        search = search.post_filter("terms", doc_type=list(query.doc_types))
    search.aggs.bucket("doc_types", "terms", field="doc_type", size=FACET_SIZE)
    search = (
        search.highlight_options(
            pre_tags=[HIGHLIGHT_TAGS[0]],
            post_tags=[HIGHLIGHT_TAGS[1]],
            encoder="html",
            fragment_size=SNIPPET_CHARS,
            number_of_fragments=1,
        )
        .highlight("title", "title.bigram", number_of_fragments=0)
        .highlight("summary", "summary.bigram", "body", "body.bigram", "keywords")
        .highlight("keywords.bigram")
        .sort(
            {"_score": {"order": "desc"}},
            {"date": {"order": "desc", "missing": "_last", "unmapped_type": "date"}},
        )
        .source(list(SOURCE_FIELDS))
        .extra(track_total_hits=True)
    )
    offset, limit = page_bounds(query.offset, query.limit)
    return search[offset : offset + limit]


def results_from_response(response: dict, tokens=()) -> SearchResults:
    """Map a search response (a plain dict) to SearchResults. Where a field matched
    only through its bigrams, the highlight comes from ``bigram`` subfield, else
    from ``search.text.highlight`` with the query's words, as on the database."""
    section = response.get("hits") or {}
    total = section.get("total") or 0
    if isinstance(total, dict):
        total = total.get("value", 0)
    hits = []
    for raw in section.get("hits") or []:
        source = raw.get("_source") or {}
        highlight = raw.get("highlight") or {}
        title = source.get("title") or ""
        body = " ".join(filter(None, [source.get("summary") or "", source.get("body") or ""]))

        # Like the database backend: the summary or body, else the keywords.
        snippet = next(
            filter(None, (_marked(highlight, f) for f in ("summary", "body", "keywords"))), ""
        )
        if not snippet:
            snippet = text_highlight(body, tokens, width=SNIPPET_CHARS) if tokens else ""
            if not snippet:
                snippet = escape(body[:SNIPPET_CHARS]) + ("…" if len(body) > SNIPPET_CHARS else "")
        hits.append(
            Hit(
                doc_type=source.get("doc_type", ""),
                object_id=str(source.get("object_id", "")),
                title=_marked(highlight, "title") or text_highlight(title, tokens, width=255),
                snippet=snippet,
                url=source.get("url") or "",
                date=_parse_date(source.get("date")),
                score=float(raw.get("_score") or 0.0),
            )
        )
    buckets = ((response.get("aggregations") or {}).get("doc_types") or {}).get("buckets") or []
    facets = {b["key"]: b["doc_count"] for b in buckets}
    return SearchResults(hits=hits, total=int(total), facets=facets)


def _marked(highlight: dict, field: str) -> str:
    """The field's highlighted fragment, from the field or its bigram subfield."""
    for name in (field, f"{field}.bigram"):
        for fragment in highlight.get(name) or []:
            if HIGHLIGHT_TAGS[0] in fragment:
                return fragment
    return ""


def _parse_date(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return parse_datetime(str(value)) or datetime.fromisoformat(str(value))
    except ValueError:
        return None
