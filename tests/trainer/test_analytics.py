"""Search analytics: zero-result and abandoned queries, trend, conversion to drafts, eval history."""

from __future__ import annotations

import json
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from knowledge_base import analytics, articles
from knowledge_base.models import EvalRun
from knowledge_base.search_log import flush_search_log
from tests.trainer.helpers import article, form_data

ZERO = "恐龙蛋孵化"


def _zero_rows(page: str) -> str:
    return page.split('id="zero-queries"')[1].split("</table>")[0]


@pytest.mark.db
def test_zero_result_query_appears_and_becomes_a_draft(api, login_as, runtime):
    candidate = api("candidate")
    for _ in range(2):
        assert candidate.get(f"/api/v1/kb/search?q={ZERO}").get_json()["total"] == 0
    trainer = login_as("trainer")
    page = trainer.get("/trainer/analytics").get_data(as_text=True)
    zero = _zero_rows(page)
    assert ZERO in zero and f'<td>{ZERO}</td><td>2</td><td>1</td>' in zero
    assert "style=" not in page and "<script>" not in page
    assert '<svg class="chart search-trend"' in page

    # One click: the editor opens prefilled as a draft with the query as title and similar question.
    link = unescape(zero.split('class="new-draft" href="')[1].split('"')[0])
    form = trainer.get(link).get_data(as_text=True)
    assert f'value="{ZERO}"' in form and f"{ZERO}</textarea>" in form and '<option selected value="草稿">' in form
    resp = trainer.post("/trainer/articles/new", data=form_data(ZERO, "本行不提供恐龙蛋孵化服务。",
                                                               questions=ZERO, status="草稿", category="信用卡"))
    assert resp.status_code == 302
    draft = article(runtime, resp.headers["Location"].split("/")[-2])
    assert draft.status == "草稿" and draft.questions == [ZERO]
    # A draft is visible to trainers, not to candidates.
    assert candidate.get(f"/api/v1/kb/search?q={ZERO}").get_json()["total"] == 0
    ids = [r["id"] for r in api("trainer").get(f"/api/v1/kb/search?q={ZERO}&status=all").get_json()["results"]]
    assert draft.external_id in ids


@pytest.mark.db
def test_zero_result_query_added_as_similar_question(api, login_as, runtime):
    api("candidate").get("/api/v1/kb/search?q=钱包被偷了卡咋整")
    trainer = login_as("trainer")
    with runtime.transaction() as s:
        target = articles.list_articles(s)[0]
        target_id, base = target.external_id, target.version
    page = trainer.get(f"/trainer/analytics/attach?q=钱包被偷了卡咋整&find={target.title}").get_data(as_text=True)
    assert f'data-id="{target_id}"' in page
    resp = trainer.post("/trainer/analytics/attach", data={"q": "钱包被偷了卡咋整", "article": target_id})
    assert resp.status_code == 302
    saved = article(runtime, target_id)
    assert saved.version == base + 1 and saved.questions[-1] == "钱包被偷了卡咋整"
    # Twice is refused; a missing article or an empty question too.
    trainer.post("/trainer/analytics/attach", data={"q": "钱包被偷了卡咋整", "article": target_id})
    trainer.post("/trainer/analytics/attach", data={"q": "钱包被偷了卡咋整", "article": "NOPE"})
    trainer.post("/trainer/analytics/attach", data={"q": "  ", "article": target_id})
    assert article(runtime, target_id).version == base + 1
    assert trainer.get("/trainer/analytics/attach").status_code == 302


@pytest.mark.db
def test_abandoned_queries_join_searches_and_opens_by_user_and_time(api, login_as, runtime, clock):
    one, two = api("candidate1"), api("candidate2")
    hits = one.get("/api/v1/kb/search?q=信用卡账单怎么查").get_json()["results"]
    assert hits
    two.get("/api/v1/kb/search?q=信用卡账单怎么查")
    clock.advance(60)
    two.get(f"/api/v1/kb/articles/{hits[0]['id']}")  # candidate2 opened a result within the window
    clock.advance(3600)
    one.get(f"/api/v1/kb/articles/{hits[0]['id']}")  # candidate1 only much later
    flush_search_log(runtime)  # search-log rows are written in batches, within a second
    with runtime.transaction() as s:
        now = clock.now()
        report = analytics.report(s, now - timedelta(days=1), now + timedelta(minutes=1))
    abandoned = {q.normalised: q for q in report.abandoned}
    assert abandoned["信用卡账单怎么查"].count == 1 and report.abandoned_total == 1
    top = {q.normalised: q for q in report.top}
    assert top["信用卡账单怎么查"].count == 2 and top["信用卡账单怎么查"].user_count == 2
    assert report.total == 2 and report.zero_total == 0
    page = login_as("trainer").get("/trainer/analytics").get_data(as_text=True)
    assert "信用卡账单怎么查" in page.split('id="abandoned-queries"')[1].split("</table>")[0]


