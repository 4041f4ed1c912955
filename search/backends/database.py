"""Embedded backend: the portal's own database. SQLite FTS5 on the embedded
default, PostgreSQL full text (GIN) when DATABASE_URL is PostgreSQL. Text is
segmented with jieba before it reaches either, so both see words, not characters."""

import re

from django.db import connection, transaction
from django.db.models import Count, Q

from search.base import Hit, SearchBackend, SearchQuery, SearchResults
from search.models import SearchEntry, SearchState
from search.registry import grid_worker_types, search_types
from search.text import highlight, highlight_terms, index_bigrams, index_tokens

BATCH = 2000
# Field weights, one rule for both databases: title and keywords 4, summary 2,
# body 1 (filter words 0). PostgreSQL: weights A, B, C of the tsvector; normalised
# by length (flag 1) so a long page that repeats a word does not outrank a title match.
PG_RANK = (
    "ts_rank('{0.05,0.25,0.5,1.0}'::float4[], search_searchentry.tsv, to_tsquery('simple', %s), 1)"
)
BM25 = "bm25(search_fts, 4.0, 2.0, 1.0, 0.0)"
# A unit page weighs 1.5 times, but only where the query matches its name (title or
# keywords): a word that sixteen grid pages carry in their boilerplate intro must
# not push the notice that is about it off the first page.
UNIT_BOOST = 1.5
# SQLite's bm25 measures each column against its average length over all documents;
# most have no summary, so a summary match would weigh little there. A match in a
# publication's summary multiplies its score by 1.5 instead (PostgreSQL's weights,
# normalised by the whole document's length, need no such help).
SUMMARY_BOOST = 1.5
HIT_FIELDS = ("doc_type", "object_id", "title", "summary", "body", "keywords", "url", "date")


def _state() -> SearchState:
    state = SearchState.objects.first()
    return state or SearchState.objects.create()


def _single_generation(state) -> bool:
    """No rebuild in progress and no old generation left to clean up."""
    live = state.live_generation
    others = SearchEntry.objects.filter(Q(generation__lt=live) | Q(generation__gt=live))
    return state.building_generation is None and not others.exists()


def _total(query: SearchQuery, facets: dict[str, int]) -> int:
    """The hits of a query: the facet counts of its types (of every type without)."""
    return sum(n for t, n in facets.items() if not query.doc_types or t in query.doc_types)


def _generations(state) -> list[int]:
    gens = [state.live_generation]
    if state.building_generation is not None:
        gens.append(state.building_generation)
    return gens


def entry_from_document(doc: dict, generation: int) -> SearchEntry:
    hashes = [h for h in doc["hashes"] if h]
    entry = SearchEntry(
        generation=generation,
        doc_type=doc["doc_type"],
        object_id=doc["object_id"],
        title=doc["title"][:255],
        body=doc["body"],
        keywords=doc["keywords"],
        url=doc["url"][:500],
        date=doc["date"],
        status=doc["status"],
        grid_path=doc["grid_path"],
        public=doc["public"],
        unit_path=doc["unit_path"],
        group_id=doc["group_id"],
        owner_id=doc["owner_id"],
        hash_1=hashes[0] if hashes else "",
        hash_2=hashes[1] if len(hashes) > 1 else "",
        summary=doc.get("summary") or "",
    )
    set_text_tokens(entry)
    entry.filter_tokens = filter_tokens(entry)
    return entry


def _text_tokens(*texts) -> str:
    """Bigrams first, then words: PostgreSQL keeps positions only up to 16,383, and
    only the bigrams need them (phrases); so a body up to ~16,000 Chinese characters
    is found by any substring."""
    bigrams = [b for t in texts for b in index_bigrams(t)]
    words = [w for t in texts for w in index_tokens(t)]
    return " ".join(bigrams + words)


