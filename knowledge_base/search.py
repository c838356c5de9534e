"""The per-process knowledge-base search service.

One ``KnowledgeBase`` per process (``get_kb(runtime)`` keeps it in
``runtime.services['kb']``). It mirrors the articles in memory (titles, texts, vectors),
keeps a Whoosh searcher open, and before each search compares the KB version in the
database with the one it reflects: a newer version is caught up incrementally for the
changed articles (or by a full rebuild), a missing or corrupt index is rebuilt.

Ranking: BM25F over character bigrams (title and similar questions boosted above the
answer; Whoosh's formula over the Whoosh postings, computed by ``index.LexicalScorer``)
with synonym expansion and homophone / pinyin corrections (``knowledge_base.pinyin``: a
query bigram the KB never contains is also searched as the KB bigrams with the same fuzzy
pinyin, weight 0.8; a run of pinyin letters such as "xinyongka" is read as the KB's own
bigrams), everyday banking wording read as article terms (``knowledge_base.colloquial``:
"卡被机器吃了" also searches 吞卡, weight 0.8) gives the lexical top-N; the sentence encoder
gives the dense top-N (best cosine over an article's title, each similar question and the
first two sentences of the plain answer); the union is ranked by ``0.7·cosine + 0.3·bm25/max(bm25)``. Without the encoder:
BM25 alone. ``prepare`` is the one place a query becomes terms; the synonyms page's test
box (``explain``) shows its steps.

Measured (benchmarks/KB_RESULTS.md, "Quality on untuned questions (issue 19)";
``python benchmarks/kb_quality.py``), hit@1 / hit@3 on the tuning set (277 queries):
before issue 19 0.895 / 0.978; now 0.910 / 0.986; on its synthetic homophones 0.798 / 0.924
-> 0.884 / 0.978. Kept because they helped on the tuning sets: pinyin corrections, the answer
head in the dense side. Measured and left off: a colloquial-filler list (``USE_FILLERS``;
+1/277 on tuning, -2/215 on the held-out set), min-max / z-score / reciprocal-rank fusion
(``FUSION``; equal or worse on tuning), dense pseudo-relevance feedback (``PRF_BETA``; mixed),
the corrected text in the encoder for homophones (worse). The held-out figures are in the
report, measured once after these choices. Older figures: lexical bigram 0.823 / 0.953;
lexical bigram + rjieba word field 0.859 / 0.953; hybrid + word field 0.903 / 0.978: the
word field stays off (``index.USE_WORD_FIELD``).

Colloquial questions (issue 19 point 3; KB_RESULTS.md, "Colloquial questions"): measured on
a new colloquial tuning set (benchmarks/kb_sets/colloquial_tuning.jsonl) and on the tuning
sets against the KB without similar questions. Kept: the colloquial lexicon (``USE_COLLOQUIAL``)
and the body field's boost 1.5 (``index.BIGRAM_FIELDS``). Measured and left off: the query's
clauses in the encoder (``CLAUSES``), a mean over an article's rows (``ROW_MEAN_WEIGHT``), the
lexicon's terms in the encoder (``COLLOQUIAL_DENSE``), a title-coverage re-rank
(``RERANK_WEIGHT``), answer sentences as separate dense rows (benchmark only).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import colloquial, embedding
from knowledge_base import index as kb_index
from knowledge_base.analysis import bigrams, words
from knowledge_base.articles import VERSION_BUMPED, changes_since, get_version, list_synonym_groups
from knowledge_base.categories import CATEGORIES, PUBLISHED
from knowledge_base.entry import Entry
from knowledge_base.models import Article
from knowledge_base.pinyin import Correction, PinyinVocab, corrected_text, corrections
from knowledge_base.snippets import highlight, snippet
from knowledge_base.text import CJK_RUN, fold, normalise_query, strip_fillers

MAX_QUERY_TERMS = 48
SYNONYM_WEIGHT = 0.6
LEXICAL_POOL = 50
DENSE_POOL = 30
# Dense scoring of large knowledge bases (DenseStore.scores): above EXACT_MAX_ARTICLES, only
# the PREFILTER_ARTICLES articles with the best mean cosine (and the lexical hits) have all
# their rows scored.
EXACT_MAX_ARTICLES = 2000
PREFILTER_ARTICLES = 400
DENSE_MIN = 0.45  # a dense-only candidate needs at least this cosine
DENSE_WEIGHT = 0.7
# Query preparation and fusion (measured choices: see the module docstring and KB_RESULTS.md).
USE_FILLERS = False  # measured: +1/277 at hit@1 on tuning, -2/215 on held-out: off (see KB_RESULTS.md)
USE_PINYIN = True  # homophone / pinyin-letter corrections against the KB's own bigrams
CORRECTION_WEIGHT = 0.8  # weight of a corrected bigram against 1.0 for a query bigram
# Encoder input: "off" (the query as typed), "pinyin" (the characters a pinyin-letter run was read
# as, e.g. xinyongka -> 信用卡; homophone fixes stay lexical), "replace" (the corrected text), "max"
# (best cosine of the query and the corrected text).
DENSE_CORRECTED = "pinyin"
FUSION = "linear"  # "linear" (w·cos + (1-w)·bm25/max), "minmax", "zscore", "rrf"
RRF_K = 60
PRF_BETA = 0.0  # dense pseudo-relevance feedback: q + beta·mean(best rows of the top PRF_DOCS); 0 = off
PRF_DOCS = 3
# Dense side for long, description-style questions (issue 19 point 3): the query's clauses
# (split on punctuation and spaces) are encoded too; "off", "max" (best of the whole query and
# each clause) or "mix" (whole query mixed with its best clause by CLAUSE_WEIGHT).
CLAUSES = "off"
CLAUSE_WEIGHT = 0.3
CLAUSE_MIN_CHARS = 4
MAX_CLAUSES = 4
# Everyday banking language -> article terms (``knowledge_base.colloquial``), added like synonyms
# with COLLOQUIAL_WEIGHT; COLLOQUIAL_DENSE: "off" or "max" (best cosine of the query and the query
# followed by the added terms).
USE_COLLOQUIAL = True
COLLOQUIAL_WEIGHT = 0.8
COLLOQUIAL_DENSE = "off"
# Second stage: the top RERANK_K fused candidates gain RERANK_WEIGHT x the share of their title's
# bigrams that the query (with its expansions, at their weights) contains; 0 = off.
RERANK_K = 10
RERANK_WEIGHT = 0.0
# Per-article dense score: the best row, plus ROW_MEAN_WEIGHT x the mean of its rows.
ROW_MEAN_WEIGHT = 0.0
MAX_LIMIT = 100
MAX_OFFSET = 1000
CACHE_SIZE = 2048
# How long a search may go on with the KB version it last read from the database before it
# looks again (one small query). Edits made in this process are seen at once (``_after_commit``);
# an edit committed by another process (a second server, the CLI) shows within this bound.
VERSION_TTL_SECONDS = 1.0
# A term found in more than this share of the documents is not looked up in that field:
# its postings cost most of the time on a big KB and add little (measured, see the report).
MAX_DF: dict[str, float] = {"title": 0.05, "questions": 0.05, "body": 0.01}
MIN_DOCS_TO_PRUNE = 1000
log = logging.getLogger(__name__)
RETIRE_AFTER = 10.0  # seconds an old searcher stays open for searches still using it


@dataclass
class Hit:
    id: str
    title: str
    category: str
    status: str
    score: float
    snippet: str
    title_html: str = ""
    cosine: float | None = None  # the fusion's inputs (shown by the synonyms page's test box)
    bm25: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "category": self.category,
                "score": round(self.score, 4), "snippet": self.snippet}


@dataclass
class SearchResult:
    query: str
    normalised: str
    total: int
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    version: int = 0
    mode: str = "lexical"
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "took_ms": round(self.took_ms, 2),
                "results": [h.to_dict() for h in self.hits]}


class Synonyms:
    """Query-time expansion: a group member found in the query adds the other members."""

    def __init__(self, groups: list[list[str]]) -> None:
        self.others: dict[str, list[str]] = {}
        for group in groups:
            folded = [w for w in dict.fromkeys(fold(w) for w in group) if w]
            for word in folded:
                bucket = self.others.setdefault(word, [])
                bucket.extend(w for w in folded if w != word and w not in bucket)
        # Longest first, so that 信用卡 is tried before 卡.
        self.words = sorted(self.others, key=len, reverse=True)

    def expand(self, text: str) -> list[str]:
        found: list[str] = []
        for word in self.words:
            if word in text:
                found.extend(w for w in self.others[word] if w not in text and w not in found)
        return found


class DenseStore:
    """All article vectors in one matrix; best cosine per article with one product."""

    def __init__(self, entries: dict[str, Entry]) -> None:
        ids, blocks, starts, status, category = [], [], [], [], []
        row = 0
        for entry in entries.values():
            if entry.vectors is None or not len(entry.vectors):
                continue
            ids.append(entry.id)
            starts.append(row)
            blocks.append(entry.vectors)
            row += len(entry.vectors)
            status.append(entry.status)
            category.append(entry.category)
        self.ids = ids
        self.source = entries  # the entries dict it was built from (compared by identity)
        # copy=False: vstack of float32 blocks is already float32 (a second 120 MB copy at 10k).
        self.matrix = (np.vstack(blocks).astype(np.float32, copy=False) if blocks
                       else np.zeros((0, embedding.DIM), np.float32))
        self.starts = np.asarray(starts, dtype=np.int64)
        self.counts = np.diff(np.append(self.starts, len(self.matrix)))
        # Each article's mean row: q·mean is its mean cosine, a lower bound of its best one.
        self.means = ((np.add.reduceat(self.matrix, self.starts) / self.counts[:, None]).astype(np.float32)
                      if len(ids) >= EXACT_MAX_ARTICLES else None)
        self.status = np.asarray(status, dtype=object)
        self.category = np.asarray(category, dtype=object)
        self.position = {external_id: i for i, external_id in enumerate(ids)}

    def scores(self, query_vector: np.ndarray, refine: np.ndarray | None = None) -> np.ndarray:
        """Best cosine per article (plus ``ROW_MEAN_WEIGHT`` x its mean cosine).

        Up to ``EXACT_MAX_ARTICLES`` articles every row is scored. Above, the rows of only
        ``PREFILTER_ARTICLES`` articles are: those with the best mean cosine, plus the
        positions in ``refine`` (the lexical hits, whose cosine the fusion reads); every other
        article keeps its mean cosine, which is never above its best. One pass over all rows
        reads ~140 MB at 10,000 articles, the means a seventh of that (KB_RESULTS.md,
        "Two-stage dense scoring").
        """
        if not self.ids:
            return np.zeros(0, dtype=np.float32)
        if self.means is None:
            rows = self.matrix @ query_vector
            best = np.maximum.reduceat(rows, self.starts)
            if ROW_MEAN_WEIGHT:
                best = (best + ROW_MEAN_WEIGHT * np.add.reduceat(rows, self.starts) / self.counts) / (1 + ROW_MEAN_WEIGHT)
            return best
        mean = self.means @ query_vector
        chosen = (np.argpartition(-mean, PREFILTER_ARTICLES)[:PREFILTER_ARTICLES]
                  if PREFILTER_ARTICLES < len(mean) else np.arange(len(mean)))
        if refine is not None and len(refine):
            chosen = np.union1d(chosen, refine)
        counts = self.counts[chosen]
        ends = np.cumsum(counts)
        # Row numbers of the chosen articles, block after block.
        offsets = np.repeat(self.starts[chosen] - (ends - counts), counts) + np.arange(int(ends[-1]))
        rows = self.matrix[offsets] @ query_vector
        best = np.maximum.reduceat(rows, ends - counts)
        if ROW_MEAN_WEIGHT:
            best = (best + ROW_MEAN_WEIGHT * mean[chosen]) / (1 + ROW_MEAN_WEIGHT)
        scores = mean.copy()
        scores[chosen] = best
        return scores

    def mask(self, statuses: tuple[str, ...] | None, category: str | None) -> np.ndarray:
        keep = np.ones(len(self.ids), dtype=bool)
        if statuses is not None:
            keep &= np.isin(self.status, statuses)
        if category is not None:
            keep &= self.category == category
        return keep


@dataclass
class PreparedQuery:
    """Everything search derives from a normalised query before ranking (shown step by step
    on the synonyms page's test box, see ``explain``)."""

    normalised: str
    lexical_text: str  # fillers removed
    fillers: list[str]
    corrections: list[Correction]
    expansion: list[str]
    bigram_terms: list[tuple[str, float]]
    word_terms: list[tuple[str, float]]
    marks: list[str]
    dense_text: str  # what the encoder reads besides the query ("" when the same)
    colloquial: list[str] = field(default_factory=list)  # article terms added for everyday wording


def prepare(normalised: str, synonyms: Synonyms, vocab: PinyinVocab | None = None) -> PreparedQuery:
    """The lexical terms, corrections and encoder text of a normalised query."""
    lexical_text, removed = strip_fillers(normalised) if USE_FILLERS else (normalised, [])
    if not lexical_text.strip():
        lexical_text, removed = normalised, []  # nothing but fillers: search them as they are
    weighted: dict[str, float] = {}
    letters: list[str] = []
    for term, _s, _e in bigrams(lexical_text):
        weighted.setdefault(term, 1.0)
        if not CJK_RUN.match(term):
            letters.append(term)
    found: list[Correction] = []
    if vocab is not None and USE_PINYIN:
        found = corrections([t for t in weighted if len(t) == 2 and CJK_RUN.fullmatch(t)], letters, vocab)
        for c in found:
            for term in c.replacements:
                weighted.setdefault(term, CORRECTION_WEIGHT)
    word_terms: dict[str, float] = {}
    if kb_index.USE_WORD_FIELD:
        for term, _s, _e in words(lexical_text):
            word_terms.setdefault(term, 1.0)
    expansion = synonyms.expand(normalised)
    for extra in expansion:
        for term, _s, _e in bigrams(extra):
            weighted.setdefault(term, SYNONYM_WEIGHT)
        if kb_index.USE_WORD_FIELD:
            word_terms.setdefault(extra, SYNONYM_WEIGHT)
    added = colloquial.expand(normalised) if USE_COLLOQUIAL else []
    added = [t for t in added if t not in expansion]
    for extra in added:
        for term, _s, _e in bigrams(extra):
            weighted.setdefault(term, COLLOQUIAL_WEIGHT)
    dense_found = [c for c in found if c.kind == "pinyin"] if DENSE_CORRECTED == "pinyin" else found
    dense_text = corrected_text(normalised, dense_found) if dense_found and DENSE_CORRECTED != "off" else ""
    return PreparedQuery(normalised=normalised, lexical_text=lexical_text, fillers=removed, corrections=found,
                         expansion=expansion, bigram_terms=list(weighted.items())[:MAX_QUERY_TERMS],
                         word_terms=list(word_terms.items())[:MAX_QUERY_TERMS],
                         marks=highlight_terms(normalised, synonyms, found),
                         dense_text=dense_text if dense_text != normalised else "", colloquial=added)


def query_terms(normalised: str, synonyms: Synonyms) -> tuple[list[tuple[str, float]], list[tuple[str, float]], list[str]]:
    """(bigram terms, word terms, highlight terms) of a normalised query (no corrections)."""
    prepared = prepare(normalised, synonyms)
    return prepared.bigram_terms, prepared.word_terms, prepared.marks


def highlight_terms(normalised: str, synonyms: Synonyms, found: list[Correction] | None = None) -> list[str]:
    """What a result may mark: the query's words and its synonyms, each as a whole (never a
    bigram of a synonym, which could sit inside another word); single characters only when
    the query has nothing longer."""
    terms: dict[str, None] = {}
    for term, _s, _e in words(normalised):
        terms.setdefault(term)
    for extra in synonyms.expand(normalised):
        terms.setdefault("".join(extra.split()))
    for c in found or []:
        for term in c.replacements:
            terms.setdefault(term)
    longer = [t for t in terms if len(t) > 1]
    return (longer or list(terms))[:MAX_QUERY_TERMS * 2]


_CLAUSE_SPLIT = re.compile(r"[\s，。？！、；：,.?!;:~～…]+")


def query_clauses(normalised: str) -> list[str]:
    """The clauses of a query with more than one (each at least ``CLAUSE_MIN_CHARS`` long),
    at most ``MAX_CLAUSES``; [] for a one-clause query."""
    parts = [p for p in _CLAUSE_SPLIT.split(normalised) if len(p) >= CLAUSE_MIN_CHARS]
    return parts[:MAX_CLAUSES] if len(parts) > 1 else []


def fuse(dense: dict[str, float], lexical: dict[str, float]) -> dict[str, float]:
    """One score per candidate from its cosine and its BM25 (0 when not a lexical hit)."""
    ids = list(dense)
    if not ids:
        return {}
    cos = np.array([dense[i] for i in ids], dtype=np.float64)
    bm = np.array([lexical.get(i, 0.0) for i in ids], dtype=np.float64)
    if FUSION == "rrf":
        cos_rank = np.empty(len(ids))
        cos_rank[np.argsort(-cos, kind="stable")] = np.arange(1, len(ids) + 1)
        bm_rank = np.empty(len(ids))
        bm_rank[np.argsort(-bm, kind="stable")] = np.arange(1, len(ids) + 1)
        fused = DENSE_WEIGHT / (RRF_K + cos_rank) + (1 - DENSE_WEIGHT) * np.where(bm > 0, 1 / (RRF_K + bm_rank), 0)
    elif FUSION in ("minmax", "zscore"):
        def norm(x: np.ndarray) -> np.ndarray:
            if FUSION == "minmax":
                span = float(x.max() - x.min())
                return (x - x.min()) / span if span > 0 else np.zeros_like(x)
            sd = float(x.std())
            return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)
        fused = DENSE_WEIGHT * norm(cos) + (1 - DENSE_WEIGHT) * norm(bm)
    else:
        top = float(bm.max()) or 1.0
        fused = DENSE_WEIGHT * cos + (1 - DENSE_WEIGHT) * bm / top
    return {i: float(f) for i, f in zip(ids, fused, strict=True)}


