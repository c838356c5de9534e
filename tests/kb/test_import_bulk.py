"""``kb import`` in bulk (issue 19): same history as one-by-one saves, one index build, progress bar."""

import pytest
from sqlalchemy import func, select

from knowledge_base import articles, embedding
from knowledge_base import index as kb_index
from knowledge_base.models import Article, KbChange
from knowledge_base.search import KnowledgeBase, get_kb
from tests.kb.helpers import ids, jsonl, record, save


def _article(runtime, external_id):
    with runtime.transaction() as s:
        a = s.scalar(select(Article).where(Article.external_id == external_id))
        return None if a is None else (a.version, a.vectors, a.title)


def _versions(runtime, external_id):
    with runtime.transaction() as s:
        return [(v.version, v.snapshot["title"]) for v in articles.article_versions(s, external_id)]


@pytest.mark.db
def test_bulk_import_keeps_versions_snapshots_and_vectors(runner, runtime, tmp_path):
    save(runtime, "B-1", "旧标题一", questions=["问法甲"])
    save(runtime, "B-2", "文章二", questions=["问法乙"])
    save(runtime, "B-3", "将被删除")
    save(runtime, "B-4", "只改答案", questions=["问法丁"])
    b2_vectors, b4_vectors = _article(runtime, "B-2")[1], _article(runtime, "B-4")[1]
    with runtime.transaction() as s:
        changes_before = s.scalar(select(func.count(KbChange.id)))
        version_before = articles.get_version(s)
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(record("B-1", "新标题一", questions=["问法甲"]),
                            record("B-2", "文章二", questions=["问法乙"]),
                            record("B-4", "只改答案", questions=["问法丁"], answer="新的答案。"),
                            record("B-5", "新文章", questions=["问法戊"])), encoding="utf-8")
    out = runner.invoke(args=["kb", "import", "--replace", str(source)])
    assert out.exit_code == 0, out.output
    assert "新增 1 篇，更新 2 篇，未变 1 篇" in out.output
    assert "删除" in out.output and _article(runtime, "B-3") is None

    version, vectors, title = _article(runtime, "B-1")
    assert (version, title) == (2, "新标题一")
    assert _versions(runtime, "B-1") == [(1, "旧标题一")]  # the state before the import is kept
    assert embedding.from_bytes(vectors).shape == (3, embedding.DIM)  # title, question, answer head
    assert _article(runtime, "B-2")[:2] == (1, b2_vectors)  # unchanged: not rewritten
    b4_version, b4_after, _t = _article(runtime, "B-4")
    assert b4_version == 2 and b4_after != b4_vectors  # the answer's head is embedded: re-encoded
    assert _versions(runtime, "B-3") == [(1, "将被删除")]
    assert embedding.from_bytes(_article(runtime, "B-5")[1]).shape == (3, embedding.DIM)
    with runtime.transaction() as s:
        assert articles.get_version(s) == version_before + 1
        new = list(s.scalars(select(KbChange).where(KbChange.id > 0).order_by(KbChange.id)))[changes_before:]
        assert [(c.kind, c.version) for c in new] == [("full", version_before + 1)]

    # Deleted, then imported again: numbering goes on after the kept snapshot.
    source.write_text(jsonl(record("B-3", "回来了")), encoding="utf-8")
    assert runner.invoke(args=["kb", "import", str(source)]).exit_code == 0
    assert _article(runtime, "B-3")[0] == 2


@pytest.mark.db
def test_import_builds_the_index_once_and_servers_do_not_rebuild(runner, runtime, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(record("IDX-1", "彩虹联名卡的年费怎么收", questions=["彩虹卡年费多少"])), encoding="utf-8")
    assert runner.invoke(args=["kb", "import", str(source)]).exit_code == 0
    with runtime.transaction() as s:
        version = articles.get_version(s)
    with kb_index.SearchIndex(runtime.settings.index_dir).open().searcher() as searcher:
        assert kb_index.SearchIndex.version_of(searcher) == version  # built by the import itself
    server = KnowledgeBase(runtime.settings.index_dir, runtime.session_factory)  # a new process
    try:
        assert ids(server.search("彩虹卡年费"))[:1] == ["IDX-1"]
        assert server.rebuilds == 0
    finally:
        server.close()


@pytest.mark.db
def test_a_rebuild_waiting_for_the_import_skips_when_the_index_is_current(runtime):
    index = kb_index.SearchIndex(runtime.settings.index_dir)
    with runtime.transaction() as s:
        version = articles.get_version(s)
    with index.open().searcher() as searcher:
        assert kb_index.SearchIndex.version_of(searcher) == version
    assert index.rebuild([], version, skip_if_current=True) is None  # nothing written
    with index.open().searcher() as searcher:
        assert searcher.doc_count() > 100  # the seed articles are still there
    assert index.rebuild([], version + 1, skip_if_current=True) == 0  # behind: rebuilt
    index.close()


@pytest.mark.db
def test_a_failed_import_leaves_database_and_index_as_they_were(runner, runtime, tmp_path, monkeypatch):
    kb = get_kb(runtime)
    assert ids(kb.search("挂失"))
    with runtime.transaction() as s:
        version = articles.get_version(s)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(articles.BulkImport, "_write_articles", broken)
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(record("FAIL-1", "不该出现的文章")), encoding="utf-8")
    out = runner.invoke(args=["kb", "import", "--replace", str(source)])
    assert out.exit_code != 0
    monkeypatch.undo()
    assert _article(runtime, "FAIL-1") is None
    with runtime.transaction() as s:
        assert articles.get_version(s) == version
    with kb_index.SearchIndex(runtime.settings.index_dir).open().searcher() as searcher:
        assert kb_index.SearchIndex.version_of(searcher) == version
        assert searcher.document(id="FAIL-1") is None
    # The writer lock was released: the next import writes the index.
    assert runner.invoke(args=["kb", "import", str(source)]).exit_code == 0
    assert ids(get_kb(runtime).search("不该出现的文章"))[:1] == ["FAIL-1"]


@pytest.mark.db
def test_progress_bar_shows_the_stages_and_reaches_100(runner, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(*[record(f"P-{i}", f"进度条文章{i}", questions=[f"问法{i}"]) for i in range(30)]),
                      encoding="utf-8")
    out = runner.invoke(args=["kb", "import", "--progress", str(source)])
    assert out.exit_code == 0, out.output
    for stage in articles.IMPORT_STAGES:
        assert stage in out.stderr, out.stderr
    assert "100%" in out.stderr and "  0%" in out.stderr, out.stderr
    assert "导入完成" in out.stdout and "%" not in out.stdout
    # Not a terminal and not forced: no bar at all.
    quiet = runner.invoke(args=["kb", "import", str(source)])
    assert quiet.exit_code == 0, quiet.output
    assert "%" not in quiet.stderr and "读取" not in quiet.stderr, quiet.stderr
