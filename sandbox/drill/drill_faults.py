"""Faults in force during a drill: the scenario's timed ones and those an examiner injected into
the round, and the log of each fault's start and end in the drill's event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.drill.drill_clock import FINISHED, PREPARED, RUNNING, drill_seconds, moment_of
from sandbox.drill.event_log import record_event
from sandbox.drill.models import Drill, DrillEvent
from sandbox.drill.scenario.model import ScenarioSpec
from sandbox.exam.faults import drill_round_faults, in_force, round_faults


def active_faults(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime) -> list[dict[str, Any]]:
    """Faults in force now: the scenario's timed ones plus any an examiner injected."""
    if drill.status == FINISHED:
        return []
    return _scenario_faults(spec, drill_seconds(drill, now)) + round_faults(session, drill, now)


def _scenario_faults(spec: ScenarioSpec, t: float) -> list[dict[str, Any]]:
    """The scenario's timed faults in force at ``t`` seconds of drill time."""
    return [{"key": f"scenario-{i}", "component": e.component, "message": e.message, "source": "scenario"}
            for i, e in enumerate(spec.events) if e.at <= t and (e.duration is None or t < e.at + e.duration)]


def fault_changes(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime
                  ) -> tuple[dict[str, dict[str, Any]], set[str], set[str]]:
    """The faults in force now (by key), and the keys whose start and end the log already holds.

    The log is read only when some fault can have started by now: in a drill without any (the
    common case, every poll of a quiet exam room) this costs one query, not two."""
    t = drill_seconds(drill, now)
    examiner = drill_round_faults(session, drill)
    active = {} if drill.status == FINISHED else {
        f["key"]: f for f in _scenario_faults(spec, t) + in_force(examiner, now)}
    if not active and not any(e.at <= t for e in spec.events) and not any(f.starts_at <= now for f in examiner):
        return active, set(), set()  # nothing can have started, so the log holds no start and no end
    started: set[str] = set()
    ended: set[str] = set()
    for e in session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill.id,
                                                      DrillEvent.type.in_(("fault.started", "fault.ended")))):
        key = (e.data or {}).get("key")
        if key is not None:
            (started if e.type == "fault.started" else ended).add(key)
    return active, started, ended


def next_fault_change(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime) -> datetime | None:
    """The next moment after ``now`` at which the faults in force change, if nothing is written
    before it (None: no change coming). The scenario's faults follow the drill's clock, so they
    do not move while it is paused; an examiner's follow the wall clock."""
    if drill.status in (FINISHED, PREPARED):
        return None
    moments: list[datetime] = []
    if drill.status == RUNNING:
        for e in spec.events:
            moments.append(moment_of(drill, e.at))
            if e.duration is not None:
                moments.append(moment_of(drill, e.at + e.duration))
    for f in drill_round_faults(session, drill):
        moments.append(f.starts_at)
        if f.ends_at is not None:
            moments.append(f.ends_at)
    return min((m for m in moments if m > now), default=None)


def record_fault_changes(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime) -> bool:
    """Log each fault's start and end in the drill's event log, once."""
    if not spec.events and drill.round_id is None:
        return False
    active, started, ended = fault_changes(session, drill, spec, now)
    changed = False
    for key, f in active.items():
        if key not in started:
            record_event(session, drill, now, "fault.started", None, key=key, component=f["component"],
                         message=f["message"], source=f["source"])
            changed = True
    for key in started - set(active) - ended:
        record_event(session, drill, now, "fault.ended", None, key=key)
        changed = True
    return changed