def set_text_tokens(entry) -> None:
    """The segmented text of an entry from its stored text (also used by the
    migration that brings an existing index up to date)."""
    entry.title_tokens = _text_tokens(entry.title, entry.keywords)
    entry.summary_tokens = _text_tokens(entry.summary)
    entry.body_tokens = _text_tokens(entry.body)


# --- Filters as words ------------------------------------------------------------------
# Every filter field of an entry is also written as words into ``filter_tokens``:
# "tmember" (type), "pub" (public), "u0001", "u00010002", … (every tree prefix of
# unit_path, so "visible under path P" is the word uP), "g…" (grid_path prefixes),
# "grp12" (group), "own7" (owner), "slive" (status), and for the types grid workers
# see, "w…" (grid_path prefixes again, a grid worker's key). SQLite's full-text index then
# answers visibility, filters and facet counts without reading a single row; on
# PostgreSQL the words are the generated tsvector ``ftsv`` (migrations/0005), whose
# GIN index PostgreSQL combines with the text's (a BitmapAnd), so the rows a user
# may not see are never read.
PATH_STEP = 4  # treebeard's path step: a unit's path is a prefix of its subtree's
TEXT_COLUMNS = ("title_tokens", "summary_tokens", "body_tokens")


def _word(prefix: str, value) -> str:
    return prefix + re.sub(r"[\W_]", "", str(value)).lower()


def _prefix_words(prefix: str, path: str) -> list[str]:
    return [prefix + path[:n] for n in range(PATH_STEP, len(path) + 1, PATH_STEP)]


def filter_tokens(entry) -> str:
    words = [_word("t", entry.doc_type)]
    if entry.public:
        words.append("pub")
    words += _prefix_words("u", entry.unit_path) + _prefix_words("g", entry.grid_path)
    if entry.group_id is not None:
        words.append(f"grp{entry.group_id}")
    if entry.owner_id is not None:
        words.append(f"own{entry.owner_id}")
    if entry.doc_type in grid_worker_types():
        words += _prefix_words("w", entry.grid_path)
    if entry.status:
        words.append(_word("s", entry.status))
    return " ".join(words)


def _filter_groups(query: SearchQuery, *, with_doc_types: bool) -> list[list[str]]:
    """The query's visibility and filters as groups of filter words: an entry passes
    when it has a word of every group (the one rule of fts5_filters and pg_filters)."""
    groups = []
    vis = query.visibility
    if not vis.everything:
        groups.append(
            ["pub"]
            + [f"u{path}" for path in vis.paths]
            + [f"grp{int(g)}" for g in vis.group_ids]
            + ([f"own{int(vis.user_id)}"] if vis.user_id else [])
            # Only the grid workers' types carry "w" words: no type test needed.
            + ([f"w{path}" for path in vis.grid_worker_paths] if vis.grid_worker_types else [])
        )
    if with_doc_types and query.doc_types:
        groups.append([_word("t", t) for t in query.doc_types])
    if query.grid_path:
        groups.append([_word("g", query.grid_path)])
    if query.status:
        groups.append([_word("s", query.status)])
    return groups


def _pg_quoted(word: str) -> str:
    """A tsquery operand that is this word only (operators inside it are text)."""
    return "'" + word.replace("'", "''").replace("\\", "") + "'"


def fts5_filters(query: SearchQuery, *, with_doc_types=True) -> str:
    """The query's visibility and filters as an FTS5 expression on filter_tokens."""
    groups = _filter_groups(query, with_doc_types=with_doc_types)
    return " AND ".join("filter_tokens: (" + " OR ".join(words) + ")" for words in groups)


def pg_filters(query: SearchQuery, *, with_doc_types=True) -> str:
    """The query's visibility and filters as a tsquery on ``ftsv`` (PostgreSQL): the
    words of fts5_filters, matched exactly (no prefix: grp1 must not match grp12).
    "" when there is nothing to filter (a district administrator, no filters)."""
    groups = _filter_groups(query, with_doc_types=with_doc_types)
    return " & ".join("(" + " | ".join(_pg_quoted(w) for w in words) + ")" for words in groups)


