"""The web layer's transactions: the one place a request commits or rolls back.

Domain code takes a session and never commits; views do their writes inside
``unit_of_work()`` (or ``write(fn)`` when a locked SQLite write should be tried again),
and end a read-only transaction with ``end_read()`` before a later write (on SQLite a
reader that later writes fails at once, "database is locked", when another writer
committed in between). ``advance_drill_if_due`` is the one way a read path lets a drill
catch up with the clock (arrivals, timed faults, the deadline) before it answers.

Which database errors a client may retry is decided here too (``is_retryable``): a lock,
a serialization failure or deadlock, a dropped connection. Anything else ("no such
table", a syntax error) is a bug, answered 500 with a logged traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from flask import current_app, g
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from sandbox.db import begin_write
from sandbox.drill import drill_contacts, lifecycle
from sandbox.errors import DomainError

if TYPE_CHECKING:
    from sandbox.drill.models import Drill
    from sandbox.runtime import Runtime

T = TypeVar("T")

# How many times ``write`` runs a unit of work that met a lock before it gives up.
LOCK_ATTEMPTS = 3

# PostgreSQL SQLSTATEs a retry can cure: serialization failure, deadlock, lock not available,
# the server shutting down or starting up, too many connections (and class 08, connection errors).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})
# The subset worth retrying at once inside the request (the others need the server back first).
LOCK_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
SQLITE_LOCKED = ("database is locked", "database table is locked", "database is busy")


def runtime() -> Runtime:
    """The instance's runtime (engine, clock, services)."""
    return current_app.extensions["bankdrill"]


def db() -> Session:
    """This request's session, opened on first use and closed on teardown."""
    if "db" not in g:
        g.db = runtime().session_factory()
    return g.db


def close_request_session(exc: BaseException | None) -> None:
    """Teardown: roll back whatever a failed request left open and close its session."""
    s = g.pop("db", None)
    if s is not None:
        if exc is not None:
            s.rollback()
        s.close()


def end_read() -> None:
    """End the request's read-only transaction, so the next unit of work begins as a writer.

    Refuses (an ``AssertionError``, a bug) when the session holds unsaved changes: those
    belong in a unit of work, or to ``discard()``.
    """
    s = db()
    if s.in_transaction():
        assert not (s.new or s.dirty or s.deleted), "end_read() with unsaved changes: use a unit of work"
        s.commit()


def discard() -> None:
    """Roll back the request's transaction: a dry run, or a read whose loaded objects changed."""
    db().rollback()


@contextmanager
def unit_of_work(*, keep_refusal: bool = False) -> Iterator[Session]:
    """The request's session in a write transaction: committed when the block succeeds.

    A read transaction still open from earlier in the request is ended first and the new
    one starts as a writer (``BEGIN IMMEDIATE`` on SQLite), so parallel writers queue
    instead of failing.

    ``keep_refusal``: a ``DomainError`` (a refusal: not verified, locked, unknown reference)
    commits what the block wrote before it raised, i.e. the audit row that records the
    refusal (and the drill event that records it), then propagates. Any other exception
    rolls everything back.
    """
    s = db()
    if s.in_transaction() and not (s.new or s.dirty or s.deleted):
        s.commit()  # end the read (changes made before the block are committed with it)
    begin_write(s)
    try:
        yield s
    except DomainError:
        if keep_refusal:
            s.commit()
        else:
            s.rollback()
        raise
    except BaseException:
        s.rollback()
        raise
    s.commit()


@contextmanager
def undo_on_refusal(s: Session, enabled: bool = True) -> Iterator[None]:
    """Inside a unit of work that keeps refusals: a ``DomainError`` undoes the block's own
    writes (a savepoint) while what the unit wrote before and after it stays."""
    if not enabled:
        yield
        return
    savepoint = s.begin_nested()
    try:
        yield
    except DomainError:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if savepoint.is_active:
        savepoint.commit()


def write(fn: Callable[[Session], T], *, attempts: int = LOCK_ATTEMPTS, keep_refusal: bool = False) -> T:
    """Run ``fn(session)`` in a unit of work; when the database was locked, run it again.

    A locked SQLite write (another process held the file past the busy timeout) or a
    PostgreSQL serialization failure/deadlock is rolled back and ``fn`` runs again in a
    fresh transaction, at most ``attempts`` times in all; then the error propagates (a
    503). ``fn`` must therefore do all its work on the session it is given.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            with unit_of_work(keep_refusal=keep_refusal) as s:
                return fn(s)
        except OperationalError as exc:
            if attempt == attempts or not is_locked(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def advance_drill_if_due(drill: Drill) -> bool:
    """Let a drill catch up with the clock before a read answers; True when it changed.

    The check is a read (``lifecycle.needs_tick``); only when the drill has something to do
    (an arrival, a fault starting or ending, the deadline) does a unit of work take the
    write lock and tick it. The request's session is then expired, so the caller must
    load the drill (and anything read before) again.
    """
    clock = runtime().clock
    if not lifecycle.needs_tick(db(), clock, drill):
        return False
    with unit_of_work() as s:
        lifecycle.tick(s, clock, drill_contacts.get_drill(s, drill.id, for_update=True))
    db().expire_all()
    return True


def is_locked(exc: BaseException) -> bool:
    """A write that lost to another writer: retrying the transaction at once may succeed."""
    if not isinstance(exc, DBAPIError):
        return False
    code = _sqlstate(exc)
    if code is not None:
        return code in LOCK_SQLSTATES
    text = str(exc.orig or exc).lower()
    return any(marker in text for marker in SQLITE_LOCKED)


def is_retryable(exc: BaseException) -> bool:
    """A database error a client's retry can cure (503 ``database_unavailable``).

    SQLite locked/busy, PostgreSQL serialization failure or deadlock, the server going
    away or refusing connections, a dropped connection. Not: a missing table, a syntax
    error, a constraint (those are bugs; a retry meets them again).
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or is_locked(exc):
        return True
    code = _sqlstate(exc)
    if code is not None:
        return code in RETRYABLE_SQLSTATES or code.startswith("08")
    # psycopg raises a bare OperationalError (no SQLSTATE) when it cannot reach the server or
    # the connection broke; SQLite's bare OperationalErrors are programming errors.
    return isinstance(exc, OperationalError) and type(exc.orig).__module__.split(".")[0] in ("psycopg", "psycopg2")


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
