"""Tables of work orders, their history, the per-day number counter and handoffs.

Conversations belong to the mock bank; ``conversation_id`` is a plain integer here
(the foreign key is added when the packages meet).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox.db import Base, UTCDateTime


class WorkOrderCounter(Base):
    """One row per (Asia/Shanghai) day: the last sequence number handed out."""

    __tablename__ = "work_order_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (Index("ix_work_orders_queue_status", "queue", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    type: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(4))
    queue: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    customer_label: Mapped[str] = mapped_column(String(64), default="")
    conversation_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    expected_callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    creator_label: Mapped[str] = mapped_column(String(64), default="")
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact_result: Mapped[str | None] = mapped_column(String(8), nullable=True)
    satisfaction: Mapped[str | None] = mapped_column(String(4), nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    waiting_on_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every change; the first statement of a change, so it takes the row lock.
    version: Mapped[int] = mapped_column(Integer, default=1)

    history: Mapped[list[WorkOrderHistory]] = relationship(
        back_populates="order", order_by="WorkOrderHistory.id", cascade="all, delete-orphan")


class WorkOrderHistory(Base):
    """One change to one field (or a note): who, when, from, to, why, and who may read it."""

    __tablename__ = "work_order_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    to_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(8), default="internal")

    order: Mapped[WorkOrder] = relationship(back_populates="history")


class Handoff(Base):
    """A conversation handed to a human agent (转人工), with its summary and transcript."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(Integer, index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    customer_label: Mapped[str] = mapped_column(String(64), default="")
    queue: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    accepted_by_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    timed_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    callback_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), nullable=True)

    callback_order: Mapped[WorkOrder | None] = relationship()
    messages: Mapped[list[HandoffMessage]] = relationship(
        back_populates="handoff", order_by="HandoffMessage.id", cascade="all, delete-orphan")


class HandoffMessage(Base):
    """What the human agent said after accepting (routed into the conversation later)."""

    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    author_label: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    handoff: Mapped[Handoff] = relationship(back_populates="messages")