def visibility_q(visibility) -> Q:
    """The visibility rule as column filters: the exact lookups by keyed hash, which
    the hash index answers, use it (searches by words use the filter words)."""
    if visibility.everything:
        return Q()
    q = Q(public=True)
    for path in visibility.paths:
        q |= Q(unit_path__startswith=path)
    if visibility.group_ids:
        q |= Q(group_id__in=visibility.group_ids)
    if visibility.user_id:
        q |= Q(owner_id=visibility.user_id)
    if visibility.grid_worker_types:
        for path in visibility.grid_worker_paths:
            q |= Q(doc_type__in=visibility.grid_worker_types, grid_path__startswith=path)
    return q


def _fts5_term(token, last) -> str:
    quoted = '"' + token.replace('"', '""') + '"'
    # Prefix matching for words and the last term (a name being typed); single
    # characters elsewhere (3 in 3栋2单元) stay exact.
    return quoted + "*" if len(token) > 1 or last else quoted


def fts5_text(query: SearchQuery) -> str:
    """The query's words (implicit AND) or, for a query with Chinese runs, its
    substring form: each run as the phrase of its bigrams. Tokens are words only
    (search.text strips operators); quoting makes NEAR/AND/OR plain words."""
    n = len(query.tokens)
    words = " ".join(_fts5_term(t, i == n - 1) for i, t in enumerate(query.tokens))
    if not query.grams:
        return words
    grams = []
    for i, gram in enumerate(query.grams):
        if len(gram) == 1:
            grams.append(_fts5_term(gram[0], i == len(query.grams) - 1))
        else:
            grams.append('"' + " ".join(g.replace('"', '""') for g in gram) + '"')
    substrings = " ".join(grams)
    # A one-word query (社区) is its own substring form: match it once.
    return words if substrings == words else f"({words}) OR ({substrings})"


def fts5_match(query: SearchQuery, *, with_doc_types=True, columns=TEXT_COLUMNS) -> str:
    """The FTS5 expression of a query: its text in the text columns, and its filters
    in filter_tokens."""
    text = "{" + " ".join(columns) + "}: (" + fts5_text(query) + ")"
    filters = fts5_filters(query, with_doc_types=with_doc_types)
    return f"{text} AND {filters}" if filters else text


def _pg_term(token, last, weight="") -> str:
    quoted = _pg_quoted(token)
    return quoted + (":*" + weight if len(token) > 1 or last else (":" + weight if weight else ""))


def pg_tsquery(tokens, grams=(), *, weight="") -> str:
    """The tsquery of a query (see fts5_text); ``weight="A"`` matches the title only."""
    words = " & ".join(_pg_term(t, i == len(tokens) - 1, weight) for i, t in enumerate(tokens))
    if not grams:
        return words
    terms = []
    for i, gram in enumerate(grams):
        if len(gram) == 1:
            terms.append(_pg_term(gram[0], i == len(grams) - 1, weight))
        else:
            suffix = ":" + weight if weight else ""
            terms.append(
                "(" + " <-> ".join("'" + g.replace("'", "''") + "'" + suffix for g in gram) + ")"
            )
    substrings = " & ".join(terms)
    return words if substrings == words else f"({words}) | ({substrings})"


# An entry is one record's document in one generation of the index.
ENTRY_KEY = ["generation", "doc_type", "object_id"]
ENTRY_FIELDS = [
    f.name for f in SearchEntry._meta.concrete_fields if f.name not in ("id", *ENTRY_KEY)
]