@pytest.mark.db
def test_daily_trend_counts_searches_and_zero_rate(api, runtime, clock):
    candidate = api("candidate")
    candidate.get("/api/v1/kb/search?q=挂失")
    candidate.get(f"/api/v1/kb/search?q={ZERO}")
    clock.advance(86400)
    candidate.get(f"/api/v1/kb/search?q={ZERO}")
    flush_search_log(runtime)
    with runtime.transaction() as s:
        now = clock.now()
        report = analytics.report(s, now - timedelta(days=3), now + timedelta(minutes=1))
    busy = [d for d in report.days if d.searches]
    assert [(d.searches, d.zero) for d in busy] == [(2, 1), (1, 1)]
    assert busy[0].zero_rate == 0.5 and len(report.days) >= 4
    assert report.days[0].searches == 0  # days without searches are kept in the series


@pytest.mark.db
def test_eval_runs_are_recorded_and_shown(runner, runtime, login_as, tmp_path):
    cases = tmp_path / "small.jsonl"
    cases.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"text": "信用卡账单怎么查", "target": "CC-001"}, {"text": "完全无关的话", "target": "ACC-001"}]) + "\n",
        encoding="utf-8")
    result = runner.invoke(args=["kb", "eval", str(cases)])
    assert result.exit_code == 0
    with runtime.transaction() as s:
        assert s.scalar(select(EvalRun.id)) is None  # without --record nothing is stored
    result = runner.invoke(args=["kb", "eval", str(cases), "--record", "--k", "2"])
    assert result.exit_code == 0 and "已记入评测历史" in result.output, result.output
    with runtime.transaction() as s:
        run = s.scalar(select(EvalRun))
        kb_version = articles.get_version(s)
    assert (run.n, run.k, run.source, run.kb_version, run.created_by) == (2, 2, "small.jsonl", kb_version, "cli")
    assert 0 <= run.hit1 <= run.hitk <= 1 and run.miss_count == len(run.misses) >= 1
    assert any(m["text"] == "完全无关的话" for m in run.misses)

    trainer = login_as("trainer")
    resp = trainer.post("/trainer/analytics/eval")
    assert resp.status_code == 302
    with runtime.transaction() as s:
        runs = list(s.scalars(select(EvalRun).order_by(EvalRun.id)))
    assert len(runs) == 2 and runs[1].source == "kb_eval.jsonl" and runs[1].n > 200 and runs[1].created_by == "trainer"
    assert runs[1].hit1 > 0.5
    page = trainer.get("/trainer/analytics").get_data(as_text=True)
    table = page.split('id="eval-runs"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3 and f"{runs[1].hit1:.3f}" in table and "small.jsonl" in table
    assert '<svg class="chart eval-history"' in page
    # A drop against the previous run is called out.
    with runtime.transaction() as s:
        last = s.get(EvalRun, runs[1].id)
        last.hit1 = runs[0].hit1 - 0.2 if runs[0].hit1 >= 0.2 else 0.0
        s.get(EvalRun, runs[0].id).hit1 = last.hit1 + 0.2
    assert 'id="eval-drop"' in trainer.get("/trainer/analytics").get_data(as_text=True)
    # Bad eval files are refused without recording.
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    assert runner.invoke(args=["kb", "eval", str(bad), "--record"]).exit_code == 1
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert runner.invoke(args=["kb", "eval", str(empty), "--record"]).exit_code == 1
    with runtime.transaction() as s:
        assert len(list(s.scalars(select(EvalRun)))) == 2


def test_analytics_page_handles_bad_parameters(login_as):
    trainer = login_as("trainer")
    for days in ("abc", "-5", "100000", ""):
        assert trainer.get(f"/trainer/analytics?days={days}").status_code == 200
