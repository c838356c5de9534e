"""``sandbox.db.update_columns``: one Core UPDATE by primary key, and the object left as if
loaded with the new values, so that no flush writes them again (the hot path of 开始作答)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from sandbox.db import update_columns
from sandbox.exam.models import Round, RoundCandidate
from sandbox.users.models import User


def _statements(session):
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: seen.append(a[2].split()[0].upper()))
    return seen


def _entry(session) -> RoundCandidate:
    user = session.scalar(select(User).where(User.username == "candidate1"))
    rnd = Round(name="第一场", created_by=user.id, created_at=datetime(2026, 12, 1, tzinfo=UTC), scenarios=[],
                status="draft", join_code="UPDCOL")
    session.add(rnd)
    session.flush()
    entry = RoundCandidate(round_id=rnd.id, user_id=user.id, added_at=datetime(2026, 12, 1, tzinfo=UTC))
    session.add(entry)
    session.flush()
    return entry


@pytest.mark.db
def test_the_row_is_written_at_once_and_the_object_is_clean(session):
    with session.begin():
        entry = _entry(session)
        seen = _statements(session)
        joined = datetime(2026, 12, 6, 8, 30, tzinfo=UTC)
        update_columns(session, entry, joined_at=joined, extra_seconds=45)
        assert seen == ["UPDATE"]
        assert entry.joined_at == joined and entry.extra_seconds == 45
        assert entry not in session.dirty  # nothing left for a flush
        session.flush()
        assert seen == ["UPDATE"]
        # The same transaction reads the new values back from the row itself.
        row = session.execute(select(RoundCandidate.__table__).where(RoundCandidate.__table__.c.id == entry.id)).one()
        assert row.extra_seconds == 45 and row.joined_at.replace(tzinfo=UTC) == joined
        entry_id = entry.id
    session.expunge_all()
    again = session.get(RoundCandidate, entry_id)
    assert again.extra_seconds == 45 and again.joined_at == datetime(2026, 12, 6, 8, 30, tzinfo=UTC)


@pytest.mark.db
def test_other_pending_changes_of_the_object_are_still_flushed(session):
    with session.begin():
        entry = _entry(session)
        entry.extra_seconds = 30  # an ORM change, not written yet
        update_columns(session, entry, joined_at=datetime(2026, 12, 6, tzinfo=UTC))
        entry_id = entry.id
    session.expunge_all()
    again = session.get(RoundCandidate, entry_id)
    assert again.extra_seconds == 30 and again.joined_at is not None


@pytest.mark.db
def test_an_object_not_in_the_database_or_a_row_gone_is_refused(session):
    with session.begin():
        with pytest.raises(ValueError):
            update_columns(session, RoundCandidate(round_id=1, user_id=1), extra_seconds=5)  # transient
        entry = _entry(session)
        session.execute(RoundCandidate.__table__.delete().where(RoundCandidate.__table__.c.id == entry.id))
        with pytest.raises(LookupError):
            update_columns(session, entry, extra_seconds=5)
        session.rollback()
