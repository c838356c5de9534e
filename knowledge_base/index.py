"""The Whoosh index: schema, opening with retries, full rebuilds and incremental updates.

The only module that talks to Whoosh (``whoosh-reloaded``). Never ``Searcher.refresh()``
(broken in 2.7.5): callers check ``up_to_date()`` and open a new searcher. Writers wait
for the lock (``timeout=30, delay=0.02``). The KB version an index reflects is stored in
a meta document committed together with the articles.

Searching does not run Whoosh's query matchers: ``LexicalScorer`` reads the postings of
each query term and computes Whoosh's BM25F with numpy (same scores; 10,000 articles:
1.4 ms instead of 23.5 ms per query). ``build_query`` remains the definition of the
clauses and the reference the scorer is tested against.
"""

from __future__ import annotations

import gc
import os
import shutil
import threading
import time
import warnings
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.query import Or, Term
from whoosh.writing import CLEAR

from knowledge_base.analysis import BigramAnalyzer, BigramTokenizer, WordAnalyzer, bigram_counts

INDEX_NAME = "kb"
META_ID = "__meta__"
SCHEMA_VERSION = 2
WRITER_TIMEOUT = 30.0
WRITER_DELAY = 0.02
# Posting-pool memory of a full rebuild. Whoosh pickles the pool to disk in runs when it
# outgrows this and merges the runs at commit. Measured at 10,000 articles (2.6 M
# postings): 128 MB = 4 runs, 427 articles/s, 438 MB peak RSS; 1024 MB = one in-memory
# sort, 707 articles/s, 849 MB; 512 MB is still one run at 10,000 (with the length cache
# below: 128 MB 405/s, 512 MB 801-819/s, 847 MB peak). Incremental writers keep 128 MB.
REBUILD_LIMIT_MB = 512
WRITER_LIMIT_MB = 128

# field -> (analyzer factory, query boost). The word field (rjieba) is optional: see
# USE_WORD_FIELD and the measurements in the module docstring of knowledge_base.search.
# The body's 1.5 (was 1.0) measured on the tuning sets for issue 19 point 3, most on the KB without
# similar questions (benchmarks/KB_RESULTS.md, "Colloquial questions"); a query-time weight only.
BIGRAM_FIELDS = {"title": 3.0, "questions": 2.5, "body": 1.5}
WORD_FIELDS = {"words": 1.5}
USE_WORD_FIELD = False
# How Whoosh evaluates the Or when ``build_query`` is run by Whoosh (tests, debugging; the
# service uses LexicalScorer). Measured at 2,000 articles, lexical p50/p95 ms: auto 21/46,
# binary tree of unions 44/88, preloaded arrays 17/36 but 2x slower with the encoder running.
OR_MATCHER = Or.AUTO_MATCHER


def make_schema() -> Schema:
    analyzer, words = BigramAnalyzer(), WordAnalyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        category=ID(stored=False),
        status=ID(stored=False),
        kbv=STORED(),
        schema_version=NUMERIC(stored=True),
        title=TEXT(analyzer=analyzer, phrase=False),
        questions=TEXT(analyzer=analyzer, phrase=False),
        body=TEXT(analyzer=analyzer, phrase=False),
        words=TEXT(analyzer=words, phrase=False),
    )


def field_boosts() -> dict[str, float]:
    boosts = dict(BIGRAM_FIELDS)
    if USE_WORD_FIELD:
        boosts.update(WORD_FIELDS)
    return boosts


def article_document(entry: Any) -> dict[str, Any]:
    """The Whoosh document of an article entry (see ``service.Entry``)."""
    questions = "\n".join(entry.questions)
    doc = {"id": entry.id, "category": entry.category, "status": entry.status,
           "title": entry.title, "questions": questions,
           "body": "\n".join([entry.plain_text, entry.plain_answer, " ".join(entry.tags)])}
    if USE_WORD_FIELD:
        doc["words"] = entry.title + "\n" + questions
    return doc


