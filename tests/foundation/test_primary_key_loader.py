"""``sandbox.db.PrimaryKeyLoader``: ``Session.get`` through a select built once, with the same
answers (the hot path of every drill message and operation loads its drill this way)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import joinedload

from sandbox.db import PrimaryKeyLoader
from sandbox.exam.models import Round, RoundCandidate
from sandbox.users.models import User

PLAIN = PrimaryKeyLoader(Round)
WITH_CANDIDATES = PrimaryKeyLoader(Round, joinedload(Round.candidates))
LOCKED = PrimaryKeyLoader(Round, joinedload(Round.candidates), for_update={"of": Round})


def _statements(session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda *a: None if a[2].startswith("BEGIN") else seen.append(a[2]))
    return seen


def _round_with_candidates(session) -> int:
    users = session.scalars(select(User).where(User.username.in_(["candidate1", "candidate2"]))).all()
    assert len(users) == 2
    rnd = Round(name="主键加载", created_by=users[0].id, created_at=datetime(2026, 12, 1, tzinfo=UTC), scenarios=[],
                status="draft", join_code="PKLOAD")
    rnd.candidates = [RoundCandidate(user_id=u.id, added_at=datetime(2026, 12, 1, tzinfo=UTC)) for u in users]
    session.add(rnd)
    session.flush()
    return rnd.id


@pytest.mark.db
def test_an_object_in_the_session_comes_back_without_a_query(session):
    with session.begin():
        round_id = _round_with_candidates(session)
        loaded = session.get(Round, round_id)
        seen = _statements(session)
        assert PLAIN(session, round_id) is loaded
        assert seen == []


@pytest.mark.db
def test_a_fresh_session_loads_the_object_and_its_collection_in_one_statement(session, runtime):
    with session.begin():
        round_id = _round_with_candidates(session)
    with runtime.session_factory() as other, other.begin():
        seen = _statements(other)
        rnd = WITH_CANDIDATES(other, round_id)
        assert rnd is not None and rnd.name == "主键加载"
        assert len(rnd.candidates) == 2  # joined: no lazy load after the first statement
        assert len(seen) == 1
        assert rnd is other.get(Round, round_id)  # it is the session's own object
        assert WITH_CANDIDATES(other, 2**31 - 1) is None


@pytest.mark.db
def test_an_expired_object_is_read_again(session):
    with session.begin():
        round_id = _round_with_candidates(session)
        rnd = PLAIN(session, round_id)
        session.execute(update(Round).where(Round.id == round_id).values(name="改过的名字")
                        .execution_options(synchronize_session=False))
        session.expire(rnd)
        assert PLAIN(session, round_id).name == "改过的名字"


@pytest.mark.db
def test_a_locking_load_always_asks_the_database(session):
    with session.begin():
        round_id = _round_with_candidates(session)
        loaded = session.get(Round, round_id)
        seen = _statements(session)
        assert LOCKED(session, round_id) is loaded  # the session's object, as Session.get gives
        assert len(seen) == 1
    # On PostgreSQL the lock covers the round's row only (an outer join's nullable side cannot be locked).
    sql = str(LOCKED.stmt.compile(dialect=postgresql.dialect()))
    assert sql.rstrip().endswith("FOR UPDATE OF rounds")
    assert "FOR UPDATE" not in str(PLAIN.stmt.compile(dialect=postgresql.dialect()))
