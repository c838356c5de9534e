"""Tables of the interview package: recordings of spoken answers and interview practice attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.db import Base, UTCDateTime


class PracticeAttempt(Base):
    """One answer of a user to a question of the interview practice bank."""

    __tablename__ = "interview_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(64), index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    recording_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    elapsed_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # [{"id", "text", "covered", "evidence"}] as sandbox.dialogue.keypoints.Coverage.to_dict gives it
    coverage: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recording(Base):
    """A spoken answer: the audio bytes and what the browser measured (length, pauses).

    It belongs to a drill (a 追问 answered after it) or to a practice attempt, and is deleted
    with either (ON DELETE CASCADE). Kept in the database so it is written in the same
    transaction as what refers to it and travels in backups.
    """

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("interview_attempts.id", ondelete="CASCADE"),
                                                    nullable=True, index=True)
    item_key: Mapped[str] = mapped_column(String(80))
    content_type: Mapped[str] = mapped_column(String(40))
    byte_size: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    pause_count: Mapped[int] = mapped_column(Integer, default=0)
    longest_pause_ms: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only when played
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
