"""SQLite writers of one process queue on an in-process gate and always give it back.

These tests build their own SQLite engines (the gate is SQLite's), so they run the same
whatever database the rest of the suite uses.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from sandbox.db import begin_write, make_engine, make_session_factory


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter (id, n) VALUES (1, 0)")
    yield eng
    eng.dispose()


def _gate(engine):
    return engine.sqlite_writer_gate.lock


def _increment(session) -> None:
    n = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
    session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})


def test_concurrent_writers_all_commit_in_turn(engine):
    """Read-then-write transactions from 8 threads: no lost update, no 'database is locked'."""
    factory = make_session_factory(engine)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                with factory() as s:
                    begin_write(s)
                    _increment(s)
                    s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 200
    assert not _gate(engine).locked()


def test_gate_is_held_for_the_write_transaction_only(engine):
    factory = make_session_factory(engine)
    with factory() as s:
        s.execute(text("SELECT n FROM counter")).all()  # a reader does not take it
        assert not _gate(engine).locked()
        s.commit()
        begin_write(s)
        assert _gate(engine).locked()
        _increment(s)
        s.commit()
        assert not _gate(engine).locked()


@pytest.mark.parametrize("ending", ["rollback", "exception", "close", "invalidate"])
def test_every_way_a_write_transaction_ends_gives_the_gate_back(engine, ending):
    factory = make_session_factory(engine)
    if ending == "exception":
        # No explicit rollback: closing the session returns the connection, the pool rolls back.
        with pytest.raises(ZeroDivisionError):
            with factory() as s:
                begin_write(s)
                _increment(s)
                assert _gate(engine).locked()
                raise ZeroDivisionError
    else:
        s = factory()
        begin_write(s)
        _increment(s)
        assert _gate(engine).locked()
        if ending == "rollback":
            s.rollback()
        elif ending == "invalidate":
            s.connection().invalidate()
            s.rollback()
        s.close()
    assert not _gate(engine).locked()
    # And the next writer goes straight in; the rolled-back increment is gone.
    with factory() as s2:
        begin_write(s2)
        assert s2.execute(text("SELECT n FROM counter")).scalar_one() == 0
        s2.rollback()


def test_a_begin_that_times_out_gives_the_gate_back(engine, tmp_path):
    """Another process holding SQLite's write lock: BEGIN IMMEDIATE fails, the gate is free again."""
    other = make_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")  # its own gate, like another process
    holder = other.connect().execution_options(sqlite_immediate=True)
    holder.begin()
    try:
        conn = engine.connect()
        conn.exec_driver_sql("PRAGMA busy_timeout=50")
        conn.rollback()
        with pytest.raises(OperationalError, match="locked"):
            conn.execution_options(sqlite_immediate=True).begin()
        assert not _gate(engine).locked()
        conn.close()
    finally:
        holder.rollback()
        holder.close()
        other.dispose()
    with make_session_factory(engine)() as s:
        begin_write(s)
        _increment(s)
        s.commit()
    assert not _gate(engine).locked()


def test_the_gate_times_out_like_sqlite_would(engine):
    """A writer stuck behind the gate longer than the timeout gets SQLite's own error."""
    engine.sqlite_writer_gate.timeout = 0.05
    factory = make_session_factory(engine)
    with factory() as first:
        begin_write(first)
        with factory() as second:
            with pytest.raises(OperationalError, match="database is locked"):
                begin_write(second)
        first.rollback()
    assert not _gate(engine).locked()
