"""Service levels: first-response and resolution times by type and priority (one table).

Times are calendar time from creation, measured on the injected clock. While an
order waits on the customer the SLA clock stops: the paused seconds are added to
both due times when the wait ends (and, while it lasts, projected onto them).

Complaints (投诉) close within 15 days at most, as the regulator's complaint rules
require; urgent (紧急) orders get a first response within 30 minutes.

An order's effective due times, whether it is overdue (in Python and as SQL for list filters)
and the recomputation after a change of type or priority live here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, false, or_
from sqlalchemy.sql.elements import ColumnElement

from workorders import states
from workorders.models import WorkOrder
from workorders.vocab import PRIORITIES, TYPES

MINUTE, HOUR, DAY = 60, 3600, 86400

FIRST_RESPONSE_SECONDS: dict[str, int] = {
    "紧急": 30 * MINUTE,
    "高": 2 * HOUR,
    "中": 4 * HOUR,
    "低": 24 * HOUR,
}

RESOLUTION_SECONDS: dict[str, dict[str, int]] = {
    #          紧急        高          中          低
    "咨询":    {"紧急": 4 * HOUR, "高": 8 * HOUR, "中": 1 * DAY, "低": 3 * DAY},
    "业务办理": {"紧急": 4 * HOUR, "高": 1 * DAY, "中": 3 * DAY, "低": 5 * DAY},
    "故障":    {"紧急": 4 * HOUR, "高": 1 * DAY, "中": 3 * DAY, "低": 5 * DAY},
    "投诉":    {"紧急": 2 * DAY, "高": 5 * DAY, "中": 10 * DAY, "低": 15 * DAY},
    "建议":    {"紧急": 3 * DAY, "高": 5 * DAY, "中": 10 * DAY, "低": 15 * DAY},
}
COMPLAINT_LIMIT_SECONDS = 15 * DAY

assert set(RESOLUTION_SECONDS) == set(TYPES)
assert all(set(row) == set(PRIORITIES) for row in RESOLUTION_SECONDS.values())
assert set(FIRST_RESPONSE_SECONDS) == set(PRIORITIES)
assert max(RESOLUTION_SECONDS["投诉"].values()) <= COMPLAINT_LIMIT_SECONDS


def due_times(type_: str, priority: str, created_at: datetime, paused_seconds: int = 0) -> tuple[datetime, datetime]:
    """(first response due, resolution due) for an order created at ``created_at``."""
    shift = timedelta(seconds=paused_seconds)
    first = created_at + timedelta(seconds=FIRST_RESPONSE_SECONDS[priority]) + shift
    resolve = created_at + timedelta(seconds=RESOLUTION_SECONDS[type_][priority]) + shift
    return first, resolve


def human_duration(seconds: int) -> str:
    """``5400`` → ``1小时30分钟``; for the SLA table page and badges."""
    seconds = int(seconds)
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes = rest // MINUTE
    parts = []
    if days:
        parts.append(f"{days}天")
    if hours:
        parts.append(f"{hours}小时")
    if minutes or not parts:
        parts.append(f"{minutes}分钟")
    return "".join(parts)


def effective_due(order: WorkOrder, now: datetime) -> tuple[datetime, datetime]:
    """(first response due, resolution due), projected forward while the SLA is paused."""
    extra = timedelta(0)
    if order.waiting_on_customer and order.waiting_since is not None:
        extra = max(now - order.waiting_since, timedelta(0))
    first = order.first_response_due_at + (extra if order.first_responded_at is None else timedelta(0))
    return first, order.resolution_due_at + extra


def is_overdue(order: WorkOrder, now: datetime) -> bool:
    """Open, not paused, and past the resolution due time or an unmet first-response time."""
    if order.status in states.TERMINAL or order.waiting_on_customer:
        return False
    return order.resolution_due_at < now or (
        order.first_responded_at is None and order.first_response_due_at < now)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """:func:`is_overdue` as SQL, for list filters."""
    return and_(
        WorkOrder.status.not_in(states.TERMINAL),
        WorkOrder.waiting_on_customer == false(),
        or_(WorkOrder.resolution_due_at < now,
            and_(WorkOrder.first_responded_at.is_(None), WorkOrder.first_response_due_at < now)),
    )


def reset_due_times(order: WorkOrder) -> None:
    """Recompute the due times for the order's (new) type and priority; paused time still counts
    and a first response already given keeps its time."""
    first, resolve = due_times(order.type, order.priority, order.created_at, order.paused_seconds)
    if order.first_responded_at is None:
        order.first_response_due_at = first
    order.resolution_due_at = resolve
