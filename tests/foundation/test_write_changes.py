"""``sandbox.db.write_changes``: an object's changed columns written by one UPDATE at once, the
object left clean so that the commit's flush writes nothing (a drill message's contact row)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from sandbox.db import write_changes
from sandbox.exam.models import Round, RoundCandidate
from sandbox.users.models import User


def _statements(session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda *a: None if a[2].startswith("BEGIN") else seen.append(" ".join(a[2].split())))
    return seen


def _new_round(session) -> int:
    user = session.scalar(select(User).where(User.username == "candidate1"))
    rnd = Round(name="原名", created_by=user.id, created_at=datetime(2026, 12, 1, tzinfo=UTC), scenarios=["a"],
                status="draft", join_code="WRCHG1")
    session.add(rnd)
    session.flush()
    return rnd.id


@pytest.mark.db
def test_changed_columns_are_written_at_once_and_the_commit_writes_nothing_more(session, runtime):
    with session.begin():
        round_id = _new_round(session)
    with runtime.session_factory() as s:
        with s.begin():
            rnd = s.get(Round, round_id)
            seen = _statements(s)
            rnd.name = "新名"
            rnd.scenarios = ["a", "b"]  # a JSON column, reassigned
            write_changes(s, rnd)
            assert len(seen) == 1 and seen[0].startswith("UPDATE rounds SET") and "name" in seen[0]
            assert "status" not in seen[0]  # only what changed
            assert not s.dirty and rnd not in s.dirty
            seen.clear()
        assert seen == []  # the commit had nothing to flush
        assert rnd.name == "新名"  # still readable, as committed
    with runtime.session_factory() as fresh:
        again = fresh.get(Round, round_id)
        assert (again.name, again.scenarios, again.status) == ("新名", ["a", "b"], "draft")


@pytest.mark.db
def test_an_unchanged_object_writes_nothing(session):
    with session.begin():
        rnd = session.get(Round, _new_round(session))
        seen = _statements(session)
        write_changes(session, rnd)
        assert seen == []


@pytest.mark.db
def test_an_object_not_inserted_yet_is_left_to_the_flush(session, runtime):
    with session.begin():
        user = session.scalar(select(User).where(User.username == "candidate1"))
        rnd = Round(name="未写入", created_by=user.id, created_at=datetime(2026, 12, 1, tzinfo=UTC), scenarios=[],
                    status="draft", join_code="WRCHG2")
        session.add(rnd)
        seen = _statements(session)
        rnd.name = "写入时的名字"
        write_changes(session, rnd)  # nothing to update: the row does not exist yet
        assert seen == []
    assert rnd.id is not None
    with runtime.session_factory() as fresh:
        assert fresh.get(Round, rnd.id).name == "写入时的名字"


@pytest.mark.db
def test_a_changed_collection_is_left_to_the_flush(session, runtime):
    with session.begin():
        round_id = _new_round(session)
        user = session.scalar(select(User).where(User.username == "candidate2"))
        user_id = user.id
    with runtime.session_factory() as s:
        with s.begin():
            rnd = s.get(Round, round_id)
            rnd.name = "带考生"
            rnd.candidates.append(RoundCandidate(user_id=user_id, added_at=datetime(2026, 12, 1, tzinfo=UTC)))
            write_changes(s, rnd)  # the name now; the new candidate row with the flush
    with runtime.session_factory() as fresh:
        again = fresh.get(Round, round_id)
        assert again.name == "带考生" and [c.user_id for c in again.candidates] == [user_id]


@pytest.mark.db
def test_a_drill_message_updates_its_contact_once_and_the_commit_flushes_nothing(api, app):
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    engine = app.extensions["bankdrill"].engine
    factory = app.extensions["bankdrill"].session_factory
    seen: list[str] = []
    flushed: list[object] = []
    listener = lambda conn, cursor, stmt, *a: seen.append(" ".join(stmt.split()))  # noqa: E731
    on_flush = lambda session, *a: flushed.extend(session.dirty | session.new)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    event.listen(factory, "before_flush", on_flush)
    try:
        resp = cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好，请问有什么可以帮您？"})
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        event.remove(factory, "before_flush", on_flush)
    assert resp.status_code == 201 and resp.get_json()["replies"]
    updates = [s for s in seen if s.startswith("UPDATE drill_contacts")]
    assert len(updates) == 1 and "last_customer_seq" in updates[0] and "agenda" in updates[0]
    assert flushed == []  # written by the post itself: no flush had anything to write
    with app.extensions["bankdrill"].session_factory() as s:
        from sandbox.drill.models import DrillContact

        row = s.scalar(select(DrillContact).where(DrillContact.conversation_id == conv))
        assert row.last_customer_seq == resp.get_json()["replies"][-1]["seq"]
        assert row.agenda and row.last_agent_at is not None


@pytest.mark.db
def test_a_prepared_question_starts_without_a_flush(api, app):
    """开始作答 (a whole room presses it at once): the contact's arrival and its first message
    are written by the tick itself; the commit has nothing left to flush."""
    examiner, cand = api("examiner"), api("candidate1")
    rnd = examiner.post("/api/v1/rounds", json={"name": "开始作答", "scenarios": ["cc-bill-enquiry"]}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]})
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    factory = app.extensions["bankdrill"].session_factory
    flushed: list[object] = []
    on_flush = lambda session, *a: flushed.extend(session.dirty | session.new)  # noqa: E731
    event.listen(factory, "before_flush", on_flush)
    try:
        resp = cand.post(f"/api/v1/rounds/{rnd['id']}/next")
    finally:
        event.remove(factory, "before_flush", on_flush)
    assert resp.status_code == 201
    conv = resp.get_json()["conversations"][0]
    assert flushed == []
    messages = cand.get(f"/api/v1/conversations/{conv['id']}/messages").get_json()["messages"]
    assert messages and messages[-1]["speaker"] == "customer"
    with factory() as s:
        from sandbox.drill.models import DrillContact

        row = s.scalar(select(DrillContact).where(DrillContact.conversation_id == conv["id"]))
        assert row.arrived and row.last_customer_seq == messages[-1]["seq"] and row.last_customer_at is not None
