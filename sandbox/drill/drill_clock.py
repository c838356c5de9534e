"""A drill's status and its clock: prepared, running, paused or finished; seconds elapsed
(pauses excluded) and seconds left before the deadline.

A *prepared* drill is a round's first question made ahead when the examiner starts the round
(its customers drawn, its conversations opened and held by nobody); its clock has not started
and nothing about it is shown to anyone until its candidate presses 开始作答.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sandbox.drill.models import Drill

RUNNING, PAUSED, FINISHED, PREPARED = "running", "paused", "finished", "prepared"


def drill_seconds(drill: Drill, now: datetime) -> float:
    """Seconds of drill time elapsed (pauses excluded), frozen once the drill ends."""
    end = drill.finished_at or drill.paused_at or now
    return max(0.0, (end - drill.started_at).total_seconds() - (drill.paused_seconds or 0.0))


def moment_of(drill: Drill, seconds: float) -> datetime:
    """When a running drill's clock reaches ``seconds`` of drill time (if it is not paused before)."""
    return drill.started_at + timedelta(seconds=(drill.paused_seconds or 0.0) + seconds)


class Clocked(Protocol):
    """What the time left depends on: a drill, or a poll's stamp of it (sandbox.drill.quiet)."""

    @property
    def status(self) -> str: ...
    @property
    def deadline(self) -> datetime: ...
    @property
    def paused_at(self) -> datetime | None: ...


def remaining_seconds(drill: Clocked, now: datetime) -> float:
    """Seconds left before the deadline (frozen while paused, 0 once finished)."""
    if drill.status == FINISHED:
        return 0.0
    ref = drill.paused_at or now
    return max(0.0, (drill.deadline - ref).total_seconds())
