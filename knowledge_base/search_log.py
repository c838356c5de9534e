"""The search log, written in batches off the request path.

A search used to insert its log row in a transaction of its own before answering: a second
database round trip and, on SQLite, the write lock, for analytics nobody reads at once. The
rows now go through a ``sandbox.batch_writer.BatchWriter`` (one transaction a second; what can
be lost and when is said there). Readers of the log in this process (the trainer's analytics,
backups) flush it first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from knowledge_base.models import SearchLog
from sandbox.batch_writer import BatchWriter, get_batch_writer


def search_log_row(created_at: datetime, query: str, normalised: str, user_id: int | None, result_count: int,
                   top_ids: Sequence[str], took_ms: float, category: str | None = None,
                   source: str = "web") -> dict[str, Any]:
    """The column values of one search-log row (lengths capped as the table allows)."""
    return {"query": (query or "")[:2000], "normalised": (normalised or "")[:200], "category": category,
            "user_id": user_id, "result_count": result_count, "top_ids": list(top_ids)[:10],
            "took_ms": round(float(took_ms), 3), "source": source, "created_at": created_at}


class SearchLogWriter(BatchWriter):
    """Search-log rows (``search_log_row``), written in batches from a background thread."""

    name = "search-log"

    def write_batch(self, session: Session, batch: list[dict[str, Any]]) -> None:
        session.add_all(SearchLog(**row) for row in batch)


def get_search_log(runtime: Any) -> SearchLogWriter:
    """The process's search-log writer for ``runtime`` (created on first use; closed by
    ``runtime.dispose()``). ``SEARCH_LOG_INTERVAL`` in the settings changes its beat."""
    writer = get_batch_writer(runtime, "search_log", lambda interval: SearchLogWriter(runtime.transaction, interval),
                              "SEARCH_LOG_INTERVAL")
    assert isinstance(writer, SearchLogWriter)
    return writer


def flush_search_log(runtime: Any) -> None:
    """Write the queued search-log rows of this process, if it has a writer (before reading
    the log)."""
    writer = runtime.services.get("search_log")
    if writer is not None:
        writer.flush()
