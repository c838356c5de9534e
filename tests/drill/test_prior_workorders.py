"""Earlier work orders of a drill's customer (``prior_workorders``): parsed with file:line errors,
created at drill start in the past with their timeline, seen through the conversation's
work-order lookup behind the identity gate, and updated with a logged ``workorder.updated``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.app import create_app
from sandbox.drill.scenario.errors import ScenarioInvalid
from sandbox.drill.scenario.files import load_file, seeded_scenarios_dir
from sandbox.drill.scenario.parse import parse_scenario
from sandbox.web.rehearse import play, throwaway_instance

SCENARIO = "complaint-followup-loop"


def _text() -> str:
    return (seeded_scenarios_dir() / f"{SCENARIO}.yaml").read_text(encoding="utf-8")


def test_prior_workorders_parse():
    spec = load_file(seeded_scenarios_dir() / f"{SCENARIO}.yaml")
    prior = spec.contact("main").prior_workorders
    assert len(prior) == 1 and prior[0]["status"] == "处理中" and len(prior[0]["history"]) == 3


@pytest.mark.parametrize("old, new, field, message", [
    ("        status: 处理中\n", "        status: 已撤销\n", "prior_workorders[0].status", "状态只能是"),
    ("        status: 处理中\n", "        status: 待回访\n", "prior_workorders[0].resolution_note", "处理结果说明"),
    ("        queue: 运营网点\n        status", "        queue: 对公部\n        status", "prior_workorders[0].queue", "无效"),
    ("          - days_ago: 3\n", "          - days_ago: 9\n", "prior_workorders[0].history[1].days_ago", "不能早于"),
    ("      - days_ago: 5\n        type: 投诉", "      - days_ago: 5\n        colour: red\n        type: 投诉",
     "prior_workorders[0].colour", "未知字段"),
])
def test_bad_prior_workorders_refused_with_line(old, new, field, message):
    text = _text()
    assert old in text
    bad = text.replace(old, new, 1)
    with pytest.raises(ScenarioInvalid) as exc:
        parse_scenario(bad, f"{SCENARIO}.yaml")
    errors = [e for e in exc.value.errors if e.field.endswith(field)]
    assert errors and message in errors[0].message and errors[0].line, exc.value.errors
    line = bad.splitlines()[errors[0].line - 1]
    assert field.rsplit(".", 1)[-1].split("[")[0] in line or "days_ago" in line


def test_drill_creates_history_and_agent_closes_the_loop():
    from sandbox.drill import drill_contacts, event_log
    from sandbox.drill.scenario.store import spec_from_text
    from sandbox.users.services import get_user, issue_token
    from workorders.models import WorkOrder

    with throwaway_instance(create_app, "bankdrill-prior-") as app:
        runtime = app.extensions["bankdrill"]
        clock = runtime.clock
        with runtime.transaction() as s:
            token = issue_token(s, clock, get_user(s, "candidate1"))
            staff = issue_token(s, clock, get_user(s, "examiner"))
        spec = spec_from_text(_text())
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        # Before verification the lookup is refused (and logged as a refused lookup).
        early = play(app, clock, spec, token, staff, [{"op": "lookup.workorders"}, {"op": "finish"}])
        assert early.error and "403" in early.error
        result = play(app, clock, spec, token, staff, spec.reference_run)
        assert result.report["total"] >= 95, result.report
        with runtime.transaction() as s:
            events = event_log.events_of(s, result.drill_id)
        updated = [e.data for e in events if e.type == "workorder.updated"]
        assert len(updated) == 1 and updated[0]["action"] == "note"
        order = client.get(f"/api/v1/workorders/{updated[0]['number']}", headers=headers).get_json()
        assert order["type"] == "投诉" and order["status"] == "处理中" and order["queue"] == "运营网点"
        with runtime.transaction() as s:
            row = s.query(WorkOrder).filter_by(number=order["number"]).one()
            customer = drill_contacts.contact_customer(s, result.drill_id, "main")
            assert row.customer_id == customer.code
            started = drill_contacts.get_drill(s, result.drill_id).started_at
            assert abs((started - row.created_at) - timedelta(days=5)) < timedelta(hours=1)
        notes = [h for h in order["history"] if h["field"] == "note"]
        assert "清机核对结果" in notes[2]["note"] and notes[0]["visibility"] == "customer"
        # The agent's follow-up note is on the same order, and the drill logged it.
        assert "客户来电询问进度" in notes[-1]["note"] and notes[-1]["visibility"] == "customer"
        types = [e.type for e in events]
        assert "lookup.workorders" in types and "workorder.created" not in types
        lookups = [e.data for e in events if e.type == "lookup.workorders"]
        assert lookups and all(d["allowed"] for d in lookups)
        # The candidate's work-order list shows it (the existing pages); an examiner reaches it too.
        mine = client.get("/api/v1/workorders", headers=headers).get_json()["items"]
        assert order["number"] in [o["number"] for o in mine]
        seen = client.get(f"/api/v1/workorders/{order['number']}", headers={"Authorization": f"Bearer {staff}"})
        assert seen.status_code == 200


def test_run_without_lookup_or_note_loses_the_loop_checks():
    from sandbox.drill.scenario.store import spec_from_text
    from sandbox.users.services import get_user, issue_token

    with throwaway_instance(create_app, "bankdrill-prior-") as app:
        runtime = app.extensions["bankdrill"]
        with runtime.transaction() as s:
            token = issue_token(s, runtime.clock, get_user(s, "candidate1"))
            staff = issue_token(s, runtime.clock, get_user(s, "examiner"))
        spec = spec_from_text(_text())
        steps = [st for st in spec.reference_run if st["op"] not in ("lookup.workorders", "workorder.note")]
        result = play(app, runtime.clock, spec, token, staff, steps)
        failed = {c["id"] for c in result.report["checks"] if not c["passed"]}
        assert {"history", "record"} <= failed
