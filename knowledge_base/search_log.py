"""The search log, written in batches off the request path.

A search used to insert its log row in a transaction of its own before answering: a second
database round trip and, on SQLite, the write lock, for analytics nobody reads at once.
``SearchLogWriter`` keeps the rows in memory and a background thread writes them in one
transaction every ``interval`` seconds (default 1 s).

What can be lost: nothing on a clean shutdown (``close()`` writes what is left; the runtime
calls it when it is disposed, ``bankdrill serve`` on Ctrl+C or SIGTERM); on a crash, the rows
of at most the last ``interval`` seconds. Readers of the log in this process (the trainer's
analytics, backups) call ``flush()`` first so they see every search made before them. When the
database is unavailable, the rows are kept and tried again with the next batch, up to
``max_pending`` rows (the oldest are dropped beyond that, with a warning); a single row the
database refuses while the others go in is dropped, so it cannot hold back the rest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from knowledge_base.models import SearchLog

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0
MAX_PENDING_ROWS = 20_000


def search_log_row(created_at: datetime, query: str, normalised: str, user_id: int | None, result_count: int,
                   top_ids: Sequence[str], took_ms: float, category: str | None = None,
                   source: str = "web") -> dict[str, Any]:
    """The column values of one search-log row (lengths capped as the table allows)."""
    return {"query": (query or "")[:2000], "normalised": (normalised or "")[:200], "category": category,
            "user_id": user_id, "result_count": result_count, "top_ids": list(top_ids)[:10],
            "took_ms": round(float(took_ms), 3), "source": source, "created_at": created_at}


class SearchLogWriter:
    """Collects search-log rows and writes them in batches from a background thread.

    ``transaction`` opens a session in a transaction that commits on leaving (the runtime's
    ``transaction``): the writer owns no commit of its own.
    """

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

    def record(self, row: dict[str, Any]) -> None:
        """Queue one row (see ``search_log_row``); written within ``interval`` seconds."""
        with self._lock:
            if not self._closed:
                self._pending.append(row)
                excess = len(self._pending) - self.max_pending
                if excess > 0:
                    del self._pending[:excess]
                    self.dropped += excess
                    log.warning("search log: %d rows dropped (database unavailable for too long)", excess)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="search-log-writer", daemon=True)
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
                raise RuntimeError("search log: the database refused every row of the batch")
            if refused:
                self.dropped += len(refused)
                log.warning("search log: %d rows refused by the database and dropped", len(refused))
            return written

    def _keep(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:  # back at the front, oldest first, for the next try
            self._pending[:0] = rows

    def _write(self, batch: list[dict[str, Any]]) -> None:
        with self._transaction() as session:
            session.add_all(SearchLog(**row) for row in batch)
        self.written += len(batch)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database is away: the rows wait for the next beat
                log.exception("search log: could not write a batch; retrying")
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
            log.exception("search log: could not write the last batch at shutdown")


_writer_lock = threading.Lock()


def get_search_log(runtime: Any) -> SearchLogWriter:
    """The process's search-log writer for ``runtime`` (created on first use; closed by
    ``runtime.dispose()``). ``SEARCH_LOG_INTERVAL`` in the settings changes its beat."""
    writer = runtime.services.get("search_log")
    if writer is None:
        with _writer_lock:
            writer = runtime.services.get("search_log")
            if writer is None:
                interval = float(runtime.settings.extra.get("SEARCH_LOG_INTERVAL", FLUSH_INTERVAL_SECONDS))
                writer = SearchLogWriter(runtime.transaction, interval=interval)
                runtime.services["search_log"] = writer
    return writer


def flush_search_log(runtime: Any) -> None:
    """Write the queued search-log rows of this process, if it has a writer (before reading
    the log or copying the database)."""
    writer = runtime.services.get("search_log")
    if writer is not None:
        writer.flush()