class _CachedLengths:
    """The field lengths a segment writer looks up once per posting (2.6 M lookups through
    a column reader at 10,000 articles), read once per field instead."""

    def __init__(self, reader) -> None:
        self._reader = reader
        self._lengths: dict[str, list] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0):
        column = self._lengths.get(fieldname)
        if column is None:
            reader = self._reader
            column = [reader.doc_field_length(d, fieldname, default) for d in range(reader.doc_count_all())]
            self._lengths[fieldname] = column
        return column[docnum]

    def column(self, fieldname: str) -> list:
        """The length of ``fieldname`` in every document, by document number."""
        self.doc_field_length(0, fieldname)
        return self._lengths[fieldname]

    def close(self) -> None:
        self._reader.close()


def _cache_lengths(writer) -> None:
    make_reader = getattr(writer, "per_document_reader", None)
    if make_reader is not None:  # a SegmentWriter (the only kind we create)
        writer.per_document_reader = lambda: _CachedLengths(make_reader())


# Full rebuilds write their segment in bulk (``_TermPool``, ``_BulkDocuments``,
# ``_write_postings``): the same files as Whoosh's own ``add_document`` + ``commit``
# (tests/kb/test_index_bulk.py compares every term, posting, length and stored field), at a
# fraction of the CPU. Whoosh's writer spends ~5 µs of Python per posting (2.6 M postings at
# 10,000 articles): a Token object per bigram, a tuple per posting sorted in one 2.6 M-item
# list, and a method call with type checks per posting when writing the blocks.
BULK_REBUILD = True


