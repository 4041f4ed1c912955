"""The Elasticsearch backend (``ELASTICSEARCH_URL``), built on ``elasticsearch.dsl``.

Index layout
    Searches read the *live alias* (``TONGXIN_SEARCH_INDEX``, default ``tongxin``)
    which points at exactly one concrete index ``<alias>-<20-digit UTC timestamp>``.
    A full rebuild creates a fresh concrete index (with a second alias
    ``<alias>-rebuilding`` while it is being filled), and ``rebuild_commit`` moves
    the live alias onto it in one ``_aliases`` request, then drops the old indices.
    Searches never see a half-built index and never see no index.

Writes during a rebuild
    The process running the rebuild writes only to the new index (it is filling
    it from the database). Every other process (index tasks for records saved
    meanwhile) writes to the live index *and* to the index being rebuilt, found
    through the ``-rebuilding`` alias, so a record saved after the rebuild read it
    is not lost at the swap. The cost is one alias lookup per write batch. Two
    rebuilds at the same time are not supported: the later one wins.

Chinese analysis
    ``TONGXIN_ES_ANALYZER`` = ``ik`` | ``smartcn`` | ``cjk`` | ``auto`` (default:
    IK when every node has ``analysis-ik``, else smartcn when every node has
    ``analysis-smartcn``, else the built-in ``cjk`` bigrams). The chosen tokenizer
    is wrapped in two custom analyzers (``tongxin_index`` / ``tongxin_search``)
    that also apply the address synonyms of ``search.text`` (号楼/幢 → 栋) and
    lowercase, so both backends treat a query the same way. For IK the index
    analyzer uses ``ik_max_word`` and the search analyzer ``ik_smart``.

Nothing here touches the network until a method that needs the cluster runs, so
the backend can be built (and its mappings and query bodies tested) offline.
"""

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from elasticsearch.dsl import (
    Boolean,
    Date,
    Document,
    Index,
    Keyword,
    Long,
    MetaField,
    Q,
    Search,
    Text,
    analyzer,
    char_filter,
)

from search.base import (
    DOCUMENT_FIELDS,
    Hit,
    SearchBackend,
    SearchQuery,
    SearchResults,
    Visibility,
)
from search.text import _SYNONYMS, highlight_terms
from search.text import highlight as text_highlight

logger = logging.getLogger("tongxin.search")

ANALYZERS = ("ik", "smartcn", "cjk")
IK_PLUGIN = "analysis-ik"
SMARTCN_PLUGIN = "analysis-smartcn"

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

_INDEX_SUFFIX = re.compile(r"^\d{20}$")


# --- analysis and mapping ------------------------------------------------------


def plugins_on_every_node(nodes_info: dict) -> set[str]:
    """Plugin (and module) names installed on every node of a ``_nodes/plugins``
    response. An analyzer plugin missing on one node cannot be used."""
    nodes = (nodes_info or {}).get("nodes") or {}
    common: set[str] | None = None
    for node in nodes.values():
        names = {p.get("name", "") for p in node.get("plugins") or []}
        names |= {m.get("name", "") for m in node.get("modules") or []}
        common = names if common is None else common & names
    return common or set()


def choose_analyzer(plugins: Iterable[str]) -> str:
    """IK if installed, else smartcn, else the built-in cjk bigram analyzer."""
    plugins = set(plugins)
    if IK_PLUGIN in plugins:
        return "ik"
    if SMARTCN_PLUGIN in plugins:
        return "smartcn"
    return "cjk"


def _synonym_filter():
    mappings = [
        f"{variant} => {canonical}" for canonical, variants in _SYNONYMS for variant in variants
    ]
    return char_filter("tongxin_synonyms", "mapping", mappings=mappings)


def text_analyzers(name: str):
    """(index analyzer, search analyzer) for one of ANALYZERS."""
    if name not in ANALYZERS:
        raise ValueError(f"unknown Elasticsearch analyzer {name!r}; expected one of {ANALYZERS}")
    synonyms = [_synonym_filter()]
    if name == "ik":
        index_tokenizer, search_tokenizer, filters = "ik_max_word", "ik_smart", ["lowercase"]
    elif name == "smartcn":
        index_tokenizer = search_tokenizer = "smartcn_tokenizer"
        filters = ["lowercase", "smartcn_stop"]
    else:
        index_tokenizer = search_tokenizer = "standard"
        filters = ["cjk_width", "lowercase", "cjk_bigram"]
    return (
        analyzer("tongxin_index", tokenizer=index_tokenizer, filter=filters, char_filter=synonyms),
        analyzer(
            "tongxin_search", tokenizer=search_tokenizer, filter=filters, char_filter=synonyms
        ),
    )


