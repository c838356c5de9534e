"""How a query is understood, step by step (the synonyms page's "test a query" box).

Reuses the very functions search uses (``text.fold`` steps, ``analysis.bigrams`` /
``analysis.words``, ``service.Synonyms`` and ``service.query_terms``), so what the
trainer sees is what search does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge_base.analysis import bigrams, words
from knowledge_base.search import SearchResult, Synonyms, query_terms
from knowledge_base.text import _FOLD, _t2s, normalise_query

MAX_SHOWN = 200


@dataclass
class Explanation:
    raw: str
    nfkc: str
    simplified: str
    folded: str
    normalised: str
    bigrams: list[str]
    words: list[str]
    expansion: list[str]
    terms: list[tuple[str, float]]
    result: SearchResult | None = None
    groups_used: list[list[str]] = field(default_factory=list)


def steps(raw: str) -> tuple[str, str, str, str]:
    """(NFKC, traditional→simplified, 帐→账 + lower case, normalised query)."""
    raw = (raw or "")[:800]
    nfkc = unicodedata.normalize("NFKC", raw)
    simplified = _t2s().convert(nfkc) if nfkc else ""
    folded = simplified.translate(_FOLD).lower()
    return nfkc, simplified, folded, normalise_query(raw)


def explain(raw: str, groups: Sequence[Sequence[str]], kb: Any = None, include_unpublished: bool = True,
            limit: int = 5) -> Explanation:
    """Every step for ``raw`` under the synonym ``groups``; with ``kb``, also what it finds."""
    nfkc, simplified, folded, normalised = steps(raw)
    synonyms = Synonyms([list(g) for g in groups])
    terms, _word_terms, _marks = query_terms(normalised, synonyms)
    expansion = synonyms.expand(normalised)
    used = [list(g) for g in groups if any(w in normalised for w in (_fold_all(g)))]
    out = Explanation(raw=raw, nfkc=nfkc, simplified=simplified, folded=folded, normalised=normalised,
                      bigrams=[t for t, _s, _e in bigrams(normalised)][:MAX_SHOWN],
                      words=[t for t, _s, _e in words(normalised)][:MAX_SHOWN],
                      expansion=expansion, terms=terms, groups_used=used)
    if kb is not None and normalised:
        out.result = kb.search(raw, limit=limit, include_unpublished=include_unpublished, synonyms=synonyms)
    return out


def _fold_all(group: Sequence[str]) -> list[str]:
    return [normalise_query(w) for w in group if w]
