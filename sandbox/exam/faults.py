"""Faults an examiner injected into a round, as the drill engine reads them.

Kept apart from ``sandbox.exam.rounds`` (which uses the drill engine) so the engine can read
a drill's round faults without importing the service: no import cycle between drill and exam.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from sandbox.db import CopyReader
from sandbox.drill.models import Drill
from sandbox.exam.models import InjectedFault, Round

_ROUND_FAULTS = CopyReader(InjectedFault, lambda t: [t.c.round_id == bindparam("round_id")], order_by="id")


def drill_round_faults(session: Session, drill: Drill) -> list[InjectedFault]:
    """Every fault an examiner injected that applies to this drill (its round, all or this
    candidate), past, present and future: a restored fault keeps its row with an end time."""
    if drill.round_id is None:
        return []
    # Read-only copies: every poll of a round's drill asks, and faults are only read here.
    # Read once per transaction (the tick and the drill's JSON both ask, and pausing or ending
    # a round ticks each of its drills); the two functions that change faults forget it.
    key = _cache_key(drill.round_id)
    transaction = session.get_transaction()
    cached = session.info.get(key)
    if cached is not None and transaction is not None and cached[0] is transaction:
        rows = cached[1]
    else:
        rows = _ROUND_FAULTS(session, round_id=drill.round_id)
        if transaction is not None:
            session.info[key] = (transaction, rows)
    return [f for f in rows if f.user_id is None or f.user_id == drill.user_id]


def round_faults_version_read(session: Session, round_id: int, faults_version: int | None) -> None:
    """The round's ``faults_version``, read in this transaction (with the round, or along with a
    drill): 0 means no fault was ever injected into the round (every change counts it), so its
    drills' faults are known to be none for the rest of the transaction, without a query."""
    transaction = session.get_transaction()
    if faults_version != 0 or transaction is None:
        return
    cached = session.info.get(_cache_key(round_id))
    if cached is None or cached[0] is not transaction:
        session.info[_cache_key(round_id)] = (transaction, [])


def _cache_key(round_id: int) -> tuple[str, int]:
    return ("round_faults", round_id)


def round_faults_changed(session: Session, rnd: Round) -> None:
    """Call after adding or changing a fault of the round in this session: the session's copy
    of the faults is dropped and the round's ``faults_version`` goes up by one (in SQL, so two
    examiners' changes both count), which tells every quiet poll, in any process, to look again."""
    session.info.pop(_cache_key(rnd.id), None)
    rnd.faults_version = Round.faults_version + 1  # type: ignore[assignment]


def in_force(faults: list[InjectedFault], now: datetime) -> list[dict[str, Any]]:
    """The faults of ``faults`` in force at ``now``, as the drill engine lists them."""
    return [{"key": f"round-{f.id}", "component": f.component, "message": f.message, "source": "examiner"}
            for f in faults if f.starts_at <= now and (f.ends_at is None or now < f.ends_at)]


def round_faults(session: Session, drill: Drill, now: datetime) -> list[dict[str, Any]]:
    """Examiner faults in force now for this drill (its round, all or this candidate)."""
    return in_force(drill_round_faults(session, drill), now)