def bigram_analyzer():
    """Character bigrams of Chinese runs (the built-in ``cjk_bigram`` filter), for
    the ``bigram`` subfields whatever the main analyzer: IK and smartcn, like jieba,
    do not split every dictionary word into its two-character parts."""
    return analyzer(
        "tongxin_bigram",
        tokenizer="standard",
        filter=["cjk_width", "lowercase", "cjk_bigram"],
        char_filter=[_synonym_filter()],
    )


def document_class(analyzer_name: str) -> type[Document]:
    """The mapping of a search document (see base.DOCUMENT_FIELDS) for an analyzer."""
    index_analyzer, search_analyzer = text_analyzers(analyzer_name)

    bigrams = bigram_analyzer()

    def chinese_text(**subfields):
        return Text(
            analyzer=index_analyzer,
            search_analyzer=search_analyzer,
            fields={"bigram": Text(analyzer=bigrams), **subfields},
        )

    fields = {
        "doc_type": Keyword(),
        "object_id": Keyword(),
        "title": chinese_text(raw=Keyword(ignore_above=512)),
        "summary": chinese_text(),
        "body": chinese_text(),
        "keywords": chinese_text(),
        "url": Keyword(index=False),
        "date": Date(),
        "status": Keyword(),
        "grid_path": Keyword(),
        "public": Boolean(),
        "unit_path": Keyword(),
        "group_id": Long(),
        "owner_id": Long(),
        "hashes": Keyword(),
    }
    if set(fields) != set(DOCUMENT_FIELDS):
        raise RuntimeError("the Elasticsearch mapping is out of step with DOCUMENT_FIELDS")
    attrs = {
        **fields,
        # Hashes are searchable but never stored or returned.
        "Meta": type(
            "Meta",
            (),
            {"dynamic": MetaField("strict"), "source": MetaField(excludes=["hashes"])},
        ),
        "__module__": __name__,
    }
    return type(f"TongxinDocument_{analyzer_name}", (Document,), attrs)


def index_definition(
    name: str,
    analyzer_name: str,
    *,
    shards: int = 1,
    replicas: int | None = None,
    refresh_interval: str | None = None,
    aliases: Iterable[str] = (),
) -> Index:
    """The concrete index ``name``: settings, analysis, mapping and aliases."""
    index = Index(name)
    index_settings = {"number_of_shards": shards}
    if replicas is not None:
        index_settings["number_of_replicas"] = replicas
    if refresh_interval is not None:
        index_settings["refresh_interval"] = refresh_interval
    index.settings(**index_settings)
    alias_names = list(aliases)
    if alias_names:
        index.aliases(**{a: {} for a in alias_names})
    index.document(document_class(analyzer_name))
    return index


# --- index names and the alias swap ---------------------------------------------


def concrete_index_name(alias: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}-{stamp}"


def is_concrete_index_of(alias: str, name: str) -> bool:
    """True for ``<alias>-<20 digits>``, never for another prefix's indices
    (``tongxin-test-…`` is not an index of ``tongxin``)."""
    head, sep, tail = name.rpartition("-")
    return bool(sep) and head == alias and bool(_INDEX_SUFFIX.match(tail))


def alias_swap_actions(
    alias: str,
    new_index: str,
    old_indices: Iterable[str],
    *,
    rebuild_alias: str | None = None,
    remove_index: str | None = None,
) -> list[dict]:
    """The ``_aliases`` actions that move ``alias`` onto ``new_index`` in one
    atomic request. ``remove_index`` drops a concrete index that holds the alias
    name itself (one auto-created by a write before any alias existed)."""
    actions: list[dict] = [
        {"remove": {"index": old, "alias": alias}} for old in old_indices if old != new_index
    ]
    if remove_index:
        actions.append({"remove_index": {"index": remove_index}})
    if rebuild_alias:
        actions.append({"remove": {"index": new_index, "alias": rebuild_alias}})
    actions.append({"add": {"index": new_index, "alias": alias}})
    return actions


# --- documents -------------------------------------------------------------------


def document_id(doc_type: str, object_id) -> str:
    return f"{doc_type}:{object_id}"


def document_source(document: dict) -> dict:
    """The stored form of a document: exactly DOCUMENT_FIELDS."""
    source = {key: document.get(key) for key in DOCUMENT_FIELDS}
    source["object_id"] = str(source["object_id"])
    source["hashes"] = list(source.get("hashes") or [])
    source["public"] = bool(source.get("public"))
    for key in (
        "title",
        "summary",
        "body",
        "keywords",
        "url",
        "status",
        "grid_path",
        "unit_path",
    ):
        source[key] = source[key] or ""
    value = source.get("date")
    if isinstance(value, date):
        source["date"] = value.isoformat()
    return source


