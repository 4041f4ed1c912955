"""Embedded backend: the portal's own database. SQLite FTS5 on the embedded
default, PostgreSQL full text (GIN) when DATABASE_URL is PostgreSQL. Text is
segmented with jieba before it reaches either, so both see words, not characters."""

from django.db import connection, transaction
from django.db.models import Count, Q

from search.base import Hit, SearchBackend, SearchQuery, SearchResults
from search.models import SearchEntry, SearchState
from search.text import highlight, index_tokens

BATCH = 2000
# Title/keywords (weight A) count five times the body (B); normalised by length
# (flag 1) so a long page that repeats a word does not outrank a title match.
PG_RANK = (
    "ts_rank('{0.05,0.1,0.2,1.0}'::float4[], search_searchentry.tsv, to_tsquery('simple', %s), 1)"
)


def _state() -> SearchState:
    state = SearchState.objects.first()
    return state or SearchState.objects.create()


def _generations(state) -> list[int]:
    gens = [state.live_generation]
    if state.building_generation is not None:
        gens.append(state.building_generation)
    return gens


def entry_from_document(doc: dict, generation: int) -> SearchEntry:
    hashes = [h for h in doc["hashes"] if h]
    return SearchEntry(
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
        title_tokens=" ".join(index_tokens(doc["title"]) + index_tokens(doc["keywords"])),
        body_tokens=" ".join(index_tokens(doc["body"])),
    )


def visibility_q(visibility) -> Q:
    if visibility.everything:
        return Q()
    q = Q(public=True)
    for path in visibility.paths:
        q |= Q(unit_path__startswith=path)
    if visibility.group_ids:
        q |= Q(group_id__in=visibility.group_ids)
    if visibility.user_id:
        q |= Q(owner_id=visibility.user_id)
    return q


def fts5_match(tokens) -> str:
    """An FTS5 query of quoted terms (implicit AND). Tokens are words only
    (search.text strips operators); quoting makes NEAR/AND/OR plain words."""
    terms = []
    for i, token in enumerate(tokens):
        quoted = '"' + token.replace('"', '""') + '"'
        # Prefix matching for words and the last term (a name being typed);
        # single characters elsewhere (3 in 3栋2单元) stay exact.
        terms.append(quoted + "*" if len(token) > 1 or i == len(tokens) - 1 else quoted)
    return " ".join(terms)


def pg_tsquery(tokens) -> str:
    terms = []
    for i, token in enumerate(tokens):
        quoted = "'" + token.replace("'", "''").replace("\\", "") + "'"
        terms.append(quoted + ":*" if len(token) > 1 or i == len(tokens) - 1 else quoted)
    return " & ".join(terms)


class DatabaseBackend(SearchBackend):
    def index(self, documents):
        state = _state()
        gens = _generations(state)
        with transaction.atomic():
            for start in range(0, len(documents), BATCH):
                chunk = documents[start : start + BATCH]
                for doc_type in {d["doc_type"] for d in chunk}:
                    SearchEntry.objects.filter(
                        generation__in=gens,
                        doc_type=doc_type,
                        object_id__in=[d["object_id"] for d in chunk if d["doc_type"] == doc_type],
                    ).delete()
                SearchEntry.objects.bulk_create(
                    [entry_from_document(d, g) for g in gens for d in chunk]
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

    def count(self):
        live = _state().live_generation
        rows = (
            SearchEntry.objects.filter(generation=live).values("doc_type").annotate(n=Count("id"))
        )
        return {r["doc_type"]: r["n"] for r in rows}

    # --- Searching ---------------------------------------------------------------

    def _filtered(self, query: SearchQuery, *, with_doc_types=True, match=True):
        # "+generation" keeps SQLite from starting at the generation index and
        # probing the full-text index once per row: the match leads.
        qs = SearchEntry.objects.extra(
            where=["+search_searchentry.generation = %s"], params=[_state().live_generation]
        )
        qs = qs.filter(visibility_q(query.visibility))
        if with_doc_types and query.doc_types:
            qs = qs.filter(doc_type__in=query.doc_types)
        if query.grid_path:
            qs = qs.filter(grid_path__startswith=query.grid_path)
        if query.date_from:
            qs = qs.filter(date__gte=query.date_from)
        if query.date_to:
            qs = qs.filter(date__lte=query.date_to)
        if query.status:
            qs = qs.filter(status=query.status)
        if query.lookup_hash:
            return qs.filter(Q(hash_1=query.lookup_hash) | Q(hash_2=query.lookup_hash))
        if not match:
            return qs
        if connection.vendor == "postgresql":
            return qs.extra(
                where=["search_searchentry.tsv @@ to_tsquery('simple', %s)"],
                params=[pg_tsquery(query.tokens)],
            )
        return qs.extra(
            where=[
                "search_searchentry.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH %s)"
            ],
            params=[fts5_match(query.tokens)],
        )

    def _ranked(self, qs, query: SearchQuery):
        if query.lookup_hash:
            return qs.order_by("-date", "id")
        # Unit pages are what most people look for: they weigh 1.5 times.
        boost = "(CASE WHEN search_searchentry.doc_type = 'unit' THEN 1.5 ELSE 1.0 END)"
        if connection.vendor == "postgresql":
            tsq = pg_tsquery(query.tokens)
            return qs.extra(
                where=["search_searchentry.tsv @@ to_tsquery('simple', %s)"],
                params=[tsq],
                select={"rank": f"-{PG_RANK} * {boost}"},
                select_params=[tsq],
                order_by=["rank", "-date", "id"],
            )
        return qs.extra(
            tables=["search_fts"],
            where=["search_fts.rowid = search_searchentry.id", "search_fts MATCH %s"],
            params=[fts5_match(query.tokens)],
            select={"rank": f"bm25(search_fts, 4.0, 1.0) * {boost}"},
            order_by=["rank", "-date", "id"],
        )

    def search(self, query: SearchQuery) -> SearchResults:
        if not query.tokens and not query.lookup_hash:
            return SearchResults(hits=[], total=0, facets={})
        facet_qs = self._filtered(query, with_doc_types=False)
        facets = {
            r["doc_type"]: r["n"]
            for r in facet_qs.order_by().values("doc_type").annotate(n=Count("id"))
        }
        total = sum(n for t, n in facets.items() if not query.doc_types or t in query.doc_types)
        if not total:
            return SearchResults(hits=[], total=0, facets=facets)
        qs = self._ranked(self._filtered(query, match=False), query)
        page = qs.only("doc_type", "object_id", "title", "body", "keywords", "url", "date")[
            query.offset : query.offset + query.limit
        ]
        hits = [
            Hit(
                doc_type=e.doc_type,
                object_id=e.object_id,
                title=highlight(e.title, query.tokens, width=255),
                snippet=highlight(e.body or e.keywords, query.tokens),
                url=e.url,
                date=e.date,
                score=-float(getattr(e, "rank", 0) or 0),
            )
            for e in page
        ]
        return SearchResults(hits=hits, total=total, facets=facets)
