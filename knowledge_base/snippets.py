"""Highlighted snippets: HTML-escaped text with ``<mark>`` around the query's terms.

A term is marked only where it starts and ends on a word boundary of the text (rjieba
search-mode segments, and the edges of each CJK or letter/digit run): a query for 信用卡,
whose synonym is 贷记卡, must not mark the 记卡 inside 借记卡.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from html import escape

from knowledge_base.analysis import run_words
from knowledge_base.text import CJK_RUN, TOKEN_RUN, fold_aligned

WINDOW = 90


class WordEdges:
    """Offsets in ``folded`` where a word may start or end: the edges of each CJK or
    letter/digit run, and inside a CJK run the edges of its rjieba search-mode words.

    A run is segmented only when an offset inside it is asked about (a snippet looks at the
    few runs where a query term occurs, not at the whole answer); ``analysis.words`` segments
    each run on its own, so this gives the same edges as segmenting the whole text.
    """

    def __init__(self, folded: str) -> None:
        self.runs = [(m.start(), m.end()) for m in TOKEN_RUN.finditer(folded)]
        self.starts = [start for start, _end in self.runs]
        self.folded = folded
        self._inside: dict[int, set[int]] = {}

    def __contains__(self, offset: object) -> bool:
        if not isinstance(offset, int):
            return False
        i = bisect_right(self.starts, offset) - 1
        if i < 0:
            return False
        start, end = self.runs[i]
        if offset in (start, end):
            return True
        if offset > end:
            return False
        inside = self._inside.get(i)
        if inside is None:
            run = self.folded[start:end]
            inside = set()
            if CJK_RUN.fullmatch(run):
                for _word, s, e in run_words(run, start):
                    inside.update((s, e))
            self._inside[i] = inside
        return offset in inside


def _marks(folded: str, terms: Iterable[str]) -> list[bool]:
    marked = [False] * len(folded)
    edges: WordEdges | None = None
    for term in terms:
        if not term:
            continue
        start = folded.find(term)
        while start != -1:
            if edges is None:
                edges = WordEdges(folded)
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