class _CountedField:
    """The postings of one bigram field as three flat arrays (term id, document, frequency),
    appended a document at a time with C-level ``extend`` calls; grouped by term with numpy
    when the segment is written."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.ids = array("q")
        self.docs = array("q")
        self.freqs = array("q")
        self.last_doc = -1

    def add(self, docnum: int, counts: dict[str, int]) -> None:
        if docnum <= self.last_doc:
            raise ValueError("postings must be added in document order")
        self.last_doc = docnum
        vocab = self.vocab
        for term in set(counts).difference(vocab):  # (keys() - keys() walks all of vocab)
            vocab[term] = len(vocab)
        self.ids.extend(map(vocab.__getitem__, counts))
        self.freqs.extend(counts.values())
        self.docs.extend(repeat(docnum, len(counts)))

    def groups(self) -> dict[bytes, tuple[np.ndarray, np.ndarray]]:
        """{term bytes: (documents, frequencies)}, documents ascending."""
        ids = np.frombuffer(self.ids, dtype=np.int64) if len(self.ids) else np.zeros(0, dtype=np.int64)
        order = np.argsort(ids, kind="stable")  # stable: each term's documents stay in order
        docs = np.frombuffer(self.docs, dtype=np.int64)[order] if len(order) else ids
        freqs = np.frombuffer(self.freqs, dtype=np.int64)[order] if len(order) else ids
        bounds = np.searchsorted(ids[order], np.arange(len(self.vocab) + 1))
        return {term.encode("utf-8"): (docs[bounds[i]:bounds[i + 1]], freqs[bounds[i]:bounds[i + 1]])
                for term, i in self.vocab.items()}


class _TermPool:
    """Whoosh's ``PostingPool`` for one in-memory segment: postings grouped by (field, term)
    as they are added (documents come in order, so each group is sorted by document), and
    only the terms sorted at the end. Iterates exactly as the sorted pool does.

    Bigram fields keep only (document, frequency) per posting (``add_counts``, ``_CountedField``);
    the weight (frequency × field boost) and the value (the frequency packed as Whoosh's
    Frequency format packs it) are made when the postings are written."""

    def __init__(self, boosts: dict[str, float] | None = None) -> None:
        self.terms: dict[tuple[str, bytes], tuple[list[int], list[float], list[bytes | None]]] = {}
        self.counts: dict[str, _CountedField] = {name: _CountedField() for name in boosts or {}}
        self.boosts = dict(boosts or {})
        self.fieldnames: set[str] = set()

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        """One (fieldname, term bytes, docnum, weight, value bytes) posting (Whoosh's interface)."""
        fieldname, tbytes, docnum, weight, vbytes = item
        if fieldname in self.counts:
            raise ValueError(f"field {fieldname!r} takes counted postings (add_counts)")
        group = self.terms.get((fieldname, tbytes))
        if group is None:
            group = self.terms[(fieldname, tbytes)] = ([], [], [])
            self.fieldnames.add(fieldname)
        elif group[0][-1] > docnum:
            raise ValueError("postings must be added in document order")
        group[0].append(docnum)
        group[1].append(weight)
        group[2].append(vbytes)

    def add_counts(self, fieldname: str, docnum: int, counts: dict[str, int]) -> None:
        """The postings of one document in a bigram field: {term: frequency}; documents in order."""
        self.counts[fieldname].add(docnum, counts)
        if counts:
            self.fieldnames.add(fieldname)

    def groups(self) -> Iterator[tuple[str, bytes, list[int], list[float], list[bytes | None]]]:
        """(fieldname, term bytes, docnums, weights, values) per term, in Whoosh's order."""
        from whoosh.system import pack_uint

        counted = {name: field.groups() for name, field in self.counts.items()}
        keys: list[tuple[str, bytes, bool]] = [(f, t, False) for f, t in self.terms]
        for fieldname, terms in counted.items():
            keys.extend((fieldname, tbytes, True) for tbytes in terms)
        keys.sort()
        packed: dict[int, bytes] = {}
        for fieldname, tbytes, is_counted in keys:
            if not is_counted:
                docnums, weights, values = self.terms[(fieldname, tbytes)]
                yield fieldname, tbytes, docnums, weights, values
                continue
            docs, freq_array = counted[fieldname].pop(tbytes)
            freqs = freq_array.tolist()
            boost = self.boosts[fieldname]
            for freq in set(freqs) - packed.keys():
                packed[freq] = pack_uint(freq)
            yield (fieldname, tbytes, docs.tolist(), [freq * boost for freq in freqs],
                   list(map(packed.__getitem__, freqs)))

    def iter_postings(self):
        for fieldname, tbytes, docnums, weights, values in self.groups():
            for docnum, weight, vbytes in zip(docnums, weights, values, strict=True):
                yield fieldname, tbytes, docnum, weight, vbytes

    def cleanup(self) -> None:
        self.terms = {}
        self.counts = {name: _CountedField() for name in self.counts}


def _is_bigram_field(field) -> bool:
    """A TEXT field analysed by ``BigramTokenizer`` alone into a plain Frequency format."""
    from whoosh.formats import Frequency

    return (type(field.analyzer) is BigramTokenizer and type(field.format) is Frequency
            and field.scorable and not field.vector and not field.separate_spelling())


class _BulkDocuments:
    """``SegmentWriter.add_document`` for our documents without its per-token objects: bigram
    fields are counted directly (``analysis.bigram_counts``, the terms ``BigramTokenizer``
    yields), other fields go through Whoosh's own ``field.index``."""

    def __init__(self, writer, pool: _TermPool) -> None:
        self.writer = writer
        self.pool = pool

    def add(self, fields: dict[str, Any]) -> None:
        writer, pool = self.writer, self.pool
        if any(name.startswith("_") for name in fields):
            raise ValueError("document boosts and custom stored values are not supported in a bulk rebuild")
        writer._check_state()
        schema, perdoc, docnum = writer.schema, writer.perdocwriter, writer.docnum
        names = sorted(fields)
        writer._check_fields(schema, names)
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if name in pool.counts:
                    counts = bigram_counts(value)
                    pool.add_counts(name, docnum, counts)
                    length = sum(counts.values())
                elif field.indexed:
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if field.scorable:
                            length += freq
                        pool.add((name, tbytes, docnum, weight, vbytes))
                perdoc.add_field(name, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdoc.add_column_value(name, column, field.to_column_value(value))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        writer._added = True
        writer.docnum += 1


def _write_postings(writer, pool: _TermPool) -> None:
    """``SegmentWriter._flush_segment`` with the postings of each term written a block at a
    time (the block statistics computed as ``W3PostingsWriter.add_posting`` does)."""
    writer.perdocwriter.close()
    lengths = writer.per_document_reader() if writer.codec.length_stats else None
    fieldwriter = writer.fieldwriter
    schema = writer.schema
    current = None
    column: list | None = None
    for fieldname, tbytes, docnums, weights, values in pool.groups():
        if fieldname != current:
            if current is not None:
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            current = fieldname
            column = lengths.column(fieldname) if isinstance(lengths, _CachedLengths) else None
        fieldwriter.start_term(tbytes)
        if column is None:
            dfl = lengths.doc_field_length if lengths is not None else (lambda d, f: 0)
            doc_lengths = [dfl(d, fieldname) for d in docnums]
        else:
            doc_lengths = [column[d] for d in docnums] if len(docnums) < 2 else list(itemgetter(*docnums)(column))
        _add_block_postings(fieldwriter._postwriter, docnums, weights, values, doc_lengths)
        fieldwriter.finish_term()
    if current is not None:
        fieldwriter.finish_field()
    fieldwriter.close()
    if lengths is not None:
        lengths.close()


def _add_block_postings(postwriter, docnums: list[int], weights: list[float],
                        values: list[bytes | None], lengths: list[int]) -> None:
    """``postwriter.add_posting`` for each posting of one term, a block's worth at a time."""
    limit = postwriter._blocklimit
    n = len(docnums)
    i = 0
    while i < n:
        if len(postwriter._ids) >= limit:
            postwriter._write_block()
        j = min(n, i + limit - len(postwriter._ids))
        postwriter._ids.extend(docnums[i:j])
        block_weights = weights[i:j]
        postwriter._weights.extend(block_weights)
        top = max(block_weights)
        if top > postwriter._maxweight:
            postwriter._maxweight = top
        postwriter._values.extend(v for v in values[i:j] if v)
        block_lengths = [length for length in lengths[i:j] if length]
        if block_lengths:
            low, high = min(block_lengths), max(block_lengths)
            if postwriter._minlength is None or low < postwriter._minlength:
                postwriter._minlength = low
            if high > postwriter._maxlength:
                postwriter._maxlength = high
        i = j


def _bulk_capable(writer) -> bool:
    from whoosh.codec.whoosh3 import W3FieldWriter, W3PostingsWriter
    from whoosh.writing import SegmentWriter

    if type(writer) is not SegmentWriter or type(writer.fieldwriter) is not W3FieldWriter:
        return False
    probe = writer.codec.postings_writer(None)
    return type(probe) is W3PostingsWriter and all(
        hasattr(probe, name) for name in ("_blocklimit", "_new_block", "_write_block", "start_postings"))


class PendingRebuild:
    """A full-rebuild writer of ``SearchIndex.start_rebuild``: add documents, then commit or cancel."""

    def __init__(self, writer, version: int) -> None:
        self._writer = writer
        self.version = version
        self.count = 0
        self._segments: list[Any] | None = None  # set by prepare()
        self._bulk: _BulkDocuments | None = None
        if BULK_REBUILD and _bulk_capable(writer):
            pool = _TermPool({name: field.format.field_boost for name, field in writer.schema.items()
                              if _is_bigram_field(field)})
            writer.pool = pool
            writer._flush_segment = lambda: _write_postings(writer, pool)
            self._bulk = _BulkDocuments(writer, pool)

    def add(self, entry: Any) -> None:
        if self._bulk is not None:
            self._bulk.add(article_document(entry))
        else:
            self._writer.add_document(**article_document(entry))
        self.count += 1

    def add_all(self, entries: Iterable[Any], progress: Callable[[int], None] | None = None) -> None:
        for entry in entries:
            self.add(entry)
            if progress is not None:
                progress(1)

    def prepare(self) -> None:
        """Write the new segment's files (the slow half of a build: sorting and writing the
        postings) without publishing them: readers see the old index until ``commit`` writes
        the table of contents. ``kb import`` does this before its transaction commits, while
        the vectors are still being encoded. Uses Whoosh's own commit steps (SegmentWriter)."""
        writer = self._writer
        if self._segments is not None or not all(
                hasattr(writer, name) for name in ("_merge_segments", "_finalize_segment", "_commit_toc", "_finish")):
            return  # another writer class: commit() does everything
        writer.add_document(id=META_ID, kbv=self.version, schema_version=SCHEMA_VERSION)
        try:
            segments = writer._merge_segments(CLEAR, None, None)
            segments.append(writer._finalize_segment())
        except BaseException:
            writer.cancel()
            raise
        self._segments = segments

    def commit(self) -> None:
        """Publish the rebuilt index (after ``prepare``, only the table of contents is written)."""
        writer = self._writer
        if self._segments is None:
            writer.add_document(id=META_ID, kbv=self.version, schema_version=SCHEMA_VERSION)
            writer.commit(mergetype=CLEAR)
            return
        try:
            writer._commit_toc(self._segments)  # also deletes the files of the old segments
        finally:
            writer._finish()  # releases the writer lock

    def cancel(self) -> None:
        """Drop the build; files of a prepared segment stay unreferenced until the next commit cleans them."""
        if self._segments is None:
            self._writer.cancel()
        else:
            self._writer._finish()


class IndexUnavailable(Exception):
    """The index folder is missing, empty, from another schema or unreadable."""


class SearchIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._ix = None

    # -- opening ----------------------------------------------------------------
    def open(self, retries: int = 5):
        """The opened index; raises IndexUnavailable when it must be rebuilt."""
        last = ""
        for attempt in range(retries):
            failure = None
            with warnings.catch_warnings():
                # Whoosh leaks the file handle of a corrupt TOC; it is closed below.
                warnings.simplefilter("ignore", ResourceWarning)
                try:
                    if not whoosh_index.exists_in(str(self.directory), indexname=INDEX_NAME):
                        failure = "no index"
                    else:
                        ix = whoosh_index.open_dir(str(self.directory), indexname=INDEX_NAME)
                        if set(ix.schema.names()) != set(make_schema().names()):
                            failure = "schema changed"
                        else:
                            self._ix = ix
                            return ix
                except FileNotFoundError as exc:  # a commit in another process swapped the TOC
                    last = str(exc)
                except Exception as exc:  # corrupt files: rebuild
                    failure = f"{type(exc).__name__}: {exc}"
                if failure or last:
                    gc.collect()
            if failure:
                raise IndexUnavailable(failure)
            time.sleep(0.01 * (attempt + 1))
        raise IndexUnavailable(f"cannot open: {last}")

    def searcher(self):
        ix = self._ix or self.open()
        try:
            return ix.searcher()
        except FileNotFoundError:
            return self.open().searcher()

    @staticmethod
    def version_of(searcher) -> int | None:
        """The KB version the searcher's index reflects, or None."""
        doc = searcher.document(id=META_ID)
        if not doc or doc.get("schema_version") != SCHEMA_VERSION:
            return None
        return doc.get("kbv")

    def _create(self):
        shutil.rmtree(self.directory, ignore_errors=True)
        os.makedirs(self.directory, exist_ok=True)
        self._ix = whoosh_index.create_in(str(self.directory), make_schema(), indexname=INDEX_NAME)
        return self._ix

    def _writer(self, ix, limitmb: int = WRITER_LIMIT_MB):
        writer = ix.writer(timeout=WRITER_TIMEOUT, delay=WRITER_DELAY, limitmb=limitmb)
        _cache_lengths(writer)
        return writer

    @staticmethod
    def _meta(writer, version: int) -> None:
        writer.update_document(id=META_ID, kbv=version, schema_version=SCHEMA_VERSION)

    # -- writing ----------------------------------------------------------------
    def rebuild(self, entries: Iterable[Any], version: int,
                progress: Callable[[int], None] | None = None, skip_if_current: bool = False) -> int | None:
        """Replace the whole index with ``entries`` (one commit); returns the count.

        With ``skip_if_current``, a rebuild that finds, once it holds the writer lock, that the
        index already reflects ``version`` (another process, e.g. ``kb import``, built it while
        this one waited) writes nothing and returns None."""
        pending = self.start_rebuild(version, skip_if_current=skip_if_current)
        if pending is None:
            return None
        try:
            pending.add_all(entries, progress)
        except BaseException:
            pending.cancel()
            raise
        pending.commit()
        return pending.count

    def start_rebuild(self, version: int, skip_if_current: bool = False) -> PendingRebuild | None:
        """A full rebuild to ``version`` that holds the writer lock until ``commit``/``cancel``:
        documents are added (analysed and pooled in memory) before the caller's database
        transaction commits, and the index is committed after it (``kb import``). None when
        ``skip_if_current`` and the index already reflects ``version``."""
        try:
            ix = self.open()
        except IndexUnavailable:
            ix = self._create()
        writer = self._writer(ix, REBUILD_LIMIT_MB)
        if skip_if_current:
            try:
                with writer.searcher() as searcher:
                    current = self.version_of(searcher)
            except BaseException:
                writer.cancel()
                raise
            if current is not None and current >= version:
                writer.cancel()
                return None
        return PendingRebuild(writer, version)

    def apply(self, updates: dict[str, Any | None], version: int) -> bool:
        """Replace (entry) or delete (None) the given articles and set the version.

        Returns False when another process already brought the index to ``version``."""
        ix = self._ix or self.open()
        writer = self._writer(ix)
        try:
            with writer.searcher() as searcher:
                current = self.version_of(searcher)
            if current is not None and current >= version:
                writer.cancel()
                return False
            for external_id, entry in updates.items():
                if entry is None:
                    writer.delete_by_term("id", external_id)
                else:
                    writer.update_document(**article_document(entry))
            self._meta(writer, version)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        return True

    def close(self) -> None:
        if self._ix is not None:
            self._ix.close()
            self._ix = None


def build_query(bigram_terms: dict[str, list[tuple[str, float]]] | list[tuple[str, float]],
                word_terms: Sequence[tuple[str, float]] = ()) -> Or | None:
    """An OR of analysed (term, weight) pairs over the fields, with the field boosts.

    ``bigram_terms`` is one list for every bigram field, or a list per field."""
    clauses = []
    for field, boost in field_boosts().items():
        if field in WORD_FIELDS:
            terms = word_terms
        elif isinstance(bigram_terms, dict):
            terms = bigram_terms.get(field, [])
        else:
            terms = bigram_terms
        for term, weight in terms:
            clauses.append(Term(field, term, boost=boost * weight))
    if not clauses:
        return None
    query = Or(clauses)
    query.matcher_type = OR_MATCHER
    return query


# BM25F parameters of Whoosh's default weighting (``scoring.BM25F()``), which
# ``LexicalScorer`` reproduces.
BM25_B = 0.75
BM25_K1 = 1.2


class LexicalScorer:
    """Whoosh's BM25F over an ``Or`` of boosted terms, computed with numpy from the postings.

    Whoosh evaluates an ``Or`` of ~100 term clauses through a tree of Python matchers with
    block-quality skipping: 90% of a search at 10,000 articles (p95 55 ms lexical only).
    This reads each clause's posting list once (one block at a time), scores it with the
    same formula, statistics and field lengths as ``scoring.BM25FScorer``, sums per
    document and takes the top N with ``argpartition``; ties go to the lower document
    number, as in Whoosh's collector. Per-searcher data (field lengths, live documents,
    filter masks) is computed on first use and kept with the searcher. Segments never
    change, so their field lengths can be shared between scorers through
    ``segment_lengths`` (keyed by segment id and field): after an edit only the new
    segment's lengths are read (10,000 articles: 70 ms -> <1 ms). ``segment_terms`` does the
    same for each segment's terms and their document frequencies (the pinyin vocabulary).
    """

    def __init__(self, searcher, segment_lengths: dict[tuple[str, str], np.ndarray] | None = None,
                 segment_terms: dict[tuple[str, str], dict[bytes, int]] | None = None) -> None:
        self.searcher = searcher
        self.size = searcher.doc_count_all()
        self._leaves = [(leaf.reader(), offset) for leaf, offset in searcher.leaf_searchers()]
        self._segment_lengths = {} if segment_lengths is None else segment_lengths
        current = {_segment_id(reader) for reader, _offset in self._leaves}
        for key in [k for k in self._segment_lengths if k[0] not in current]:
            self._segment_lengths.pop(key, None)  # merged away
        self._segment_terms = {} if segment_terms is None else segment_terms
        for key in [k for k in self._segment_terms if k[0] not in current]:
            self._segment_terms.pop(key, None)
        self._lengths: dict[str, np.ndarray] = {}
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._live: np.ndarray | None = None
        self._lock = threading.Lock()

    # -- per-searcher data ----------------------------------------------------------
    def _field_lengths(self, field: str) -> np.ndarray:
        lengths = self._lengths.get(field)
        if lengths is None:
            lengths = np.zeros(self.size, dtype=np.float64)
            for reader, offset in self._leaves:
                count = reader.doc_count_all()
                key = (_segment_id(reader), field)
                segment = self._segment_lengths.get(key) if key[0] else None
                if segment is None or len(segment) != count:
                    segment = np.array([reader.doc_field_length(d, field, 1) or 0 for d in range(count)],
                                       dtype=np.float64)
                    if key[0]:
                        self._segment_lengths[key] = segment
                lengths[offset:offset + count] = segment
            self._lengths[field] = lengths
        return lengths

    def live(self) -> np.ndarray:
        if self._live is None:
            live = np.ones(self.size, dtype=bool)
            for reader, offset in self._leaves:
                if reader.has_deletions():
                    count = reader.doc_count_all()
                    live[offset:offset + count] = False
                    live[np.fromiter(reader.all_doc_ids(), dtype=np.int64) + offset] = True
            self._live = live
        return self._live

    def mask(self, field: str, value: str) -> np.ndarray:
        """Live documents holding the ``field:value`` term (the status and category filters)."""
        key = (field, value)
        with self._lock:
            found = self._masks.get(key)
            if found is None:
                found = np.zeros(self.size, dtype=bool)
                found[self.postings(field, value)[0]] = True
                found &= self.live()
                self._masks[key] = found
        return found

    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, weights) of a term, deleted documents included."""
        ids: list[int] = []
        weights: list[float] = []
        for reader, offset in self._leaves:
            if (field, term) not in reader:
                continue
            matcher = reader.postings(field, term)
            matcher = getattr(matcher, "child", matcher)  # deletions are masked by the caller
            start = len(ids)
            _read_postings(matcher, ids, weights)
            if offset:
                ids[start:] = [i + offset for i in ids[start:]]
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64)

    def vocabulary(self, fields: Iterable[str]) -> list[tuple[str, int]]:
        """(term, document frequency) of every term in ``fields`` (the pinyin vocabulary)."""
        # Segment by segment, summing the frequencies: the same list as the whole index's reader
        # gives, whose term-by-term lookup in every segment cost 0.3-1.4 s per new searcher once a
        # few edits had each added a segment (and the next search after an edit waited for it).
        # A segment never changes, so its terms are read once and kept (``segment_terms``).
        out: list[tuple[str, int]] = []
        with self._lock:
            for name in fields:
                counts: dict[bytes, int] = {}
                for reader, _offset in self._leaves:
                    for term, df in self._terms_of(reader, name).items():
                        counts[term] = counts.get(term, 0) + df
                out.extend((term.decode("utf-8", "replace"), counts[term]) for term in sorted(counts))
        return out

    def _terms_of(self, reader, name: str) -> dict[bytes, int]:
        key = (_segment_id(reader), name)
        terms = self._segment_terms.get(key) if key[0] else None
        if terms is None:
            terms = {}
            if name in reader.indexed_field_names():
                for term, info in reader.iter_field(name):
                    terms[term if isinstance(term, bytes) else str(term).encode("utf-8")] = info.doc_frequency()
            if key[0]:
                self._segment_terms[key] = terms
        return terms

    # -- scoring ----------------------------------------------------------------------
    def scores(self, clauses: list[tuple[str, str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """(score per document, matched mask) of the OR of (field, term, boost) clauses."""
        searcher = self.searcher
        total = np.zeros(self.size, dtype=np.float64)
        matched = np.zeros(self.size, dtype=bool)
        with self._lock:
            for field, term, boost in clauses:
                ids, tf = self.postings(field, term)
                if not len(ids):
                    continue
                idf = searcher.idf(field, term)
                avgfl = searcher.avg_field_length(field) or 1
                dl = self._field_lengths(field)[ids]
                total[ids] += boost * idf * ((tf * (BM25_K1 + 1))
                                             / (tf + BM25_K1 * ((1 - BM25_B) + BM25_B * dl / avgfl)))
                matched[ids] = True
            matched &= self.live()
        return total, matched

    def top(self, clauses: list[tuple[str, str, float]], limit: int,
            allow: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The best ``limit`` (document number, score) pairs, best first."""
        total, matched = self.scores(clauses)
        if allow is not None:
            matched &= allow
        docs = np.flatnonzero(matched)
        if len(docs) > limit:
            # Keep everything tied with the limit-th score so the tie-break below is exact.
            cut = np.partition(total[docs], len(docs) - limit)[len(docs) - limit]
            docs = docs[total[docs] >= cut]
        order = np.lexsort((docs, -total[docs]))[:limit]
        return [(int(docs[i]), float(total[docs[i]])) for i in order]

    def search(self, clauses: list[tuple[str, str, float]], limit: int,
               allow: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The best ``limit`` (stored id, score) pairs, best first."""
        top = self.top(clauses, limit, allow)
        with self._lock:
            return [(self.searcher.stored_fields(docnum).get("id"), score) for docnum, score in top]


def _segment_id(reader) -> str:
    segment = getattr(reader, "segment", None)
    segment = segment() if callable(segment) else None
    return segment.segment_id() if segment is not None else ""


def _read_postings(matcher, ids: list[int], weights: list[float]) -> None:
    """Append a leaf matcher's postings, a block at a time when it is Whoosh 3's matcher."""
    if all(hasattr(matcher, name) for name in ("_read_ids", "_read_weights", "_next_block", "_blocklength")):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids.extend(matcher._ids[matcher._i:matcher._blocklength])
            weights.extend(matcher._weights[matcher._i:matcher._blocklength])
            matcher._next_block()
        return
    while matcher.is_active():  # any other codec: one posting at a time
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()


def clauses_of(bigram_terms: dict[str, list[tuple[str, float]]] | list[tuple[str, float]],
               word_terms: Sequence[tuple[str, float]] = ()) -> list[tuple[str, str, float]]:
    """The (field, term, boost) clauses of ``build_query`` for ``LexicalScorer``."""
    query = build_query(bigram_terms, word_terms)
    if query is None:
        return []
    return [(clause.fieldname, clause.text, clause.boost) for clause in query.subqueries]
