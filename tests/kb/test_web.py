import pytest
from sqlalchemy import select

from knowledge_base.models import ArticleOpenLog, SearchLog
from knowledge_base.search_log import flush_search_log
from tests.kb.helpers import NASTY_QUERIES, save


@pytest.fixture
def articles(runtime):
    save(runtime, "W-PUB", "翡翠借记卡年费说明", answer="翡翠借记卡**免年费**。", plain_answer="不收钱。")
    save(runtime, "W-DRAFT", "翡翠借记卡内部草稿", status="草稿")


def test_api_search_shape_and_only_published(api, articles):
    for role in ("candidate", "examiner"):
        resp = api(role).get("/api/v1/kb/search?q=翡翠借记卡&limit=5")
        assert resp.status_code == 200
        body = resp.get_json()
        assert {"query", "total", "took_ms", "results"} <= set(body)
        got = [r["id"] for r in body["results"]]
        assert "W-PUB" in got and "W-DRAFT" not in got
        assert set(body["results"][0]) == {"id", "title", "category", "score", "snippet"}


def test_status_all_is_for_trainers_and_admins(api, articles):
    for role in ("trainer", "admin"):
        body = api(role).get("/api/v1/kb/search?q=翡翠借记卡&status=all").get_json()
        assert "W-DRAFT" in [r["id"] for r in body["results"]]
        assert api(role).get("/api/v1/kb/articles/W-DRAFT?status=all").status_code == 200
    for role in ("candidate", "examiner"):
        resp = api(role).get("/api/v1/kb/search?q=翡翠借记卡&status=all")
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
        resp = api(role).get("/api/v1/kb/articles/W-DRAFT")
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "article_not_found"
    # Trainers see published articles without ?status=all, but not drafts.
    assert api("trainer").get("/api/v1/kb/articles/W-DRAFT").status_code == 404


def test_api_article(api, articles):
    body = api("candidate").get("/api/v1/kb/articles/W-PUB").get_json()
    assert body["id"] == "W-PUB" and body["plain_answer"] == "不收钱。"
    assert "<strong>免年费</strong>" in body["answer_html"]


def test_api_paging_and_category(api, runtime):
    for i in range(4):
        save(runtime, f"W-P{i}", f"琥珀存单第{i}号说明", category="存款")
    one = api("candidate").get("/api/v1/kb/search?q=琥珀存单&limit=2&page=1").get_json()
    two = api("candidate").get("/api/v1/kb/search?q=琥珀存单&limit=2&page=2").get_json()
    assert one["page"] == 1 and two["page"] == 2 and one["total"] == two["total"] >= 4
    assert not {r["id"] for r in one["results"]} & {r["id"] for r in two["results"]}
    other = api("candidate").get("/api/v1/kb/search?q=琥珀存单&category=理财").get_json()
    assert all(r["category"] == "理财" for r in other["results"])
    bad = api("candidate").get("/api/v1/kb/search?q=琥珀存单&limit=abc&page=-3")
    assert bad.status_code == 200 and bad.get_json()["page"] == 1


@pytest.mark.parametrize("query", NASTY_QUERIES[::3])
def test_api_and_page_accept_nasty_queries(api, login_as, query):
    resp = api("candidate").get("/api/v1/kb/search", query_string={"q": query, "category": query[:10]})
    assert resp.status_code == 200 and isinstance(resp.get_json()["results"], list)
    page = login_as("candidate").get("/kb/", query_string={"q": query, "page": "x"})
    assert page.status_code == 200


def test_page_hides_drafts_and_highlights(login_as, articles):
    page = login_as("candidate").get("/kb/?q=翡翠借记卡").get_data(as_text=True)
    assert "W-PUB" in page and "W-DRAFT" not in page and "内部草稿" not in page
    assert "<mark>" in page
    assert login_as("candidate").get("/kb/articles/W-DRAFT").status_code == 404
    trainer = login_as("trainer")
    assert "内部草稿" in trainer.get("/kb/?q=翡翠借记卡&status=all").get_data(as_text=True)
    assert trainer.get("/kb/articles/W-DRAFT").status_code == 200
    assert "内部草稿" not in login_as("examiner").get("/kb/?q=翡翠借记卡&status=all").get_data(as_text=True)


def test_article_page_shows_both_answers(login_as, articles):
    html = login_as("candidate").get("/kb/articles/W-PUB").get_data(as_text=True)
    assert "规范话术" in html and "通俗版" in html
    assert "<strong>免年费</strong>" in html and "不收钱。" in html


def test_xss_in_article_is_neutralised(login_as, runtime):
    evil = ('<script>alert("x")</script> 正文 <img src=x onerror="alert(1)"> '
            '[点我](javascript:alert(1)) <a href="javascript:alert(2)" onclick="alert(3)">链接</a> '
            '<iframe src="https://evil.example"></iframe><svg onload=alert(4)>')
    save(runtime, "W-XSS", "玛瑙卡<script>alert(9)</script>说明", answer=evil, plain_answer=evil,
         questions=["<img src=x onerror=alert(5)>玛瑙卡"])
    client = login_as("candidate")
    for url in ("/kb/articles/W-XSS", "/kb/?q=玛瑙卡"):
        html = client.get(url).get_data(as_text=True)
        lowered = html.lower()
        assert "<script>alert" not in lowered and "<img" not in lowered and "<iframe" not in lowered
        assert "onerror=" not in lowered.replace("onerror=&#34;", "").replace("onerror=&quot;", "") or "<img" not in lowered
        assert 'href="javascript:' not in lowered and "<svg" not in lowered and "onclick=\"alert" not in lowered
        assert "玛瑙卡" in html


def test_searches_and_opened_articles_are_logged(app, api, login_as, runtime, articles):
    api("candidate").get("/api/v1/kb/search?q=翡翠借记卡")
    login_as("examiner").get("/kb/?q=翡翠借记卡年费")
    login_as("candidate").get("/kb/articles/W-PUB")
    flush_search_log(runtime)  # rows are written in batches, at most a second later
    with runtime.transaction() as s:
        logs = list(s.scalars(select(SearchLog).order_by(SearchLog.id)))
        assert [(log.query, log.source) for log in logs[-2:]] == [("翡翠借记卡", "api"), ("翡翠借记卡年费", "page")]
        assert all(log.user_id is not None and log.took_ms >= 0 for log in logs[-2:])
        assert logs[-2].result_count >= 1 and "W-PUB" in logs[-2].top_ids
        opened = list(s.scalars(select(ArticleOpenLog)))
        assert [o.article_id for o in opened] == ["W-PUB"]
