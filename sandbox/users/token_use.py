"""The last use of each API token, written off the request path.

An authenticated API request reads its token and user and writes nothing: when the token's
last use is more than a minute old, the use is queued here and written by a background thread
within a second, in one batch (``sandbox.batch_writer``: nothing lost on a clean shutdown, at
most the last second on a crash; a last use is shown to the minute anyway).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sandbox.batch_writer import BatchWriter, get_batch_writer
from sandbox.users.services import TOKEN_TOUCH_SECONDS, record_token_uses


class TokenUseWriter(BatchWriter):
    """Token uses (``{"token_id", "at"}``), written in batches; a token is queued at most once
    a minute per process, however many requests it makes meanwhile."""

    name = "token-use"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queued: dict[int, datetime] = {}
        self._queued_lock = threading.Lock()

    def record_use(self, token_id: int, at: datetime) -> None:
        """Queue ``token_id``'s use at ``at`` (the ``record_use`` of ``user_for_token``)."""
        with self._queued_lock:
            last = self._queued.get(token_id)
            if last is not None and (at - last).total_seconds() < TOKEN_TOUCH_SECONDS:
                return
            self._queued[token_id] = at
        self.record({"token_id": token_id, "at": at})

    def write_batch(self, session: Session, batch: list[dict[str, Any]]) -> None:
        record_token_uses(session, batch)


def get_token_use_writer(runtime: Any) -> TokenUseWriter:
    """The process's token-use writer (made on first use, closed by ``runtime.dispose()``);
    ``TOKEN_USE_INTERVAL`` in the settings changes its beat."""
    writer = get_batch_writer(runtime, "token_use", lambda interval: TokenUseWriter(runtime.transaction, interval),
                              "TOKEN_USE_INTERVAL")
    assert isinstance(writer, TokenUseWriter)
    return writer
