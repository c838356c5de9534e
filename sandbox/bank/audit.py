"""The bank's audit log: one row per lookup, change, verification step or reveal."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.bank.models import AuditEntry
from sandbox.clock import Clock
from sandbox.users.models import User


def record(session: Session, clock: Clock, user: User | None, action: str, *, allowed: bool,
           conversation_id: int | None = None, customer_id: int | None = None,
           target_ref: str = "", reason: str = "") -> AuditEntry:
    """Add an audit row (the caller commits; on a refusal it must commit before answering).

    ``target_ref`` is an opaque reference (``A1``) or a field name, never a number.
    """
    entry = AuditEntry(user_id=user.id if user is not None else None, conversation_id=conversation_id,
                       customer_id=customer_id, action=action, target_ref=(target_ref or "")[:16],
                       allowed=allowed, reason=(reason or "")[:64], at=clock.now())
    session.add(entry)
    return entry


def entries(session: Session, *, conversation_id: int | None = None, customer_id: int | None = None,
            limit: int = 500) -> list[AuditEntry]:
    """Newest first, optionally for one conversation or one customer."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if conversation_id is not None:
        query = query.where(AuditEntry.conversation_id == conversation_id)
    if customer_id is not None:
        query = query.where(AuditEntry.customer_id == customer_id)
    return list(session.scalars(query))
