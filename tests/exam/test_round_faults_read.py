"""A round's injected faults are read once per transaction, and never staler than that.

The drill engine asks for them on every tick and every drill's JSON; ``exam.faults`` keeps the
rows for the rest of the transaction. A fault injected or restored in the same transaction, or
committed by someone else before the next one, must still be seen.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox.drill.models import Drill
from sandbox.exam import rounds as exam
from sandbox.exam.faults import drill_round_faults
from sandbox.exam.models import Round
from sandbox.users.models import User


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
