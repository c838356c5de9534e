"""How a query is understood, step by step (the synonyms page's "test a query" box).

Reuses the very functions search uses (``text.fold`` steps, ``analysis.bigrams`` /
``analysis.words``, ``search.Synonyms`` and ``KnowledgeBase.prepare``: fillers removed,
homophone / pinyin corrections against the KB's vocabulary, everyday wording read as
article terms (``knowledge_base.colloquial``), the encoder's text), and each
hit carries the fusion's inputs (cosine, BM25), so what the trainer sees is what search does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge_base import search as kb_search
from knowledge_base.analysis import bigrams, words
from knowledge_base.pinyin import Correction
from knowledge_base.search import PreparedQuery, SearchResult, Synonyms, prepare
from knowledge_base.text import _FOLD, _SURROGATE, _t2s, normalise_query

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
    fillers_enabled: bool = False
    fillers: list[str] = field(default_factory=list)
    lexical_text: str = ""
    pinyin_enabled: bool = False
    corrections: list[Correction] = field(default_factory=list)
    dense_text: str = ""
    fusion: str = ""
    colloquial_enabled: bool = False
    colloquial: list[str] = field(default_factory=list)
    colloquial_weight: float = 0.0


def steps(raw: str) -> tuple[str, str, str, str]:
    """(NFKC, traditional→simplified, 帐→账 + lower case, normalised query)."""
    raw = (raw or "")[:800]
    nfkc = unicodedata.normalize("NFKC", _SURROGATE.sub("\ufffd", raw))
    simplified = _t2s().convert(nfkc) if nfkc else ""
    folded = simplified.translate(_FOLD).lower()
    return nfkc, simplified, folded, normalise_query(raw)


def explain(raw: str, groups: Sequence[Sequence[str]], kb: Any = None, include_unpublished: bool = True,
            limit: int = 5) -> Explanation:
    """Every step for ``raw`` under the synonym ``groups``; with ``kb``, also what it finds."""
    nfkc, simplified, folded, normalised = steps(raw)
    synonyms = Synonyms([list(g) for g in groups])
    prepared: PreparedQuery = (kb.prepare(normalised, synonyms) if kb is not None and normalised
                               else prepare(normalised, synonyms))
    used = [list(g) for g in groups if any(w in normalised for w in (_fold_all(g)))]
    out = Explanation(raw=raw, nfkc=nfkc, simplified=simplified, folded=folded, normalised=normalised,
                      bigrams=[t for t, _s, _e in bigrams(prepared.lexical_text)][:MAX_SHOWN],
                      words=[t for t, _s, _e in words(prepared.lexical_text)][:MAX_SHOWN],
                      expansion=prepared.expansion, terms=prepared.bigram_terms, groups_used=used,
                      fillers_enabled=kb_search.USE_FILLERS, fillers=prepared.fillers,
                      lexical_text=prepared.lexical_text, pinyin_enabled=kb_search.USE_PINYIN,
                      corrections=prepared.corrections, dense_text=prepared.dense_text,
                      fusion=fusion_text(), colloquial_enabled=kb_search.USE_COLLOQUIAL,
                      colloquial=prepared.colloquial, colloquial_weight=kb_search.COLLOQUIAL_WEIGHT)
    if kb is not None and normalised:
        out.result = kb.search(raw, limit=limit, include_unpublished=include_unpublished, synonyms=synonyms)
    return out


def fusion_text() -> str:
    """How the candidates' scores are combined (the search's current settings), in words."""
    w = kb_search.DENSE_WEIGHT
    if kb_search.FUSION == "rrf":
        return f"倒数排名融合：{w:.1f}/({kb_search.RRF_K}+语义名次) + {1 - w:.1f}/({kb_search.RRF_K}+关键词名次)"
    if kb_search.FUSION == "minmax":
        return f"{w:.1f}×语义相似度（候选内归一到 0–1）+ {1 - w:.1f}×BM25（候选内归一到 0–1）"
    if kb_search.FUSION == "zscore":
        return f"{w:.1f}×语义相似度（候选内标准分）+ {1 - w:.1f}×BM25（候选内标准分）"
    return f"{w:.1f}×语义相似度 + {1 - w:.1f}×BM25÷本次最高 BM25（无语义模型时只用 BM25）"


def _fold_all(group: Sequence[str]) -> list[str]:
    return [normalise_query(w) for w in group if w]
