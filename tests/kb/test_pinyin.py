"""Homophone and pinyin-letter corrections (knowledge_base.pinyin) and bad input (issue 19)."""

from __future__ import annotations

import pytest

from knowledge_base import pinyin
from knowledge_base import search as kb_search
from knowledge_base.search import KnowledgeBase, Synonyms, get_kb, prepare
from tests.kb.helpers import BAD_INPUT, ids, save


@pytest.fixture
def kb(runtime):
    return get_kb(runtime)


@pytest.fixture
def amber(runtime):
    """Fictional products with unusual names, so that the corrections are predictable."""
    save(runtime, "P-AMBER", "琥珀存单提前支取", category="理财", questions=["琥珀存单能不能提前取出来"],
         answer="琥珀存单提前支取按活期计息。")
    save(runtime, "P-CORAL", "珊瑚信用卡还款方式", category="信用卡", questions=["珊瑚卡怎么还钱"],
         answer="珊瑚信用卡可以通过手机银行还款。")


def test_fuzzy_key_merges_the_ime_confusions():
    assert pinyin.fuzzy("zhi") == pinyin.fuzzy("zi") == "zi"
    assert pinyin.fuzzy("chang") == pinyin.fuzzy("can") == "can"
    assert pinyin.fuzzy("shi") == pinyin.fuzzy("si")
    assert pinyin.fuzzy("nan") == pinyin.fuzzy("lan") == pinyin.fuzzy("lang")
    assert pinyin.fuzzy("ying") == pinyin.fuzzy("yin") and pinyin.fuzzy("feng") == pinyin.fuzzy("fen")
    assert pinyin.fuzzy("long") == "long"  # ong is not ang/eng/ing
    assert pinyin.fuzzy("hu") != pinyin.fuzzy("fu")  # h/f kept apart
    assert set(pinyin.bigram_keys("还款")) >= {"hai kuan", "huan kuan"}  # every reading of 还
    assert "gua si" in set(pinyin.bigram_keys("挂失")) & set(pinyin.bigram_keys("挂师"))
    assert pinyin.bigram_keys("卡") == [] and pinyin.bigram_keys("a卡") == []


def test_letters_are_cut_into_syllables():
    assert pinyin.syllables("xinyongka") == ["xin", "yong", "ka"]
    assert pinyin.syllables("guashi") == ["gua", "shi"]
    assert pinyin.syllables("xian") == ["xian"]  # longest match first
    assert pinyin.syllables("qqq") is None and pinyin.syllables("") is None
    assert pinyin.syllables("a" * 500) is None  # bounded


def test_only_unknown_bigrams_are_corrected():
    vocab = pinyin.PinyinVocab([("还款", 5), ("换卡", 3), ("挂失", 2), ("信用", 9), ("用卡", 9), ("atm", 4)])
    found = pinyin.corrections(["换款", "还款", "挂师"], ["atm", "xinyongka", "qqq"], vocab)
    assert [(c.source, c.replacements, c.kind) for c in found] == [
        ("换款", ["还款"], "homophone"), ("挂师", ["挂失"], "homophone"),
        ("xinyongka", ["信用", "用卡"], "pinyin")]
    assert pinyin.corrected_text("信用卡换款 xinyongka", found) == "信用卡还款 信用卡"


def test_homophones_and_pinyin_find_the_article(runtime, amber):
    lexical = KnowledgeBase(runtime.settings.index_dir, runtime.session_factory, use_model=False)
    try:
        for query in ("湖泊存单提前支取", "琥珀存单提前只取", "珊瑚信用卡换款", "hupo cundan", "shanhu"):
            assert ids(lexical.search(query))[:1] == ["P-AMBER" if "存单" in query or "hupo" in query
                                                      else "P-CORAL"], query
        kb_search.USE_PINYIN = False
        lexical.clear_cache()
        assert "P-AMBER" not in ids(lexical.search("hupo cundan"))  # the feature is what finds it
        assert ids(lexical.search("湖泊存单提前支取"))[:1] == ["P-AMBER"]  # other bigrams still match
    finally:
        kb_search.USE_PINYIN = True
        lexical.close()


def test_clean_queries_are_left_alone(kb, amber):
    kb.sync()
    prepared = kb.prepare("琥珀存单提前支取")
    assert prepared.corrections == [] and prepared.dense_text == ""
    assert {w for _t, w in prepared.bigram_terms} <= {1.0, kb_search.SYNONYM_WEIGHT}  # no corrected term


def test_corrections_and_synonyms_work_together(runtime, amber):
    kb = KnowledgeBase(runtime.settings.index_dir, runtime.session_factory, use_model=False)
    try:
        kb.sync()
        synonyms = Synonyms([["琥珀存单", "蜜蜡定期"]])
        prepared = kb.prepare("蜜蜡定期提前之取", synonyms)
        assert "琥珀存单" in prepared.expansion
        assert any(c.source == "之取" and "支取" in c.replacements for c in prepared.corrections)
        assert "P-AMBER" in ids(kb.search("蜜蜡定期提前之取", synonyms=synonyms))[:3]
        # Without a KB vocabulary (no index), nothing is corrected.
        assert prepare("蜜蜡定期提前之取", synonyms).corrections == []
    finally:
        kb.close()