class DatabaseBackend(SearchBackend):
    def index(self, documents):
        state = _state()
        gens = _generations(state)
        # An upsert, not a delete then an insert: two workers indexing the same
        # record at once (two quick saves) would both insert after deleting
        # nothing the other had committed, and one would fail on the unique key.
        with transaction.atomic():
            for start in range(0, len(documents), BATCH):
                chunk = documents[start : start + BATCH]
                SearchEntry.objects.bulk_create(
                    [entry_from_document(d, g) for g in gens for d in chunk],
                    update_conflicts=True,
                    unique_fields=ENTRY_KEY,
                    update_fields=ENTRY_FIELDS,
                )

    def delete(self, doc_type, object_ids):
        SearchEntry.objects.filter(doc_type=doc_type, object_id__in=list(object_ids)).delete()

    def bulk_load(self, documents):
        """Rebuild path: insert into the generation being built, no upsert."""
        state = _state()
        SearchEntry.objects.bulk_create(
            [entry_from_document(d, state.building_generation) for d in documents],
            batch_size=BATCH,
        )

    def rebuild_begin(self):
        with transaction.atomic():
            state = _state()
            top = SearchEntry.objects.order_by("-generation").values_list("generation", flat=True)
            new = max(state.live_generation, top.first() or 0) + 1
            state.building_generation = new
            state.save()

    def rebuild_commit(self):
        with transaction.atomic():
            state = _state()
            if state.building_generation is None:
                return
            state.live_generation, state.building_generation = state.building_generation, None
            state.save()
        # Old generations are invisible now; remove them in chunks.
        old = SearchEntry.objects.exclude(generation=state.live_generation)
        while True:
            ids = list(old.values_list("id", flat=True)[: BATCH * 5])
            if not ids:
                break
            SearchEntry.objects.filter(id__in=ids).delete()
        if connection.vendor == "sqlite":
            # A rebuild leaves the full-text index in many small segments (and
            # deletion markers); merged into one, queries read each list once.
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")

    def count(self):
        live = _state().live_generation
        rows = (
            SearchEntry.objects.filter(generation=live).values("doc_type").annotate(n=Count("id"))
        )
        return {r["doc_type"]: r["n"] for r in rows}

    # --- Searching ---------------------------------------------------------------

    def _filtered(self, query: SearchQuery, live: int, *, with_doc_types=True, match=True):
        # "+generation" keeps SQLite from starting at the generation index and
        # probing the full-text index once per row: the match leads.
        qs = SearchEntry.objects.extra(where=["+search_searchentry.generation = %s"], params=[live])
        if query.date_from:
            qs = qs.filter(date__gte=query.date_from)
        if query.date_to:
            qs = qs.filter(date__lte=query.date_to)
        if query.history_types:
            qs = qs.exclude(doc_type__in=query.history_types, date__lt=query.history_before)
        if query.lookup_hash:
            # An exact lookup: the hash index finds a few rows; the filters are columns.
            qs = qs.filter(visibility_q(query.visibility))
            if with_doc_types and query.doc_types:
                qs = qs.filter(doc_type__in=query.doc_types)
            if query.grid_path:
                qs = qs.filter(grid_path__startswith=query.grid_path)
            if query.status:
                qs = qs.filter(status=query.status)
            return qs.filter(Q(hash_1=query.lookup_hash) | Q(hash_2=query.lookup_hash))
        if connection.vendor == "postgresql":
            filters = pg_filters(query, with_doc_types=with_doc_types)
            if filters:
                qs = qs.extra(
                    where=["search_searchentry.ftsv @@ to_tsquery('simple', %s)"], params=[filters]
                )
            if not match:
                return qs
            return qs.extra(
                where=["search_searchentry.tsv @@ to_tsquery('simple', %s)"],
                params=[pg_tsquery(query.tokens, query.grams)],
            )
        if not match:  # on SQLite the filters are part of the full-text match
            return qs
        return qs.extra(
            where=[
                "search_searchentry.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH %s)"
            ],
            params=[fts5_match(query, with_doc_types=with_doc_types)],
        )

    def _ranked(self, qs, query: SearchQuery):
        """The SQLite page of the row path (PostgreSQL ranks in _pg_search)."""
        if query.lookup_hash:
            return qs.order_by("-date", "id")
        matches = (
            "search_searchentry.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH %s)"
        )
        in_title = f"search_searchentry.doc_type = 'unit' AND {matches}"
        return qs.extra(
            tables=["search_fts"],
            where=["search_fts.rowid = search_searchentry.id", "search_fts MATCH %s"],
            params=[fts5_match(query)],
            select={
                "rank": f"{BM25} * (CASE WHEN {in_title} THEN {UNIT_BOOST} ELSE 1.0 END)"
                f" * (CASE WHEN {matches} THEN {SUMMARY_BOOST} ELSE 1.0 END)"
            },
            select_params=[
                fts5_match(query, columns=("title_tokens",)),
                fts5_match(query, columns=("summary_tokens",)),
            ],
            order_by=["rank", "-id"],
        )

    def search(self, query: SearchQuery) -> SearchResults:
        if not query.tokens and not query.lookup_hash:
            return SearchResults(hits=[], total=0, facets={})
        state = _state()
        if connection.vendor == "postgresql" and not query.lookup_hash:
            facets, page = self._pg_search(query, state.live_generation)
        else:
            facets, page = self._facets_then_page(query, state)
        total = _total(query, facets)
        if not total:
            return SearchResults(hits=[], total=0, facets=facets)
        terms = highlight_terms(query.tokens, query.grams)
        hits = [
            Hit(
                doc_type=e.doc_type,
                object_id=e.object_id,
                title=highlight(e.title, terms, width=255),
                snippet=highlight(" ".join(filter(None, [e.summary, e.body])) or e.keywords, terms),
                url=e.url,
                date=e.date,
                score=score,
            )
            for e, score in page
        ]
        return SearchResults(hits=hits, total=total, facets=facets)

    def _facets_then_page(self, query: SearchQuery, state):
        """SQLite, and exact lookups on either database: the facet counts, then (when
        something is found) the page."""
        index_only = (
            connection.vendor == "sqlite"
            and not query.lookup_hash
            and not (query.date_from or query.date_to or query.history_types)
            and _single_generation(state)
        )
        if index_only:
            facets = self._fts5_facets(query)
        else:
            facet_qs = self._filtered(query, state.live_generation, with_doc_types=False)
            facets = {
                r["doc_type"]: r["n"]
                for r in facet_qs.order_by().values("doc_type").annotate(n=Count("id"))
            }
        if not _total(query, facets):
            return facets, []
        if index_only:
            return facets, self._fts5_page(query, facets)
        qs = self._ranked(self._filtered(query, state.live_generation, match=False), query)
        return facets, [
            (e, -float(getattr(e, "rank", 0) or 0))
            for e in qs.only(*HIT_FIELDS)[query.offset : query.offset + query.limit]
        ]

    # PostgreSQL, a search by words: one statement answers facets and page.

    def _pg_search(self, query: SearchQuery, live: int):
        """Facet counts and the ranked page in one statement. The matches (the text
        in ``tsv``, visibility and filters in ``ftsv``: two GIN scans that PostgreSQL
        combines) are read once and kept narrow (id, type, date, rank); the counts per
        type are grouped from them and the page is their best rows, joined to the
        entries for its fields. A type filter narrows the page, not the counts (the
        facets offer the other types), and only that type's rows are ranked.
        Ranking: ts_rank of the weighted tsv, normalised by its length, times
        UNIT_BOOST for a unit page whose name matches; newest first on ties."""
        tsq = pg_tsquery(query.tokens, query.grams)
        in_title = (
            "search_searchentry.doc_type = 'unit' "
            "AND search_searchentry.tsv @@ to_tsquery('simple', %s)"
        )
        rank = f"-{PG_RANK} * (CASE WHEN {in_title} THEN {UNIT_BOOST} ELSE 1.0 END)"
        rank_params = [tsq, pg_tsquery(query.tokens, query.grams, weight="A")]
        if query.doc_types:
            rank = f"CASE WHEN search_searchentry.doc_type = ANY(%s) THEN {rank} END"
            rank_params = [list(query.doc_types), *rank_params]
        matches = (
            self._filtered(query, live, with_doc_types=False)
            .extra(select={"rank": rank}, select_params=rank_params)
            .order_by()
            .values_list("id", "doc_type", "date", "rank")
        )
        matches_sql, matches_params = matches.query.sql_with_params()
        # Rows of part 0 are the facets (type and count), rows of part 1 the page.
        facet_fields = ", ".join(
            {"doc_type": "doc_type", "date": "NULL::timestamptz"}.get(f, "NULL") + f" AS {f}"
            for f in HIT_FIELDS
        )
        page_fields = ", ".join(f"e.{f}" for f in HIT_FIELDS)
        sql = (
            f"WITH matches AS MATERIALIZED ({matches_sql}) "
            "SELECT 0 AS part, count(*) AS n, NULL::float8 AS rank, NULL::bigint AS id, "
            f"{facet_fields} FROM matches GROUP BY doc_type "
            f"UNION ALL SELECT 1, NULL, p.rank, e.id, {page_fields} FROM ("
            "SELECT id, rank, date FROM matches WHERE rank IS NOT NULL "
            "ORDER BY rank, date DESC, id LIMIT %s OFFSET %s"
            ") p JOIN search_searchentry e ON e.id = p.id "
            "ORDER BY part, rank, date DESC, id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*matches_params, query.limit, query.offset])
            rows = cursor.fetchall()
        entries = [(row, dict(zip(HIT_FIELDS, row[4:], strict=True))) for row in rows]
        facets = {fields["doc_type"]: row[1] for row, fields in entries if row[0] == 0}
        page = [
            (SearchEntry(id=row[3], **fields), -float(row[2]))
            for row, fields in entries
            if row[0] == 1
        ]
        return facets, page

    # SQLite, no date filter, one generation (the usual case): the full-text index
    # answers everything but the final page's rows.

    def _fts5_count(self, expression) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM search_fts WHERE search_fts MATCH %s", [expression]
            )
            return cursor.fetchone()[0]

    def _fts5_facets(self, query):
        match = fts5_match(query, with_doc_types=False)
        if not self._fts5_count(match):
            return {}
        counts = {
            t.name: self._fts5_count(f"{match} AND filter_tokens: {_word('t', t.name)}")
            for t in search_types()
        }
        return {name: n for name, n in counts.items() if n}

    def _fts5_page(self, query, facets):
        """One statement ranks every match: bm25, times UNIT_BOOST for unit pages whose
        name matches the query and SUMMARY_BOOST for documents whose summary does
        (each set computed once by the index). FTS5 gathers a query's term
        statistics for bm25 once per statement, so ranking in one statement costs
        what one ranking costs. Then the rows of the page only.
        Ties go to the newest index entry (new and just-edited records first): the
        index knows entry ids, not dates, and the same order on every page keeps
        pagination stable."""
        in_set = "(CASE WHEN rowid IN (SELECT rowid FROM search_fts WHERE search_fts MATCH %s)"
        boosts, params = [], []
        if facets.get("unit") and (not query.doc_types or "unit" in query.doc_types):
            boosts.append(f"{in_set} THEN {UNIT_BOOST} ELSE 1.0 END)")
            params.append(
                f"{fts5_match(query, columns=('title_tokens',))} AND filter_tokens: tunit"
            )
        boosts.append(f"{in_set} THEN {SUMMARY_BOOST} ELSE 1.0 END)")
        params.append(fts5_match(query, columns=("summary_tokens",)))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid, {BM25} * {' * '.join(boosts)} AS rank FROM search_fts "
                "WHERE search_fts MATCH %s ORDER BY rank, rowid DESC LIMIT %s OFFSET %s",
                [*params, fts5_match(query), query.limit, query.offset],
            )
            ranked = cursor.fetchall()
        entries = SearchEntry.objects.only(*HIT_FIELDS).in_bulk([i for i, _ in ranked])
        return [(entries[i], -rank) for i, rank in ranked if i in entries]
