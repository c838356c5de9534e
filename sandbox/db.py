"""Database plumbing: the declarative base, engines and session factories. No Flask here.

Callers own transactions (``with session_factory() as s, s.begin(): ...``);
domain functions take a session and never commit.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    MetaData,
    Table,
    bindparam,
    create_engine,
    event,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.attributes import instance_state, manager_of_class, set_committed_value
from sqlalchemy.types import TypeDecorator

from sandbox.errors import ConfigurationError

try:
    import fcntl
except ImportError:  # Windows: writers of other processes wait in SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Every module that declares tables; Alembic and ``create_all`` import them all.
MODEL_MODULES = (
    "sandbox.meta",
    "sandbox.users.models",
    "knowledge_base.models",
    "sandbox.bank.models",
    "workorders.models",
    "sandbox.drill.models",
    "sandbox.exam.models",
    "sandbox.interview.models",
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def import_all_models() -> MetaData:
    """Import every model module so ``Base.metadata`` knows all tables."""
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class _WriterGate:
    """One writer at a time on the database file, handed over without SQLite's sleeps.

    SQLite lets one transaction write at a time; a second ``BEGIN IMMEDIATE`` waits in SQLite's
    busy handler, which sleeps and retries (1, 2, 5 … 100 ms), so under a queue of writers
    most of the wait is oversleeping. Writers of one engine queue on a thread lock instead and
    the next one starts as soon as the last commits. Writers of other processes on the same
    file (a second server process, a CLI command) queue on an exclusive ``flock`` of a file
    beside the database (``<database>-writer``; POSIX only), tried every 20–200 µs: the
    hand-over between processes costs at most a fraction of a millisecond instead of
    SQLite's 25–100 ms naps. The lock only orders writers; SQLite's own locking still
    guarantees one writer at a time if a process does not take it.
    """

    def __init__(self, timeout: float, lock_path: str | None = None) -> None:
        self.lock = threading.Lock()
        self.timeout = timeout
        self.lock_path = lock_path if fcntl is not None else None
        self._fd: int | None = None
        self._fd_pid = 0

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        if not self.lock.acquire(timeout=self.timeout):
            raise _locked()
        try:
            self._lock_file(deadline)
        except BaseException:
            self.lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None and self._fd_pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()

    def _lock_file(self, deadline: float) -> None:
        fd = self._file()
        if fd is None:
            return
        pause = 20e-6
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _locked() from None
                time.sleep(pause)
                pause = min(pause * 2, 200e-6)

    def _file(self) -> int | None:
        # Opened by this process (a descriptor inherited across fork shares the lock with the
        # parent, so it would not keep the two apart); held by the thread that holds self.lock.
        if self.lock_path is None:
            return None
        if self._fd is None or self._fd_pid != os.getpid():
            try:
                self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, SQLITE_FILE_MODE)
            except OSError:
                self.lock_path = None  # unwritable folder: SQLite's busy handler orders the processes
                return None
            self._fd_pid = os.getpid()
        return self._fd

    def close(self) -> None:
        """Close the lock file (the engine is being disposed of)."""
        if self._fd is not None and self._fd_pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def _locked() -> OperationalError:
    # What SQLite itself says after its busy timeout, so callers handle both alike.
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


class _GatedConnection(sqlite3.Connection):
    """A pysqlite connection that gives the writer gate back when its write transaction ends."""

    gate: _WriterGate | None = None
    holds_gate = False

    def _leave(self) -> None:
        if self.holds_gate:
            self.holds_gate = False
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()


SQLITE_FILE_MODE = 0o600
WRITER_LOCK_SUFFIX = "-writer"  # _WriterGate's lock file beside the database
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal", WRITER_LOCK_SUFFIX)


def secure_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (0600), and tighten an existing one.

    The file holds every full card, ID and phone number and the password hashes. SQLite
    gives its ``-wal`` and ``-shm`` files the database file's mode, so creating the file
    0600 before SQLite does covers them too; existing files of an older instance are
    chmod-ed. In-memory databases and URLs without a file are left alone.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = os.path.abspath(database)
    if not os.path.isdir(os.path.dirname(path)):
        return  # SQLite itself reports the missing folder
    # Create it only if it is missing: opening and closing an existing database file would drop
    # every POSIX lock this process holds on it (close() releases them all, whichever descriptor
    # took them), and another engine of this process may be using it: SQLite's locking then
    # lies to the other processes (seen as "disk I/O error" in a server after a second engine
    # of a test process opened the same file and was disposed).
    if not os.path.exists(path):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE))
        except FileExistsError:
            pass  # created meanwhile by another process: only its mode is checked below
        except OSError:
            return  # unwritable: connecting reports it
    for name in (path, *(path + suffix for suffix in SQLITE_COMPANIONS)):
        try:
            if os.stat(name).st_mode & 0o777 != SQLITE_FILE_MODE:
                os.chmod(name, SQLITE_FILE_MODE)
        except OSError:
            continue  # not there (or not ours to change)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings this app relies on (WAL and foreign keys on SQLite)."""
    if url.startswith("sqlite"):
        secure_sqlite_file(url)
        gate = _WriterGate(timeout=30, lock_path=_writer_lock_path(url))
        connect_args = {"check_same_thread": False, "timeout": 30, "factory": _GatedConnection,
                        **kwargs.pop("connect_args", {})}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        engine.sqlite_writer_gate = gate  # type: ignore[attr-defined]  # tests look at it
        weakref.finalize(engine, gate.close)  # dispose_engine closes it at once
        event.listen(engine, "connect", _sqlite_on_connect)
        # Let SQLAlchemy, not pysqlite, decide when a transaction starts, so that
        # BEGIN IMMEDIATE can be issued where we need a write lock up front.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_autobegin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            if isinstance(dbapi_connection, _GatedConnection):
                dbapi_connection.gate = gate

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A transaction that will write takes the write lock up front: a deferred
            # transaction that reads, then writes after another writer committed,
            # fails at once with SQLITE_BUSY instead of waiting.
            immediate = conn.get_execution_options().get("sqlite_immediate")
            if not immediate:
                conn.exec_driver_sql("BEGIN")
                return
            raw = conn.connection.dbapi_connection
            gated = isinstance(raw, _GatedConnection) and not raw.holds_gate
            if gated:
                gate.acquire()
                raw.holds_gate = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if gated:
                    raw._leave()
                raise
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _writer_lock_path(url: str) -> str | None:
    """The writer gate's lock file of a SQLite database file (None in memory or for URIs)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database) + WRITER_LOCK_SUFFIX


def dispose_engine(engine: Engine) -> None:
    """``engine.dispose()``, and the SQLite writer gate's lock file closed."""
    engine.dispose()
    gate = getattr(engine, "sqlite_writer_gate", None)
    if gate is not None:
        gate.close()


