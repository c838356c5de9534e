"""The drill's gate in front of a bank operation, taken inside the operation's own unit of work.

A lookup in a drill conversation is refused while the drill's lookup service is down (the
``fault.blocked`` event committed with the 503), once the drill is over (the deadline's end of
the drill committed with the refusal) and while the round is paused; otherwise it runs with one
write transaction and one read of the drill row.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from sandbox.bank.models import AuditEntry
from sandbox.drill import drill_clock
from sandbox.drill.models import Drill
from tests.drill.test_operation_events import _events, _facts
from tests.exam.test_rounds import started_round


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": False, "PROPAGATE_UNEXPECTED": False}


def _start(cand, scenario: str) -> tuple[int, str]:
    resp = cand.post("/api/v1/drills", json={"scenario": scenario, "mode": "practice"})
    assert resp.status_code == 201, resp.get_json()
    drill = resp.get_json()
    return drill["id"], f"/api/v1/conversations/{drill['conversations'][0]['id']}"


def _verify(cand, session, path: str) -> None:
    facts = _facts(session, int(path.rsplit("/", 1)[1]))
    resp = cand.post(f"{path}/identity/verify", json={"method": "id_phone", "name": facts["name"],
                                                      "id_last6": facts["id_last6"],
                                                      "phone_last4": facts["phone_last4"]})
    assert resp.status_code == 200 and resp.get_json()["verified"] is True, resp.get_json()


def _past_deadline(session, clock, drill_id: int) -> None:
    session.rollback()
    drill = session.get(Drill, drill_id)
    clock.advance((drill.deadline - drill.started_at).total_seconds() + 5)


def _card_audits(session, conv_path: str) -> int:
    conv = int(conv_path.rsplit("/", 1)[1])
    session.rollback()
    return len(list(session.scalars(select(AuditEntry).where(AuditEntry.conversation_id == conv,
                                                             AuditEntry.action == "cards"))))


def test_a_lookup_while_the_service_is_down_is_refused_and_the_block_is_kept(api, session, clock):
    cand = api("candidate")
    drill_id, path = _start(cand, "lookup-outage-card-fraud")
    _verify(cand, session, path)
    assert cand.get(f"{path}/cards").status_code == 200
    audits_before = _card_audits(session, path)
    assert audits_before == 1

    clock.advance(25)  # the scenario takes the lookup service down at 20 s
    resp = cand.get(f"{path}/cards")
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "service_unavailable"
    assert "客户信息查询服务异常" in resp.get_json()["error"]["message"]

    types = [e.type for e in _events(session, drill_id)]
    assert types.count("lookup.cards") == 1  # the one before the outage; the refused one logs no lookup
    blocked = [e for e in _events(session, drill_id) if e.type == "fault.blocked"]
    assert len(blocked) == 1 and blocked[0].data["component"] == "lookup"
    assert blocked[0].data["endpoint"] == "api.cards"
    assert "fault.started" in types  # the drill was brought up to date in the same unit of work
    assert _card_audits(session, path) == audits_before  # the operation itself never ran

    again = cand.get(f"{path}/cards")
    assert again.status_code == 503
    assert [e.type for e in _events(session, drill_id)].count("fault.blocked") == 2
    assert [e.type for e in _events(session, drill_id)].count("fault.started") == 1


def test_a_watching_examiner_is_not_gated_and_leaves_no_drill_event(api, session, clock):
    cand, examiner = api("candidate"), api("examiner")
    drill_id, path = _start(cand, "lookup-outage-card-fraud")
    _verify(cand, session, path)
    clock.advance(25)
    before = len(_events(session, drill_id))
    resp = examiner.get(f"{path}/cards")
    assert resp.status_code == 200, resp.get_json()
    assert len(_events(session, drill_id)) == before


def test_a_lookup_after_the_deadline_ends_the_drill_and_is_refused(api, session, clock):
    cand = api("candidate")
    drill_id, path = _start(cand, "cc-bill-enquiry")
    _verify(cand, session, path)
    _past_deadline(session, clock, drill_id)

    resp = cand.get(f"{path}/cards")
    assert resp.status_code in (409, 410), resp.get_json()
    assert resp.get_json()["error"]["code"] == "drill_expired"
    session.rollback()
    drill = session.get(Drill, drill_id)
    assert drill.status == drill_clock.FINISHED and drill.ended_by == "deadline"  # kept with the refusal
    assert "lookup.cards" not in [e.type for e in _events(session, drill_id)]
    assert _card_audits(session, path) == 0


def test_a_gated_lookup_reads_the_drill_once_in_one_write_transaction(app, api, session):
    cand = api("candidate")
    drill_id, path = _start(cand, "cc-bill-enquiry")
    _verify(cand, session, path)
    seen: list[str] = []
    engine = app.extensions["bankdrill"].engine
    listener = lambda conn, cursor, stmt, *a: seen.append(" ".join(stmt.split()))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        resp = cand.get(f"{path}/cards")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert resp.status_code == 200
    drill_reads = [s for s in seen if s.startswith("SELECT") and re.search(r"\bFROM drills\b", s)]
    assert len(drill_reads) == 1, drill_reads
    contact_reads = [s for s in seen if s.startswith("SELECT") and re.search(r"\bFROM drill_contacts\b", s)]
    assert len(contact_reads) == 1, contact_reads
    assert "lookup.cards" in [e.type for e in _events(session, drill_id)]


def test_a_work_order_from_a_drill_past_its_deadline_is_refused_and_nothing_is_filed(api, session, clock):
    from workorders.models import WorkOrder

    cand = api("candidate")
    drill_id, path = _start(cand, "cc-bill-enquiry")
    conv = int(path.rsplit("/", 1)[1])
    order = {"category": "信用卡", "title": "账单疑问", "conversation_id": conv}
    _past_deadline(session, clock, drill_id)

    for url, body in (("/api/v1/workorders", order), (f"{path}/handoff", {"queue": "人工坐席"})):
        resp = cand.post(url, json=body)
        assert resp.status_code in (409, 410) and resp.get_json()["error"]["code"] == "drill_expired", url
    session.rollback()
    assert session.scalars(select(WorkOrder).where(WorkOrder.conversation_id == conv)).first() is None
    types = [e.type for e in _events(session, drill_id)]
    assert "workorder.created" not in types and "handoff" not in types
    assert session.get(Drill, drill_id).status == drill_clock.FINISHED


@pytest.mark.db
def test_a_lookup_while_the_round_is_paused_is_refused_and_logs_nothing(api, session, clock):
    roles = {"examiner": api("examiner"), "c1": api("candidate1"), "c2": api("candidate2")}
    rnd = started_round(roles)
    cand = roles["c1"]
    drill = cand.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    path = f"/api/v1/conversations/{drill['conversations'][0]['id']}"
    _verify(cand, session, path)
    assert roles["examiner"].post(f"/api/v1/rounds/{rnd['id']}/pause").status_code == 200
    before = [e.type for e in _events(session, drill["id"])]

    resp = cand.get(f"{path}/cards")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "drill_paused"
    assert [e.type for e in _events(session, drill["id"])] == before
    assert _card_audits(session, path) == 0

    assert roles["examiner"].post(f"/api/v1/rounds/{rnd['id']}/resume").status_code == 200
    assert cand.get(f"{path}/cards").status_code == 200
    assert "lookup.cards" in [e.type for e in _events(session, drill["id"])]
