"""An order's history: one row per change (field, old and new value, who, when, note, and
whether the customer was told)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sandbox.clock import BEIJING
from workorders.access import Actor
from workorders.models import WorkOrder, WorkOrderHistory
from workorders.vocab import VISIBILITY_INTERNAL


def format_value(value: Any) -> str | None:
    """A value as a history row shows it (是/否, Beijing time)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    return str(value)


def record(session: Session, order: WorkOrder, actor: Actor | None, now: datetime, field: str,
           old: Any, new: Any, note: str = "", visibility: str = VISIBILITY_INTERNAL) -> WorkOrderHistory:
    """Add one history row: ``field`` went from ``old`` to ``new`` (``actor`` None: the system)."""
    row = WorkOrderHistory(order=order, field=field, from_value=format_value(old), to_value=format_value(new),
                           actor_id=actor.user_id if actor else None,
                           actor_label=actor.label if actor else "系统", at=now, note=note,
                           visibility=visibility)
    session.add(row)
    return row


def set_field(session: Session, order: WorkOrder, actor: Actor, now: datetime, field: str, value: Any,
              note: str = "", visibility: str = VISIBILITY_INTERNAL) -> bool:
    """Set ``order.field`` to ``value`` with a history row; False when it already had that value."""
    old = getattr(order, field)
    if old == value:
        return False
    setattr(order, field, value)
    record(session, order, actor, now, field, old, value, note, visibility)
    return True
