"""The per-process memo of quiet conversation polls (see ``sandbox.drill.quiet``).

One entry per drill conversation a candidate polls: what the last answer read (the drill's
clock, the contact's mood and closing) under which stamp, and until when it holds. Nothing is
trusted across processes or beyond the database: every reuse first reads the stamp again, so
several processes on one PostgreSQL each keep their own memo and stay right. The app's view
fills it; the poll lane in front of the app (``sandbox.web.poll_lane``) answers from it too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sandbox.drill.quiet import Stamp

if TYPE_CHECKING:
    from sandbox.runtime import Runtime

# However quiet a drill, an answer is read afresh at least this often: a bound on what a write
# nobody foresaw (a database restored under a running server) could leave unseen.
MAX_AGE = timedelta(seconds=30)
# Enough for every conversation of a large exam centre; beyond it the oldest entries go.
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class QuietAnswer:
    """What a quiet poll of one conversation read, and what it holds for."""

    user_id: int
    drill_id: int
    stamp: Stamp  # also the drill's clock: the time left is worked out from it
    read_at: datetime
    until: datetime | None  # the drill's next due moment or fault change; None: none coming
    closed: bool
    mood: int

    def holds(self, stamp: Stamp | None, now: datetime) -> bool:
        """Whether the answer still holds at ``now`` under ``stamp`` (read afresh)."""
        return (stamp == self.stamp and (self.until is None or now < self.until)
                and self.read_at <= now < self.read_at + MAX_AGE)


class PollMemo:
    """Conversation id → its last quiet answer; safe to share between a server's threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: dict[int, QuietAnswer] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, conversation_id: int) -> QuietAnswer | None:
        return self._entries.get(conversation_id)

    def put(self, conversation_id: int, answer: QuietAnswer) -> None:
        with self._lock:
            self._entries.pop(conversation_id, None)  # re-inserted last: the oldest go first
            self._entries[conversation_id] = answer
            while len(self._entries) > self._max_entries:
                del self._entries[next(iter(self._entries))]

    def __len__(self) -> int:
        return len(self._entries)


def memo_of(runtime: Runtime) -> PollMemo:
    """The server process's memo (one per runtime, made on first use)."""
    memo = runtime.services.get("poll_memo")
    if memo is None:
        memo = runtime.services.setdefault("poll_memo", PollMemo())
    return memo
