"""Fixes found by the load and fuzz runs stay fixed."""

from __future__ import annotations

from sqlalchemy import select

from sandbox.users.models import ApiToken


def _last_used(session):
    session.rollback()  # a new snapshot (and fresh objects)
    return session.scalar(select(ApiToken.last_used_at).order_by(ApiToken.id.desc()))


def test_token_use_is_recorded_at_most_once_a_minute(api, session, clock):
    cand = api("candidate")
    assert cand.get("/api/v1/me").status_code == 200
    first = _last_used(session)
    assert first == clock.now()
    clock.advance(30)
    assert cand.get("/api/v1/me").status_code == 200
    assert _last_used(session) == first  # a read stays a read
    clock.advance(31)
    assert cand.get("/api/v1/me").status_code == 200
    assert _last_used(session) == clock.now()


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