def check_connection(engine: Engine) -> None:
    """Fail with one clear line when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigurationError(
            f"无法连接数据库 {engine.url.render_as_string(hide_password=True)}：{reason}",
            code="database_unreachable",
        ) from exc


def begin_write(session: Session) -> None:
    """Start ``session``'s transaction as a writer (BEGIN IMMEDIATE on SQLite; a no-op elsewhere).

    Call it before the first statement of a transaction that will write.
    """
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_immediate": True})


def make_session_factory(engine: Engine) -> sessionmaker:
    """Sessions that keep loaded objects usable after commit (views render after it)."""
    return sessionmaker(bind=engine, expire_on_commit=False)



ModelT = TypeVar("ModelT", bound=Base)


def table_of(model: type[Base]) -> Table:
    """The model's table, typed as one (for prebuilt Core statements)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class CopyReader(Generic[ModelT]):
    """A Core select of one model's columns, built once, whose rows come back as transient copies.

    For hot read-only paths (a console's poll) that only look at columns. Building a select and
    loading through the ORM costs several times the query itself (expression coercion, cache
    keys, identity map, loader strategies); this statement is built at import with bind
    parameters and runs on the session's connection (inside its transaction). The copies are
    in no session and must never be added to one; their relationships are empty unless the
    caller sets them, and changing them changes nothing in the database.

    ``where(table)`` returns the criteria, written against ``model.__table__`` with
    ``bindparam`` for the values given at call time.
    """

    def __init__(self, model: type[ModelT], where: Callable[[Table], Sequence[ColumnElement[bool]]],
                 order_by: str | None = None, limit: int | None = None) -> None:
        table = table_of(model)
        props = inspect(model).column_attrs
        self.model = model
        self.keys = [prop.key for prop in props]
        self._new_instance = manager_of_class(model).new_instance
        stmt = select(*(table.c[prop.columns[0].key] for prop in props)).where(*where(table))
        if order_by is not None:
            stmt = stmt.order_by(table.c[order_by])
        self.stmt = stmt.limit(limit) if limit is not None else stmt

    def __call__(self, session: Session, **params: Any) -> list[ModelT]:
        rows = session.execute(self.stmt, params)  # autoflushes, like an ORM query
        copies = []
        for row in rows:
            # As the ORM's own loading does: the values go straight into the instance's dict
            # (the constructor's instrumented sets were most of a poll's Python time).
            copy = self._new_instance()
            copy.__dict__.update(zip(self.keys, row, strict=True))
            copies.append(copy)
        return copies


