"""Chinese-aware text handling shared by both backends: jieba segmentation with the
domain dictionary, normalisation, and highlighting."""

import re
import threading
from pathlib import Path

from django.utils.html import escape

DICTIONARY = Path(__file__).parent / "data" / "dictionary.txt"
_lock = threading.Lock()
_ready = False

# Words that mean the same thing in addresses: index and query both use the first.
_SYNONYMS = (("栋", ("号楼", "幢", "号栋")),)
# Tokens are words: letters, digits and CJK characters. Anything else (punctuation,
# FTS operators, quotes) never reaches a backend's query language.
_WORD = re.compile(r"[\w]+", re.UNICODE)
_MAX_QUERY_CHARS = 200
_MAX_QUERY_TOKENS = 12


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


def index_tokens(text: str) -> list[str]:
    """Search-mode segmentation (words and their sub-words) for indexing."""
    import jieba

    jieba_ready()
    tokens = []
    for piece in _WORD.findall(normalise(text)):
        for token in jieba.cut_for_search(piece):
            if _WORD.fullmatch(token):
                tokens.append(token)
    return tokens


def name_tokens(name: str) -> list[str]:
    """A person's name is also indexed character by character, so a partial name
    (the surname, or the given name alone) finds it."""
    name = "".join(_WORD.findall(name or ""))
    return [name, *name] if len(name) > 1 else ([name] if name else [])


def query_tokens(text: str) -> tuple[str, ...]:
    """Precise-mode segmentation for queries; bounded and stripped of operators."""
    import jieba

    jieba_ready()
    text = normalise(text)[:_MAX_QUERY_CHARS]
    tokens = []
    for piece in _WORD.findall(text):
        for token in jieba.cut(piece):
            if _WORD.fullmatch(token) and token not in tokens:
                tokens.append(token)
    return tuple(tokens[:_MAX_QUERY_TOKENS])


def highlight(text: str, tokens, *, width: int = 80) -> str:
    """An escaped snippet of ``text`` around the first match, matches in <mark>."""
    text = text or ""
    if not tokens:
        return escape(text[:width])
    pattern = re.compile(
        "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)), re.I
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
