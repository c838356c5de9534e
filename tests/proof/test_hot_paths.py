"""Fixes found by the load and fuzz runs stay fixed."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from sandbox.batch_writer import flush_batch_writers
from sandbox.roles import CANDIDATE
from sandbox.users.models import ApiToken, User
from sandbox.users.services import issue_token, revoke_tokens, user_for_token


def _last_used(session, app):
    flush_batch_writers(app.extensions["bankdrill"])  # uses are written off the request, within a second
    session.rollback()  # a new snapshot (and fresh objects)
    return session.scalar(select(ApiToken.last_used_at).order_by(ApiToken.id.desc()))


def test_token_use_is_recorded_at_most_once_a_minute(api, app, session, clock):
    cand = api("candidate")
    assert cand.get("/api/v1/me").status_code == 200
    first = _last_used(session, app)
    assert first == clock.now()
    clock.advance(30)
    assert cand.get("/api/v1/me").status_code == 200
    assert _last_used(session, app) == first  # a read stays a read
    clock.advance(31)
    assert cand.get("/api/v1/me").status_code == 200
    assert _last_used(session, app) == clock.now()


def test_a_poll_with_nothing_due_writes_nothing(api, app, clock):
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    engine = app.extensions["bankdrill"].engine
    from sqlalchemy import event

    statements = []
    listener = lambda conn, cursor, stmt, *a: statements.append(stmt.split()[0].upper())  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        resp = cand.get(f"/api/v1/conversations/{conv}/messages")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert resp.status_code == 200 and resp.get_json()["messages"]
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements), statements
    # At the deadline the same poll does write: it ends the drill.
    clock.advance(drill["remaining_seconds"] + 1)
    body = cand.get(f"/api/v1/conversations/{conv}/messages").get_json()
    assert body["drill"]["status"] == "finished"


def test_ids_too_big_for_a_database_column_are_404s_not_500s(api):
    cand = api("candidate")
    for url in ("/api/v1/drills/3494104327962867269632", "/api/v1/conversations/99999999999999999999/messages",
                "/api/v1/handoffs/2147483648"):
        resp = cand.get(url)
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found", url
    resp = cand.post("/api/v1/conversations/99999999999999999999/messages", json={"text": "您好"})
    assert resp.status_code == 404
    assert cand.get("/api/v1/drills/2147483647").status_code == 404  # the largest id still routes


def test_a_drill_operation_with_nothing_due_takes_the_write_lock_only_to_write(api, session, monkeypatch):
    """The drill gate checks deadline, pause and faults with a read; only the writes lock.

    A KB search in a drill writes once (the drill event; its search-log row goes to the batch
    writer, off the request path), so it takes the write lock once: three times when the hook
    always began as a writer, twice while the search log was written in the request.
    """
    from sandbox.web import tx

    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    cand.get(f"/api/v1/conversations/{conv}/messages")  # the contact has arrived; nothing is due now
    writers = []
    real = tx.begin_write
    monkeypatch.setattr(tx, "begin_write", lambda s: (writers.append(1), real(s)))
    resp = cand.get(f"/api/v1/kb/search?q=信用卡账单&conversation={conv}")
    assert resp.status_code == 200 and resp.get_json()["results"]
    assert len(writers) == 1
    from sandbox.drill.models import DrillEvent

    logged = session.scalars(select(DrillEvent.type).where(DrillEvent.drill_id == drill["id"])).all()
    assert "kb.search" in logged


def _statements_during(engine, call):
    from sqlalchemy import event

    statements = []
    listener = lambda conn, cursor, stmt, *a: statements.append(stmt.split()[0].upper())  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return result, statements


def test_a_token_request_writes_nothing_and_its_use_is_written_in_the_background(api, app, session, clock):
    from sandbox.users.token_use import get_token_use_writer

    runtime = app.extensions["bankdrill"]
    cand = api("candidate")
    assert cand.get("/api/v1/me").status_code == 200
    _last_used(session, app)  # the fixture's token has now been used once
    writer = get_token_use_writer(runtime)
    written = writer.written
    clock.advance(61)  # stale again: this request's use must be recorded
    resp, statements = _statements_during(runtime.engine, lambda: cand.get("/api/v1/me"))
    assert resp.status_code == 200
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements), statements
    # Written by the writer's own thread within its beat, without anyone flushing.
    deadline = time.monotonic() + 10
    while writer.written == written and time.monotonic() < deadline:
        time.sleep(0.05)
    session.rollback()
    assert session.scalar(select(ApiToken.last_used_at).order_by(ApiToken.id.desc())) == clock.now()


def test_a_token_is_queued_once_a_minute_and_a_revoked_one_costs_nothing(app, session, clock):
    from sandbox.users.token_use import get_token_use_writer

    runtime = app.extensions["bankdrill"]
    writer = get_token_use_writer(runtime)
    with runtime.transaction() as s:
        user = s.scalar(select(User).where(User.role == CANDIDATE))
        token = issue_token(s, clock, user)
        token_id = s.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()))
    for _ in range(50):  # a burst of requests of one token queues one row
        with runtime.transaction() as s:
            assert user_for_token(s, clock, token, record_use=writer.record_use) is not None
    assert len(writer._pending) == 1
    later = clock.now()
    writer.record_use(token_id, later - timedelta(seconds=5))  # an older use never moves it back
    assert writer.flush() == 1
    _, statements = _statements_during(runtime.engine, writer.flush)
    assert statements == []  # nothing queued: nothing written
    session.rollback()
    assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id)) == later
    # A use queued for a token revoked before the batch is written: the batch goes through.
    clock.advance(120)
    with runtime.transaction() as s:
        assert user_for_token(s, clock, token, record_use=writer.record_use) is not None
    with runtime.transaction() as s:
        revoke_tokens(s, s.get(User, user.id))
    assert writer.flush() == 1 and writer.dropped == 0
    with runtime.transaction() as s:
        assert user_for_token(s, clock, token, record_use=writer.record_use) is None  # revoked at once


def test_a_clean_shutdown_writes_the_queued_token_uses(app, session, clock):
    from sandbox.users.token_use import get_token_use_writer

    runtime = app.extensions["bankdrill"]
    writer = get_token_use_writer(runtime)
    writer.interval = 3600  # the thread would not write before the shutdown
    with runtime.transaction() as s:
        token = issue_token(s, clock, s.scalar(select(User).where(User.role == CANDIDATE)))
    with runtime.transaction() as s:
        user_for_token(s, clock, token, record_use=writer.record_use)
    runtime.close_services()
    session.rollback()
    assert session.scalar(select(ApiToken.last_used_at).order_by(ApiToken.id.desc())) == clock.now()