class PrimaryKeyLoader(Generic[ModelT]):
    """``Session.get`` for one model through a select built once (with its loader options).

    ``Session.get`` builds its select, applies the options and computes the statement's cache
    key on every call: for a drill with its contacts that was about a third of the call
    (~100 µs), on every message and operation. Same semantics: without a lock an object already
    in the session's identity map is returned without a query; ``for_update`` (``True``, or
    ``with_for_update``'s keywords such as ``{"of": Model}`` or ``{"read": True}``) always
    queries, locking the row (PostgreSQL; SQLite's write transaction locks anyway), and, like
    ``Session.get``, does not overwrite an object already loaded.
    """

    def __init__(self, model: type[ModelT], *options: Any, for_update: bool | dict[str, Any] = False) -> None:
        mapper = inspect(model)
        (pk,) = mapper.primary_key  # one-column primary keys only
        stmt = select(model).where(pk == bindparam("pk"))
        if options:
            stmt = stmt.options(*options)
        if for_update:
            stmt = stmt.with_for_update(**(for_update if isinstance(for_update, dict) else {}))
        self.stmt = stmt
        self._mapper = mapper
        self._lock = bool(for_update)
        self._collections = bool(options)  # a joined collection repeats the parent's row

    def __call__(self, session: Session, ident: Any) -> ModelT | None:
        if not self._lock:
            found = session.identity_map.get(self._mapper.identity_key_from_primary_key([ident]))
            if found is not None and not instance_state(found).expired:  # an expired one: the query reloads it
                return found  # type: ignore[no-any-return]
        result = session.execute(self.stmt, {"pk": ident})
        return (result.unique() if self._collections else result).scalar_one_or_none()  # type: ignore[no-any-return]


_UPDATES: dict[tuple[Table, tuple[str, ...]], Any] = {}
_updates_lock = threading.Lock()


def update_columns(session: Session, obj: Base, **values: Any) -> None:
    """Write ``values`` to ``obj``'s row now, with one prebuilt Core UPDATE by primary key, and
    set them on ``obj`` as committed, so that no flush writes them again.

    For hot write paths (开始作答): an ORM flush costs several times the UPDATE itself, once
    per flush, and a read after a change flushes first. ``obj`` must be persistent in
    ``session``; the model has no ORM events that the UPDATE would bypass (none exist). Raises
    ``LookupError`` when the row is gone.
    """
    table = table_of(type(obj))
    state = inspect(obj)
    if state.identity is None or state.session is not session:
        raise ValueError("update_columns needs an object loaded in this session")
    pk = table.primary_key.columns.values()
    keys = tuple(sorted(values))
    stmt = _UPDATES.get((table, keys))
    if stmt is None:
        stmt = (update(table).where(*(col == bindparam(f"pk_{col.key}") for col in pk))
                .values({table.c[key]: bindparam(key) for key in keys}))
        with _updates_lock:
            _UPDATES[(table, keys)] = stmt
    params = {f"pk_{col.key}": value for col, value in zip(pk, state.identity, strict=True)}
    result = session.connection().execute(stmt, {**params, **values})
    if result.rowcount != 1:
        raise LookupError(f"{table.name} row {state.identity} is gone")
    for key, value in values.items():
        set_committed_value(obj, key, value)


def write_changes(session: Session, obj: Base) -> None:
    """Write the columns changed on ``obj`` since it was loaded now, with one prebuilt Core
    UPDATE by primary key (``update_columns``), and leave ``obj`` clean, so that the commit's
    flush has nothing to do for it.

    For hot write paths (a drill message changes its contact's row): the ORM's flush of one
    changed row cost several times the UPDATE. Only column attributes are written, reassigned
    ones (the models use no in-place mutation tracking); a changed relationship is left to the
    flush. An object not inserted yet is left to the flush too.
    """
    state = instance_state(obj)
    if not state.modified or state.key is None:  # unchanged, or not inserted yet (the flush will)
        return
    columns = state.mapper.column_attrs
    changed = {key: state.dict[key] for key in state.committed_state if key in columns and key in state.dict}
    if changed:
        update_columns(session, obj, **changed)
    if not state.committed_state:
        # Nothing is left for the flush: clear the object's modified flag as a flush would.
        state._commit_all(state.dict, session.identity_map)
