"""Article editor: create, edit, versions with diff and restore, conflicts, publishing, preview."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from knowledge_base import articles
from knowledge_base.models import Article
from tests.trainer.helpers import article, form_data, search_ids


@pytest.mark.db
def test_create_edit_history_diff_and_restore(login_as, runtime):
    trainer = login_as("trainer")
    resp = trainer.post("/trainer/articles/new", data=form_data("珊瑚借记卡年费", "珊瑚卡**免年费**。", external_id="T-EDIT-1",
                                                                 questions="珊瑚卡要钱吗\n珊瑚卡年费多少"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/trainer/articles/T-EDIT-1/edit")
    first = article(runtime, "T-EDIT-1")
    assert first.version == 1 and first.questions == ["珊瑚卡要钱吗", "珊瑚卡年费多少"] and first.updated_by == "trainer"

    resp = trainer.post("/trainer/articles/T-EDIT-1/edit",
                        data=form_data("珊瑚借记卡年费说明", "珊瑚卡首年免年费，次年 10 元。", base_version="1",
                                       questions="珊瑚卡要钱吗", tags="年费, 借记卡"))
    assert resp.status_code == 302
    second = article(runtime, "T-EDIT-1")
    assert second.version == 2 and second.title == "珊瑚借记卡年费说明" and second.tags == ["年费", "借记卡"]

    page = trainer.get("/trainer/articles/T-EDIT-1/history").get_data(as_text=True)
    assert "第 1 版" in page and "第 2 版" in page
    # Side by side: the old title on the left, the new one on the right, marked as changed.
    assert 'class="diff-replace"' in page
    assert "标题：珊瑚借记卡年费</td>" in page and "标题：珊瑚借记卡年费说明</td>" in page
    assert "珊瑚卡年费多少" in page  # the removed similar question shows on the left

    resp = trainer.post("/trainer/articles/T-EDIT-1/restore", data={"version": "1", "base_version": "2"})
    assert resp.status_code == 302
    third = article(runtime, "T-EDIT-1")
    assert third.version == 3 and third.title == "珊瑚借记卡年费" and third.answer == "珊瑚卡**免年费**。"
    with runtime.transaction() as s:
        kept = [v.version for v in articles.article_versions(s, "T-EDIT-1")]
    assert kept == [1, 2]  # restoring added a version; nothing was rewritten
    page = trainer.get("/trainer/articles/T-EDIT-1/history?a=2&b=3").get_data(as_text=True)
    assert "第 3 版" in page and "当前" in page

    # Restoring a version that does not exist, or from a stale page, changes nothing.
    trainer.post("/trainer/articles/T-EDIT-1/restore", data={"version": "9", "base_version": "3"})
    trainer.post("/trainer/articles/T-EDIT-1/restore", data={"version": "2", "base_version": "1"})
    assert article(runtime, "T-EDIT-1").version == 3
    assert trainer.get("/trainer/articles/T-EDIT-1/history?a=1&b=77").status_code == 404


@pytest.mark.db
def test_a_save_based_on_an_old_version_is_refused_and_the_text_is_kept(login_as, runtime):
    trainer, admin = login_as("trainer"), login_as("admin")
    trainer.post("/trainer/articles/new", data=form_data("琉璃卡挂失", "先冻结。", external_id="T-CONFLICT"))
    # Both open version 1; the admin saves first.
    assert admin.post("/trainer/articles/T-CONFLICT/edit",
                      data=form_data("琉璃卡挂失（管理员改）", "先冻结，再补卡。", base_version="1")).status_code == 302
    resp = trainer.post("/trainer/articles/T-CONFLICT/edit",
                        data=form_data("琉璃卡挂失（培训师改）", "培训师写了很长的一段新话术。", base_version="1",
                                       questions="琉璃卡丢了咋办"))
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert "已被他人修改" in page and "第 1 版" in page and "第 2 版" in page
    # The trainer's text is still in the form, and the form still says it was based on version 1.
    assert "琉璃卡挂失（培训师改）" in page and "培训师写了很长的一段新话术。" in page and "琉璃卡丢了咋办" in page
    assert 'name="base_version" type="hidden" value="1"' in page
    stored = article(runtime, "T-CONFLICT")
    assert stored.version == 2 and stored.title == "琉璃卡挂失（管理员改）"

    # A new article whose id is taken is refused the same way.
    resp = trainer.post("/trainer/articles/new", data=form_data("重复编号", "内容。", external_id="T-CONFLICT"))
    assert resp.status_code == 409 and "已被另一篇文章使用" in resp.get_data(as_text=True)
    assert "重复编号" in resp.get_data(as_text=True)
    # A missing base version is refused too (never a silent overwrite).
    resp = trainer.post("/trainer/articles/T-CONFLICT/edit", data=form_data("无版本号", base_version="abc"))
    assert resp.status_code == 400 and article(runtime, "T-CONFLICT").version == 2


@pytest.mark.db
def test_a_save_is_searchable_at_once(login_as, api, runtime):
    trainer, candidate = login_as("trainer"), api("candidate")
    trainer.post("/trainer/articles/new", data=form_data("翠玉信用卡积分", "积分可兑换礼品。", external_id="T-LIVE"))
    assert "T-LIVE" in search_ids(candidate, "翠玉信用卡积分")
    trainer.post("/trainer/articles/T-LIVE/edit", data=form_data("墨玉信用卡积分", "积分可兑换礼品。", base_version="1"))
    assert search_ids(candidate, "墨玉信用卡")[:1] == ["T-LIVE"]
    assert "T-LIVE" not in search_ids(candidate, "翠玉")
    # Unpublish: candidates no longer find it; publish again: they do.
    resp = trainer.post("/trainer/articles/T-LIVE/status", data={"status": "已下线", "base_version": "2"})
    assert resp.status_code == 302
    assert "T-LIVE" not in search_ids(candidate, "墨玉信用卡")
    assert "T-LIVE" in search_ids(api("trainer"), "墨玉信用卡", status_all=True)
    trainer.post("/trainer/articles/T-LIVE/status", data={"status": "已发布", "base_version": "3"})
    assert "T-LIVE" in search_ids(candidate, "墨玉信用卡")
    assert article(runtime, "T-LIVE").version == 4
    # A stale or bogus status change does nothing.
    trainer.post("/trainer/articles/T-LIVE/status", data={"status": "已下线", "base_version": "2"})
    trainer.post("/trainer/articles/T-LIVE/status", data={"status": "乱写", "base_version": "4"})
    assert article(runtime, "T-LIVE").status == "已发布"


def test_bad_form_input_is_refused_and_nothing_is_saved(login_as, runtime):
    trainer = login_as("trainer")
    with runtime.transaction() as s:
        before = s.scalar(select(func.count(Article.id)))
    cases = [form_data("", external_id="T-BAD-1"), form_data("无答案", "", external_id="T-BAD-2"),
             form_data("坏编号", external_id="坏 编 号"), form_data("坏分类", external_id="T-BAD-3", category="火星"),
             form_data("坏状态", external_id="T-BAD-4", status="作废"), form_data("长" * 201, external_id="T-BAD-5")]
    for data in cases:
        resp = trainer.post("/trainer/articles/new", data=data)
        assert resp.status_code == 400, data
        assert data["title"][:20] in resp.get_data(as_text=True)  # typed text kept
    with runtime.transaction() as s:
        assert s.scalar(select(func.count(Article.id))) == before
    assert trainer.get("/trainer/articles/no-such/edit").status_code == 404


def test_new_article_gets_an_id_and_prefill(login_as, runtime):
    trainer = login_as("trainer")
    page = trainer.get("/trainer/articles/new?title=外星人开户&question=外星人能开户吗").get_data(as_text=True)
    assert 'value="外星人开户"' in page and "外星人能开户吗</textarea>" in page
    assert '<option selected value="草稿">' in page
    resp = trainer.post("/trainer/articles/new", data=form_data("外星人开户", status="草稿"))
    assert resp.status_code == 302
    new_id = resp.headers["Location"].split("/")[-2]
    assert new_id.startswith("KB-") and article(runtime, new_id).status == "草稿"


def test_list_filters_and_paging(login_as, runtime, clock):
    trainer = login_as("trainer")
    for i in range(25):
        trainer.post("/trainer/articles/new", data=form_data(f"琥珀理财第{i:02d}号", external_id=f"T-LIST-{i:02d}",
                                                            category="理财", status="草稿" if i % 2 else "已发布"))
    page = trainer.get("/trainer/articles?q=琥珀理财&category=理财").get_data(as_text=True)
    assert "共 25 篇" in page and page.count('data-id="T-LIST-') == 20
    page2 = trainer.get("/trainer/articles?q=琥珀理财&category=理财&page=2").get_data(as_text=True)
    assert page2.count('data-id="T-LIST-') == 5
    drafts = trainer.get("/trainer/articles?q=琥珀理财&status=草稿").get_data(as_text=True)
    assert "共 12 篇" in drafts
    assert "共 0 篇" in trainer.get("/trainer/articles?q=琥珀理财&category=信用卡").get_data(as_text=True)
    # Updated since: tomorrow (Beijing) finds none, an old date finds all; a bad date is ignored with a message.
    tomorrow = (clock.now().date().toordinal() + 2)
    from datetime import date
    assert "共 0 篇" in trainer.get(f"/trainer/articles?q=琥珀理财&since={date.fromordinal(tomorrow)}").get_data(as_text=True)
    assert "共 25 篇" in trainer.get("/trainer/articles?q=琥珀理财&since=2020-01-01").get_data(as_text=True)
    bad = trainer.get("/trainer/articles?q=琥珀理财&since=明天").get_data(as_text=True)
    assert "格式应为" in bad and "共 25 篇" in bad
    # % and _ are literal, not wildcards.
    assert "共 0 篇" in trainer.get("/trainer/articles?q=%25_%25").get_data(as_text=True)


def test_preview_renders_with_the_sanitiser(api, login_as):
    client = api("trainer")
    body = client.post("/api/v1/trainer/preview", json={
        "markdown": "**粗体**\n\n<script>alert(1)</script>\n\n"
                    "[点我](javascript:alert(1)) <img src=x onerror=alert(1)>"}).get_json()
    html = body["html"]
    assert "<strong>粗体</strong>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html and "<img" not in html
    assert client.post("/api/v1/trainer/preview", json={"markdown": 5}).get_json()["error"]["code"] == "invalid_markdown"
    resp = client.post("/api/v1/trainer/preview", data="{oops", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"
    assert client.post("/api/v1/trainer/preview", json={"markdown": "长" * 20001}).status_code == 400
    resp = api("candidate").post("/api/v1/trainer/preview", json={"markdown": "x"})
    assert resp.status_code == 403
    # The editor page carries the preview hook and no inline script or style.
    page = login_as("trainer").get("/trainer/articles/new").get_data(as_text=True)
    assert 'data-preview="#answer-preview"' in page and "style=" not in page and "<script>" not in page


@pytest.mark.db
def test_candidates_searching_while_a_trainer_saves_never_see_an_error(app, login_as, api_token, runtime):
    import threading

    trainer = login_as("trainer")
    trainer.post("/trainer/articles/new", data=form_data("青铜借记卡挂失第0版", "先冻结。", external_id="T-RACE"))
    headers = {"Authorization": f"Bearer {api_token('candidate')}"}
    failures, titles, stop = [], [], threading.Event()

    def search():
        client = app.test_client()
        while not stop.is_set():
            resp = client.get("/api/v1/kb/search?q=青铜借记卡挂失", headers=headers)
            if resp.status_code != 200:
                failures.append((resp.status_code, resp.data[:200]))
            else:
                titles.extend(r["title"] for r in resp.get_json()["results"] if r["id"] == "T-RACE")

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for version in range(1, 4):
            resp = trainer.post("/trainer/articles/T-RACE/edit",
                                data=form_data(f"青铜借记卡挂失第{version}版", "先冻结。", base_version=str(version)))
            assert resp.status_code == 302, resp.data[:300]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not failures, failures[:3]
    assert titles and article(runtime, "T-RACE").version == 4
    # Right after the last save, a search sees it.
    titles.clear()
    client = app.test_client()
    resp = client.get("/api/v1/kb/search?q=青铜借记卡挂失第3版", headers=headers).get_json()
    assert resp["results"][0]["id"] == "T-RACE" and resp["results"][0]["title"] == "青铜借记卡挂失第3版"
