"""Highlighted snippets: HTML-escaped text with ``<mark>`` around the query's terms.

A term is marked only where it starts and ends on a word boundary of the text (rjieba
search-mode segments, and the edges of each CJK or letter/digit run): a query for 信用卡,
whose synonym is 贷记卡, must not mark the 记卡 inside 借记卡.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from knowledge_base.analysis import words
from knowledge_base.text import TOKEN_RUN, fold_aligned

WINDOW = 90


def word_edges(folded: str) -> set[int]:
    """Offsets in ``folded`` where a word may start or end."""
    edges: set[int] = set()
    for _word, start, end in words(folded):
        edges.update((start, end))
    for match in TOKEN_RUN.finditer(folded):
        edges.update((match.start(), match.end()))
    return edges


def _marks(folded: str, terms: Iterable[str]) -> list[bool]:
    marked = [False] * len(folded)
    edges: set[int] | None = None
    for term in terms:
        if not term:
            continue
        start = folded.find(term)
        while start != -1:
            if edges is None:
                edges = word_edges(folded)
            if start in edges and start + len(term) in edges:
                for i in range(start, start + len(term)):
                    marked[i] = True
            start = folded.find(term, start + 1)
    return marked


def best_window(text: str, terms: Iterable[str], window: int = WINDOW) -> tuple[int, int, list[bool], int]:
    """(start, end, marks, covered) of the ``window``-char stretch of ``text`` most covered by ``terms``."""
    folded = fold_aligned(text)
    marks = _marks(folded, terms)
    if len(text) <= window:
        return 0, len(text), marks, sum(marks)
    best_start, covered = 0, sum(marks[:window])
    best = covered
    for start in range(1, len(text) - window + 1):
        covered += marks[start + window - 1] - marks[start - 1]
        if covered > best:
            best, best_start = covered, start
    if best and best_start:
        # Start a little before the first hit so the reader gets context.
        first = next(i for i in range(best_start, best_start + window) if marks[i])
        best_start = max(0, min(best_start, first - 12))
    return best_start, min(len(text), best_start + window), marks, best


def render(text: str, start: int, end: int, marks: list[bool]) -> str:
    out = ["…" if start > 0 else ""]
    i = start
    while i < end:
        j = i
        while j < end and marks[j] == marks[i]:
            j += 1
        piece = escape(text[i:j], quote=True)
        out.append(f"<mark>{piece}</mark>" if marks[i] else piece)
        i = j
    out.append("…" if end < len(text) else "")
    return "".join(out)


def snippet(texts: list[str], terms: list[str], window: int = WINDOW) -> str:
    """The best-covered window over ``texts`` (first one wins ties), highlighted."""
    best = None
    for text in texts:
        if not text:
            continue
        start, end, marks, covered = best_window(text, terms, window)
        if best is None or covered > best[4]:
            best = (text, start, end, marks, covered)
    if best is None:
        return ""
    text, start, end, marks, _ = best
    return render(text, start, end, marks)


def highlight(text: str, terms: list[str]) -> str:
    """All of ``text`` escaped, with every term occurrence marked (titles)."""
    return render(text, 0, len(text), _marks(fold_aligned(text), terms))
