"""追问 after a drill: answering, key-point coverage, the examiner's marks, the report section,
round settings and versions, and every bad path."""

from __future__ import annotations

import csv
import io
import re

import pytest

from sandbox.drill.scenario.files import seeded_scenarios_dir
from sandbox.drill.scenario.store import save_scenario

SCENARIO = "cc-bill-enquiry"
FOLLOWUPS = """
followups:
  - id: verify-first
    question: 客户只想知道账单金额，你为什么还是先核验身份再查询？
    dimension: 职业素养
    key_points:
      - id: privacy
        text: 账单属于客户的隐私信息，只能告诉核实过的本人
        claim:
          - text: 账单信息属于隐私
            groups: [[账单, 账户信息, 个人信息], [隐私, 敏感]]
          - text: 只能告诉本人
            groups: [[本人], [告诉, 透露, 提供, 说]]
      - id: fraud
        text: 防止他人冒用身份套取信息
        claim:
          text: 防止别人冒充
          groups: [[防止, 避免, 以防, 防范], [冒充, 冒用, 假冒, 骗子, 诈骗]]
    model_answer: 账单金额属于客户的隐私，只能告诉核实过的本人；先核验也是为了防止别人冒充客户套取信息。
  - id: minimum-only
    question: 如果客户说这个月只还最低还款额，你会提醒什么？
    dimension: 专业适配
    key_points:
      - id: interest
        text: 只还最低会对剩余部分计息
        claim:
          text: 剩下的部分要计利息
          groups: [[剩下, 剩余, 未还], [利息, 计息]]
    model_answer: 我会提醒客户，只还最低还款额不影响征信，但剩下没还的部分要从记账日起计利息。
"""


def add_followups(runtime, clock, text: str = FOLLOWUPS) -> int:
    base = (seeded_scenarios_dir() / f"{SCENARIO}.yaml").read_text(encoding="utf-8")
    with runtime.transaction() as s:
        return save_scenario(s, clock, base.rstrip("\n") + "\n" + text).version


def finished_practice(api_client) -> int:
    drill = api_client.post("/api/v1/drills", json={"scenario": SCENARIO}).get_json()
    assert api_client.post(f"/api/v1/drills/{drill['id']}/finish").status_code == 200
    return drill["id"]


GOOD = "先核验是因为账单属于客户隐私，只能告诉本人。另外也能防止别人冒充客户来打听。"


@pytest.mark.db
def test_practice_answer_shows_covered_points_with_evidence_and_model_answer(runtime, clock, api):
    add_followups(runtime, clock)
    cand = api("candidate")
    drill_id = finished_practice(cand)
    listing = cand.get(f"/api/v1/drills/{drill_id}/followups").get_json()
    assert listing["enabled"] and [i["id"] for i in listing["items"]] == ["verify-first", "minimum-only"]
    resp = cand.post(f"/api/v1/drills/{drill_id}/followups/verify-first/answer",
                     json={"text": GOOD, "elapsed_seconds": 42})
    assert resp.status_code == 200, resp.get_json()
    item = resp.get_json()["item"]
    points = {p["id"]: p for p in item["key_points"]}
    assert points["privacy"]["auto"] and "隐私" in points["privacy"]["evidence"]
    assert points["fraud"]["auto"] and "冒充" in points["fraud"]["evidence"]
    assert item["points"] == 10 and item["model_answer"].startswith("账单金额") and item["elapsed_seconds"] == 42
    # A wrong answer covers nothing; the section total counts answered items only.
    wrong = cand.post(f"/api/v1/drills/{drill_id}/followups/minimum-only/answer",
                      json={"text": "只还最低就行，剩下的部分不会计利息。"}).get_json()["item"]
    assert wrong["points"] == 0 and not wrong["key_points"][0]["auto"]
    report = cand.get(f"/api/v1/drills/{drill_id}/report").get_json()
    assert report["followups"]["total"] == 10 and report["followups"]["max_total"] == 20
    dims = report["dimensions_with_followups"]
    base = report["dimensions"]
    assert dims["职业素养"]["max"] == base["职业素养"]["max"] + 10
    assert dims["职业素养"]["earned"] == pytest.approx(base["职业素养"]["earned"] + 10)
    assert dims["专业适配"]["earned"] == pytest.approx(base["专业适配"]["earned"])


