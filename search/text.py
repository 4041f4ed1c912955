"""Chinese-aware text handling shared by both backends: jieba segmentation with the
domain dictionary, normalisation, and highlighting."""

import re
import threading
from functools import lru_cache
from pathlib import Path

from django.utils.html import escape

DICTIONARY = Path(__file__).parent / "data" / "dictionary.txt"
_lock = threading.Lock()
_ready = False

# Words that mean the same thing in addresses: index and query both use the first.
_SYNONYMS = (("栋", ("号楼", "幢", "号栋")), ("党小组长", ("楼栋党小组长",)))
# A number with its unit (3栋, 2单元, 501室) is one token: "3" alone would match
# every building 3, unit 3 and room 3xx.
_NUMBERED = re.compile(r"\d+(?:栋|单元|室|层|楼|区|号)")
# Tokens are words: letters, digits and CJK characters. Anything else (punctuation,
# FTS operators, quotes) never reaches a backend's query language.
_WORD = re.compile(r"[\w]+", re.UNICODE)
_MAX_QUERY_CHARS = 200
_MAX_QUERY_TOKENS = 12
# Runs of Chinese characters. Every run is also indexed as its character bigrams
# (like Elasticsearch's cjk analyzer), so that any two or more characters of a text
# are found, even inside a dictionary word that jieba does not split (党日 in
# 主题党日, 三会 in 三会一课).
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def jieba_ready():
    """Load jieba's dictionary once (the first cut costs ~0.6 s) plus ours."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        jieba.load_userdict(str(DICTIONARY))
        _ready = True


def normalise(text: str) -> str:
    text = (text or "").lower()
    for canonical, variants in _SYNONYMS:
        for variant in variants:
            text = text.replace(variant, canonical)
    return text


def _segments(text: str):
    """Numbered units as whole tokens, and the text between them for jieba."""
    last = 0
    for m in _NUMBERED.finditer(text):
        yield False, text[last : m.start()]
        yield True, m.group(0)
        last = m.end()
    yield False, text[last:]


def _tokens(text: str, cut) -> list[str]:
    tokens = []
    for whole, segment in _segments(normalise(text)):
        if whole:
            tokens.append(segment)
            continue
        for piece in _WORD.findall(segment):
            tokens.extend(cut(piece))
    return tokens


@lru_cache(maxsize=200_000)
def _cut_for_search(piece: str) -> tuple[str, ...]:
    # Records repeat the same pieces (branch titles, estates, tags): cut each once.
    import jieba

    return tuple(t for t in jieba.cut_for_search(piece) if _WORD.fullmatch(t))


def _cut(piece: str) -> list[str]:
    import jieba

    return [t for t in jieba.cut(piece) if _WORD.fullmatch(t)]


def index_tokens(text: str) -> list[str]:
    """Search-mode segmentation (words and their sub-words) for indexing."""
    jieba_ready()
    return _tokens(text, _cut_for_search)


def bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_bigrams(text: str) -> list[str]:
    """The character bigrams of every run of two or more Chinese characters, in
    text order: a query's bigrams match as a phrase (consecutive tokens) only
    where the text holds the query itself."""
    out = []
    for run in _CJK_RUN.findall(normalise(text)):
        out.extend(bigrams(run))
    return out


def query_grams(text: str) -> tuple[tuple[str, ...], ...]:
    """The substring form of a query, to match against the bigrams: each run of two
    or more Chinese characters becomes the phrase of its bigrams; numbered units,
    letters, digits and lone Chinese characters stay single tokens. Empty when the
    query has no run of two Chinese characters (the words alone then match).
    Every term holds a substring of the query, so a text that contains the query
    matches all of them."""
    terms: list[tuple[str, ...]] = []
    runs = False
    for whole, segment in _segments(normalise(text[:_MAX_QUERY_CHARS])):
        if whole:
            terms.append((segment,))
            continue
        for piece in _WORD.findall(segment):
            last = 0
            for m in _CJK_RUN.finditer(piece):
                terms.extend((t,) for t in _split_plain(piece[last : m.start()]))
                run = m.group(0)
                if len(run) >= 2:
                    terms.append(tuple(bigrams(run)))
                    runs = True
                else:
                    terms.append((run,))
                last = m.end()
            terms.extend((t,) for t in _split_plain(piece[last:]))
    unique = tuple(dict.fromkeys(terms))
    return unique[:_MAX_QUERY_TOKENS] if runs else ()


def highlight_terms(tokens, grams) -> tuple[str, ...]:
    """What to mark in a hit: the query's Chinese runs whole (三会一课, not 三 会 一课)
    and its words."""
    runs = tuple(g[0] + "".join(b[1] for b in g[1:]) for g in grams if len(g) > 1)
    return runs + tuple(tokens)


def _split_plain(text: str) -> list[str]:
    """Letters and digits between Chinese runs: the words jieba makes of them."""
    return [t for t in (_cut(text) if text else []) if t.strip("_")]


def name_tokens(name: str) -> list[str]:
    """A person's name is also indexed by its given name and character by
    character, so a partial name (the surname, or the given name alone) finds it."""
    name = "".join(_WORD.findall(name or ""))
    if len(name) <= 1:
        return [name] if name else []
    given = [name[1:]] + ([name[2:]] if len(name) == 4 else [])
    return [name, *given, *name]


def query_tokens(text: str) -> tuple[str, ...]:
    """Precise-mode segmentation for queries; bounded and stripped of operators."""

    jieba_ready()
    tokens = []
    for token in _tokens(text[:_MAX_QUERY_CHARS], _cut):
        if token not in tokens:
            tokens.append(token)
    return tuple(tokens[:_MAX_QUERY_TOKENS])


def highlight(text: str, tokens, *, width: int = 80) -> str:
    """An escaped snippet of ``text`` around the first match, matches in <mark>."""
    text = text or ""
    if not tokens:
        return escape(text[:width])
    pattern = re.compile(
        "|".join(_highlight_pattern(t) for t in sorted(tokens, key=len, reverse=True)), re.I
    )
    first = pattern.search(text)
    start = max(0, (first.start() if first else 0) - width // 4)
    snippet = text[start : start + width]
    out, last = [], 0
    for m in pattern.finditer(snippet):
        out.append(escape(snippet[last : m.start()]))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    out.append(escape(snippet[last:]))
    prefix = "…" if start else ""
    suffix = "…" if start + width < len(text) else ""
    return prefix + "".join(out) + suffix


def _highlight_pattern(token: str) -> str:
    """The token as it may appear in the displayed (not normalised) text."""
    pattern = re.escape(token)
    for canonical, variants in _SYNONYMS:
        if canonical in token:
            alternatives = "|".join(re.escape(v) for v in (canonical, *variants))
            pattern = pattern.replace(re.escape(canonical), f"(?:{alternatives})")
    if token[:1].isdigit():
        pattern = r"(?<!\d)" + pattern
    if token[-1:].isdigit():
        pattern += r"(?!\d)"
    return pattern
