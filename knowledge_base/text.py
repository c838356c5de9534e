"""Text folding shared by indexing, queries and highlighting: NFKC, traditional to
simplified (OpenCC t2s), 帐→账, lower case.

OpenCC objects do not pickle, so the converter is a module-level cached object and is
never stored on a tokenizer (Whoosh pickles analyzers into the index).
"""

from __future__ import annotations

import re
import threading
import unicodedata

_converter = None
_converter_lock = threading.Lock()

# Characters people type for the same thing after t2s conversion.
_FOLD_PAIRS = (("帐", "账"),)
_FOLD = str.maketrans(dict(_FOLD_PAIRS))

# A run of CJK ideographs, or a run of letters/digits.
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
TOKEN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:[._][a-z0-9]+)*")


def _t2s():
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter


# Lone UTF-16 surrogates (a broken client, a bad copy-paste) cannot be encoded, and OpenCC
# encodes its input: each becomes U+FFFD, which keeps the length (see ``fold_aligned``).
_SURROGATE = re.compile("[\ud800-\udfff]")


def fold(text: str) -> str:
    """The searchable form of ``text``; may change its length (NFKC)."""
    if not text:
        return ""
    text = _SURROGATE.sub("\ufffd", text)
    text = unicodedata.normalize("NFKC", text)
    text = _t2s().convert(text)
    for old, new in _FOLD_PAIRS:  # str.replace: ~150x faster than translate() with a dict table
        text = text.replace(old, new)
    return text.lower()


def fold_aligned(text: str) -> str:
    """Like :func:`fold` but keeps one output character per input character, so that
    offsets found in the result point into ``text`` (used for highlighting)."""
    if not text:
        return ""
    folded = fold(text)
    if len(folded) == len(text):
        return folded
    out = []
    for ch in text:
        f = fold(ch)
        out.append(f if len(f) == 1 else ch.lower())
    return "".join(out)


def normalise_query(text: str | None, max_chars: int = 200) -> str:
    """The cache key form of a query: folded, whitespace collapsed, bounded length."""
    if not text:
        return ""
    text = str(text)[: max_chars * 4]
    text = " ".join(fold(text).split())
    return text[:max_chars]


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(^|\n)\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)")
_MD_INLINE = re.compile(r"[*_`~]{1,3}")
_HTML_TAG = re.compile(r"<[^>]{0,200}>")


def markdown_to_plain(text: str) -> str:
    """Readable plain text from Markdown (for snippets and the body field)."""
    if not text:
        return ""
    text = _MD_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _MD_MARKS.sub(r"\1", text)
    text = _MD_INLINE.sub("", text)
    return " ".join(text.split())


# Colloquial padding that carries no topic: removed from the lexical query only (the sentence
# encoder sees the whole question). Longest first; each is replaced by a space so that no
# bigram spans the gap. Applied to folded (simplified, lower-case) text.
# Measured (benchmarks/KB_RESULTS.md): this short list gained on the tuning set; a longer one
# (adding 什么, 怎么, 能不能, 是不是, 的, 了 ...) lost 2 of 277 at hit@1 and stays out.
FILLERS = ("我想问一下", "想问一下", "请问", "怎么办", "那个", "就是", "咋", "呢", "啊")
_FILLER_RE = re.compile("|".join(re.escape(w) for w in sorted(FILLERS, key=len, reverse=True)))


def strip_fillers(folded: str) -> tuple[str, list[str]]:
    """(``folded`` with colloquial fillers replaced by spaces, the fillers removed)."""
    if not folded:
        return "", []
    removed = _FILLER_RE.findall(folded)
    return (_FILLER_RE.sub(" ", folded) if removed else folded), removed
