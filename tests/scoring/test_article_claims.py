"""KB articles list forbidden claims: a drill that used the article treats them as wrong claims."""

from __future__ import annotations

from knowledge_base import articles

CLAIM = {"text": "持有期内可以随时取出", "groups": [["持有期", "封闭期"], ["随时取", "随时赎回", "想取就取"]]}


def _article(runtime, clock):
    with runtime.transaction() as s:
        articles.save_article(s, clock, {"id": "T-CLAIM", "title": "测试：持有期产品能否提前取出", "questions": [],
                                         "answer": "持有期内不能赎回，到期后才能取出。", "category": "理财",
                                         "tags": [], "status": "已发布", "forbidden_claims": [CLAIM]}, by="trainer")


def _drill(api, runtime, open_article: bool):
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    cid = drill["conversations"][0]["id"]
    if open_article:
        assert cand.get("/api/v1/kb/articles/T-CLAIM", query_string={"conversation": cid}).status_code == 200
    cand.post(f"/api/v1/conversations/{cid}/messages", json={"text": "您好！这款产品持有期内也可以随时取出来。"})
    cand.post(f"/api/v1/drills/{drill['id']}/finish")
    return cand.get(f"/api/v1/drills/{drill['id']}/report").get_json()


def test_an_articles_forbidden_claim_is_a_wrong_claim_in_a_drill_that_used_it(api, runtime, clock):
    _article(runtime, clock)
    report = _drill(api, runtime, open_article=True)
    caps = [c for c in report["caps"] if c["kind"] == "wrong_claim"]
    assert caps and "持有期内可以随时取出" in caps[0]["message"]


def test_a_drill_that_never_used_the_article_is_not_judged_by_it(api, runtime, clock):
    _article(runtime, clock)
    report = _drill(api, runtime, open_article=False)
    assert not [c for c in report["caps"] if c["kind"] == "wrong_claim"]


def test_the_editor_form_reads_and_writes_the_compact_form():
    line = articles.format_claim_line(CLAIM)
    assert articles.parse_claim_line(line) == CLAIM
    assert articles.clean_forbidden_claims([line]) == [CLAIM]


def test_a_broken_claim_is_refused_in_chinese():
    for bad in (["只有说法"], [{"text": "x", "groups": [["a"]]}], "不是列表"):
        try:
            articles.clean_forbidden_claims(bad)
        except ValueError as exc:
            assert "禁止说法" in str(exc)
        else:
            raise AssertionError(bad)


