"""Work orders as plain values for pages, the API and exports: the order with its effective due
times, allowed transitions and history, times in ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from workorders import sla, states
from workorders.models import WorkOrder, WorkOrderHistory
from workorders.vocab import VISIBILITY_CUSTOMER

FIELD_NAMES = {"status": "状态", "assignee": "处理人", "resolution_note": "处理结果", "satisfaction": "满意度",
               "contact_result": "回访结果", "waiting_on_customer": "等待客户", "note": "备注",
               "type": "类型", "category": "分类", "priority": "优先级", "queue": "队列", "title": "标题",
               "description": "描述", "expected_callback_at": "期望回电时间", "customer_id": "客户编号",
               "customer_label": "客户", "due_at": "办结时限"}


def iso(value: datetime | None) -> str | None:
    """``value`` in ISO 8601, UTC (None stays None)."""
    return value.astimezone(UTC).isoformat() if value else None


def history_to_dict(row: WorkOrderHistory) -> dict[str, Any]:
    """One history row as plain values, with the field's Chinese label."""
    return {"field": row.field, "field_label": FIELD_NAMES.get(row.field, row.field),
            "from": row.from_value, "to": row.to_value, "who": row.actor_label, "at": iso(row.at),
            "note": row.note, "visibility": row.visibility}


def order_to_dict(order: WorkOrder, now: datetime, history: bool = True) -> dict[str, Any]:
    """The order as plain values: effective due times and overdue at ``now``, allowed transitions,
    and (``history``) its history and what the customer was told."""
    first_due, due = sla.effective_due(order, now)
    body: dict[str, Any] = {
        "number": order.number, "type": order.type, "category": order.category,
        "priority": order.priority, "queue": order.queue, "status": order.status,
        "title": order.title, "description": order.description,
        "customer": {"id": order.customer_id, "label": order.customer_label},
        "conversation_id": order.conversation_id,
        "expected_callback_at": iso(order.expected_callback_at),
        "creator": order.creator_label, "assignee": order.assignee,
        "resolution_note": order.resolution_note, "contact_result": order.contact_result,
        "satisfaction": order.satisfaction, "reopen_count": order.reopen_count,
        "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
        "first_response_due_at": iso(first_due), "first_responded_at": iso(order.first_responded_at),
        "due_at": iso(due), "closed_at": iso(order.closed_at),
        "waiting_on_customer": order.waiting_on_customer, "sla_paused": order.waiting_on_customer,
        "paused_seconds": order.paused_seconds, "overdue": sla.is_overdue(order, now),
        "allowed_transitions": [
            {"to": to, "label": states.TRANSITIONS[(order.status, to)].label,
             "requires": list(states.TRANSITIONS[(order.status, to)].requires)}
            for to in states.allowed_next(order.status)],
    }
    if history:
        body["history"] = [history_to_dict(h) for h in order.history]
        body["customer_updates"] = [history_to_dict(h) for h in order.history
                                    if h.visibility == VISIBILITY_CUSTOMER]
    return body
