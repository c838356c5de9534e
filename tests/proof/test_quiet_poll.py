"""The cheap poll: a candidate's poll of their own drill conversation, read with prebuilt Core
selects into read-only copies, answers exactly what the full (ORM) path answers, and steps
aside whenever the drill has something to do or someone else is asking."""

from __future__ import annotations

import pytest
from sqlalchemy import event, inspect, select

from sandbox.db import CopyReader
from sandbox.drill import drill_contacts
from sandbox.drill.models import Drill, DrillContact
from sandbox.web.api import drills as drills_api


def _bodies(client, conv: int, after: int, monkeypatch) -> tuple[dict, dict]:
    """The poll's body by the quiet path and by the full path (the quiet one switched off)."""
    quiet = client.get(f"/api/v1/conversations/{conv}/messages?after={after}")
    assert quiet.status_code == 200
    with monkeypatch.context() as m:
        m.setattr(drills_api, "_quiet_poll", lambda *a: None)
        full = client.get(f"/api/v1/conversations/{conv}/messages?after={after}")
    assert full.status_code == 200
    return quiet.get_json(), full.get_json()


@pytest.mark.db
def test_the_quiet_poll_answers_what_the_full_path_answers(api, clock, monkeypatch):
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    quiet, full = _bodies(cand, conv, 0, monkeypatch)
    assert quiet == full and quiet["messages"] and quiet["drill"]["status"] == "running"
    clock.advance(5)
    cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好，请问有什么可以帮您？"})
    for after in (0, 1, 2, 1000):
        quiet, full = _bodies(cand, conv, after, monkeypatch)
        assert quiet == full, after
    assert [m["speaker"] for m in _bodies(cand, conv, 1, monkeypatch)[0]["messages"]][:1] == ["agent"]
    # Handed in: the copy says finished, like the full path.
    cand.post(f"/api/v1/drills/{drill['id']}/finish")
    quiet, full = _bodies(cand, conv, 0, monkeypatch)
    assert quiet == full and quiet["drill"] == {"status": "finished", "remaining_seconds": 0.0}


@pytest.mark.db
def test_the_quiet_poll_reads_without_the_orm_and_steps_aside_for_a_watcher(api, monkeypatch):
    cand, examiner = api("candidate"), api("examiner")
    conv = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["conversations"][0]["id"]
    full_path = []
    original = drills_api.load_contact
    monkeypatch.setattr(drills_api, "load_contact", lambda *a, **k: full_path.append(a) or original(*a, **k))
    assert cand.get(f"/api/v1/conversations/{conv}/messages?after=1").status_code == 200
    assert full_path == []  # the candidate's own poll with nothing due: the quiet path
    watched = examiner.get(f"/api/v1/conversations/{conv}/messages?after=0")
    assert watched.status_code == 200 and watched.get_json()["messages"]
    assert len(full_path) == 1  # an examiner watching: the full path, with its access rules
    other = api("candidate2").get(f"/api/v1/conversations/{conv}/messages")
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "forbidden"
    missing = cand.get("/api/v1/conversations/999999/messages")
    assert missing.status_code == 404


@pytest.mark.db
def test_a_poll_still_advances_a_drill_that_has_something_due(api, clock, monkeypatch):
    """The second caller of a queue arrives at 40 s: the quiet path sees it is due, steps aside,
    and the full path lets the customer in; before that moment polls stay quiet."""
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "system-failure-queue"}).get_json()
    first = next(c for c in drill["conversations"] if c["arrived"])["id"]
    assert sum(c["arrived"] for c in drill["conversations"]) == 1
    ticked: list[int] = []
    original = drills_api.advance_drill_if_due
    monkeypatch.setattr(drills_api, "advance_drill_if_due", lambda d: ticked.append(d.id) or original(d))
    clock.advance(30)
    cand.get(f"/api/v1/conversations/{first}/messages?after=1000")
    assert ticked == []
    clock.advance(15)  # 45 s: the second caller is due
    cand.get(f"/api/v1/conversations/{first}/messages?after=1000")
    assert ticked == [drill["id"]]
    state = cand.get(f"/api/v1/drills/{drill['id']}").get_json()
    assert sum(c["arrived"] for c in state["conversations"]) == 2


@pytest.mark.db
def test_copies_are_outside_every_session_and_change_nothing(api, runtime):
    cand = api("candidate")
    drill_id = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["id"]
    with runtime.session_factory() as s:
        copy = drill_contacts.drill_snapshot(s, drill_id)
        assert copy is not None and inspect(copy).transient and copy not in s
        assert copy.contacts and all(inspect(c).transient for c in copy.contacts)
        copy.status = "finished"
        copy.contacts[0].mood = -5
        s.commit()
    with runtime.session_factory() as s:
        assert s.get(Drill, drill_id).status == "running"
        assert s.scalar(select(DrillContact.mood).where(DrillContact.drill_id == drill_id)) != -5
        assert drill_contacts.drill_snapshot(s, 999999) is None


@pytest.mark.db
def test_a_copy_reader_sees_what_the_session_has_not_flushed_yet(runtime):
    """Like an ORM query, a copy reader autoflushes: a drill read in the transaction that wrote it."""
    from sandbox.users.models import User

    reader = CopyReader(User, lambda t: [t.c.username == "flushed-first"])
    with runtime.session_factory() as s:
        s.add(User(username="flushed-first", role="candidate", password_hash="x", created_at=runtime.clock.now()))
        assert [u.username for u in reader(s)] == ["flushed-first"]
        s.rollback()


@pytest.mark.db
def test_a_quiet_poll_issues_few_statements_and_no_writes(api, app):
    cand = api("candidate")
    conv = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["conversations"][0]["id"]
    cand.get("/api/v1/me")
    statements: list[str] = []
    engine = app.extensions["bankdrill"].engine
    listener = lambda conn, cursor, stmt, *a: statements.append(stmt.split()[0].upper())  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert cand.get(f"/api/v1/conversations/{conv}/messages?after=1").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    selects = [s for s in statements if s == "SELECT"]
    # token+user, conversation, the drill's stamp (sandbox.drill.quiet), drill, contacts, scenario
    # text, messages (no round: no faults query); a repeated poll reads two (test_poll_memo.py)
    assert len(selects) <= 7, statements
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements), statements