@pytest.mark.db
def test_bad_answers_are_refused_and_nothing_is_stored(runtime, clock, api, session):
    from sandbox.drill.models import FollowUpAnswer

    add_followups(runtime, clock)
    cand = api("candidate")
    running = cand.post("/api/v1/drills", json={"scenario": SCENARIO}).get_json()["id"]
    early = cand.post(f"/api/v1/drills/{running}/followups/verify-first/answer", json={"text": GOOD})
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "drill_not_finished"
    cand.post(f"/api/v1/drills/{running}/finish")
    cases = [({"text": "  "}, 400, "empty_answer"), ({"text": "答" * 2001}, 400, "answer_too_long"),
             ({"text": GOOD, "elapsed_seconds": "很久"}, 400, "invalid_elapsed"),
             ({"text": GOOD, "elapsed_seconds": -1}, 400, "invalid_elapsed")]
    for body, status, code in cases:
        resp = cand.post(f"/api/v1/drills/{running}/followups/verify-first/answer", json=body)
        assert (resp.status_code, resp.get_json()["error"]["code"]) == (status, code), body
        assert re.search(r"[\u4e00-\u9fff]", resp.get_json()["error"]["message"])
    unknown = cand.post(f"/api/v1/drills/{running}/followups/nope/answer", json={"text": GOOD})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_followup"
    other = api("candidate2").post(f"/api/v1/drills/{running}/followups/verify-first/answer", json={"text": GOOD})
    assert other.status_code == 403
    not_json = cand.post(f"/api/v1/drills/{running}/followups/verify-first/answer", data="x")
    assert not_json.get_json()["error"]["code"] == "malformed_json"
    practice_mark = api("examiner").post(f"/api/v1/drills/{running}/followups/verify-first/marks",
                                         json={"marks": {"privacy": True}, "comment": ""})
    assert practice_mark.status_code == 409 and practice_mark.get_json()["error"]["code"] == "not_a_round_drill"
    session.expire_all()
    assert session.query(FollowUpAnswer).count() == 0


def round_with_followups(api, followups) -> tuple[dict, object, object]:
    ex, c1 = api("examiner"), api("candidate1")
    rnd = ex.post("/api/v1/rounds", json={"name": "追问测试", "scenarios": [SCENARIO, "lost-debit-card"],
                                          "followups": followups}).get_json()
    ex.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]})
    assert ex.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    assert c1.post("/api/v1/rounds/join", json={"code": rnd["join_code"]}).status_code == 200
    return rnd, ex, c1


