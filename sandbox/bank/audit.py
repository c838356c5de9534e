"""The bank's audit log: one row per lookup, change, verification step or reveal."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sandbox.bank.models import AuditEntry
from sandbox.clock import Clock
from sandbox.db import table_of
from sandbox.users.models import User

_INSERT = insert(table_of(AuditEntry))  # built once: refusals and lookups are hot paths


def record(session: Session, clock: Clock, user: User | None, action: str, *, allowed: bool,
           conversation_id: int | None = None, customer_id: int | None = None,
           target_ref: str = "", reason: str = "") -> None:
    """Write an audit row now, in the session's transaction (the caller commits; on a refusal it
    must commit before answering). A Core insert: nothing waits for a flush.

    ``target_ref`` is an opaque reference (``A1``) or a field name, never a number.
    """
    session.connection().execute(_INSERT, {
        "user_id": user.id if user is not None else None, "conversation_id": conversation_id,
        "customer_id": customer_id, "action": action, "target_ref": (target_ref or "")[:16],
        "allowed": allowed, "reason": (reason or "")[:64], "at": clock.now()})


def entries(session: Session, *, conversation_id: int | None = None, customer_id: int | None = None,
            limit: int = 500) -> list[AuditEntry]:
    """Newest first, optionally for one conversation or one customer."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if conversation_id is not None:
        query = query.where(AuditEntry.conversation_id == conversation_id)
    if customer_id is not None:
        query = query.where(AuditEntry.customer_id == customer_id)
    return list(session.scalars(query))
