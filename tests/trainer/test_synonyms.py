"""Synonyms page: edit groups (each change bumps the KB version) and the query test box."""

from __future__ import annotations

import pytest

from knowledge_base import articles
from tests.kb.helpers import save
from tests.trainer.helpers import search_ids


def _group_id(runtime, word: str) -> int:
    with runtime.transaction() as s:
        return next(g.id for g in articles.synonym_groups(s) if word in g.word_list)


def _kb_version(runtime) -> int:
    with runtime.transaction() as s:
        return articles.get_version(s)


@pytest.mark.db
def test_a_synonym_edit_changes_what_a_query_finds(login_as, api, runtime):
    save(runtime, "SYN-BOX", "月光宝盒的使用说明", answer="月光宝盒可以倒流时间。")
    trainer, candidate = login_as("trainer"), api("candidate")
    assert "SYN-BOX" not in search_ids(candidate, "时光匣子")

    # Preview the change without saving: only the "after" column finds the article.
    version = _kb_version(runtime)
    page = trainer.get("/trainer/synonyms?q=时光匣子&change=new&words=月光宝盒 时光匣子").get_data(as_text=True)
    before, after = page.split('id="explain-before"')[1].split('id="explain-after"')
    assert 'data-id="SYN-BOX"' not in before and 'data-id="SYN-BOX"' in after
    assert _kb_version(runtime) == version and "SYN-BOX" not in search_ids(candidate, "时光匣子")

    # Add it: the KB version moves and candidates find the article at once.
    resp = trainer.post("/trainer/synonyms", data={"words": "时光匣子，月光宝盒"})
    assert resp.status_code == 302
    assert _kb_version(runtime) == version + 1
    assert "SYN-BOX" in search_ids(candidate, "时光匣子")
    gid = _group_id(runtime, "时光匣子")

    # Edit the group so it no longer links the two: the match is gone.
    assert trainer.post(f"/trainer/synonyms/{gid}", data={"words": "时光匣子 魔法口袋"}).status_code == 302
    assert _kb_version(runtime) == version + 2
    assert "SYN-BOX" not in search_ids(candidate, "时光匣子")
    trainer.post(f"/trainer/synonyms/{gid}", data={"words": "时光匣子 月光宝盒"})
    assert "SYN-BOX" in search_ids(candidate, "时光匣子")
    # Previewing the deletion (empty words) shows it would stop matching.
    page = trainer.get(f"/trainer/synonyms?q=时光匣子&change={gid}&words=").get_data(as_text=True)
    before, after = page.split('id="explain-before"')[1].split('id="explain-after"')
    assert 'data-id="SYN-BOX"' in before and 'data-id="SYN-BOX"' not in after and f"删除词组 #{gid}" in page
    # Delete it for real.
    assert trainer.post(f"/trainer/synonyms/{gid}/delete").status_code == 302
    assert "SYN-BOX" not in search_ids(candidate, "时光匣子")
    with runtime.transaction() as s:
        assert all("时光匣子" not in g for g in articles.list_synonym_groups(s))


def test_bad_synonym_edits_change_nothing(login_as, runtime):
    trainer = login_as("trainer")
    with runtime.transaction() as s:
        groups = articles.list_synonym_groups(s)
    version = _kb_version(runtime)
    gid = _group_id(runtime, groups[0][0])
    for url, words in (("/trainer/synonyms", "孤单"), ("/trainer/synonyms", ""), ("/trainer/synonyms", "长" * 33 + " 短"),
                       (f"/trainer/synonyms/{gid}", "一个"), ("/trainer/synonyms/999999", "甲 乙")):
        resp = trainer.post(url, data={"words": words}, follow_redirects=True)
        assert resp.status_code == 200 and "flash-error" in resp.get_data(as_text=True), url
    assert trainer.post("/trainer/synonyms/999999/delete", follow_redirects=True).status_code == 200
    with runtime.transaction() as s:
        assert articles.list_synonym_groups(s) == groups
    assert _kb_version(runtime) == version
    # A bad preview explains itself instead of failing.
    page = trainer.get("/trainer/synonyms?q=卡&change=new&words=一").get_data(as_text=True)
    assert "至少需要两个词" in page
    assert trainer.get("/trainer/synonyms?q=卡&change=424242&words=甲 乙").status_code == 200


def test_query_test_shows_each_normalisation_step(login_as):
    page = login_as("trainer").get("/trainer/synonyms?q=ＡＴＭ取款，銀行卡帳單").get_data(as_text=True)
    assert "ATM取款,銀行卡帳單" in page   # NFKC (full-width letters and comma)
    assert "ATM取款,银行卡帐单" in page   # traditional → simplified (OpenCC leaves 帐)
    assert 'id="normalised">atm取款,银行卡账单<' in page  # 帐→账, lower case
    assert '<span class="term">银行卡</span>' in page or '<span class="term">银行</span>' in page  # segmented
    assert "style=" not in page
    for nasty in ("", "\x00", "<script>alert(1)</script>", "卡" * 5000, "😀"):
        assert login_as("admin").get("/trainer/synonyms", query_string={"q": nasty}).status_code == 200


@pytest.mark.db
def test_query_test_shows_corrections_and_fusion_inputs(login_as, runtime):
    save(runtime, "PY-HOME", "琥珀存单提前支取", questions=["琥珀存单能不能提前取出来"],
         answer="琥珀存单提前支取按活期计息。")
    trainer = login_as("trainer")
    # 湖泊 sounds like 琥珀 (hu po) and occurs nowhere in the KB: the box shows the correction
    # search makes, and the article is found through it.
    page = trainer.get("/trainer/synonyms", query_string={"q": "湖泊存单提前支取"}).get_data(as_text=True)
    corrections = page.split('class="corrections"')[1].split("</dd>")[0]
    assert '<span class="term">湖泊</span>' in corrections and '<span class="badge">琥珀</span>' in corrections
    assert 'data-id="PY-HOME"' in page
    results = page.split('data-id="PY-HOME"')[1].split("</li>")[0]
    assert "BM25" in results  # the fusion's inputs next to the score
    assert "BM25" in page.split('class="small fusion"')[1].split("</dd>")[0]
    # Pinyin letters: read as the KB's own words.
    page = trainer.get("/trainer/synonyms", query_string={"q": "hupo cundan"}).get_data(as_text=True)
    corrections = page.split('class="corrections"')[1].split("</dd>")[0]
    assert '<span class="term">hupo</span>' in corrections and '<span class="badge">琥珀</span>' in corrections
    assert '<span class="badge">存单</span>' in corrections and 'data-id="PY-HOME"' in page
    # A clean query: nothing to correct, and the step says so.
    page = trainer.get("/trainer/synonyms", query_string={"q": "琥珀存单"}).get_data(as_text=True)
    assert "每个词知识库里都有" in page.split('class="corrections"')[1].split("</dd>")[0]


@pytest.mark.db
def test_query_test_shows_the_colloquial_terms(login_as):
    trainer = login_as("trainer")
    page = trainer.get("/trainer/synonyms", query_string={"q": "取款机把我的卡吃进去了"}).get_data(as_text=True)
    step = page.split('class="colloquial"')[1].split("</dd>")[0]
    assert '<span class="badge">吞卡</span>' in step and "0.8" in step
    assert 'data-id="DC-006"' in page  # ATM吞卡怎么办, found through the added term
    page = trainer.get("/trainer/synonyms", query_string={"q": "信用卡还款"}).get_data(as_text=True)
    assert "（无）" in page.split('class="colloquial"')[1].split("</dd>")[0]
