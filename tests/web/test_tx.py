"""The web transaction toolkit (sandbox/web/tx.py): its options, and which database errors are 503s."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from sandbox.errors import ValidationFailed
from sandbox.web import tx


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": False, "PROPAGATE_UNEXPECTED": False}


@pytest.fixture
def probe(runtime):
    """A scratch table the toolkit's units of work write to."""
    with runtime.engine.begin() as conn:
        conn.execute(text("CREATE TABLE tx_probe (v VARCHAR(20))"))

    def _values() -> list[str]:
        with runtime.engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT v FROM tx_probe ORDER BY v"))]

    return _values


def _insert(s, value: str) -> None:
    s.execute(text("INSERT INTO tx_probe (v) VALUES (:v)"), {"v": value})


def test_unit_of_work_commits_and_rolls_back(app, probe):
    with app.test_request_context():
        with tx.unit_of_work() as s:
            _insert(s, "kept")
        with pytest.raises(RuntimeError):
            with tx.unit_of_work() as s:
                _insert(s, "lost")
                raise RuntimeError("boom")
        with pytest.raises(ValidationFailed):
            with tx.unit_of_work() as s:
                _insert(s, "refused")
                raise ValidationFailed("不行。", code="refused")
    assert probe() == ["kept"]


def test_keep_refusal_keeps_the_audit_row_of_a_domain_refusal_only(app, probe):
    with app.test_request_context():
        with pytest.raises(ValidationFailed):
            with tx.unit_of_work(keep_refusal=True) as s:
                _insert(s, "audit")
                raise ValidationFailed("不行。", code="refused")
        with pytest.raises(RuntimeError):
            with tx.unit_of_work(keep_refusal=True) as s:
                _insert(s, "bug")
                raise RuntimeError("a bug is no refusal")
    assert probe() == ["audit"]


def test_undo_on_refusal_drops_the_blocks_writes_and_keeps_the_rest(app, probe):
    with app.test_request_context():
        with pytest.raises(ValidationFailed):
            with tx.unit_of_work(keep_refusal=True) as s:
                _insert(s, "before")
                try:
                    with tx.undo_on_refusal(s):
                        _insert(s, "half")
                        raise ValidationFailed("不行。", code="refused")
                finally:
                    _insert(s, "event")
    assert probe() == ["before", "event"]


def _sqlite_path(runtime) -> str:
    url = make_url(str(runtime.engine.url))
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite file locking (the PostgreSQL pass covers is_retryable below)")
    return url.database


@pytest.fixture
def short_busy_timeout(runtime):
    """New connections wait 50 ms for a lock (not 30 s), so a held lock fails fast."""
    _sqlite_path(runtime)  # SQLite only (skips on PostgreSQL)
    runtime.engine.dispose()

    def _short(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    event.listen(runtime.engine, "connect", _short)
    yield
    event.remove(runtime.engine, "connect", _short)


@pytest.fixture
def hold_lock(runtime, short_busy_timeout):
    """``hold_lock()``: a second connection on the same SQLite file holding a write transaction."""
    held = []

    def _hold() -> sqlite3.Connection:
        conn = sqlite3.connect(_sqlite_path(runtime), isolation_level=None, timeout=0.05)
        conn.execute("BEGIN IMMEDIATE")
        held.append(conn)
        return conn

    yield _hold
    for conn in held:
        if conn.in_transaction:
            conn.rollback()
        conn.close()


@pytest.fixture
def blocker(hold_lock):
    return hold_lock()


def test_write_retries_a_locked_write_and_succeeds_once_the_lock_is_gone(app, runtime, probe, blocker):
    failures = []

    def _release_after_first_failure(ctx):
        failures.append(str(ctx.original_exception))
        if blocker.in_transaction:
            blocker.rollback()

    event.listen(runtime.engine, "handle_error", _release_after_first_failure)
    try:
        with app.test_request_context():
            assert tx.write(lambda s: _insert(s, "written") or "done") == "done"
    finally:
        event.remove(runtime.engine, "handle_error", _release_after_first_failure)
    assert len(failures) == 1 and "locked" in failures[0]
    assert probe() == ["written"]


def test_write_gives_up_after_its_attempts(app, runtime, probe, blocker):
    failures = []
    calls = []
    listener = lambda ctx: failures.append(ctx)  # noqa: E731
    event.listen(runtime.engine, "handle_error", listener)
    try:
        with app.test_request_context():
            with pytest.raises(OperationalError) as info:
                tx.write(lambda s: calls.append(1) or _insert(s, "never"), attempts=2)
    finally:
        event.remove(runtime.engine, "handle_error", listener)
    assert tx.is_locked(info.value) and len(failures) == 2 and calls == []
    blocker.rollback()
    assert probe() == []


def test_a_locked_database_is_a_503_the_client_may_retry(login_as, runtime, hold_lock):
    cand = login_as("candidate")
    blocker = hold_lock()
    resp = cand.post("/api/v1/workorders", json={"category": "信用卡", "title": "锁住时创建"})
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.get_json()["error"]["code"] == "database_unavailable"
    assert resp.headers["Retry-After"] == "5"
    blocker.rollback()
    assert cand.post("/api/v1/workorders", json={"category": "信用卡", "title": "解锁后创建"}).status_code == 201


class _Records(logging.Handler):
    """Collects log records itself (CI's PostgreSQL pass runs without pytest's logging plugin)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_missing_table_is_a_500_with_a_logged_traceback(login_as, runtime):
    cand = login_as("candidate")
    with runtime.engine.begin() as conn:
        conn.execute(text("ALTER TABLE work_orders RENAME TO work_orders_gone"))
    collector = _Records()
    logger = logging.getLogger("sandbox.web.errors")
    logger.addHandler(collector)
    try:
        resp = cand.get("/api/v1/workorders")
    finally:
        logger.removeHandler(collector)
    assert resp.status_code == 500
    assert resp.get_json()["error"]["code"] == "internal_error"
    record = next(r for r in collector.records if r.name == "sandbox.web.errors")
    assert record.exc_info is not None and isinstance(record.exc_info[1], (OperationalError, ProgrammingError))
    assert "work_orders" in str(record.exc_info[1])


class _PgError(Exception):
    def __init__(self, sqlstate: str | None, message: str = "") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


_PgError.__module__ = "psycopg.errors"


@pytest.mark.parametrize("orig, retryable, locked", [
    (sqlite3.OperationalError("database is locked"), True, True),
    (sqlite3.OperationalError("database table is locked"), True, True),
    (sqlite3.OperationalError("no such table: work_orders"), False, False),
    (sqlite3.OperationalError('near "SELEC": syntax error'), False, False),
    (_PgError("40001", "could not serialize access"), True, True),
    (_PgError("40P01", "deadlock detected"), True, True),
    (_PgError("57P01", "terminating connection due to administrator command"), True, False),
    (_PgError("08006", "connection failure"), True, False),
    (_PgError(None, "connection refused"), True, False),
    (_PgError("42P01", "relation does not exist"), False, False),
    (_PgError("42601", "syntax error"), False, False),
])
def test_which_database_errors_a_retry_can_cure(orig, retryable, locked):
    exc = OperationalError("SELECT 1", None, orig)
    assert tx.is_retryable(exc) is retryable
    assert tx.is_locked(exc) is locked


def test_a_dropped_connection_is_retryable():
    exc = OperationalError("SELECT 1", None, sqlite3.OperationalError("disk gone"), connection_invalidated=True)
    assert tx.is_retryable(exc)
    assert not tx.is_retryable(ValueError("not a database error"))
