"""Tables of the examiner's round: rounds, rosters, injected faults, score adjustments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox.db import Base, UTCDateTime


class Round(Base):
    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # [{"id": scenario id, "version": pinned version}, ...] in the round's order
    scenarios: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    shuffle: Mapped[bool] = mapped_column(Boolean, default=False)
    time_per_scenario: Mapped[int | None] = mapped_column(Integer, nullable=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kb_version: Mapped[int] = mapped_column(Integer, default=0)
    join_code: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | running | paused | ended
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    results_released: Mapped[bool] = mapped_column(Boolean, default=False)
    # Goes up by one whenever an examiner injects or restores a fault: a drill's quiet poll
    # (sandbox.drill.quiet) reads it to know the round's faults are as it last saw them.
    faults_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    candidates: Mapped[list[RoundCandidate]] = relationship(back_populates="round", cascade="all, delete-orphan",
                                                              order_by="RoundCandidate.id")


class RoundCandidate(Base):
    __tablename__ = "round_candidates"
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    extra_seconds: Mapped[int] = mapped_column(Integer, default=0)

    round: Mapped[Round] = relationship(back_populates="candidates")


class InjectedFault(Base):
    """A component taken down by an examiner, for the whole round or one candidate."""

    __tablename__ = "injected_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    component: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScoreAdjustment(Base):
    """An examiner's change to one check of one drill; every change is kept (the last one applies)."""

    __tablename__ = "score_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    check_id: Mapped[str] = mapped_column(String(64))
    points: Mapped[float] = mapped_column(Float)
    previous_points: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
