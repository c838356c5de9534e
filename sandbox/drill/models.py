"""Tables of the drill engine: scenarios (versioned), drills, contacts, messages, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox.db import Base, UTCDateTime


class Scenario(Base):
    """The current version of a scenario; every version's YAML is kept in ScenarioVersion."""

    __tablename__ = "scenarios"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))
    difficulty: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    time_limit: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScenarioVersion(Base):
    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("scenario_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Drill(Base):
    __tablename__ = "drills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scenario_id: Mapped[str] = mapped_column(String(64), index=True)
    scenario_version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(12))  # practice | exam
    status: Mapped[str] = mapped_column(String(12), index=True)  # prepared | running | paused | finished
    ended_by: Mapped[str | None] = mapped_column(String(12), nullable=True)  # candidate | deadline | examiner
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    round_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    total: Mapped[float | None] = mapped_column(Float, nullable=True)
    hard_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    contacts: Mapped[list[DrillContact]] = relationship(back_populates="drill", order_by="DrillContact.id",
                                                          cascade="all, delete-orphan")


class DrillContact(Base):
    """One simulated customer of a drill, bound to a conversation of the mock bank."""

    __tablename__ = "drill_contacts"
    __table_args__ = (UniqueConstraint("drill_id", "contact_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    contact_key: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    arrives_at: Mapped[int] = mapped_column(Integer, default=0)
    conversation_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    arrived: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    mood: Mapped[int] = mapped_column(Integer, default=0)
    fired: Mapped[list[str]] = mapped_column(JSON, default=list)
    fallback_index: Mapped[int] = mapped_column(Integer, default=0)
    last_customer_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_customer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_agent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    silence_fired_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The simulated customer's agenda (sandbox.drill.agenda): pending and met needs, terms asked.
    agenda: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The contact's facts (identity, bill, balance… of its own customer), fixed at drill start.
    facts: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)

    drill: Mapped[Drill] = relationship(back_populates="contacts")


class MessageCounter(Base):
    """Per-conversation message sequence, incremented atomically (no gaps, no duplicates)."""

    __tablename__ = "message_counters"

    conversation_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class ConversationMessage(Base):
    __tablename__ = "conversation_messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(Integer, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(12))  # customer | agent | system | human
    kind: Mapped[str] = mapped_column(String(8), default="text")  # text | audio
    text: Mapped[str] = mapped_column(Text)
    asr_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    asr_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    recognized: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DrillEvent(Base):
    """Append-only log of everything that happened in a drill, with drill-relative seconds."""

    __tablename__ = "drill_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    contact_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    t: Mapped[float] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FollowUpAnswer(Base):
    """A candidate's answer to one follow-up question (追问) of a finished drill, the automatic
    key-point coverage of the typed text, and the examiner's marks (a round only)."""

    __tablename__ = "followup_answers"
    __table_args__ = (UniqueConstraint("drill_id", "followup_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    followup_id: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text, default="")
    elapsed_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # [{"id": key point id, "covered": bool, "evidence": sentence or None}, ...]
    coverage: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # {key point id: bool}; None until an examiner marks the answer
    marks: Mapped[dict[str, bool] | None] = mapped_column(JSON, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
