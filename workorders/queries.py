"""Reading work orders: one order by number (access checked), the list filters, an actor's
list, one customer's orders; and taking an order to change it (``lock_order``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import not_, select, update
from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.errors import NotFound, ValidationFailed
from workorders import sla, states
from workorders.access import Actor, check_access, require_work_order_role
from workorders.input_checks import choice, positive_int
from workorders.models import WorkOrder
from workorders.numbering import NUMBER_RE
from workorders.vocab import PRIORITIES, QUEUES, TYPES


def _number(number: Any) -> str:
    if not isinstance(number, str) or not NUMBER_RE.match(number):
        raise NotFound(f"工单 {number} 不存在。", code="unknown_work_order")
    return number


def get_order(session: Session, actor: Actor, number: str) -> WorkOrder:
    """The order ``number`` if ``actor`` may see it (404 unknown, 403 someone else's)."""
    require_work_order_role(actor)
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == _number(number)))
    if order is None:
        raise NotFound(f"工单 {number} 不存在。", code="unknown_work_order")
    check_access(actor, order)
    return order


def lock_order(session: Session, actor: Actor, number: str) -> WorkOrder:
    """Bump the order's version (its first write in this transaction), then load it."""
    require_work_order_role(actor)
    order_id = session.execute(
        update(WorkOrder).where(WorkOrder.number == _number(number))
        .values(version=WorkOrder.version + 1).returning(WorkOrder.id)
        .execution_options(synchronize_session=False)).scalar()
    if order_id is None:
        raise NotFound(f"工单 {number} 不存在。", code="unknown_work_order")
    order = session.execute(select(WorkOrder).where(WorkOrder.id == order_id)
                            .execution_options(populate_existing=True)).scalar_one()
    check_access(actor, order)
    return order


@dataclass
class ListFilter:
    """The filters of an order list (None: any)."""

    queue: str | None = None
    status: str | None = None
    type: str | None = None
    priority: str | None = None
    overdue: bool | None = None
    conversation_id: int | None = None
    limit: int = 100


def parse_filter(args: Mapping[str, Any]) -> ListFilter:
    """Query-string filters, checked (unknown values are 400s, empty means any)."""
    f = ListFilter()
    if args.get("queue"):
        f.queue = choice(args["queue"], QUEUES, "unknown_queue", "队列")
    if args.get("status"):
        f.status = choice(args["status"], states.STATES, "unknown_status", "状态")
    if args.get("type"):
        f.type = choice(args["type"], TYPES, "unknown_type", "工单类型")
    if args.get("priority"):
        f.priority = choice(args["priority"], PRIORITIES, "unknown_priority", "优先级")
    overdue = args.get("overdue")
    if overdue not in (None, ""):
        value = str(overdue).lower()
        if value not in ("1", "0", "true", "false", "yes", "no"):
            raise ValidationFailed("overdue 只能是 true 或 false。", code="invalid_field",
                                   details={"field": "overdue"})
        f.overdue = value in ("1", "true", "yes")
    f.conversation_id = positive_int(args.get("conversation_id"), "conversation_id", "会话编号")
    limit = positive_int(args.get("limit"), "limit", "条数")
    if limit is not None:
        f.limit = min(limit, 500)
    return f


def list_orders(session: Session, clock: Clock, actor: Actor, f: ListFilter | None = None) -> list[WorkOrder]:
    """Orders ``actor`` may see, newest first, filtered."""
    require_work_order_role(actor)
    f = f or ListFilter()
    q = select(WorkOrder)
    if not actor.is_staff:
        q = q.where(WorkOrder.creator_id == actor.user_id)
    if f.queue:
        q = q.where(WorkOrder.queue == f.queue)
    if f.status:
        q = q.where(WorkOrder.status == f.status)
    if f.type:
        q = q.where(WorkOrder.type == f.type)
    if f.priority:
        q = q.where(WorkOrder.priority == f.priority)
    if f.conversation_id is not None:
        q = q.where(WorkOrder.conversation_id == f.conversation_id)
    if f.overdue is not None:
        clause = sla.overdue_clause(clock.now())
        q = q.where(clause if f.overdue else not_(clause))
    return list(session.scalars(q.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(f.limit)))


def customer_orders(session: Session, actor: Actor, customer_code: str, limit: int = 50) -> list[WorkOrder]:
    """One customer's work orders that ``actor`` may see (工单记录), newest first, with their history."""
    require_work_order_role(actor)
    q = select(WorkOrder).where(WorkOrder.customer_id == customer_code)
    if not actor.is_staff:
        q = q.where(WorkOrder.creator_id == actor.user_id)
    return list(session.scalars(q.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(limit)))
