"""Full index rebuilds written in bulk (issue 19, import speed): the same index as Whoosh's own
``add_document`` + ``commit``: every term, posting, block statistic, field length and stored
field, and byte for byte the same term and posting files."""

import json
from collections import Counter
from pathlib import Path

import pytest

from knowledge_base import index as kb_index
from knowledge_base.analysis import BigramTokenizer, bigram_counts
from knowledge_base.entry import Entry
from tests.kb.helpers import BAD_INPUT, NASTY_QUERIES, record

SEED = Path(__file__).resolve().parents[2] / "seed_data" / "kb" / "articles"


def _seed_records():
    out = []
    for path in sorted(SEED.glob("*.jsonl")):
        out.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return out


def _records():
    """The seed articles, odd ones (traditional script, letters, empty and huge fields, bad
    input), and 300 articles sharing the term 鳌鲲 (posting lists over several blocks, one of
    exactly 128 postings: Whoosh's block limit)."""
    out = []
    for r in _seed_records():
        out.append({"plain_answer": "", "tags": [], "questions": [], **r})
    odd = [*NASTY_QUERIES, *BAD_INPUT.values()]
    for i, text in enumerate(odd):
        out.append(record(f"ODD-{i:03d}", text[:200] or "空", questions=[text[:300], "信用卡掛失後補卡"],
                          answer=text, plain_answer="ＡＴＭ取款 ATM 3.5% v1.2_beta", tags=["卡", text[:20]],
                          status="草稿" if i % 2 else "已发布"))
    for i in range(300):
        questions = ["鳌鲲年费怎么收"] + (["鹦鹉"] if i < 128 else [])
        out.append(record(f"FEE-{i:03d}", f"年费{i}", questions=questions, answer="年费" * (i % 7 + 1)))
    return out


def _build(directory: Path, records, bulk: bool, monkeypatch) -> kb_index.SearchIndex:
    monkeypatch.setattr(kb_index, "BULK_REBUILD", bulk)
    index = kb_index.SearchIndex(directory)
    pending = index.start_rebuild(7)
    assert (pending._bulk is not None) == bulk
    for r in sorted(records, key=lambda r: r["id"]):
        pending.add(Entry.from_record(r))
    pending.prepare()
    pending.commit()
    return index


def _contents(index: kb_index.SearchIndex):
    out = {}
    with index.open().searcher() as searcher:
        reader = searcher.reader()
        fields = [name for name, _f in reader.schema.items()]
        out["docs"] = reader.doc_count_all()
        out["stored"] = [reader.stored_fields(d) for d in range(reader.doc_count_all())]
        out["lengths"] = {f: [reader.doc_field_length(d, f) for d in range(reader.doc_count_all())] for f in fields}
        postings = {}
        for field, term in reader.all_terms():
            info = reader.term_info(field, term)
            matcher = reader.postings(field, term)
            items = []
            while matcher.is_active():
                items.append((matcher.id(), matcher.weight(), matcher.value()))
                matcher.next()
            postings[(field, term)] = (info.doc_frequency(), info.weight(), info.min_length(), info.max_length(),
                                       info.max_weight(), items)
        out["postings"] = postings
        segment = reader.segment()
        storage = index.open().storage
        if segment.compound:
            storage = segment.open_compound_file(storage)
        out["files"] = {ext: segment.open_file(storage, ext).read()
                        for ext in (".trm", ".pst", ".fln") if _has(segment, storage, ext)}
    return out


def _has(segment, storage, ext):
    try:
        segment.open_file(storage, ext).close()
        return True
    except Exception:
        return False


def test_bulk_rebuild_writes_the_same_index_as_whoosh(tmp_path, monkeypatch):
    records = _records()
    slow = _contents(_build(tmp_path / "whoosh", records, False, monkeypatch))
    fast = _contents(_build(tmp_path / "bulk", records, True, monkeypatch))
    assert fast["docs"] == slow["docs"] == len(records) + 1  # and the meta document
    assert fast["stored"] == slow["stored"]
    assert fast["lengths"] == slow["lengths"]
    assert fast["postings"].keys() == slow["postings"].keys()
    assert fast["postings"] == slow["postings"]
    assert slow["postings"][("questions", "鳌鲲".encode())][0] == 300
    assert slow["postings"][("questions", "鹦鹉".encode())][0] == 128
    assert {".trm", ".pst"} <= slow["files"].keys()
    assert fast["files"] == slow["files"]


def test_bigram_counts_are_the_tokenizers_terms():
    texts = [r["title"] + "\n" + "\n".join(r.get("questions", [])) + r["answer"] for r in _records()]
    texts += ["", "a", "卡", "信用卡", "ab12.cd_ef 卡", "x" * 100, "帳單", "ＡＴＭ", "１２３"]
    tokenizer = BigramTokenizer()
    for text in texts:
        assert bigram_counts(text) == Counter(t.text for t in tokenizer(text)), text[:40]


def test_the_bulk_writer_refuses_what_it_does_not_write_like_whoosh(tmp_path):
    pending = kb_index.SearchIndex(tmp_path / "ix").start_rebuild(1)
    try:
        with pytest.raises(ValueError):
            pending._bulk.add({"id": "X", "title": "卡", "_boost": 2.0})
    finally:
        pending.cancel()


def test_the_bulk_pool_refuses_postings_out_of_document_order():
    pool = kb_index._TermPool({"title": 1.0})
    pool.add(("id", b"a", 2, 1.0, None))
    with pytest.raises(ValueError):
        pool.add(("id", b"a", 1, 1.0, None))
    with pytest.raises(ValueError):
        pool.add(("title", b"a", 3, 1.0, None))
