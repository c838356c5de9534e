"""The examiner's round: roster and join code, shared clock, faults, marking, release, exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from sandbox.drill.models import DrillEvent

SCENARIOS = ["cc-bill-enquiry", "lost-debit-card"]


def make_round(examiner, **extra):
    body = {"name": "2026 年秋季复面实操", "scenarios": SCENARIOS, **extra}
    resp = examiner.post("/api/v1/rounds", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


@pytest.fixture
def roles(api):
    return {"examiner": api("examiner"), "c1": api("candidate1"), "c2": api("candidate2")}


def started_round(roles, **extra):
    rnd = make_round(roles["examiner"], **extra)
    roles["examiner"].post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1", "candidate2"]})
    assert roles["examiner"].post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    return rnd


@pytest.mark.db
def test_a_round_from_roster_to_released_results(roles, clock):
    ex, c1 = roles["examiner"], roles["c1"]
    rnd = started_round(roles)
    assert c1.post("/api/v1/rounds/join", json={"code": rnd["join_code"].lower()}).status_code == 200
    drill = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    assert drill["mode"] == "exam" and drill["round_id"] == rnd["id"]
    assert drill["scenario"]["id"] == "cc-bill-enquiry"
    conv = drill["conversations"][0]["id"]
    # Exam mode: no live hints, and the compliance endpoint refuses.
    resp = c1.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好，我保证帮您查清楚。"})
    assert resp.get_json()["hints"] == []
    assert c1.post(f"/api/v1/drills/{drill['id']}/compliance", json={"text": "保证"}).status_code == 403
    clock.advance(30)
    report = c1.post(f"/api/v1/drills/{drill['id']}/finish").get_json()
    assert report["released"] is False and "total" not in report
    assert c1.get(f"/api/v1/drills/{drill['id']}/events").status_code == 403

    # The examiner sees the live board, the results (candidate2 incomplete) and exports them.
    live = ex.get(f"/api/v1/rounds/{rnd['id']}/live").get_json()
    row = next(r for r in live["candidates"] if r["username"] == "candidate1")
    assert row["finished"] == 1 and row["current"] is None
    results = ex.get(f"/api/v1/rounds/{rnd['id']}/results").get_json()
    assert results["complete"] is False and len(results["rows"]) == 4
    done = [r for r in results["rows"] if r["complete"]]
    assert len(done) == 1 and done[0]["username"] == "candidate1" and done[0]["total"] is not None
    csv_rows = list(csv.reader(io.StringIO(ex.get(f"/api/v1/rounds/{rnd['id']}/export?format=csv")
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert csv_rows[0][:3] == ["考生", "用户名", "场景"] and "职业素养" in csv_rows[0]
    assert len(csv_rows) == 5 and sum("未完成" in r[4] for r in csv_rows[1:]) == 3
    wb = load_workbook(io.BytesIO(ex.get(f"/api/v1/rounds/{rnd['id']}/export?format=xlsx").data))
    ws = wb.active
    assert ws.max_row == 5 and ws.cell(1, 1).value == "考生"

    # Marking: a comment is required; both scores are kept; who changed what is recorded.
    check = report_check = ex.get(f"/api/v1/drills/{drill['id']}/report").get_json()["checks"][0]
    resp = ex.post(f"/api/v1/drills/{drill['id']}/adjustments", json={"check": check["id"], "points": 0, "comment": ""})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "comment_required"
    new_points = 0 if report_check["points"] else report_check["max_points"]
    resp = ex.post(f"/api/v1/drills/{drill['id']}/adjustments",
                   json={"check": check["id"], "points": new_points, "comment": "复核录像后调整"})
    body = resp.get_json()
    assert resp.status_code == 200 and body["total"] != body["auto_total"]
    assert body["adjustments"][0]["by"] == "examiner" and body["adjustments"][0]["comment"] == "复核录像后调整"
    final = ex.get(f"/api/v1/drills/{drill['id']}/report").get_json()
    adjusted = next(c for c in final["checks"] if c["id"] == check["id"])
    assert adjusted["adjusted"]["comment"] == "复核录像后调整" and adjusted["auto_points"] == report_check["points"]

    # Release: now the candidate sees the report and can replay.
    ex.post(f"/api/v1/rounds/{rnd['id']}/release")
    seen = c1.get(f"/api/v1/drills/{drill['id']}/report").get_json()
    assert seen["released"] is True and seen["total"] == final["total"]
    assert c1.get(f"/api/v1/drills/{drill['id']}/events").status_code == 200
    # Another candidate never sees it.
    assert roles["c2"].get(f"/api/v1/drills/{drill['id']}/report").status_code == 403


@pytest.mark.db
def test_pause_and_extend_move_deadlines(roles, clock):
    ex, c1 = roles["examiner"], roles["c1"]
    rnd = started_round(roles, time_per_scenario=300)
    drill = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    assert drill["remaining_seconds"] == 300
    conv = drill["conversations"][0]["id"]
    clock.advance(100)
    ex.post(f"/api/v1/rounds/{rnd['id']}/pause")
    clock.advance(500)  # longer than the time left: paused time does not count
    state = c1.get(f"/api/v1/drills/{drill['id']}").get_json()
    assert state["status"] == "paused" and state["remaining_seconds"] == 200
    resp = c1.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "drill_paused"
    assert c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()["error"]["code"] == "round_paused"
    ex.post(f"/api/v1/rounds/{rnd['id']}/resume")
    assert c1.get(f"/api/v1/drills/{drill['id']}").get_json()["remaining_seconds"] == 200
    ex.post(f"/api/v1/rounds/{rnd['id']}/extend", json={"user": "candidate1", "seconds": 60})
    assert c1.get(f"/api/v1/drills/{drill['id']}").get_json()["remaining_seconds"] == 260
    assert c1.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好"}).status_code == 201
    # The extension also applies to the candidate's next scenario.
    c1.post(f"/api/v1/drills/{drill['id']}/finish")
    second = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    assert second["scenario"]["id"] == "lost-debit-card" and second["remaining_seconds"] == 360


@pytest.mark.db
def test_injected_fault_blocks_the_component_and_is_logged(roles, clock, session):
    ex, c1, c2 = roles["examiner"], roles["c1"], roles["c2"]
    rnd = started_round(roles)
    d1 = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    d2 = c2.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    conv1, conv2 = d1["conversations"][0]["id"], d2["conversations"][0]["id"]
    fault = ex.post(f"/api/v1/rounds/{rnd['id']}/faults",
                    json={"component": "kb", "user": "candidate1", "message": "知识库检索服务中断"}).get_json()
    assert fault["active"] is True
    resp = c1.get(f"/api/v1/kb/search?q=信用卡账单&conversation={conv1}")
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "service_unavailable"
    assert "知识库检索服务中断" in resp.get_json()["error"]["message"]
    state = c1.get(f"/api/v1/drills/{d1['id']}").get_json()
    assert state["faults"] == [{"component": "kb", "message": "知识库检索服务中断"}]
    # Only candidate1 was targeted.
    assert c2.get(f"/api/v1/kb/search?q=信用卡账单&conversation={conv2}").status_code == 200
    clock.advance(30)
    ex.post(f"/api/v1/rounds/{rnd['id']}/faults/{fault['id']}/restore")
    assert c1.get(f"/api/v1/kb/search?q=信用卡账单&conversation={conv1}").status_code == 200
    types = [e.type for e in session.query(DrillEvent).filter_by(drill_id=d1["id"]).order_by(DrillEvent.id)]
    assert types.count("fault.started") == 1 and "fault.blocked" in types and types.count("fault.ended") == 1
    assert "fault.started" not in [e.type for e in session.query(DrillEvent).filter_by(drill_id=d2["id"])]


def test_scenario_versions_stay_pinned_after_an_edit(roles, runtime, clock, api):
    from sandbox.drill.scenario.files import seeded_scenarios_dir
    from sandbox.drill.scenario.store import save_scenario

    rnd = started_round(roles)
    text = (seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8")
    seeded = int(re.search(r"^version: (\d+)", text, re.M).group(1))
    with runtime.transaction() as s:
        row = save_scenario(s, clock, text.replace("time_limit: 480", "time_limit: 900"))
        assert row.version == seeded + 1
    drill = roles["c1"].post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    assert drill["scenario"]["version"] == seeded and drill["remaining_seconds"] == 480
    # Outside the round (a trainer's practice; the roster may not practise it until the round ends).
    practice = api("trainer").post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    assert practice["scenario"]["version"] == seeded + 1 and practice["remaining_seconds"] == 900


@pytest.mark.parametrize("body,code", [
    ({"name": "x", "scenarios": []}, "no_scenarios"),
    ({"name": "", "scenarios": SCENARIOS}, "missing_name"),
    ({"name": "x", "scenarios": ["nope"]}, "unknown_scenario"),
    ({"name": "x", "scenarios": SCENARIOS, "time_per_scenario": 5}, "invalid_time"),
    ({"name": "x", "scenarios": SCENARIOS, "opens_at": "yesterday"}, "invalid_datetime"),
])
def test_bad_round_requests(roles, body, code):
    resp = roles["examiner"].post("/api/v1/rounds", json=body)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code


def test_joining_with_a_wrong_or_expired_code_and_not_on_roster(roles, api):
    ex, c1 = roles["examiner"], roles["c1"]
    resp = c1.post("/api/v1/rounds/join", json={"code": "ZZZZZZ"})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "invalid_join_code"
    rnd = make_round(ex)
    ex.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate2"]})
    resp = c1.post("/api/v1/rounds/join", json={"code": rnd["join_code"]})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "not_on_roster"
    open_round = make_round(ex)
    assert c1.post("/api/v1/rounds/join", json={"code": open_round["join_code"]}).status_code == 200
    ex.post(f"/api/v1/rounds/{open_round['id']}/start")
    ex.post(f"/api/v1/rounds/{open_round['id']}/end")
    resp = roles["c2"].post("/api/v1/rounds/join", json={"code": open_round["join_code"]})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "join_code_expired"


def test_roster_csv_import_is_all_or_nothing(roles, session):
    ex = roles["examiner"]
    rnd = make_round(ex)
    resp = ex.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"csv": "username,姓名\nzhaoliu,赵六\nexaminer,考官\n"})
    assert resp.status_code == 400 and "第 3 行" in resp.get_json()["error"]["message"]
    from sandbox.users.models import User

    assert session.query(User).filter_by(username="zhaoliu").count() == 0
    resp = ex.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"csv": "zhaoliu,赵六\ncandidate1\n"})
    body = resp.get_json()
    assert body["added"] == ["zhaoliu", "candidate1"] and body["created"][0]["username"] == "zhaoliu"


def test_candidates_cannot_run_rounds_or_see_others(roles):
    rnd = started_round(roles)
    c1 = roles["c1"]
    assert c1.post(f"/api/v1/rounds/{rnd['id']}/faults", json={"component": "kb"}).status_code == 403
    assert c1.get(f"/api/v1/rounds/{rnd['id']}/results").status_code == 403
    drill = roles["c2"].post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    assert c1.get(f"/api/v1/drills/{drill['id']}").status_code == 403
    assert c1.post(f"/api/v1/drills/{drill['id']}/adjustments", json={}).status_code == 403


def test_ending_a_round_finishes_open_drills_and_export_marks_incomplete(roles, runner):
    ex = roles["examiner"]
    rnd = started_round(roles)
    drill = roles["c1"].post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    ex.post(f"/api/v1/rounds/{rnd['id']}/end")
    state = roles["c1"].get(f"/api/v1/drills/{drill['id']}").get_json()
    assert state["status"] == "finished" and state["ended_by"] == "examiner"
    result = runner.invoke(args=["round", "export", str(rnd["id"]), "--format", "csv", "--output", "-"])
    assert result.exit_code == 0
    result = runner.invoke(args=["round", "export", "999999"])
    assert result.exit_code == 1 and "不存在" in result.output


def test_a_round_keeps_the_kb_it_pinned_after_a_trainer_edit(roles, runtime, clock):
    from knowledge_base.articles import get_article, save_article

    rnd = started_round(roles)
    with runtime.transaction() as s:
        before = get_article(s, "CC-001").to_record()
    clock.advance(60)
    with runtime.transaction() as s:
        save_article(s, clock, {**before, "title": "信用卡账单查询（新版）", "answer": "新版答案：请在手机银行查看。"},
                     by="trainer")
        save_article(s, clock, {"id": "CC-900", "title": "新增的信用卡文章",
                                "questions": ["新增问题一", "新增问题二", "新增问题三"],
                                "answer": "新增文章的答案内容。", "plain_answer": "新增", "category": "信用卡",
                                "tags": [], "status": "已发布"}, by="trainer")
    c1 = roles["c1"]
    conv = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()["conversations"][0]["id"]
    pinned = c1.get(f"/api/v1/kb/articles/CC-001?conversation={conv}").get_json()
    assert pinned["title"] == before["title"] and pinned["answer"] == before["answer"]
    assert c1.get(f"/api/v1/kb/articles/CC-900?conversation={conv}").status_code == 404
    searched = c1.get(f"/api/v1/kb/search?q=新增的信用卡文章&conversation={conv}").get_json()
    assert "CC-900" not in [r["id"] for r in searched["results"]] and searched["pinned_at"]
    # A suggestion taken as a draft is the pinned answer too; an article added later is unknown.
    draft = c1.post(f"/api/v1/conversations/{conv}/suggestions/use", json={"article": "CC-001"}).get_json()
    assert draft["title"] == before["title"] and "新版答案" not in draft["draft"]
    assert c1.post(f"/api/v1/conversations/{conv}/suggestions/use", json={"article": "CC-900"}).status_code == 404
    # The examiner watching that conversation reads the live KB (the pin is the candidate's).
    watched = roles["examiner"].get(f"/api/v1/kb/search?q=新增的信用卡文章&conversation={conv}").get_json()
    assert "CC-900" in [r["id"] for r in watched["results"]] and "pinned_at" not in watched
    # Outside the round (practice), the edit is live.
    practice = c1.post("/api/v1/drills", json={"scenario": "dormant-account"}).get_json()["conversations"][0]["id"]
    assert c1.get(f"/api/v1/kb/articles/CC-001?conversation={practice}").get_json()["title"] == "信用卡账单查询（新版）"
    assert c1.get("/api/v1/kb/articles/CC-900").status_code == 200


@pytest.mark.db
def test_parallel_kb_searches_in_a_round_drill_all_succeed_and_are_logged(roles, app, api_token, session):
    """The pinned-KB lookup reads before the drill hook writes; under concurrency that must not fail."""
    import threading

    rnd = started_round(roles)
    conv = roles["c1"].post(f"/api/v1/rounds/{rnd['id']}/next").get_json()["conversations"][0]["id"]
    headers = {"Authorization": f"Bearer {api_token('candidate1')}"}
    statuses = []

    def search(q):
        statuses.append(app.test_client().get(f"/api/v1/kb/search?q={q}&conversation={conv}", headers=headers)
                        .status_code)

    threads = [threading.Thread(target=search, args=(q,)) for q in ("信用卡账单", "卡丢了", "转账限额", "理财风险") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 12
    assert session.query(DrillEvent).filter(DrillEvent.type == "kb.search").count() == 12
