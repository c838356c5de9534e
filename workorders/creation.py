"""Creating a work order: the input checked (``NewOrder``), a number taken, the order inserted
in 新建 with its SLA due times and its first history row. Functions never commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.errors import ValidationFailed
from workorders import sla, states
from workorders.access import Actor, require_work_order_role
from workorders.history import record
from workorders.input_checks import choice, customer_fields, parse_time, positive_int, text
from workorders.models import WorkOrder
from workorders.numbering import allocate_number
from workorders.vocab import (
    CATEGORIES,
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE,
    DEFAULT_TYPE,
    MAX_DESCRIPTION,
    MAX_TITLE,
    PRIORITIES,
    QUEUES,
    TYPES,
)


@dataclass
class NewOrder:
    """Checked creation input (built by :func:`check_new_order`)."""

    type: str
    category: str
    priority: str
    queue: str
    title: str
    description: str
    customer_id: str | None
    customer_label: str
    conversation_id: int | None
    expected_callback_at: datetime | None


def check_new_order(data: Mapping[str, Any], now: datetime) -> NewOrder:
    """Validate creation input; type, priority and queue default to 咨询/中/人工坐席."""
    callback = parse_time(data.get("expected_callback_at"), "expected_callback_at", "期望回电时间")
    if callback is not None and callback < now:
        raise ValidationFailed("期望回电时间不能早于当前时间。", code="invalid_time",
                               details={"field": "expected_callback_at"})
    if data.get("category") in (None, ""):
        raise ValidationFailed("请选择业务分类。", code="missing_field", details={"field": "category"})
    customer_id, customer_label = customer_fields(data)
    return NewOrder(
        type=choice(data.get("type") or DEFAULT_TYPE, TYPES, "unknown_type", "工单类型"),
        category=choice(data.get("category"), CATEGORIES, "unknown_category", "业务分类"),
        priority=choice(data.get("priority") or DEFAULT_PRIORITY, PRIORITIES, "unknown_priority", "优先级"),
        queue=choice(data.get("queue") or DEFAULT_QUEUE, QUEUES, "unknown_queue", "队列"),
        title=text(data.get("title"), "title", "标题", MAX_TITLE, required=True),
        description=text(data.get("description"), "description", "问题描述", MAX_DESCRIPTION),
        customer_id=customer_id, customer_label=customer_label,
        conversation_id=positive_int(data.get("conversation_id"), "conversation_id", "会话编号"),
        expected_callback_at=callback,
    )


def create_order(session: Session, clock: Clock, actor: Actor, data: Mapping[str, Any] | NewOrder,
                 note: str = "创建工单") -> WorkOrder:
    """Validate, take a number, insert the order in 新建 with its first history row."""
    require_work_order_role(actor)
    now = clock.now()
    new = data if isinstance(data, NewOrder) else check_new_order(data, now)
    number = allocate_number(session, now)  # first statement: takes the write lock
    first, resolve = sla.due_times(new.type, new.priority, now)
    order = WorkOrder(
        number=number, type=new.type, category=new.category, priority=new.priority, queue=new.queue,
        status=states.NEW, title=new.title, description=new.description, customer_id=new.customer_id,
        customer_label=new.customer_label, conversation_id=new.conversation_id,
        expected_callback_at=new.expected_callback_at, creator_id=actor.user_id,
        creator_label=actor.label, created_at=now, updated_at=now, first_response_due_at=first,
        resolution_due_at=resolve, waiting_on_customer=False, paused_seconds=0, reopen_count=0,
        version=1, history=[])
    session.add(order)
    record(session, order, actor, now, "status", None, states.NEW, note)
    session.flush()
    return order