def index_actions(documents: Iterable[dict], indices: Iterable[str]) -> list[dict]:
    indices = list(indices)
    actions = []
    for document in documents:
        source = document_source(document)
        _id = document_id(source["doc_type"], source["object_id"])
        for index in indices:
            actions.append({"_op_type": "index", "_index": index, "_id": _id, "_source": source})
    return actions


def delete_actions(doc_type: str, object_ids: Iterable, indices: Iterable[str]) -> list[dict]:
    indices = list(indices)
    return [
        {"_op_type": "delete", "_index": index, "_id": document_id(doc_type, object_id)}
        for object_id in object_ids
        for index in indices
    ]


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


# --- the backend ----------------------------------------------------------------------


class ElasticsearchBackend(SearchBackend):
    def __init__(
        self,
        url: str | None = None,
        index_prefix: str | None = None,
        analyzer: str | None = None,
        *,
        shards: int | None = None,
        replicas: int | None = None,
        refresh: bool | None = None,
        timeout: float | None = None,
        client=None,
    ):
        self.url = url if url is not None else getattr(settings, "ELASTICSEARCH_URL", "")
        prefix = index_prefix or getattr(settings, "TONGXIN_SEARCH_INDEX", "") or "tongxin"
        self.alias = prefix.lower()
        self.rebuild_alias = f"{self.alias}-rebuilding"
        configured = (analyzer or getattr(settings, "TONGXIN_ES_ANALYZER", "") or "auto").lower()
        if configured != "auto" and configured not in ANALYZERS:
            raise ValueError(
                f"TONGXIN_ES_ANALYZER={configured!r}: expected auto, {', '.join(ANALYZERS)}"
            )
        self._analyzer = None if configured == "auto" else configured
        self.shards = shards if shards is not None else getattr(settings, "TONGXIN_ES_SHARDS", 1)
        self.replicas = (
            replicas if replicas is not None else getattr(settings, "TONGXIN_ES_REPLICAS", None)
        )
        # Refresh after each write (tests; tiny sites) instead of within ~1 s.
        self.refresh = (
            refresh if refresh is not None else getattr(settings, "TONGXIN_ES_REFRESH", False)
        )
        self.timeout = (
            timeout if timeout is not None else getattr(settings, "TONGXIN_ES_TIMEOUT", 10)
        )
        self._client = client
        self._live_ready = False
        self._rebuild_index: str | None = None

    # -- cluster -------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            from elasticsearch import Elasticsearch

            if not self.url:
                raise RuntimeError("ELASTICSEARCH_URL is not set")
            self._client = Elasticsearch(
                self.url, request_timeout=self.timeout, retry_on_timeout=True, max_retries=3
            )
        return self._client

    @property
    def analyzer(self) -> str:
        if self._analyzer is None:
            self._analyzer = self.detect_analyzer()
        return self._analyzer

    def detect_analyzer(self) -> str:
        try:
            plugins = plugins_on_every_node(self.client.nodes.info(metric="plugins").body)
        except Exception:  # e.g. a user without monitor privilege
            try:
                rows = self.client.cat.plugins(format="json").body
                plugins = {row.get("component", "") for row in rows}
            except Exception:
                logger.warning("could not list Elasticsearch plugins; using the cjk analyzer")
                plugins = set()
        choice = choose_analyzer(plugins)
        logger.info("Elasticsearch analyzer: %s", choice)
        return choice

    def _create_index(self, name: str, **options) -> None:
        body = index_definition(
            name, self.analyzer, shards=self.shards, replicas=self.replicas, **options
        ).to_dict()
        self.client.indices.create(index=name, **body)

    def _ensure_live(self) -> None:
        """Create the first concrete index behind the live alias if there is none.
        Its name is fixed so two processes racing here create it only once."""
        if self._live_ready:
            return
        from elasticsearch import BadRequestError

        if not self.client.indices.exists(index=self.alias):
            try:
                self._create_index(f"{self.alias}-{'0' * 20}", aliases=[self.alias])
            except BadRequestError as error:
                if "resource_already_exists_exception" not in str(error):
                    raise
        self._live_ready = True

    def _write_targets(self) -> list[str]:
        if self._rebuild_index:
            return [self._rebuild_index]
        self._ensure_live()
        targets = [self.alias]
        if self.client.indices.exists_alias(name=self.rebuild_alias):
            targets.append(self.rebuild_alias)
        return targets

    def _alias_indices(self, alias: str) -> list[str]:
        from elasticsearch import NotFoundError

        try:
            return sorted(self.client.indices.get_alias(name=alias).body)
        except NotFoundError:
            return []

    def _bulk(self, actions: list[dict], *, ignore_missing: bool = False) -> None:
        from elasticsearch.helpers import bulk

        if not actions:
            return
        # refresh=true, not wait_for: an index being rebuilt has no periodic
        # refresh, and wait_for would block until the rebuild commits.
        _, errors = bulk(
            self.client,
            actions,
            raise_on_error=False,
            refresh="true" if self.refresh and not self._rebuild_index else "false",
        )
        if ignore_missing:
            errors = [e for e in errors if next(iter(e.values())).get("status") != 404]
        if errors:
            raise RuntimeError(f"Elasticsearch bulk request failed: {errors[:3]}")

    # -- SearchBackend -------------------------------------------------------

    def index(self, documents: list[dict]) -> None:
        documents = list(documents)
        if documents:
            self._bulk(index_actions(documents, self._write_targets()))

    def delete(self, doc_type: str, object_ids: list[str]) -> None:
        object_ids = list(object_ids)
        if object_ids:
            actions = delete_actions(doc_type, object_ids, self._write_targets())
            self._bulk(actions, ignore_missing=True)

    def build_search(self, query: SearchQuery) -> Search:
        """The request for a query, without touching the cluster."""
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

        search = Search(index=self.alias).query(Q("bool", must=[text_query(query)], filter=filters))
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

    def search(self, query: SearchQuery) -> SearchResults:
        if not query.tokens and not query.lookup_hash:
            # Nothing searchable (empty, or only punctuation/operators): no hits, like the
            # database backend.
            return SearchResults(hits=[], total=0, facets={})
        from elasticsearch import NotFoundError

        body = self.build_search(query).to_dict()
        try:
            response = self.client.search(index=self.alias, body=body)
        except NotFoundError:  # nothing indexed yet
            return SearchResults(hits=[], total=0, facets={})
        return results_from_response(response.body, highlight_terms(query.tokens, query.grams))

    def rebuild_begin(self) -> None:
        # An index left behind by a rebuild that never committed would keep the
        # rebuild alias and take writes meant for this one: drop it.
        stale = self._alias_indices(self.rebuild_alias)
        if stale:
            self.client.indices.delete(index=",".join(stale))
        name = concrete_index_name(self.alias)
        # No periodic refresh while filling: faster bulk loads; commit refreshes.
        self._create_index(name, refresh_interval="-1", aliases=[self.rebuild_alias])
        self._rebuild_index = name

    def rebuild_commit(self) -> None:
        new_index = self._rebuild_index
        if not new_index:
            raise RuntimeError("rebuild_commit() without rebuild_begin()")
        client = self.client
        client.indices.put_settings(index=new_index, settings={"index": {"refresh_interval": None}})
        client.indices.refresh(index=new_index)
        old = self._alias_indices(self.alias)
        # A concrete index named like the alias (auto-created) must go in the same request.
        squatter = self.alias if not old and client.indices.exists(index=self.alias) else None
        actions = alias_swap_actions(
            self.alias,
            new_index,
            old,
            rebuild_alias=self.rebuild_alias,
            remove_index=squatter,
        )
        client.indices.update_aliases(actions=actions)
        self._rebuild_index = None
        self._live_ready = True
        # Drop every older concrete index of this alias (previous live, abandoned rebuilds).
        names = client.indices.get(index=f"{self.alias}-*", expand_wildcards="all").body
        doomed = sorted(n for n in names if n != new_index and is_concrete_index_of(self.alias, n))
        if doomed:
            client.indices.delete(index=",".join(doomed))

    def rebuild_abort(self) -> None:
        """Throw away an unfinished rebuild; the live index stays as it was."""
        if self._rebuild_index:
            self.client.indices.delete(index=self._rebuild_index, ignore_unavailable=True)
            self._rebuild_index = None

    def count(self) -> dict[str, int]:
        from elasticsearch import NotFoundError

        search = Search(index=self.alias).extra(size=0, track_total_hits=True)
        search.aggs.bucket("doc_types", "terms", field="doc_type", size=FACET_SIZE)
        try:
            response = self.client.search(index=self.alias, body=search.to_dict())
        except NotFoundError:
            return {}
        buckets = response.body.get("aggregations", {}).get("doc_types", {}).get("buckets", [])
        return {b["key"]: b["doc_count"] for b in buckets}

    def drop(self) -> None:
        """Delete every index of this backend (tests, uninstall)."""
        names = self.client.indices.get(index=f"{self.alias}-*", expand_wildcards="all").body
        doomed = [n for n in names if is_concrete_index_of(self.alias, n)]
        if doomed:
            self.client.indices.delete(index=",".join(doomed))
        self._rebuild_index = None
        self._live_ready = False
