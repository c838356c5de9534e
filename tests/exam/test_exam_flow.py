"""A round from the candidate's side: 下一题 after each hand-in in the examiner's order, progress
and time left, 本场考试已完成; scores hidden until release; no practice of an open round's scenarios."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from sandbox.drill.models import Drill
from sandbox.exam.models import Round
from sandbox.users.models import User
from tests.conftest import strip_tags

ORDER = ["lost-debit-card", "cc-bill-enquiry", "dormant-account"]


@pytest.fixture
def roles(api):
    return {"examiner": api("examiner"), "c1": api("candidate1"), "c2": api("candidate2"), "trainer": api("trainer")}


def open_round(roles, scenarios=ORDER, start=True, **extra):
    ex = roles["examiner"]
    resp = ex.post("/api/v1/rounds", json={"name": "复面实操第二场", "scenarios": scenarios, **extra})
    assert resp.status_code == 201, resp.get_json()
    rnd = resp.get_json()
    assert ex.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]}).status_code == 200
    if start:
        assert ex.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    return rnd


# --------------------------------------------------------------------------- progress, next, order


@pytest.mark.db
def test_next_follows_the_examiners_order_with_progress_and_no_skipping(roles, clock):
    c1 = roles["c1"]
    rnd = open_round(roles, time_per_scenario=300)
    rid = rnd["id"]
    me = c1.get(f"/api/v1/rounds/{rid}/me").get_json()
    assert me["step"] == "start" and me["step_label"] == "开始作答"
    assert me["progress"]["index"] == 1 and me["progress"]["count"] == 3 and me["progress"]["finished"] == 0
    assert me["progress"]["remaining_seconds"] == 900 and me["progress"]["ticking"] is False
    assert me["next"] == {"method": "POST", "href": f"/api/v1/rounds/{rid}/next", "label": "开始作答"}
    assert "total" not in str(me)

    seen = []
    for number, scenario in enumerate(ORDER, start=1):
        resp = c1.post(me["next"]["href"])
        assert resp.status_code == 201, resp.get_json()
        drill = resp.get_json()
        assert drill["scenario"]["id"] == scenario
        assert drill["progress"]["index"] == number and drill["progress"]["count"] == 3
        # Asking again while the question runs gives the same drill: nothing can be skipped.
        again = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
        assert again["id"] == drill["id"]
        running = c1.get(f"/api/v1/rounds/{rid}/me").get_json()
        assert running["step"] == "continue" and running["progress"]["current"] == drill["id"]
        clock.advance(100)
        state = c1.get(f"/api/v1/drills/{drill['id']}").get_json()
        expected_left = 300 * (3 - number) + 200
        assert state["progress"]["remaining_seconds"] == expected_left and state["progress"]["ticking"] is True
        handed = c1.post(f"/api/v1/drills/{drill['id']}/finish").get_json()
        assert handed["released"] is False and "total" not in handed and "checks" not in handed
        assert handed["progress"]["finished"] == number and handed["progress"]["count"] == 3
        assert handed["progress"]["remaining_seconds"] == 300 * (3 - number)
        assert handed["progress"]["ticking"] is False
        if number < 3:
            assert handed["step"] == "next" and handed["next"]["label"] == "下一题"
            me = c1.get(f"/api/v1/rounds/{rid}/me").get_json()
            assert me["progress"]["index"] == number + 1 and me["next"]["label"] == "下一题"
        else:
            assert handed["step"] == "complete" and handed["step_label"] == "本场考试已完成"
            assert handed["next"] is None and handed["progress"]["complete"] is True
        seen.append(drill["id"])

    assert len(set(seen)) == 3
    resp = c1.post(f"/api/v1/rounds/{rid}/next")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "round_complete"
    me = c1.get(f"/api/v1/rounds/{rid}/me").get_json()
    assert me["step"] == "complete" and me["next"] is None and me["progress"]["index"] == 3
    progress = c1.get(f"/api/v1/rounds/{rid}/progress").get_json()
    assert [p["scenario"] for p in progress["plan"]] == ORDER and [p["index"] for p in progress["plan"]] == [1, 2, 3]
    assert progress["count"] == 3 and progress["complete"] is True


@pytest.mark.db
def test_a_question_whose_time_ran_out_is_handed_in_before_the_next_starts(roles, clock):
    c1 = roles["c1"]
    rid = open_round(roles, time_per_scenario=120)["id"]
    first = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
    clock.advance(130)
    second = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
    assert second["scenario"]["id"] == ORDER[1] and second["progress"]["index"] == 2
    assert c1.get(f"/api/v1/drills/{first['id']}").get_json()["ended_by"] == "deadline"


def test_round_time_left_stops_at_the_closing_time(roles, clock):
    from datetime import timedelta

    closes = (clock.now() + timedelta(seconds=500)).isoformat()
    rid = open_round(roles, time_per_scenario=300, closes_at=closes)["id"]
    me = roles["c1"].get(f"/api/v1/rounds/{rid}/me").get_json()
    assert me["progress"]["remaining_seconds"] == 500 and me["progress"]["ticking"] is True


def test_me_is_for_the_roster_only_and_never_shows_scores(roles, api):
    rid = open_round(roles)["id"]
    resp = roles["c2"].get(f"/api/v1/rounds/{rid}/me")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "not_on_roster"
    assert roles["examiner"].get(f"/api/v1/rounds/{rid}/me").status_code == 403
    assert roles["c1"].get("/api/v1/rounds/999999/me").status_code == 404


def test_the_round_form_keeps_the_examiners_order(login_as, session):
    examiner = login_as("examiner")
    # The page lists scenarios alphabetically; the examiner numbered them 1, 2, 3 in another order.
    data = {"name": "按顺序出题", "scenarios": ["cc-bill-enquiry", "dormant-account", "lost-debit-card"],
            "order-lost-debit-card": "1", "order-cc-bill-enquiry": "2", "order-dormant-account": "3"}
    resp = examiner.post("/rounds", data=data)
    assert resp.status_code == 302
    rnd = session.query(Round).filter_by(name="按顺序出题").one()
    assert [p["id"] for p in rnd.scenarios] == ORDER
    page = strip_tags(examiner.get(resp.headers["Location"]).get_data(as_text=True))
    assert re.search(r"1\. 借记卡丢失紧急挂失.*2\. 信用卡账单查询.*3\. 久悬账户激活咨询", page, re.S)
    # An unnumbered one goes after the numbered ones.
    resp = examiner.post("/rounds", data={"name": "部分编号", "scenarios": ["cc-bill-enquiry", "lost-debit-card"],
                                          "order-lost-debit-card": "1"})
    assert resp.status_code == 302
    session.rollback()  # end the read transaction: see the new round
    assert [p["id"] for p in session.query(Round).filter_by(name="部分编号").one().scenarios] == \
        ["lost-debit-card", "cc-bill-enquiry"]


@pytest.mark.parametrize("orders,message", [
    ({"order-lost-debit-card": "1", "order-cc-bill-enquiry": "1"}, "序号有重复"),
    ({"order-lost-debit-card": "第一", "order-cc-bill-enquiry": "2"}, "必须是正整数"),
    ({"order-lost-debit-card": "0", "order-cc-bill-enquiry": "2"}, "1 到 999"),
])
def test_a_bad_order_creates_nothing_and_says_why(login_as, session, orders, message):
    examiner = login_as("examiner")
    before = session.query(Round).count()
    resp = examiner.post("/rounds", data={"name": "顺序有误", "scenarios": ["cc-bill-enquiry", "lost-debit-card"],
                                          **orders})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert session.query(Round).count() == before


# --------------------------------------------------------------------------- pages


def finish(client, drill_id):
    resp = client.post(f"/api/v1/drills/{drill_id}/finish")
    assert resp.status_code == 200, resp.get_json()


@pytest.mark.db
def test_pages_lead_from_question_to_question_and_end_on_the_complete_page(roles, login_as, session, clock):
    rid = open_round(roles, scenarios=ORDER[:2])["id"]
    page = login_as("candidate1")
    text = strip_tags(page.get(f"/exam/{rid}").get_data(as_text=True))
    assert "第 1 / 2 题" in text and "开始作答" in text and "本场剩余" in text and "等待考官开考" not in text
    resp = page.post(f"/exam/{rid}/next")
    assert resp.status_code == 302 and re.search(r"/drills/\d+$", resp.headers["Location"])
    drill_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    console = strip_tags(page.get(f"/drills/{drill_id}").get_data(as_text=True))
    assert "第 1 / 2 题" in console and "本场剩余" in console
    clock.advance(20)
    finish(page, drill_id)
    handed = page.get(f"/drills/{drill_id}/report").get_data(as_text=True)
    text = strip_tags(handed)
    assert "成绩将在考官发布后可见" in text and "第 2 / 2 题" in text and "已交卷 1 / 2 题" in text
    assert 'id="next-btn"' in handed and "下一题" in text and "本场考试已完成" not in text
    resp = page.post(f"/exam/{rid}/next")
    second = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert session.get(Drill, second).scenario_id == ORDER[1]
    finish(page, second)
    done = page.get(f"/drills/{second}/report").get_data(as_text=True)
    assert "本场考试已完成" in done and 'id="next-btn"' not in done and "返回我的考试" in done
    text = strip_tags(page.get(f"/exam/{rid}").get_data(as_text=True))
    assert "本场考试已完成" in text and "等待考官开考" not in text


def test_the_round_page_names_the_state_and_never_waits_in_an_ended_round(roles, login_as):
    ex = roles["examiner"]
    rid = open_round(roles, start=False)["id"]
    page = login_as("candidate1")
    assert "等待考官开考" in page.get(f"/exam/{rid}").get_data(as_text=True)
    ex.post(f"/api/v1/rounds/{rid}/start")
    ex.post(f"/api/v1/rounds/{rid}/pause")
    text = strip_tags(page.get(f"/exam/{rid}").get_data(as_text=True))
    assert "考官已暂停考试" in text and "等待考官开考" not in text
    ex.post(f"/api/v1/rounds/{rid}/resume")
    ex.post(f"/api/v1/rounds/{rid}/end")
    html = page.get(f"/exam/{rid}").get_data(as_text=True)
    assert "本场考试已结束" in html and "等待考官开考" not in html and 'id="next-btn"' not in html
    assert roles["c1"].get(f"/api/v1/rounds/{rid}/me").get_json()["next"] is None


# --------------------------------------------------------------------------- scores hidden until release


@pytest.mark.db
def test_scores_checks_and_evidence_stay_hidden_until_release(roles, login_as, clock):
    ex, c1 = roles["examiner"], roles["c1"]
    rid = open_round(roles, scenarios=["cc-bill-enquiry"])["id"]
    drill = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
    conv = drill["conversations"][0]["id"]
    # A lookup before verification: a hard fail the candidate must not learn of before release.
    c1.get(f"/api/v1/conversations/{conv}/cards")
    clock.advance(30)
    handed = c1.post(f"/api/v1/drills/{drill['id']}/finish").get_json()
    hidden = ("total", "auto_total", "hard_fail", "hard_fails", "checks", "dimensions", "reference_run")
    assert not set(hidden) & set(handed)
    state = c1.get(f"/api/v1/drills/{drill['id']}").get_json()
    assert state["status"] == "finished" and not set(hidden) & set(state)
    report = c1.get(f"/api/v1/drills/{drill['id']}/report").get_json()
    assert report["released"] is False and not set(hidden) & set(report)
    resp = c1.get(f"/api/v1/drills/{drill['id']}/events")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "results_not_released"
    page = login_as("candidate1")
    html = page.get(f"/drills/{drill['id']}/report").get_data(as_text=True)
    assert 'id="report-total"' not in html and "逐项评分" not in html and "硬性扣分" not in html
    assert "参考答案" not in html and 'id="pending-message"' in html
    assert page.get(f"/drills/{drill['id']}/replay").status_code == 403
    history = page.get("/drills").get_data(as_text=True)
    assert re.search(r"<td>考试</td>\s*<td>已结束</td>\s*<td>—</td>", history)

    # The examiner sees everything before release.
    staff = ex.get(f"/api/v1/drills/{drill['id']}").get_json()
    assert staff["hard_fail"] is True and staff["total"] is not None
    assert ex.get(f"/api/v1/drills/{drill['id']}/events").status_code == 200

    ex.post(f"/api/v1/rounds/{rid}/release")
    state = c1.get(f"/api/v1/drills/{drill['id']}").get_json()
    assert state["hard_fail"] is True and state["total"] == staff["total"]
    report = c1.get(f"/api/v1/drills/{drill['id']}/report").get_json()
    assert report["released"] is True and report["checks"] and report["hard_fails"]
    assert c1.get(f"/api/v1/drills/{drill['id']}/events").status_code == 200
    html = page.get(f"/drills/{drill['id']}/report").get_data(as_text=True)
    assert 'id="report-total"' in html and "逐项评分" in html
    assert page.get(f"/drills/{drill['id']}/replay").status_code == 200


# --------------------------------------------------------------------------- marking shown as marked


def test_an_adjusted_check_shows_as_adjusted_with_its_comment_and_points(roles, login_as, clock):
    ex, c1 = roles["examiner"], roles["c1"]
    rid = open_round(roles, scenarios=["cc-bill-enquiry"])["id"]
    drill = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
    clock.advance(20)
    c1.post(f"/api/v1/drills/{drill['id']}/finish")
    report = ex.get(f"/api/v1/drills/{drill['id']}/report").get_json()
    failed = next(c for c in report["checks"] if not c["passed"])
    resp = ex.post(f"/api/v1/drills/{drill['id']}/adjustments",
                   json={"check": failed["id"], "points": failed["max_points"], "comment": "录像显示已完成"})
    assert resp.status_code == 200
    html = login_as("examiner").get(f"/drills/{drill['id']}/report").get_data(as_text=True)
    row = re.search(rf'<tr class="check-row (\w+)" data-check="{re.escape(failed["id"])}">(.*?)</tr>', html, re.S)
    assert row and row.group(1) == "adjusted"
    cells = strip_tags(row.group(2))
    assert "✘" not in cells and "已调整" in cells and "录像显示已完成" in cells
    assert f"考官调整为 {failed['max_points']:g} 分" in cells and f"自动评分 0 / {failed['max_points']:g}" in cells
    if failed["note"]:
        assert f"自动判定：{failed['note']}" in cells
    # The dimension table shows points (earned / max), the percentage only as 得分率.
    dim = report["dimensions"][failed["dimension"]]
    cell = re.search(rf'data-dimension="{failed["dimension"]}">.*?<td class="dim-points">(.*?)</td>', html, re.S)
    earned = dim["earned"] + failed["max_points"]
    assert strip_tags(cell.group(1)).strip() == f"{earned:g} / {dim['max']:g} 分"


# --------------------------------------------------------------------------- practice during a round


def test_the_roster_cannot_practise_an_open_rounds_scenarios(roles, login_as, session, clock):
    ex, c1 = roles["examiner"], roles["c1"]
    rid = open_round(roles, scenarios=["cc-bill-enquiry"], start=False)["id"]
    for state in ("draft", "running"):
        resp = c1.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"})
        body = resp.get_json()
        assert resp.status_code == 403 and body["error"]["code"] == "scenario_reserved_for_exam", state
        assert "复面实操第二场" in body["error"]["message"] and "考试结束前不能练习" in body["error"]["message"]
        ex.post(f"/api/v1/rounds/{rid}/start")
    page = login_as("candidate1")
    before = session.query(Drill).count()
    resp = page.post("/drills/start", data={"scenario": "cc-bill-enquiry"}, follow_redirects=True)
    assert "考试结束前不能练习" in resp.get_data(as_text=True) and session.query(Drill).count() == before
    index = page.get("/drills").get_data(as_text=True)
    assert 'data-reserved="cc-bill-enquiry"' in index and 'data-scenario="cc-bill-enquiry"' not in index
    # Other scenarios, and other people, are not affected.
    assert c1.post("/api/v1/drills", json={"scenario": "dormant-account"}).status_code == 201
    assert roles["c2"].post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).status_code == 201
    ex.post(f"/api/v1/rounds/{rid}/end")
    assert c1.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).status_code == 201


def test_practice_reports_hide_reference_and_checks_while_a_round_holds_the_scenario(roles, login_as, clock):
    ex, c2 = roles["examiner"], roles["c2"]
    practice = c2.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    clock.advance(20)
    c2.post(f"/api/v1/drills/{practice['id']}/finish")
    rid = open_round(roles, scenarios=["cc-bill-enquiry"], start=False)["id"]  # candidate2 is not on its roster
    report = c2.get(f"/api/v1/drills/{practice['id']}/report").get_json()
    assert report["answers_withheld"] is True and report["withheld_message"]
    assert report["checks"] == [] and report["reference_run"] == [] and report["expected_outcome"] is None
    assert report["total"] is not None  # the practice score itself is the candidate's
    html = login_as("candidate2").get(f"/drills/{practice['id']}/report").get_data(as_text=True)
    assert 'id="withheld-checks"' in html and 'id="withheld-reference"' in html and "check-row" not in html
    # Staff still see it all; once the round ends the candidate does too.
    assert ex.get(f"/api/v1/drills/{practice['id']}/report").get_json()["reference_run"]
    ex.post(f"/api/v1/rounds/{rid}/start")
    ex.post(f"/api/v1/rounds/{rid}/end")
    report = c2.get(f"/api/v1/drills/{practice['id']}/report").get_json()
    assert report["answers_withheld"] is False and report["checks"] and report["reference_run"]


@pytest.mark.db
def test_the_progress_next_answers_with_is_the_progress_read_afresh(roles, session, clock):
    """开始作答 / 下一题 work out the answer's progress from what they already read (the
    candidate's drills and roster row); it must equal the progress read afresh, at every step:
    the prepared first question, asking again while it runs, a question whose time ran out,
    the next one, with an extension and the scenarios' own time limits."""
    c1, ex = roles["c1"], roles["examiner"]
    rnd = open_round(roles)  # no time_per_scenario: each question's own limit counts
    rid = rnd["id"]
    c1_id = session.scalar(select(User.id).where(User.username == "candidate1"))
    assert ex.post(f"/api/v1/rounds/{rid}/extend", json={"user": c1_id, "seconds": 45}).status_code == 200

    def same_as_afresh(answer: dict) -> None:
        afresh = c1.get(f"/api/v1/drills/{answer['id']}").get_json()
        assert answer["progress"] == afresh["progress"]
        assert answer["progress"]["remaining_seconds"] > 0

    first = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
    same_as_afresh(first)
    assert first["progress"]["index"] == 1 and first["progress"]["ticking"] is True
    clock.advance(30)
    again = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
    assert again["id"] == first["id"]
    same_as_afresh(again)
    clock.advance(first["remaining_seconds"] + 1)  # the first question's time runs out: handed in by next
    second = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
    assert second["id"] != first["id"] and second["progress"]["index"] == 2
    assert second["progress"]["finished"] == 1
    same_as_afresh(second)
    assert c1.post(f"/api/v1/drills/{second['id']}/finish").status_code == 200
    third = c1.post(f"/api/v1/rounds/{rid}/next").get_json()
    assert third["progress"]["index"] == 3 and third["progress"]["finished"] == 2
    same_as_afresh(third)
    # The time left counts the extension once, on the question in progress.
    assert third["remaining_seconds"] == third["progress"]["remaining_seconds"]
