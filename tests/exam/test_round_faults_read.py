"""A round's injected faults are read once per transaction, and never staler than that.

The drill engine asks for them on every tick and every drill's JSON; ``exam.faults`` keeps the
rows for the rest of the transaction. A fault injected or restored in the same transaction, or
committed by someone else before the next one, must still be seen.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox.drill.models import Drill, DrillEvent
from sandbox.exam import rounds as exam
from sandbox.exam.faults import drill_round_faults, round_faults_version_read
from sandbox.exam.models import Round
from sandbox.users.models import User
from tests.statements import statements_sent


@pytest.fixture
def started_drill(api) -> int:
    examiner = api("examiner")
    rnd = examiner.post("/api/v1/rounds", json={"name": "故障读取", "scenarios": ["cc-bill-enquiry"]}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]})
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    drill = api("candidate1").post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    return drill["id"]


def _components(session, drill) -> list[tuple[str, bool]]:
    return [(f.component, f.ends_at is None) for f in drill_round_faults(session, drill)]


@pytest.mark.db
def test_a_fault_changed_in_the_same_transaction_is_seen(runtime, started_drill):
    with runtime.transaction() as s:
        drill = s.get(Drill, started_drill)
        rnd = s.get(Round, drill.round_id)
        examiner = s.scalar(select(User).where(User.username == "examiner"))
        assert _components(s, drill) == []  # read, and kept for the transaction
        fault = exam.inject_fault(s, runtime.clock, rnd, examiner, "lookup")
        assert _components(s, drill) == [("lookup", True)]
        exam.restore_fault(s, runtime.clock, rnd, fault.id)
        assert _components(s, drill) == [("lookup", False)]


@pytest.mark.db
def test_a_fault_committed_elsewhere_is_seen_by_the_next_transaction(runtime, started_drill):
    with runtime.session_factory() as reader:
        with reader.begin():
            drill = reader.get(Drill, started_drill)
            assert _components(reader, drill) == []
        with runtime.transaction() as other:
            rnd = other.get(Round, drill.round_id)
            examiner = other.scalar(select(User).where(User.username == "examiner"))
            exam.inject_fault(other, runtime.clock, rnd, examiner, "kb")
        with reader.begin():
            drill = reader.get(Drill, started_drill)
            assert _components(reader, drill) == [("kb", True)]


# --- a round that never had a fault is not asked for its faults -------------------------------


def _fault_reads(app, call) -> tuple[object, int]:
    with statements_sent(app.extensions["bankdrill"].engine) as seen:
        resp = call()
    return resp, sum("FROM injected_faults" in s for s in seen)


@pytest.mark.db
def test_a_round_without_faults_reads_none_and_a_fault_injected_later_is_seen(api, app, session):
    examiner, cand = api("examiner"), api("candidate1")
    rnd = examiner.post("/api/v1/rounds", json={"name": "无故障", "scenarios": ["cc-bill-enquiry"]}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]})
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200

    resp, reads = _fault_reads(app, lambda: cand.post(f"/api/v1/rounds/{rnd['id']}/next"))
    assert resp.status_code == 201 and reads == 0  # 开始作答 of a round that never had a fault
    drill = resp.get_json()
    conv = drill["conversations"][0]["id"]
    resp, reads = _fault_reads(app, lambda: cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好"}))
    assert resp.status_code == 201 and reads == 0

    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/faults", json={"component": "lookup"}).status_code == 201
    resp, reads = _fault_reads(app, lambda: cand.post(f"/api/v1/conversations/{conv}/messages",
                                                      json={"text": "我帮您查一下"}))
    assert resp.status_code == 201 and reads == 1
    session.rollback()
    started = session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill["id"],
                                                       DrillEvent.type == "fault.started")).all()
    assert [e.data["component"] for e in started] == ["lookup"]  # the post's tick logged it
    assert cand.get(f"/api/v1/drills/{drill['id']}").get_json()["faults"][0]["component"] == "lookup"


@pytest.mark.db
def test_a_round_read_without_faults_still_sees_one_injected_in_the_same_transaction(runtime, started_drill):
    with runtime.transaction() as s:
        drill = s.get(Drill, started_drill)
        rnd = s.get(Round, drill.round_id)
        assert rnd.faults_version == 0
        round_faults_version_read(s, rnd.id, rnd.faults_version)
        assert _components(s, drill) == []
        examiner = s.scalar(select(User).where(User.username == "examiner"))
        exam.inject_fault(s, runtime.clock, rnd, examiner, "kb")
        assert _components(s, drill) == [("kb", True)]
