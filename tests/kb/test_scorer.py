"""The numpy BM25F (index.LexicalScorer) must rank exactly like Whoosh's own BM25F."""

import pytest
from whoosh.query import And, Term

from knowledge_base import articles
from knowledge_base import index as kb_index
from knowledge_base.categories import PUBLISHED
from knowledge_base.search import KnowledgeBase, normalise_query, query_terms
from tests.kb.helpers import save

QUERIES = ["信用卡账单怎么查", "银行卡丢了怎么办", "星河联名卡", "理财赎回", "转账限额", "密码忘记了",
           "月光宝盒收益", "ATM 吞卡", "卡"]


def _whoosh(searcher, query, filters, limit):
    hits = searcher.search(query, limit=limit, filter=And(filters) if filters else None,
                           terms=False, optimize=False)  # exact collection
    return [(h["id"], h.score) for h in hits]


@pytest.fixture
def changed_kb(runtime):
    """The seeded KB after incremental changes: several segments and deleted documents."""
    kb = KnowledgeBase(runtime.settings.index_dir, runtime.session_factory, use_model=False)
    kb.sync()
    save(runtime, "T-STAR", "星河联名卡账单如何查询", category="信用卡",
         questions=["星河卡这个月要还多少", "星河联名卡的账单在哪看"],
         answer="登录手机银行，进入**星河联名卡**页面即可查看本期信用卡账单。")
    kb.sync()
    save(runtime, "T-MOON", "月光宝盒理财产品说明", category="理财", questions=["月光宝盒收益怎么算"],
         answer="月光宝盒是一款 R2 级理财产品，赎回 T+1 到账。", status="草稿")
    save(runtime, "T-STAR", "星河联名卡账单查询与还款", category="信用卡",
         questions=["星河卡账单", "星河联名卡信用卡账单"], answer="在手机银行查看星河联名卡的账单。")
    with runtime.transaction() as s:
        victim = next(a.external_id for a in articles.list_articles(s) if a.category == "借记卡")
        articles.delete_article(s, runtime.clock, victim, by="test")
    kb.sync()
    yield kb
    kb.close()


def test_scorer_ranks_like_whoosh_bm25f(changed_kb):
    kb = changed_kb
    searcher, scorer = kb.current_searcher, kb.lexical_scorer
    assert not scorer.live().all()  # the replaced and deleted articles are still in the postings
    cases = 0
    for text in QUERIES:
        bigram_terms, word_terms, _ = query_terms(normalise_query(text), kb.synonyms())
        query = kb_index.build_query(bigram_terms, word_terms)
        clauses = kb_index.clauses_of(bigram_terms, word_terms)
        assert len(clauses) == len(query.subqueries) and clauses
        for filters, allow in [
            ([], None),
            ([Term("status", PUBLISHED)], scorer.mask("status", PUBLISHED)),
            ([Term("status", PUBLISHED), Term("category", "信用卡")],
             scorer.mask("status", PUBLISHED) & scorer.mask("category", "信用卡")),
        ]:
            for limit in (1, 7, 50):
                expected = _whoosh(searcher, query, filters, limit)
                got = scorer.search(clauses, limit, allow)
                assert [i for i, _ in got] == [i for i, _ in expected], (text, filters, limit)
                assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9)
                cases += bool(expected)
    assert cases > 60


def test_scorer_skips_unpublished_deleted_and_absent(changed_kb):
    scorer = changed_kb.lexical_scorer
    clauses = [("title", "月光", 3.0), ("title", "宝盒", 3.0)]
    assert [i for i, _ in scorer.search(clauses, 10)] == ["T-MOON"]  # a draft, found without a filter
    assert scorer.search(clauses, 10, scorer.mask("status", PUBLISHED)) == []
    assert scorer.search([("title", "不存在的词", 1.0)], 10) == []
    assert scorer.search([], 10) == []
    star = scorer.search([("title", "星河", 1.0)], 10)
    assert [i for i, _ in star] == ["T-STAR"]  # the replaced version is not a second hit


def test_the_vocabulary_read_segment_by_segment_is_the_whole_readers(changed_kb, runtime):
    """The pinyin vocabulary (term, document frequency) summed over the segments, each read once
    and kept, equals what the whole index's reader lists, after edits that added segments and
    deleted documents; a new searcher after one more edit reads only the segment it adds."""
    kb = changed_kb

    def whole(scorer):
        reader = scorer.searcher.reader()
        return [(t.decode("utf-8") if isinstance(t, bytes) else t, info.doc_frequency())
                for name in kb_index.BIGRAM_FIELDS for t, info in reader.iter_field(name)]

    scorer = kb.lexical_scorer
    assert len(scorer._leaves) > 1
    assert scorer.vocabulary(kb_index.BIGRAM_FIELDS) == whole(scorer)
    kept = set(kb._segment_terms)
    save(runtime, "T-NEW", "云闪付绑卡失败怎么办", category="借记卡", questions=["云闪付绑不上卡"],
         answer="请核对预留手机号后重试。")
    kb.sync()
    scorer = kb.lexical_scorer
    read: list[str] = []
    original = type(scorer)._terms_of

    def counting(self, reader, name):
        if (kb_index._segment_id(reader), name) not in self._segment_terms:
            read.append(kb_index._segment_id(reader))
        return original(self, reader, name)

    type(scorer)._terms_of = counting  # type: ignore[method-assign]
    try:
        vocabulary = scorer.vocabulary(kb_index.BIGRAM_FIELDS)
    finally:
        type(scorer)._terms_of = original  # type: ignore[method-assign]
    assert vocabulary == whole(scorer)
    assert any(t == "云闪" for t, _ in vocabulary)  # the new article's terms are in
    current = {kb_index._segment_id(r) for r, _ in scorer._leaves}
    assert set(read) <= current - {k[0] for k in kept}  # only segments not read before
    assert len(set(read)) <= 2


def test_the_searchers_pinyin_vocabulary_after_an_edit_is_the_one_built_afresh(changed_kb, runtime):
    """A new searcher's pinyin vocabulary is built from the previous one (only the changed
    bigrams' buckets sorted again): it must equal the vocabulary built afresh."""
    from knowledge_base.pinyin import PinyinVocab

    kb = changed_kb
    before = kb._vocab_for(kb.lexical_scorer)
    save(runtime, "T-YSF", "云闪付绑卡失败怎么办", category="借记卡", questions=["云闪付绑不上卡"],
         answer="请核对预留手机号后重试。")
    kb.sync()
    scorer = kb.lexical_scorer
    vocab = kb._vocab_for(scorer)
    afresh = PinyinVocab(scorer.vocabulary(kb_index.BIGRAM_FIELDS))
    assert vocab is not before and "云闪" in vocab.known and "云闪" not in before.known
    assert vocab.known == afresh.known and vocab.by_key == afresh.by_key
