"""No full card, ID or mobile number on any way out (issue 15, items 3 and 11).

Each test puts numbers in through the real app, in the spellings the attack run used, and
reads every page, SVG, export, API answer and log line that shows them back: only the
masked forms may appear.
"""

from __future__ import annotations

import csv
import io
import logging
import re

import pytest
from sqlalchemy import select

from sandbox.drill.scenario.files import seeded_scenarios_dir
from sandbox.users.models import User
from tests.bank.pii_helpers import assert_no_clear, compact, texts_of

CARD, ID_NUMBER, PHONE = "9900021749853816", "440106199604170956", "18780350292"
NUMBERS = [CARD, ID_NUMBER, PHONE]
MESSAGES = [
    "卡号 9900 0217 4985 3816 对吗",
    "身份证 440106-19960417-0956 已核对",
    "您的手机 １８７８０３５０２９２ 收到短信了吗",
]


def _start_drill(client, scenario="cc-bill-enquiry") -> dict:
    resp = client.post("/api/v1/drills", json={"scenario": scenario, "mode": "practice"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _say(client, conv: int, text: str) -> None:
    resp = client.post(f"/api/v1/conversations/{conv}/messages", json={"text": text})
    assert resp.status_code == 201, resp.get_json()
    assert_no_clear(resp, NUMBERS)


def _page(client, url: str, status: int = 200):
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    assert_no_clear(resp, NUMBERS)
    return resp


def test_report_page_and_timeline_svg_mask_the_numbers_for_candidate_and_examiner(login_as):
    cand, examiner = login_as("candidate"), login_as("examiner")
    drill = _start_drill(cand)
    conv = drill["conversations"][0]["id"]
    for text in MESSAGES:
        _say(cand, conv, text)
    search = cand.get(f"/api/v1/kb/search?q=187-8035-0292&conversation={conv}")
    assert search.status_code == 200
    assert_no_clear(search, NUMBERS)
    assert cand.post(f"/api/v1/drills/{drill['id']}/finish").status_code == 200

    for client in (cand, examiner):
        page = _page(client, f"/drills/{drill['id']}/report").get_data(as_text=True)
        # The agent's words are still there, masked, in the actions list and the timeline tooltips.
        assert "990002******3816" in page and "4401**********0956" in page and "187****0292" in page
        svg = re.search(r'<svg class="chart timeline".*?</svg>', page, re.S).group()
        titles = re.findall(r"<title>(.*?)</title>", svg)
        assert any("990002******3816" in t for t in titles) and any("187****0292" in t for t in titles)
    events = examiner.get(f"/api/v1/drills/{drill['id']}/events")
    assert events.status_code == 200
    assert_no_clear(events, NUMBERS)
    report = cand.get(f"/api/v1/drills/{drill['id']}/report")
    assert_no_clear(report, NUMBERS)
    assert {f["kind"] for f in report.get_json()["hard_fails"]} == {"pii_in_reply"}  # every spelling hard-fails


@pytest.fixture
def exam_round(login_as, api, session):
    """A started round: candidate1 finished an exam drill saying the numbers; a roster entry
    named with a mobile number; an adjustment whose comment quotes the card."""
    ex = api("examiner")
    rnd = ex.post("/api/v1/rounds", json={"name": "2026 秋季实操", "scenarios": ["cc-bill-enquiry"]}).get_json()
    roster = io.StringIO()
    csv.writer(roster).writerows([["candidate1", ""], ["pii_cand", "王五 187 8035 0292"]])
    resp = ex.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"csv": roster.getvalue()})
    assert resp.status_code == 200, resp.get_json()
    assert ex.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    c1 = api("candidate1")
    assert c1.post("/api/v1/rounds/join", json={"code": rnd["join_code"]}).status_code == 200
    drill = c1.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    conv = drill["conversations"][0]["id"]
    for text in MESSAGES:
        _say(c1, conv, text)
    assert c1.post(f"/api/v1/drills/{drill['id']}/finish").status_code == 200
    check = ex.get(f"/api/v1/drills/{drill['id']}/report").get_json()["checks"][0]
    resp = ex.post(f"/api/v1/drills/{drill['id']}/adjustments",
                   json={"check": check["id"], "points": 0, "comment": "复核：考生复述了卡号 9900-0217-4985-3816"})
    assert resp.status_code == 200, resp.get_json()
    users = {u.username: u.id for u in session.scalars(select(User).where(User.username.in_(["candidate1", "pii_cand"])))}
    session.rollback()
    return {"round": rnd["id"], "drill": drill["id"], "users": users}


def test_print_page_masks_names_comments_and_report(login_as, exam_round):
    examiner = login_as("examiner")
    rid, users = exam_round["round"], exam_round["users"]
    page = _page(examiner, f"/rounds/{rid}/candidates/{users['candidate1']}/print").get_data(as_text=True)
    assert "990002******3816" in page  # the adjustment comment, masked
    page = _page(examiner, f"/rounds/{rid}/candidates/{users['pii_cand']}/print").get_data(as_text=True)
    assert "王五 187****0292" in page
    _page(examiner, f"/rounds/{rid}")
    _page(examiner, f"/drills/{exam_round['drill']}/report")
    _page(examiner, f"/drills/{exam_round['drill']}/replay")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_exports_mask_numbers(api, exam_round, fmt):
    resp = api("examiner").get(f"/api/v1/rounds/{exam_round['round']}/export?format={fmt}")
    assert resp.status_code == 200
    assert_no_clear(resp, NUMBERS)
    assert any("王五 187****0292" in t for t in texts_of(resp))


