"""What a drill conversation's poll may reuse from its last answer, and for how long.

A candidate's console asks for its conversation's new messages every few seconds; almost every
time nothing has changed. The answer depends on the drill (its status and clock), its contacts
(arrivals, silences, mood, closing), the conversation's messages and the faults in force. Every
change to them is made in one of three ways, each of which moves the drill's *stamp*:

- a write to the drill's own row (start, pause, resume, extension, hand-in, deadline), read
  into the stamp directly;
- anything that happens to a contact (an arrival, a customer's or the candidate's turn, an
  operation, a recognised voice turn, a closing, a fault starting or ending) appends to the
  drill's event log in the same transaction, and the stamp counts the log's entries (a count,
  not the last id: on PostgreSQL a transaction that took an earlier id may commit later);
- a message from outside the drill (a human agent's handoff reply) moves the conversation's
  message counter, which the stamp reads; an examiner's fault moves the round's
  ``faults_version``, which the stamp reads too.

The one change with no write at all is time: an arrival, a silence running out, the deadline, a
fault's start or end. ``quiet_until`` gives the first such moment. So an answer made at a stamp
holds, with only its clock recomputed, until the stamp moves or that moment comes. Writes the
drill makes at that moment without an event (a silence that draws no reply) happen after it, by
which time the answer is no longer reused.

``tests/proof/test_poll_memo.py`` plays each writer and lists every one; the test suite runs with
every reused answer compared against one read afresh (``QUIET_POLL_CHECK``), so a new writer
that changes what a poll shows without moving the stamp fails the tests that exercise it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from sandbox.db import table_of
from sandbox.drill.drill_faults import next_fault_change
from sandbox.drill.lifecycle import due_moment
from sandbox.drill.models import Drill, DrillEvent, MessageCounter
from sandbox.drill.scenario.model import ScenarioSpec
from sandbox.exam.models import Round

# A row of named values (``status``, ``deadline``, ``paused_at``… as in ``_STAMP``), compared as a
# tuple; it also serves as the drill's clock for the time left (``drill_clock.remaining_seconds``).
Stamp = Row  # unparameterised: variadic in SQLAlchemy 2.1, one tuple type in 2.0

_drills, _events, _counters, _rounds = (table_of(m) for m in (Drill, DrillEvent, MessageCounter, Round))
# One statement, built once: the drill row by its key and three indexed scalar subqueries.
_STAMP = select(
    _drills.c.status, _drills.c.started_at, _drills.c.deadline, _drills.c.paused_at, _drills.c.paused_seconds,
    _drills.c.finished_at,
    select(func.count()).select_from(_events).where(_events.c.drill_id == _drills.c.id).scalar_subquery()
    .label("events"),
    select(_counters.c.last_seq).where(_counters.c.conversation_id == bindparam("conversation_id"))
    .scalar_subquery().label("last_seq"),
    select(_rounds.c.faults_version).where(_rounds.c.id == _drills.c.round_id).scalar_subquery()
    .label("faults_version"),
).where(_drills.c.id == bindparam("drill_id"))


def drill_stamp(session: Session, drill_id: int, conversation_id: int) -> Stamp | None:
    """The stamp of what a poll of ``conversation_id`` (a conversation of ``drill_id``) shows;
    None if the drill is gone. Read it *before* the state it stands for: under READ COMMITTED a
    write that lands between the two then leaves an older stamp with newer state, which the next
    poll merely reads again (the other order would keep older state under a newer stamp)."""
    return session.connection().execute(_STAMP, {"drill_id": drill_id, "conversation_id": conversation_id}).first()


def last_seq_of(stamp: Stamp) -> int:
    """The conversation's last message number in a stamp (0 before the first message)."""
    return int(stamp.last_seq or 0)


def quiet_until(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime) -> datetime | None:
    """Until when a drill that has nothing to do at ``now`` (``lifecycle.needs_tick`` is False)
    stays so without any write: the first due moment or fault change. None: until a write."""
    moments = [m for m in (due_moment(drill, spec), next_fault_change(session, drill, spec, now)) if m is not None]
    return min(moments, default=None)
