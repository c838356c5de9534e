"""Faults in force during a drill: the scenario's timed ones and those an examiner injected into
the round, and the log of each fault's start and end in the drill's event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.drill.drill_clock import FINISHED, drill_seconds
from sandbox.drill.event_log import record_event
from sandbox.drill.models import Drill, DrillEvent
from sandbox.drill.scenario.model import ScenarioSpec
from sandbox.exam.faults import round_faults


def active_faults(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime) -> list[dict[str, Any]]:
    """Faults in force now: the scenario's timed ones plus any an examiner injected."""
    if drill.status == FINISHED:
        return []
    t = drill_seconds(drill, now)
    faults = [{"key": f"scenario-{i}", "component": e.component, "message": e.message, "source": "scenario"}
              for i, e in enumerate(spec.events) if e.at <= t and (e.duration is None or t < e.at + e.duration)]
    faults.extend(round_faults(session, drill, now))
    return faults


def fault_changes(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime
                  ) -> tuple[dict[str, dict[str, Any]], set[str], set[str]]:
    """The faults in force now (by key), and the keys whose start and end the log already holds."""
    active = {f["key"]: f for f in active_faults(session, drill, spec, now)}
    started: set[str] = set()
    ended: set[str] = set()
    for e in session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill.id,
                                                      DrillEvent.type.in_(("fault.started", "fault.ended")))):
        key = (e.data or {}).get("key")
        if key is not None:
            (started if e.type == "fault.started" else ended).add(key)
    return active, started, ended


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
