"""Starting a question (开始作答) under concurrency: one drill per candidate, candidates in parallel.

``POST /rounds/{id}/next`` holds the round with a *shared* lock and the candidate's roster row
with an exclusive one: a whole room can start at once on PostgreSQL (they used to queue on the
round's row), one candidate's two tabs still start one drill, and the examiner's pause waits
for the starts in flight.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from sandbox.drill import drill_clock
from sandbox.drill.models import Drill
from sandbox.exam import rounds as exam
from sandbox.users.models import User


@pytest.fixture
def started(api) -> int:
    """A started round of one scenario with candidate1 and candidate2 on its roster."""
    examiner = api("examiner")
    api("candidate1"), api("candidate2")  # the accounts exist
    rnd = examiner.post("/api/v1/rounds", json={"name": "并发开考", "scenarios": ["cc-bill-enquiry"]}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1", "candidate2"]})
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    return rnd["id"]


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _start(runtime, round_id: int, username: str) -> int:
    with runtime.transaction() as s:
        user = _user(s, username)
        rnd = exam.get_round(s, round_id, for_share=True)
        return exam.next_drill(s, runtime.clock, rnd, user).id


@pytest.mark.db
def test_one_candidate_pressing_start_in_many_tabs_gets_one_drill(runtime, started):
    n = 12
    barrier = threading.Barrier(n)
    ids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            drill_id = _start(runtime, started, "candidate1")
            with lock:
                ids.append(drill_id)
        except BaseException as exc:  # collected and asserted below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(ids) == n and len(set(ids)) == 1
    with runtime.session_factory() as s:
        started_drills = select(func.count()).select_from(Drill).where(Drill.round_id == started,
                                                                       Drill.status != drill_clock.PREPARED)
        assert s.scalar(started_drills) == 1
        # candidate1's question was the one prepared at the round's start; nothing else was made.
        assert s.scalar(select(func.count()).select_from(Drill).where(Drill.round_id == started)) == 2


def _postgres_only(runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite serialises every writer on one file lock")


@pytest.mark.db
def test_two_candidates_start_at_the_same_time_without_waiting_for_each_other(runtime, started):
    _postgres_only(runtime)
    with runtime.session_factory() as first:
        first.begin()
        user = _user(first, "candidate1")
        rnd = exam.get_round(first, started, for_share=True)
        exam.next_drill(first, runtime.clock, rnd, user)  # not committed yet
        with runtime.session_factory() as second:
            second.begin()
            second.execute(text("SET LOCAL lock_timeout = '3s'"))
            other = _user(second, "candidate2")
            drill = exam.next_drill(second, runtime.clock, exam.get_round(second, started, for_share=True), other)
            assert drill.user_id == other.id
            second.commit()
            # The same candidate in a second tab waits for the first start (here: times out).
            with runtime.session_factory() as third:
                third.begin()
                third.execute(text("SET LOCAL lock_timeout = '300ms'"))
                same = _user(third, "candidate1")
                with pytest.raises(OperationalError, match="lock timeout"):
                    exam.next_drill(third, runtime.clock, exam.get_round(third, started, for_share=True), same)
                third.rollback()
            # The examiner's pause (an exclusive lock on the round) waits for the start in flight.
            with runtime.session_factory() as examiner:
                examiner.begin()
                examiner.execute(text("SET LOCAL lock_timeout = '300ms'"))
                with pytest.raises(OperationalError, match="lock timeout"):
                    exam.get_round(examiner, started, for_update=True)
                examiner.rollback()
        first.commit()
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Drill).where(Drill.round_id == started)) == 2
