"""Rows written in batches off the request path, by a background thread.

For writes nobody reads at once (the search log, the last use of an API token): a request
queues its row in memory, and a thread writes the queued rows in one transaction every
``interval`` seconds (default 1 s), so the request makes no write and, on SQLite, never waits
for the write lock.

What can be lost: nothing on a clean shutdown (``close()`` writes what is left; the runtime
calls it when it is disposed, ``bankdrill serve`` on Ctrl+C or SIGTERM); on a crash, the rows
of at most the last ``interval`` seconds. Readers in this process call ``flush()`` first
(``flush_batch_writers`` for all of them) so they see every row queued before them. When the
database is unavailable, the rows are kept and tried again with the next batch, up to
``max_pending`` rows (the oldest are dropped beyond that, with a warning); a single row the
database refuses while the others go in is dropped, so it cannot hold back the rest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0
MAX_PENDING_ROWS = 20_000


class BatchWriter:
    """Collects rows and writes them in batches from a background thread.

    ``transaction`` opens a session in a transaction that commits on leaving (the runtime's
    ``transaction``): the writer owns no commit of its own. Subclasses say how a batch is
    written (``write_batch``) and name themselves (``name``, for the thread and the log).
    """

    name = "batch"

    def __init__(self, transaction: Callable[[], AbstractContextManager[Session]],
                 interval: float = FLUSH_INTERVAL_SECONDS, max_pending: int = MAX_PENDING_ROWS) -> None:
        self._transaction = transaction
        self.interval = interval
        self.max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one batch at a time (the thread and a reader's flush)
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0

    def write_batch(self, session: Session, batch: list[dict[str, Any]]) -> None:
        """Write ``batch`` in ``session`` (inside the writer's transaction)."""
        raise NotImplementedError

    def record(self, row: dict[str, Any]) -> None:
        """Queue one row; written within ``interval`` seconds."""
        with self._lock:
            if not self._closed:
                self._pending.append(row)
                excess = len(self._pending) - self.max_pending
                if excess > 0:
                    del self._pending[:excess]
                    self.dropped += excess
                    log.warning("%s: %d rows dropped (database unavailable for too long)", self.name, excess)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=f"{self.name}-writer", daemon=True)
                    self._thread.start()
                return
        self._write([row])  # after shutdown (a late request): written at once rather than lost

    def flush(self) -> int:
        """Write every queued row now; returns how many were written."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                self._write(batch)
                return len(batch)
            except Exception:
                if len(batch) == 1:
                    self._keep(batch)
                    raise
            # One bad row (say, a user deleted meanwhile) must not hold back the rest: row by
            # row, a row the database refuses while others go in is dropped; if none goes in,
            # the database is away and all of them wait for the next try.
            written, refused = 0, []
            for row in batch:
                try:
                    self._write([row])
                    written += 1
                except Exception:
                    refused.append(row)
            if written == 0:
                self._keep(refused)
                raise RuntimeError(f"{self.name}: the database refused every row of the batch")
            if refused:
                self.dropped += len(refused)
                log.warning("%s: %d rows refused by the database and dropped", self.name, len(refused))
            return written

    def _keep(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:  # back at the front, oldest first, for the next try
            self._pending[:0] = rows

    def _write(self, batch: list[dict[str, Any]]) -> None:
        with self._transaction() as session:
            self.write_batch(session, batch)
        self.written += len(batch)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database is away: the rows wait for the next beat
                log.exception("%s: could not write a batch; retrying", self.name)
            if self._closed:
                return

    def close(self) -> None:
        """Write what is left and stop the thread (a clean shutdown loses nothing)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)
        try:
            self.flush()
        except Exception:
            log.exception("%s: could not write the last batch at shutdown", self.name)


_writer_lock = threading.Lock()


def get_batch_writer(runtime: Any, key: str, make: Callable[[float], BatchWriter], interval_setting: str) -> BatchWriter:
    """The process's writer ``runtime.services[key]``, made on first use with ``make(interval)``
    (closed by ``runtime.dispose()``); the setting ``interval_setting`` changes its beat."""
    writer = runtime.services.get(key)
    if writer is None:
        with _writer_lock:
            writer = runtime.services.get(key)
            if writer is None:
                writer = make(float(runtime.settings.extra.get(interval_setting, FLUSH_INTERVAL_SECONDS)))
                runtime.services[key] = writer
    return writer


def flush_batch_writers(runtime: Any) -> None:
    """Write every row this process has queued (before copying or replacing the database)."""
    for service in list(runtime.services.values()):
        if isinstance(service, BatchWriter):
            service.flush()
