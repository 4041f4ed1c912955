"""Elasticsearch index settings and mappings, without a cluster: the Chinese
analyzers (IK, smartcn or the built-in cjk bigrams, each wrapped with the
address synonyms of ``search.text``), the document mapping (``DOCUMENT_FIELDS``),
the concrete index's definition, index names and the atomic alias swap, and the
bulk actions that index or delete documents. The backend that sends them is
search/backends/elastic.py.
"""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from elasticsearch.dsl import (
    Boolean,
    Date,
    Document,
    Index,
    Keyword,
    Long,
    MetaField,
    Text,
    analyzer,
    char_filter,
)

from search.base import DOCUMENT_FIELDS
from search.text import _SYNONYMS

ANALYZERS = ("ik", "smartcn", "cjk")
IK_PLUGIN = "analysis-ik"
SMARTCN_PLUGIN = "analysis-smartcn"

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