@pytest.mark.db
def test_in_a_round_the_examiner_marks_and_the_marks_join_the_report_and_export(runtime, clock, api):
    version = add_followups(runtime, clock)
    rnd, ex, c1 = round_with_followups(api, [SCENARIO])
    assert next(p for p in rnd["scenarios"] if p["id"] == SCENARIO) == {"id": SCENARIO, "version": version,
                                                                       "followups": True}
    drill = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    assert drill["scenario"]["id"] == SCENARIO
    c1.post(f"/api/v1/drills/{drill['id']}/finish")
    answered = c1.post(f"/api/v1/drills/{drill['id']}/followups/verify-first/answer", json={"text": GOOD})
    item = answered.get_json()["item"]
    # Before release the candidate sees only their answer: no key points, model answer or points.
    assert item["answer"] == GOOD and "key_points" not in item and "model_answer" not in item
    seen = ex.get(f"/api/v1/drills/{drill['id']}/followups").get_json()
    live = seen["items"][0]
    assert live["answer"] == GOOD and live["points"] is None and all(p["auto"] for p in live["key_points"])
    bad = [({"marks": {"nope": True}}, "unknown_key_point"), ({"marks": {"privacy": "yes"}}, "invalid_marks"),
           ({"marks": ["privacy"]}, "invalid_marks"), ({"marks": {}, "comment": "评" * 501}, "comment_too_long")]
    for body, code in bad:
        resp = ex.post(f"/api/v1/drills/{drill['id']}/followups/verify-first/marks", json=body)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code, body
    assert c1.post(f"/api/v1/drills/{drill['id']}/followups/verify-first/marks",
                   json={"marks": {"privacy": True}}).status_code == 403
    marked = ex.post(f"/api/v1/drills/{drill['id']}/followups/verify-first/marks",
                     json={"marks": {"privacy": True, "fraud": False}, "comment": "防冒用没有说到点子上"})
    assert marked.status_code == 200 and marked.get_json()["item"]["points"] == 5
    again = c1.post(f"/api/v1/drills/{drill['id']}/followups/verify-first/answer", json={"text": "改一下"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "followup_marked"
    # An item answered aloud in the room can be marked without a typed answer.
    spoken = ex.post(f"/api/v1/drills/{drill['id']}/followups/minimum-only/marks",
                     json={"marks": {"interest": True}, "comment": "口头答到"})
    assert spoken.get_json()["item"]["points"] == 10
    # The second scenario has no 追问 in this round.
    second = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    c1.post(f"/api/v1/drills/{second['id']}/finish")
    assert c1.get(f"/api/v1/drills/{second['id']}/followups").get_json() == {
        "drill": second["id"], "enabled": False, "items": [], "count": 0}
    ex.post(f"/api/v1/rounds/{rnd['id']}/release")
    report = c1.get(f"/api/v1/drills/{drill['id']}/report").get_json()
    section = report["followups"]
    assert section["total"] == 15 and section["max_total"] == 20 and section["marked"] == 2
    first = section["items"][0]
    assert first["comment"] == "防冒用没有说到点子上" and first["marked_by"]
    assert [p["marked"] for p in first["key_points"]] == [True, False]
    assert report["dimensions_with_followups"]["职业素养"]["max"] == report["dimensions"]["职业素养"]["max"] + 10
    results = ex.get(f"/api/v1/rounds/{rnd['id']}/results").get_json()
    row = next(r for r in results["rows"] if r["scenario"] == SCENARIO)
    assert row["followups"]["total"] == 15
    csv_text = ex.get(f"/api/v1/rounds/{rnd['id']}/export?format=csv").get_data(as_text=True).lstrip("\ufeff")
    table = list(csv.reader(io.StringIO(csv_text)))
    header = table[0]
    line = next(r for r in table[1:] if SCENARIO in r[2] or "信用卡" in r[2])
    assert header[-2:] == ["追问得分", "追问满分"] and line[-2:] == ["15.0", "20.0"]


@pytest.mark.db
def test_a_round_pins_the_followups_of_its_version_and_can_go_without(runtime, clock, api):
    add_followups(runtime, clock)
    rnd, ex, c1 = round_with_followups(api, False)
    assert all(p["followups"] is False for p in rnd["scenarios"])
    changed = FOLLOWUPS.replace("客户只想知道账单金额，你为什么还是先核验身份再查询？", "新版本的问题？")
    add_followups(runtime, clock, changed)
    drill = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    c1.post(f"/api/v1/drills/{drill['id']}/finish")
    assert c1.get(f"/api/v1/drills/{drill['id']}/followups").get_json()["enabled"] is False
    rnd2, _, _ = round_with_followups(api, True)
    pinned = next(p for p in rnd2["scenarios"] if p["id"] == SCENARIO)
    assert pinned["followups"] is True
    # Practice outside the round gets the newest version's question.
    practice = finished_practice(api("trainer"))
    items = api("trainer").get(f"/api/v1/drills/{practice}/followups").get_json()["items"]
    assert items[0]["question"] == "新版本的问题？"
    bad = ex.post("/api/v1/rounds", json={"name": "x", "scenarios": [SCENARIO], "followups": ["nope"]})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "unknown_scenario"
    bad = ex.post("/api/v1/rounds", json={"name": "x", "scenarios": [SCENARIO], "followups": "all"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_followups"


@pytest.mark.db
def test_the_report_page_takes_a_typed_answer_and_the_examiner_marks_it_in_the_page(runtime, clock, api, login_as):
    add_followups(runtime, clock)
    rnd, ex, c1 = round_with_followups(api, True)
    drill = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    c1.post(f"/api/v1/drills/{drill['id']}/finish")
    page = login_as("candidate1")
    html = page.get(f"/drills/{drill['id']}/report").get_data(as_text=True)
    assert "追问" in html and "客户只想知道账单金额" in html and 'name="text"' in html
    resp = page.post(f"/drills/{drill['id']}/followups/verify-first", data={"text": GOOD, "elapsed_seconds": "30"})
    assert resp.status_code == 302
    html = page.get(f"/drills/{drill['id']}/report").get_data(as_text=True)
    assert GOOD in html and "参考答案" not in html  # withheld until release
    empty = page.post(f"/drills/{drill['id']}/followups/verify-first", data={"text": ""}, follow_redirects=True)
    assert "请先写下你的回答" in empty.get_data(as_text=True)
    examiner = login_as("examiner")
    html = examiner.get(f"/drills/{drill['id']}/report").get_data(as_text=True)
    assert GOOD in html and 'name="point-privacy"' in html and "依据" in html
    resp = examiner.post(f"/drills/{drill['id']}/followups/verify-first/mark",
                         data={"point-privacy": "1", "comment": "隐私说清楚了"})
    assert resp.status_code == 302
    item = ex.get(f"/api/v1/drills/{drill['id']}/followups").get_json()["items"][0]
    assert item["marked"] and item["points"] == 5 and item["comment"] == "隐私说清楚了"
    other = login_as("candidate2")
    assert other.post(f"/drills/{drill['id']}/followups/verify-first", data={"text": GOOD}).status_code == 403


@pytest.mark.db
def test_a_spoken_answer_is_kept_with_the_item_and_played_back_by_the_examiner(runtime, clock, api, login_as):
    from tests.interview.helpers import upload_form

    add_followups(runtime, clock)
    rnd, ex, c1 = round_with_followups(api, True)
    drill = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    c1.post(f"/api/v1/drills/{drill['id']}/finish")
    resp = c1.post("/api/v1/recordings", data=upload_form(item="followup:verify-first", drill_id=drill["id"]),
                   content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    rid = resp.get_json()["recording"]["id"]
    item = ex.get(f"/api/v1/drills/{drill['id']}/followups").get_json()["items"][0]
    assert item["recording"]["id"] == rid and item["recording"]["duration_s"] == 12.0
    assert ex.get(item["recording"]["url"]).status_code == 200
    html = login_as("examiner").get(f"/drills/{drill['id']}/report").get_data(as_text=True)
    assert f'data-recording="{rid}"' in html
    assert api("candidate2").get(item["recording"]["url"]).status_code == 404