def test_fillers_are_removed_from_the_lexical_query_when_enabled(monkeypatch):
    monkeypatch.setattr(kb_search, "USE_FILLERS", True)
    prepared = prepare("我想问一下信用卡怎么办呢", Synonyms([]))
    assert prepared.lexical_text.split() == ["信用卡"] and prepared.fillers == ["我想问一下", "怎么办", "呢"]
    assert [t for t, _w in prepared.bigram_terms] == ["信用", "用卡"]
    only = prepare("怎么办", Synonyms([]))  # nothing but fillers: searched as typed
    assert only.lexical_text == "怎么办" and only.fillers == []
    monkeypatch.setattr(kb_search, "USE_FILLERS", False)
    assert prepare("我想问一下信用卡", Synonyms([])).lexical_text == "我想问一下信用卡"


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input_gives_a_list(kb, amber, name):
    query = BAD_INPUT[name]
    result = kb.search(query)
    assert isinstance(result.hits, list) and result.total >= len(result.hits)
    assert isinstance(kb.search(query, category="理财", limit=3, offset=2).hits, list)
    if name == "only_punctuation":
        assert result.hits == []
    if name in ("only_pinyin", "mixed_traditional", "ten_thousand_chars"):
        assert result.hits  # these still mean something


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input_through_the_api(api, amber, name):
    query = BAD_INPUT[name]
    if name == "lone_surrogates":
        # Not encodable as UTF-8: send the bytes a broken client would (CESU-style surrogates).
        resp = api("candidate").get("/api/v1/kb/search?q=%ED%A0%80%E4%BF%A1%E7%94%A8%E5%8D%A1%ED%BF%BF")
    else:
        resp = api("candidate").get("/api/v1/kb/search", query_string={"q": query})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert isinstance(resp.get_json()["results"], list)
    if name == "only_punctuation":
        assert resp.get_json()["results"] == []


def test_lone_surrogates_reach_the_analyzers_safely():
    assert pinyin.char_keys("\ud800") == ()
    assert pinyin.corrections(["\ud800卡"], ["\udfff"], pinyin.PinyinVocab([("卡片", 1)])) == []


def test_explain_survives_bad_input(runtime, amber):
    from knowledge_base import explain

    kb = get_kb(runtime)
    for name, query in BAD_INPUT.items():
        out = explain.explain(query, [["琥珀存单", "蜜蜡定期"]], kb)
        assert isinstance(out.terms, list), name
    assert explain.explain("hupo", [], kb).corrections[0].replacements[0] == "琥珀"


def _same(a: pinyin.PinyinVocab, b: pinyin.PinyinVocab) -> None:
    assert a.known == b.known
    assert a.by_key == b.by_key
    assert a._buckets == b._buckets


def test_a_vocabulary_built_from_the_previous_one_is_the_one_built_afresh():
    # 还款 / 换款 / 环卡 share fuzzy keys (huan …): one edit changes a bucket two terms live in.
    before = [("还款", 5), ("换卡", 3), ("挂失", 2), ("信用", 9), ("用卡", 9), ("atm", 4), ("环款", 1)]
    old = pinyin.PinyinVocab(before)
    after = [("还款", 2), ("换卡", 3), ("信用", 9), ("用卡", 10), ("atm", 5), ("欢款", 7), ("环款", 1)]
    new = pinyin.PinyinVocab(after, previous=old)
    _same(new, pinyin.PinyinVocab(after))
    assert new.by_key["huan kuan"][:1] == ["欢款"]  # the new bigram leads its bucket
    assert "挂失" not in new.known and "gua shi" not in new.by_key  # a bigram gone leaves no bucket
    _same(old, pinyin.PinyinVocab(before))  # the previous vocabulary (maybe serving a search) is unchanged
    # The same terms given twice are summed, afresh and from the previous vocabulary alike.
    twice = [*after, ("用卡", 1)]
    _same(pinyin.PinyinVocab(twice, previous=new), pinyin.PinyinVocab(twice))


def test_a_vocabulary_after_many_random_edits_is_the_one_built_afresh():
    import random

    rng = random.Random(20261207)
    terms: dict[str, int] = {}
    chars = "信用卡账单还款挂失补办密码重置转账限额理财存款利率"
    bigrams = [a + b for a, b in zip(chars, chars[1:] + chars[0], strict=True)]

    def any_bigram() -> str:
        return chr(0x4E00 + rng.randrange(3000)) + chr(0x4E00 + rng.randrange(3000))

    for _ in range(3000):
        terms[rng.choice(bigrams) if rng.random() < 0.3 else any_bigram()] = rng.randrange(1, 50)
    vocab = pinyin.PinyinVocab(terms.items())
    for _edit in range(6):
        for term in rng.sample(sorted(terms), 40):
            if rng.random() < 0.3:
                del terms[term]
            else:
                terms[term] = rng.randrange(1, 60)
        for _ in range(20):
            terms[chr(0x4E00 + rng.randrange(3000)) + rng.choice("卡款账")] = rng.randrange(1, 9)
        vocab = pinyin.PinyinVocab(terms.items(), previous=vocab)
        _same(vocab, pinyin.PinyinVocab(terms.items()))
