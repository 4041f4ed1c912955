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

The mappings, index definitions and bulk actions are built in
search/backends/elastic_mapping.py, the query bodies and the reading of
responses in search/backends/elastic_query.py; this module holds the backend
that sends them. Nothing touches the network until a method that needs the
cluster runs, so the backend can be built (and its mappings and query bodies
tested) offline.
"""

import logging

from django.conf import settings
from elasticsearch.dsl import Search

from search.backends.elastic_mapping import (
    ANALYZERS,
    alias_swap_actions,
    choose_analyzer,
    concrete_index_name,
    delete_actions,
    index_actions,
    index_definition,
    is_concrete_index_of,
    plugins_on_every_node,
)
from search.backends.elastic_query import (
    FACET_SIZE,
    results_from_response,
    search_request,
)
from search.base import SearchBackend, SearchQuery, SearchResults
from search.text import highlight_terms

logger = logging.getLogger("tongxin.search")


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
        return search_request(query, index=self.alias)

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
