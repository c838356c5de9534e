"""The per-process knowledge-base search service.

One ``KnowledgeBase`` per process (``get_kb(runtime)`` keeps it in
``runtime.services['kb']``). It mirrors the articles in memory (titles, texts, vectors),
keeps a Whoosh searcher open, and before each search compares the KB version in the
database with the one it reflects: a newer version is caught up incrementally for the
changed articles (or by a full rebuild), a missing or corrupt index is rebuilt.

Ranking: BM25F over character bigrams (title and similar questions boosted above the
answer; Whoosh's formula over the Whoosh postings, computed by ``index.LexicalScorer``)
and synonym expansion gives the lexical top-N; the sentence encoder gives the
dense top-N (best cosine over an article's title and similar questions); the union is
ranked by ``0.7·cosine + 0.3·bm25/max(bm25)``. Without the encoder: BM25 alone.

Measured with ``bankdrill kb eval`` / benchmarks/kb_search.py on the seed KB (183 articles,
277 eval queries), hit@1 / hit@3: lexical bigram 0.823 / 0.953; lexical bigram + rjieba
word field 0.859 / 0.953; hybrid bigram 0.895 / 0.978 (weights 0.3 and 0.5 on the cosine:
0.841 / 0.960 and 0.863 / 0.968); hybrid bigram + word field 0.903 / 0.978. The word field
gains 2 queries of 277 at hit@1 for a second analyzer and more postings, so it stays off
(``index.USE_WORD_FIELD``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import embedding
from knowledge_base import index as kb_index
from knowledge_base.analysis import bigrams, words
from knowledge_base.articles import VERSION_BUMPED, changes_since, get_version, list_synonym_groups
from knowledge_base.categories import CATEGORIES, PUBLISHED
from knowledge_base.models import Article
from knowledge_base.snippets import highlight, snippet
from knowledge_base.text import fold, markdown_to_plain, normalise_query

MAX_QUERY_TERMS = 48
SYNONYM_WEIGHT = 0.6
LEXICAL_POOL = 50
DENSE_POOL = 30
DENSE_MIN = 0.45  # a dense-only candidate needs at least this cosine
DENSE_WEIGHT = 0.7
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
class Entry:
    """What search needs of one article, mirrored from the database."""

    id: str
    title: str
    questions: list[str]
    category: str
    status: str
    tags: list[str]
    plain_text: str
    plain_answer: str
    vectors: np.ndarray | None

    @classmethod
    def from_article(cls, a: Article) -> Entry:
        return cls(id=a.external_id, title=a.title, questions=list(a.questions or []),
                   category=a.category, status=a.status, tags=list(a.tags or []),
                   plain_text=markdown_to_plain(a.answer)[:4000],
                   plain_answer=markdown_to_plain(a.plain_answer)[:4000],
                   vectors=embedding.from_bytes(a.vectors))


@dataclass
class Hit:
    id: str
    title: str
    category: str
    status: str
    score: float
    snippet: str
    title_html: str = ""

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
        self.status = np.asarray(status, dtype=object)
        self.category = np.asarray(category, dtype=object)
        self.position = {external_id: i for i, external_id in enumerate(ids)}

    def scores(self, query_vector: np.ndarray) -> np.ndarray:
        if not self.ids:
            return np.zeros(0, dtype=np.float32)
        return np.maximum.reduceat(self.matrix @ query_vector, self.starts)

    def mask(self, statuses: tuple[str, ...] | None, category: str | None) -> np.ndarray:
        keep = np.ones(len(self.ids), dtype=bool)
        if statuses is not None:
            keep &= np.isin(self.status, statuses)
        if category is not None:
            keep &= self.category == category
        return keep


def query_terms(normalised: str, synonyms: Synonyms) -> tuple[list[tuple[str, float]], list[tuple[str, float]], list[str]]:
    """(bigram terms, word terms, highlight terms) of a normalised query."""
    weighted: dict[str, float] = {}
    for term, _s, _e in bigrams(normalised):
        weighted.setdefault(term, 1.0)
    word_terms: dict[str, float] = {}
    if kb_index.USE_WORD_FIELD:
        for term, _s, _e in words(normalised):
            word_terms.setdefault(term, 1.0)
    for extra in synonyms.expand(normalised):
        for term, _s, _e in bigrams(extra):
            weighted.setdefault(term, SYNONYM_WEIGHT)
        if kb_index.USE_WORD_FIELD:
            word_terms.setdefault(extra, SYNONYM_WEIGHT)
    bigram_list = list(weighted.items())[:MAX_QUERY_TERMS]
    word_list = list(word_terms.items())[:MAX_QUERY_TERMS]
    return bigram_list, word_list, highlight_terms(normalised, synonyms)


def highlight_terms(normalised: str, synonyms: Synonyms) -> list[str]:
    """What a result may mark: the query's words and its synonyms, each as a whole (never a
    bigram of a synonym, which could sit inside another word); single characters only when
    the query has nothing longer."""
    terms: dict[str, None] = {}
    for term, _s, _e in words(normalised):
        terms.setdefault(term)
    for extra in synonyms.expand(normalised):
        terms.setdefault("".join(extra.split()))
    longer = [t for t in terms if len(t) > 1]
    return (longer or list(terms))[:MAX_QUERY_TERMS * 2]


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
        scorer = kb_index.LexicalScorer(searcher, self._segment_lengths)
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
        bigram_terms, word_terms, marks = query_terms(normalised, synonyms or self._synonyms)
        if bigram_terms or word_terms:
            entries, scorer, dense = self._view()
            try:
                self._rank(result, entries, scorer, dense, bigram_terms, word_terms, marks,
                           category, limit, offset, include_unpublished)
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
                self._rank(result, entries, scorer, dense, bigram_terms, word_terms, marks,
                           category, limit, offset, include_unpublished)
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

    def _rank(self, result: SearchResult, entries: dict[str, Entry], scorer: kb_index.LexicalScorer,
              dense: DenseStore, bigram_terms, word_terms, marks, category, limit, offset,
              include_unpublished) -> None:
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
        vector = self._encode_query(result.normalised) if len(dense.ids) else None
        scores: dict[str, float] = {}
        top_bm25 = max(lexical.values(), default=0.0) or 1.0
        if vector is not None:
            result.mode = "hybrid"
            cosines = dense.scores(vector)
            allowed = dense.mask(statuses, category)
            candidates = set(lexical)
            masked = np.where(allowed, cosines, -1.0)
            order = np.argsort(-masked)[:DENSE_POOL]
            candidates.update(dense.ids[i] for i in order if masked[i] >= DENSE_MIN)
            for external_id in candidates:
                position = dense.position.get(external_id)
                cosine = float(cosines[position]) if position is not None else 0.0
                scores[external_id] = (DENSE_WEIGHT * cosine
                                       + (1 - DENSE_WEIGHT) * lexical.get(external_id, 0.0) / top_bm25)
        else:
            scores = {k: v / top_bm25 for k, v in lexical.items()}
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        result.total = len(ranked)
        for external_id, score in ranked[offset:offset + limit]:
            entry = entries[external_id]
            result.hits.append(Hit(
                id=entry.id, title=entry.title, category=entry.category, status=entry.status,
                score=score, title_html=highlight(entry.title, marks),
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
