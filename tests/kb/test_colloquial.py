"""Everyday banking wording read as article terms (knowledge_base.colloquial, issue 19 point 3)."""

from __future__ import annotations

import pytest

from knowledge_base import colloquial
from knowledge_base import search as kb_search
from knowledge_base.search import KnowledgeBase, Synonyms, prepare
from knowledge_base.text import normalise_query
from tests.kb.helpers import BAD_INPUT, ids, save


def test_descriptions_become_article_terms():
    assert colloquial.expand(normalise_query("取款机把我的卡吃进去了")) == ["吞卡"]
    assert "芯片" in colloquial.expand("卡上没有那个金色的小方块")
    assert colloquial.expand("atm上钱没吐出来，卡里却扣了") == ["未出钞", "扣款"]
    assert colloquial.expand("我想找个真人聊") == ["人工客服"]
    # A term already in the query is not added again; plain product wording adds nothing.
    assert colloquial.expand("atm吞卡怎么办") == []
    assert colloquial.expand("信用卡怎么还款") == [] and colloquial.expand("") == []
    for bad in BAD_INPUT.values():
        colloquial.expand(normalise_query(bad))  # never raises


def test_added_terms_are_weighted_below_the_query():
    prepared = prepare(normalise_query("取款机把我的卡吃进去了"), Synonyms([]))
    assert prepared.colloquial == ["吞卡"]
    assert dict(prepared.bigram_terms)["吞卡"] == kb_search.COLLOQUIAL_WEIGHT < 1.0
    assert dict(prepared.bigram_terms)["取款"] == 1.0
    # Trainer synonyms come first: a term a synonym group already adds is not added twice.
    prepared = prepare(normalise_query("取款机把我的卡吃进去了"), Synonyms([["取款机", "吞卡"]]))
    assert prepared.expansion == ["吞卡"] and prepared.colloquial == []


@pytest.fixture
def lexical(runtime):
    """Keyword search only, so that what finds the article is the lexical step under test."""
    kb = KnowledgeBase(runtime.settings.index_dir, runtime.session_factory, use_model=False)
    yield kb
    kb_search.USE_COLLOQUIAL = True
    kb.close()


@pytest.mark.parametrize("query, target", [
    ("取款机把我的卡吃进去了，一直不出来", "DC-006"),        # ATM吞卡怎么办
    ("我那张卡上没有金色的小方块，好多机器刷不了", "DC-005"),  # 磁条卡如何更换为芯片卡
])
def test_a_description_finds_the_article_only_through_the_lexicon(lexical, query, target):
    """On the seed KB's real index: the description shares no bigram with the article's title."""
    kb_search.USE_COLLOQUIAL = False
    lexical.clear_cache()
    assert ids(lexical.search(query, limit=3))[:1] != [target]
    kb_search.USE_COLLOQUIAL = True
    lexical.clear_cache()
    assert ids(lexical.search(query, limit=3))[:1] == [target]


def test_synonyms_still_work_with_the_lexicon(lexical, runtime):
    save(runtime, "P-JADE", "翡翠宝理财赎回到账时间", category="理财", answer="翡翠宝赎回后两个工作日到账。")
    lexical.sync()
    synonyms = Synonyms([["翡翠宝", "绿宝盒"]])
    prepared = lexical.prepare(normalise_query("绿宝盒理财卖掉了钱咋还没到账"), synonyms)
    assert prepared.expansion == ["翡翠宝"] and "赎回" in prepared.colloquial  # both steps
    assert "P-JADE" in ids(lexical.search("绿宝盒理财卖掉了钱咋还没到账", synonyms=synonyms))[:3]
    assert "P-JADE" not in ids(lexical.search("绿宝盒理财卖掉了钱咋还没到账"))[:3]  # the synonym is what finds it