def test_cli_round_export_masks_numbers(runner, exam_round):
    result = runner.invoke(args=["round", "export", str(exam_round["round"]), "--format", "csv", "--output", "-"])
    assert result.exit_code == 0, result.output
    assert PHONE not in compact(result.output) and "王五 187****0292" in result.output


def test_free_practice_messages_are_masked_for_the_customer_side_and_the_examiner(login_as):
    cand, examiner = login_as("candidate"), login_as("examiner")
    conv = cand.post("/api/v1/conversations", json={"customer_id": "C001", "channel": "文字"}).get_json()["id"]
    for text, side in (("我的卡号是 9900 0217 4985 3816", "customer"), ("手机 187-8035-0292 对吗", "agent"),
                       ("身份证 ４４０１０６１９９６０４１７０９５６", "customer")):
        resp = cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": text, "as": side})
        assert resp.status_code == 201, resp.get_json()
        assert_no_clear(resp, NUMBERS)
    for client, query in ((cand, "?as=customer"), (cand, ""), (examiner, ""), (examiner, "?as=customer")):
        resp = client.get(f"/api/v1/conversations/{conv}/messages{query}")
        assert resp.status_code == 200
        assert_no_clear(resp, NUMBERS)
        texts = [m["text"] for m in resp.get_json()["messages"]]
        assert any("990002******3816" in t for t in texts) and any("187****0292" in t for t in texts)
    _page(cand, f"/practice/{conv}")


def test_work_orders_and_handoffs_mask_numbers_in_every_spelling(login_as):
    cand, examiner = login_as("candidate"), login_as("examiner")
    drill = _start_drill(cand)
    conv = drill["conversations"][0]["id"]
    resp = cand.post("/api/v1/workorders", json={
        "category": "信用卡", "title": "卡号 9900 0217 4985 3816", "conversation_id": conv,
        "description": "客户手机 １８７-８０３５-０２９２，身份证 440106 19960417 0956"})
    assert resp.status_code == 201, resp.get_json()
    assert_no_clear(resp, NUMBERS)
    number = resp.get_json()["number"]
    resp = cand.post(f"/api/v1/conversations/{conv}/handoff", json={"queue": "人工坐席", "summary": {
        "intent": "账单疑问 187.8035.0292", "request": "核对卡号 9900_0217_4985_3816"}})
    assert resp.status_code == 201, resp.get_json()
    assert_no_clear(resp, NUMBERS)
    handoff = resp.get_json()["id"]
    assert_no_clear(cand.get(f"/api/v1/workorders/{number}"), NUMBERS)
    page = _page(cand, f"/workorders/{number}").get_data(as_text=True)
    assert "187****0292" in page and "4401**********0956" in page
    _page(cand, "/workorders")
    _page(examiner, f"/handoffs/{handoff}")
    _page(examiner, "/handoffs")
    assert_no_clear(examiner.get(f"/api/v1/drills/{drill['id']}/events"), NUMBERS)


def test_search_analytics_and_kb_pages_mask_what_candidates_searched(login_as):
    cand, trainer = login_as("candidate"), login_as("trainer")
    for q in ("卡号 9900 0217 4985 3816 怎么挂失", "１８７８０３５０２９２"):
        _page(cand, "/kb/?q=" + q)
    page = _page(trainer, "/trainer/analytics").get_data(as_text=True)
    assert "990002******3816" in page  # the query is listed, masked (also inside the links' URLs)


def test_the_scenario_editor_keeps_the_trainers_source_in_clear(login_as):
    trainer = login_as("trainer")
    text = (seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8").replace(
        "brief: |\n", "brief: |\n  客户可能报出卡号 9900 0217 4985 3816，坐席不得复述。\n", 1)
    assert trainer.post("/trainer/scenarios/cc-bill-enquiry/edit", data={"yaml_text": text}).status_code == 302
    editor = trainer.get("/trainer/scenarios/cc-bill-enquiry/edit").get_data(as_text=True)
    assert "客户可能报出卡号 9900 0217 4985 3816" in editor  # saving the editor again keeps the number
    _page(trainer, "/trainer/scenarios/cc-bill-enquiry")  # the read-only view masks it


class _Records(logging.Handler):
    """Collects log records (CI runs the PostgreSQL pass with ``-p no:logging``: no caplog)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_logs_never_carry_a_full_number(login_as, monkeypatch):
    """An unexpected error whose message carries the reply (as a database error carries its
    parameters) is logged with the traceback: masked, message and traceback alike."""
    from sandbox.drill import agent_turns

    def broken(session, clock, drill, row, text, author_id):
        raise RuntimeError(f"could not store the reply {text!r}")

    cand = login_as("candidate")
    conv = _start_drill(cand)["conversations"][0]["id"]
    monkeypatch.setattr(agent_turns, "post_agent_message", broken)
    root = logging.getLogger()
    collector = _Records()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.INFO)
    try:
        with pytest.raises(RuntimeError):
            cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "卡号 9900 0217 4985 3816"})
        # A request line as the development server logs it: the query string URL-encoded.
        logging.getLogger("werkzeug").info('%s - - "%s" %s', "127.0.0.1",
                                           "GET /kb/?q=%EF%BC%91%EF%BC%98%EF%BC%97+8035+0292 HTTP/1.1", 200)
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)
    formatter = logging.Formatter("%(message)s")
    lines = [formatter.format(r) for r in collector.records]
    assert any("unhandled error" in line and "Traceback" in line for line in lines)
    for line in lines:
        assert not any(n in compact(line) for n in NUMBERS), line
    assert any("990002******3816" in line for line in lines) and any("187****0292" in line for line in lines)