def title_coverage(title: str, terms: dict[str, float]) -> float:
    """The weighted share of a title's bigrams found among the query terms (0..1)."""
    grams = {t for t, _s, _e in bigrams(fold(title))}
    if not grams:
        return 0.0
    return sum(terms.get(t, 0.0) for t in grams) / len(grams)


def rerank(scores: dict[str, float], entries: dict[str, Entry], prepared: PreparedQuery) -> None:
    """Add the title-coverage evidence to the top ``RERANK_K`` fused scores (in place)."""
    terms = dict(prepared.bigram_terms)
    top = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:RERANK_K]
    for external_id, score in top:
        entry = entries.get(external_id)
        if entry is not None:
            scores[external_id] = score + RERANK_WEIGHT * title_coverage(entry.title, terms)


class KnowledgeBase:
    def __init__(self, index_dir: Path, session_factory: sessionmaker, *, use_model: bool = True,
                 cache_size: int = CACHE_SIZE, version_ttl: float = VERSION_TTL_SECONDS) -> None:
        self.index = kb_index.SearchIndex(index_dir)
        self.session_factory = session_factory
        self.use_model = use_model
        self._lock = threading.RLock()
        self._version = -1
        self._entries: dict[str, Entry] = {}
        self._synonyms = Synonyms([])
        self._dense: DenseStore | None = None
        self._dense_lock = threading.Lock()
        self._searcher = None
        self._scorer: kb_index.LexicalScorer | None = None
        self._segment_lengths: dict[tuple[str, str], np.ndarray] = {}
        self._segment_terms: dict[tuple[str, str], dict[bytes, int]] = {}
        self._vocab: tuple[kb_index.LexicalScorer, PinyinVocab] | None = None
        self._vocab_lock = threading.Lock()
        self._retired: list[tuple[float, Any]] = []
        self._cache: OrderedDict[tuple, SearchResult] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = cache_size
        self.rebuilds = 0
        self.version_ttl = version_ttl
        self._checked_at = float("-inf")  # time.monotonic() of the last look at the database's version
        self._stale = True
        # A commit through ``session_factory`` that changed the KB version (``bump_version``)
        # marks this service stale at once: this process never serves its own edit late.
        event.listen(session_factory, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(VERSION_BUMPED, False):
            self.mark_stale()

    def mark_stale(self) -> None:
        """The KB changed in this process: the next search looks at the database's version."""
        self._stale = True

    # -- keeping up with the database -------------------------------------------
    def _load_all(self, session: Session) -> None:
        self._entries = {a.external_id: Entry.from_article(a)
                         for a in session.scalars(select(Article).order_by(Article.external_id))}
        self._synonyms = Synonyms(list_synonym_groups(session))
        self._dense = None

    def _load_some(self, session: Session, ids: set[str]) -> None:
        found = {a.external_id: a for a in session.scalars(select(Article).where(Article.external_id.in_(ids)))}
        # A new dict, swapped in whole: searches read the entries without taking the lock.
        entries = dict(self._entries)
        for external_id in ids:
            if external_id in found:
                entries[external_id] = Entry.from_article(found[external_id])
            else:
                entries.pop(external_id, None)
        self._entries = entries
        self._dense = None

    @staticmethod
    def _plan(session: Session, since: int, target: int) -> tuple[bool, set[str], bool]:
        """(full, article ids, synonyms) changed after ``since`` up to ``target``."""
        if since < 0 or since > target:
            return True, set(), True
        changes = [c for c in changes_since(session, since) if c.version <= target]
        if {c.version for c in changes} != set(range(since + 1, target + 1)):
            return True, set(), True  # a gap: changes were pruned or written oddly
        full = any(c.kind == "full" for c in changes)
        ids = {c.article_id for c in changes if c.kind == "article" and c.article_id}
        return full, ids, any(c.kind == "synonyms" for c in changes)

    def sync(self, force_rebuild: bool = False, progress: Callable[[int], None] | None = None,
             wait: bool = True) -> int:
        """Catch up with the database and make sure the index is usable; returns the version.

        With ``wait=False`` (searches), a thread that finds another thread already catching up
        goes on with the version it has instead of queueing behind it (see ``_view``): under
        load, every worker thread used to stall on one trainer's edit.
        """
        if (not wait and not force_rebuild and not self._stale and self._searcher is not None
                and time.monotonic() - self._checked_at < self.version_ttl):
            return self._version  # looked less than version_ttl ago and nothing changed here since
        self._stale = False  # before reading: a change committed from now on marks it again
        checked_at = time.monotonic()
        with self.session_factory() as session:
            target = get_version(session)
            if target == self._version and not force_rebuild and self._searcher_ok():
                self._checked_at = checked_at
                return target
            can_skip = not wait and not force_rebuild and self._version is not None and self._searcher is not None
            if not self._lock.acquire(blocking=not can_skip):
                self._stale = True  # another thread is catching up, perhaps to an older version
                return self._version
            try:
                target = get_version(session)
                if target != self._version or force_rebuild:
                    full, ids, synonyms = self._plan(session, self._version, target)
                    if full:
                        self._load_all(session)
                    else:
                        if ids:
                            self._load_some(session, ids)
                        if synonyms:
                            self._synonyms = Synonyms(list_synonym_groups(session))
                self._sync_index(session, target, force_rebuild, progress)
                self._version = target
                self._checked_at = checked_at
                return target
            finally:
                self._lock.release()

    def _sync_index(self, session: Session, target: int, force: bool,
                    progress: Callable[[int], None] | None) -> None:
        indexed: int | None = None
        if not force:
            try:
                with self.index.open().searcher() as searcher:
                    indexed = self.index.version_of(searcher)
            except kb_index.IndexUnavailable:
                indexed = None
        if indexed != target:
            full, ids, _ = (True, set(), False) if indexed is None else self._plan(session, indexed, target)
            if full:
                # skip_if_current: a ``kb import`` in another process may hold the writer while it
                # commits the index of this very version; then there is nothing left to build.
                if self.index.rebuild(list(self._entries.values()), target, progress,
                                      skip_if_current=not force) is not None:
                    self.rebuilds += 1
            else:
                self.index.apply({i: self._entries.get(i) for i in ids}, target)
        self._reopen()

    def _reopen(self) -> kb_index.LexicalScorer:
        # The new searcher and scorer are ready before they replace the old ones, which searches
        # in other threads may still hold: those are closed later.
        searcher = self.index.searcher()
        scorer = kb_index.LexicalScorer(searcher, self._segment_lengths, self._segment_terms)
        now = time.monotonic()
        if self._searcher is not None:
            self._retired.append((now, self._searcher))
        self._searcher, self._scorer = searcher, scorer
        keep = []
        for retired_at, old in self._retired:
            if now - retired_at > RETIRE_AFTER:
                old.close()
            else:
                keep.append((retired_at, old))
        self._retired = keep
        return scorer

    def _searcher_ok(self) -> bool:
        searcher = self._searcher
        if searcher is None:
            return False
        try:
            if searcher.up_to_date():
                return True
        except Exception:
            pass
        # Another process committed (or the folder vanished): reopen, rebuild if needed.
        with self._lock:
            try:
                self._reopen()
                return self.index.version_of(self._searcher) == self._version
            except Exception:
                return False

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the index from the database (``kb reindex``); returns the article count."""
        with self._lock:
            self._version = -1
            self.sync(force_rebuild=True, progress=progress)
            return len(self._entries)

    def article_count(self) -> int:
        return len(self._entries)

    # -- searching --------------------------------------------------------------
    def _view(self) -> tuple[dict[str, Entry], kb_index.LexicalScorer, DenseStore]:
        """What a search ranks with, read without waiting for a catch-up in another thread.

        The catch-up swaps in a new entries dict and then a new scorer; a search that reads
        between the two drops lexical hits that are not in its entries, so it stays consistent.
        """
        entries, scorer, dense = self._entries, self._scorer, self._dense
        if scorer is None:  # closed: open a searcher again (what the retry after a failed search does)
            with self._lock:
                scorer = self._reopen()
        if dense is None or dense.source is not entries:
            with self._dense_lock:  # build the vectors matrix once per entries, not once per thread
                dense = self._dense
                if dense is None or dense.source is not entries:
                    dense = DenseStore(entries)
                    if self._entries is entries:
                        self._dense = dense
        return entries, scorer, dense

    def _encode_query(self, normalised: str) -> np.ndarray | None:
        if not self.use_model:
            return None
        vectors = embedding.encode([normalised])
        return None if vectors is None else vectors[0]

    def _cosines(self, dense: DenseStore, prepared: PreparedQuery,
                 lexical: Collection[str] = ()) -> np.ndarray | None:
        """Best cosine per article for the query (and, when corrected, its corrected text);
        exact for the ``lexical`` hits whatever the knowledge base's size."""
        if not self.use_model:
            return None
        refine = (np.fromiter((p for p in map(dense.position.get, lexical) if p is not None), dtype=np.int64)
                  if dense.means is not None else None)  # small KBs score every row anyway
        texts = [prepared.normalised]
        if prepared.dense_text:
            texts = texts + [prepared.dense_text] if DENSE_CORRECTED == "max" else [prepared.dense_text]
        vectors = embedding.encode(texts)
        if vectors is None:
            return None
        cosines = dense.scores(vectors[0], refine)
        for vector in vectors[1:]:
            cosines = np.maximum(cosines, dense.scores(vector, refine))
        parts = query_clauses(prepared.normalised) if CLAUSES != "off" else []
        if parts:
            clause_vectors = embedding.encode(parts)
            if clause_vectors is not None:
                best = dense.scores(clause_vectors[0], refine)
                for vector in clause_vectors[1:]:
                    best = np.maximum(best, dense.scores(vector, refine))
                if CLAUSES == "max":
                    cosines = np.maximum(cosines, best)
                else:
                    cosines = (1 - CLAUSE_WEIGHT) * cosines + CLAUSE_WEIGHT * np.maximum(cosines, best)
        if prepared.colloquial and COLLOQUIAL_DENSE != "off":
            extra = embedding.encode([(prepared.dense_text or prepared.normalised) + " " + " ".join(prepared.colloquial)])
            if extra is not None:
                cosines = np.maximum(cosines, dense.scores(extra[0], refine))
        if PRF_BETA > 0 and len(cosines) > PRF_DOCS:
            top = np.argpartition(-cosines, PRF_DOCS)[:PRF_DOCS]
            rows = []
            for i in top:
                start = dense.starts[i]
                end = dense.starts[i + 1] if i + 1 < len(dense.starts) else len(dense.matrix)
                block = dense.matrix[start:end]
                rows.append(block[int(np.argmax(block @ vectors[0]))])
            expanded = vectors[0] + PRF_BETA * np.mean(rows, axis=0)
            expanded /= np.linalg.norm(expanded) or 1.0
            cosines = dense.scores(expanded.astype(np.float32), refine)
        return cosines

    def synonyms(self) -> Synonyms:
        """The synonym expansion in use (after catching up with the database)."""
        self.sync()
        return self._synonyms

    def search(self, query: Any, category: str | None = None, limit: int = 10, offset: int = 0,
               include_unpublished: bool = False, synonyms: Synonyms | None = None) -> SearchResult:
        """Ranked hits for anything a user can type; never raises on the query's content.

        ``synonyms`` replaces the stored synonym groups for this one search (the trainer's
        preview of an unsaved change); such searches bypass the cache."""
        started = time.perf_counter()
        raw = query if isinstance(query, str) else ("" if query is None else str(query))
        normalised = normalise_query(raw)
        limit = max(1, min(int(limit or 10), MAX_LIMIT))
        offset = max(0, min(int(offset or 0), MAX_OFFSET))
        category = category or None
        result = SearchResult(query=raw, normalised=normalised, total=0, took_ms=0.0)
        if category is not None and category not in CATEGORIES:
            result.took_ms = (time.perf_counter() - started) * 1000
            return result
        version = self.sync(wait=False)
        result.version = version
        key = (normalised, category, limit, offset, include_unpublished, version)
        cached = None
        if synonyms is None:
            with self._cache_lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
        if cached is not None:
            return SearchResult(query=raw, normalised=normalised, total=cached.total,
                                took_ms=(time.perf_counter() - started) * 1000, hits=cached.hits,
                                version=version, mode=cached.mode, cached=True)
        if normalised:
            entries, scorer, dense = self._view()
            prepared = self.prepare(normalised, synonyms, scorer)
            if prepared.bigram_terms or prepared.word_terms:
                try:
                    self._rank(result, entries, scorer, dense, prepared, category, limit, offset,
                               include_unpublished)
                except Exception as exc:
                    # Seen once in ~2,200 searches under load while another thread applied a KB edit:
                    # Whoosh read garbage from the shared searcher (UnpicklingError). Answer from a
                    # freshly opened searcher instead of failing the search.
                    log.warning("search failed on the current searcher (%r); retrying on a new one", exc)
                    result.hits.clear()
                    result.total = 0
                    with self._lock:
                        self._reopen()
                    entries, scorer, dense = self._view()
                    prepared = self.prepare(normalised, synonyms, scorer)
                    self._rank(result, entries, scorer, dense, prepared, category, limit, offset,
                               include_unpublished)
        result.took_ms = (time.perf_counter() - started) * 1000
        if synonyms is not None:
            return result
        with self._cache_lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    @staticmethod
    def _field_terms(searcher, terms: list[tuple[str, float]]) -> dict[str, list[tuple[str, float]]]:
        """Per field, the query terms rare enough to be worth their postings (see MAX_DF)."""
        total = max(1, searcher.doc_count())
        out: dict[str, list[tuple[str, float]]] = {}
        for name in kb_index.BIGRAM_FIELDS:
            limit = MAX_DF.get(name)
            if limit is None or total < MIN_DOCS_TO_PRUNE:
                out[name] = terms
                continue
            scored = [(searcher.doc_frequency(name, t), t, w) for t, w in terms]
            kept = [(t, w) for df, t, w in scored if 0 < df <= limit * total]
            if len(kept) < 2 and name != "body":
                # Keep the rarest terms that occur at all, so a query never goes blank.
                kept = [(t, w) for _df, t, w in sorted(x for x in scored if x[0] > 0)[:2]]
            out[name] = kept
        return out

    def prepare(self, normalised: str, synonyms: Synonyms | None = None,
                scorer: kb_index.LexicalScorer | None = None) -> PreparedQuery:
        """What search makes of a normalised query on the current index (``explain`` shows it)."""
        if scorer is None:
            self.sync()
            _entries, scorer, _dense = self._view()
        return prepare(normalised, synonyms or self._synonyms, self._vocab_for(scorer) if USE_PINYIN else None)

    def _vocab_for(self, scorer: kb_index.LexicalScorer) -> PinyinVocab:
        """The pinyin vocabulary of the scorer's index (built once per searcher)."""
        cached = self._vocab
        if cached is not None and cached[0] is scorer:
            return cached[1]
        with self._vocab_lock:
            cached = self._vocab
            if cached is not None and cached[0] is scorer:
                return cached[1]
            vocab = PinyinVocab(scorer.vocabulary(kb_index.BIGRAM_FIELDS), previous=cached[1] if cached else None)
            self._vocab = (scorer, vocab)
            return vocab

    def _rank(self, result: SearchResult, entries: dict[str, Entry], scorer: kb_index.LexicalScorer,
              dense: DenseStore, prepared: PreparedQuery, category, limit, offset,
              include_unpublished) -> None:
        bigram_terms, word_terms, marks = prepared.bigram_terms, prepared.word_terms, prepared.marks
        statuses = None if include_unpublished else (PUBLISHED,)
        allow = None
        if statuses is not None:
            allow = scorer.mask("status", PUBLISHED)
        if category is not None:
            in_category = scorer.mask("category", category)
            allow = in_category if allow is None else allow & in_category
        clauses = kb_index.clauses_of(self._field_terms(scorer.searcher, bigram_terms), word_terms)
        pool = max(LEXICAL_POOL, offset + limit)
        lexical: dict[str, float] = {}
        if clauses:
            for external_id, score in scorer.search(clauses, pool, allow):
                if external_id in entries:
                    lexical[external_id] = score
        cosines = self._cosines(dense, prepared, lexical) if len(dense.ids) else None
        scores: dict[str, float] = {}
        if cosines is not None:
            result.mode = "hybrid"
            allowed = dense.mask(statuses, category)
            candidates = set(lexical)
            masked = np.where(allowed, cosines, -1.0)
            order = np.argsort(-masked)[:DENSE_POOL]
            candidates.update(dense.ids[i] for i in order if masked[i] >= DENSE_MIN)
            dense_of = {}
            for external_id in candidates:
                position = dense.position.get(external_id)
                dense_of[external_id] = float(cosines[position]) if position is not None else 0.0
            scores = fuse(dense_of, lexical)
            if RERANK_WEIGHT > 0:
                rerank(scores, entries, prepared)
        else:
            dense_of = {}
            top_bm25 = max(lexical.values(), default=0.0) or 1.0
            scores = {k: v / top_bm25 for k, v in lexical.items()}
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        result.total = len(ranked)
        for external_id, score in ranked[offset:offset + limit]:
            entry = entries[external_id]
            result.hits.append(Hit(
                id=entry.id, title=entry.title, category=entry.category, status=entry.status,
                score=score, title_html=highlight(entry.title, marks),
                cosine=dense_of.get(external_id), bm25=lexical.get(external_id, 0.0),
                snippet=snippet([entry.plain_text, " / ".join(entry.questions)], marks)))

    # -- lifecycle --------------------------------------------------------------
    @property
    def current_searcher(self) -> Any:
        """The Whoosh searcher new searches read now (replaced whenever the index changes)."""
        return self._searcher

    @property
    def lexical_scorer(self) -> kb_index.LexicalScorer | None:
        """The lexical scorer new searches use now; it reads ``current_searcher``'s postings."""
        return self._scorer

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def close(self) -> None:
        if event.contains(self.session_factory, "after_commit", self._after_commit):
            event.remove(self.session_factory, "after_commit", self._after_commit)
        with self._lock:
            for _at, old in self._retired:
                old.close()
            self._retired = []
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
                self._scorer = None
            self.index.close()


_services_lock = threading.Lock()


def get_kb(runtime: Any) -> KnowledgeBase:
    """The process's knowledge-base service for ``runtime`` (created on first use)."""
    kb = runtime.services.get("kb")
    if kb is None:
        with _services_lock:
            kb = runtime.services.get("kb")
            if kb is None:
                use_model = runtime.settings.extra.get("KB_USE_MODEL", True)
                kb = KnowledgeBase(runtime.settings.index_dir, runtime.session_factory, use_model=use_model,
                                   version_ttl=float(runtime.settings.extra.get("KB_VERSION_TTL",
                                                                                VERSION_TTL_SECONDS)))
                runtime.services["kb"] = kb
    return kb
