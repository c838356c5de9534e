"""SQLite writers of one process queue on an in-process gate and always give it back.

These tests build their own SQLite engines (the gate is SQLite's), so they run the same
whatever database the rest of the suite uses.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
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
    """Another process holding SQLite's write lock without the gate (the sqlite3 shell, say):
    BEGIN IMMEDIATE fails after SQLite's busy timeout, and the gate is free again."""
    holder = sqlite3.connect(tmp_path / "gate.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
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


# --------------------------------------------------------------------------- other processes

def _no_busy_wait(engine) -> None:
    """SQLite's busy handler off for ``engine``'s connections: a writer that finds the file
    locked fails at once, so a write that succeeds was ordered by the gate."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _off(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=0")


def test_writers_of_two_engines_queue_on_the_lock_file_not_in_sqlites_busy_handler(engine, tmp_path):
    """Two engines on one file order their writers like two processes do (an ``flock`` is per
    open file): with SQLite's busy timeout at zero, the second writer waits for the first's
    commit instead of failing."""
    other = make_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    _no_busy_wait(other)
    first = make_session_factory(engine)()
    begin_write(first)
    _increment(first)
    done: list[object] = []

    def second_writer() -> None:
        try:
            with make_session_factory(other)() as s:
                begin_write(s)
                _increment(s)
                s.commit()
            done.append("committed")
        except BaseException as exc:  # reported below
            done.append(exc)

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(timeout=0.3)
    assert thread.is_alive() and not done  # waiting for the first writer, not failed
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert done == ["committed"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 2
    assert not _gate(other).locked()
    other.dispose()


def test_the_lock_file_wait_times_out_like_sqlite_would(engine, tmp_path):
    other = make_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    other.sqlite_writer_gate.timeout = 0.1
    with make_session_factory(engine)() as first:
        begin_write(first)
        with make_session_factory(other)() as second:
            with pytest.raises(OperationalError, match="database is locked"):
                begin_write(second)
        assert not _gate(other).locked()  # its thread lock given back too
        first.rollback()
    with make_session_factory(other)() as s:  # and free once the first writer is done
        begin_write(s)
        _increment(s)
        s.commit()
    other.dispose()


def test_the_lock_file_is_its_owners_only(engine, tmp_path):
    with make_session_factory(engine)() as s:
        begin_write(s)
        s.rollback()
    lock = tmp_path / "gate.sqlite3-writer"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


_CHILD = """
import sys
from sqlalchemy import event, text
from sandbox.db import begin_write, make_engine, make_session_factory
engine = make_engine(sys.argv[1])
@event.listens_for(engine, "connect")
def _off(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA busy_timeout=0")
factory = make_session_factory(engine)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[2])):
    with factory() as s:
        begin_write(s)
        n = s.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
        s.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
        s.commit()
engine.dispose()
"""


def test_server_processes_on_one_file_write_in_turn_without_sqlites_busy_handler(tmp_path):
    """Three processes (two children and this one) increment one counter 150 times each, read
    then write, with SQLite's busy timeout at zero: every write is ordered by the lock file,
    none fails, none is lost."""
    url = f"sqlite:///{tmp_path / 'procs.sqlite3'}"
    engine = make_engine(url)
    _no_busy_wait(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter (id, n) VALUES (1, 0)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")])}
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, url, "150"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for _ in range(2)]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        factory = make_session_factory(engine)
        for _ in range(150):
            with factory() as s:
                begin_write(s)
                _increment(s)
                s.commit()
        for child in children:
            _out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 450
    engine.dispose()


_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
