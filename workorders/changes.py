"""Changing a work order: descriptive fields, 等待客户 (the SLA clock stops), transitions along
the state table with the fields each edge requires, 回访 and notes.

Functions take a session, the clock and an ``Actor``; they raise DomainErrors and never commit.
Every change writes history rows. A change starts with an UPDATE of the order's ``version``
(``queries.lock_order``: the row lock on PostgreSQL, the write lock on SQLite) so concurrent
changes to one order serialise instead of losing updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.errors import Conflict, IllegalTransition, ValidationFailed
from workorders import sla, states
from workorders.access import Actor
from workorders.history import record, set_field
from workorders.input_checks import choice, customer_fields, parse_time, text
from workorders.models import WorkOrder
from workorders.queries import lock_order
from workorders.vocab import (
    CATEGORIES,
    CONTACT_REACHED,
    CONTACT_RESULTS,
    MAX_ASSIGNEE,
    MAX_DESCRIPTION,
    MAX_NOTE,
    MAX_TITLE,
    PRIORITIES,
    QUEUES,
    SATISFACTION,
    SATISFIED,
    TYPES,
    VISIBILITIES,
    VISIBILITY_CUSTOMER,
    VISIBILITY_INTERNAL,
)

EDITABLE = ("type", "category", "priority", "queue", "title", "description", "expected_callback_at",
            "customer_id", "customer_name")


def update_order(session: Session, clock: Clock, actor: Actor, number: str, changes: Mapping[str, Any]) -> WorkOrder:
    """Change descriptive fields of an open order; each changed field gets a history row.

    A new type or priority recomputes the SLA due times (paused time still counts).
    """
    unknown = sorted(set(changes) - set(EDITABLE) - {"note"})
    if unknown:
        raise ValidationFailed(f"不能修改字段：{'、'.join(unknown)}。", code="invalid_field",
                               details={"field": unknown[0], "allowed": list(EDITABLE)})
    now = clock.now()
    checked: dict[str, Any] = {}
    if "type" in changes:
        checked["type"] = choice(changes["type"], TYPES, "unknown_type", "工单类型")
    if "category" in changes:
        checked["category"] = choice(changes["category"], CATEGORIES, "unknown_category", "业务分类")
    if "priority" in changes:
        checked["priority"] = choice(changes["priority"], PRIORITIES, "unknown_priority", "优先级")
    if "queue" in changes:
        checked["queue"] = choice(changes["queue"], QUEUES, "unknown_queue", "队列")
    if "title" in changes:
        checked["title"] = text(changes["title"], "title", "标题", MAX_TITLE, required=True)
    if "description" in changes:
        checked["description"] = text(changes["description"], "description", "问题描述", MAX_DESCRIPTION)
    if "expected_callback_at" in changes:
        when = parse_time(changes["expected_callback_at"], "expected_callback_at", "期望回电时间")
        if when is not None and when < now:
            raise ValidationFailed("期望回电时间不能早于当前时间。", code="invalid_time",
                                   details={"field": "expected_callback_at"})
        checked["expected_callback_at"] = when
    if "customer_id" in changes or "customer_name" in changes:
        cid, label = customer_fields(changes)
        if "customer_id" in changes:
            checked["customer_id"] = cid
        if "customer_name" in changes:
            checked["customer_label"] = label
    note = text(changes.get("note"), "note", "备注", MAX_NOTE)
    order = lock_order(session, actor, number)
    if order.status in states.TERMINAL:
        raise Conflict(f"工单已{order.status}，不能再修改。", code="work_order_closed")
    changed = False
    for field, value in checked.items():
        changed |= set_field(session, order, actor, now, field, value, note)
    if "type" in checked or "priority" in checked:
        old_due = order.resolution_due_at
        sla.reset_due_times(order)
        if order.resolution_due_at != old_due:
            record(session, order, actor, now, "due_at", old_due, order.resolution_due_at, "按新的类型/优先级重算时限")
    if changed:
        order.updated_at = now
    session.flush()
    return order


def _end_wait(session: Session, order: WorkOrder, actor: Actor, now: datetime, note: str) -> None:
    if not order.waiting_on_customer:
        return
    paused = max(int((now - order.waiting_since).total_seconds()), 0) if order.waiting_since else 0
    order.paused_seconds += paused
    if order.first_responded_at is None:
        order.first_response_due_at += timedelta(seconds=paused)
    order.resolution_due_at += timedelta(seconds=paused)
    order.waiting_on_customer = False
    order.waiting_since = None
    record(session, order, actor, now, "waiting_on_customer", True, False,
           note or f"恢复计时（本次暂停 {sla.human_duration(paused)}）")


def set_waiting(session: Session, clock: Clock, actor: Actor, number: str, waiting: Any,
                note: Any = "") -> WorkOrder:
    """Start or end 等待客户: the SLA clock stops while the order waits on the customer."""
    if not isinstance(waiting, bool):
        raise ValidationFailed("waiting 只能是 true 或 false。", code="invalid_field", details={"field": "waiting"})
    note = text(note, "note", "备注", MAX_NOTE)
    now = clock.now()
    order = lock_order(session, actor, number)
    if waiting:
        if order.waiting_on_customer:
            raise Conflict("工单已处于等待客户状态。", code="already_waiting")
        if order.status not in states.PAUSABLE:
            raise Conflict(f"工单处于「{order.status}」，不能标记为等待客户（仅限{'、'.join(sorted(states.PAUSABLE))}）。",
                           code="cannot_wait")
        order.waiting_on_customer = True
        order.waiting_since = now
        record(session, order, actor, now, "waiting_on_customer", False, True, note or "等待客户补充材料或回复，暂停计时")
    else:
        if not order.waiting_on_customer:
            raise Conflict("工单未处于等待客户状态。", code="not_waiting")
        _end_wait(session, order, actor, now, note)
    order.updated_at = now
    session.flush()
    return order


def _visibility(value: Any) -> str:
    return choice(value or VISIBILITY_INTERNAL, VISIBILITIES, "unknown_visibility", "可见范围")


def transition(session: Session, clock: Clock, actor: Actor, number: str, to: Any,
               fields: Mapping[str, Any] | None = None) -> WorkOrder:
    """Move the order to ``to`` along the transition table, with the fields that edge requires.

    ``fields``: ``note`` (reason; required to cancel or escalate), ``visibility``,
    ``assignee`` (to 已分派), ``resolution_note`` (to 待回访), ``satisfaction`` and
    ``contact_result`` (leaving 待回访), ``queue`` (optional, when escalating).
    """
    fields = dict(fields or {})
    if not isinstance(to, str) or not to:
        raise ValidationFailed("请给出目标状态 to。", code="missing_field", details={"field": "to"})
    if to not in states.STATES:
        states.check_transition(states.NEW, to)  # raises unknown_status
    note = text(fields.get("note"), "note", "说明", MAX_NOTE)
    visibility = _visibility(fields.get("visibility"))
    assignee = text(fields.get("assignee"), "assignee", "处理人", MAX_ASSIGNEE)
    resolution = text(fields.get("resolution_note"), "resolution_note", "处理结果说明", MAX_DESCRIPTION)
    satisfaction = fields.get("satisfaction") or None
    if satisfaction is not None:
        satisfaction = choice(satisfaction, SATISFACTION, "unknown_satisfaction", "满意度")
    contact = fields.get("contact_result") or None
    if contact is not None:
        contact = choice(contact, CONTACT_RESULTS, "unknown_contact_result", "回访结果")
    queue = fields.get("queue") or None
    if queue is not None:
        queue = choice(queue, QUEUES, "unknown_queue", "队列")

    now = clock.now()
    order = lock_order(session, actor, number)
    edge = states.check_transition(order.status, to)
    values = {"note": note, "assignee": assignee, "resolution_note": resolution, "satisfaction": satisfaction}
    missing = states.missing_fields(edge, values)
    if missing:
        labels = "、".join(states.FIELD_LABELS[m] for m in missing)
        raise ValidationFailed(f"「{order.status}→{to}」需要填写：{labels}。", code="missing_field",
                               details={"field": missing[0], "missing": missing})
    if edge.satisfaction_in and satisfaction not in edge.satisfaction_in:
        raise ValidationFailed(
            f"「{order.status}→{to}」要求满意度为{'或'.join(edge.satisfaction_in)}。", code="satisfaction_mismatch",
            details={"field": "satisfaction", "allowed": list(edge.satisfaction_in)})
    if order.status == states.FOLLOW_UP and contact not in (None, CONTACT_REACHED):
        raise ValidationFailed("未联系上客户时不能记录满意度；请先记录回访结果。", code="contact_not_reached",
                               details={"field": "contact_result"})

    _end_wait(session, order, actor, now, "状态变更，恢复计时")
    old = order.status
    if order.status == states.FOLLOW_UP:
        set_field(session, order, actor, now, "contact_result", contact or CONTACT_REACHED)
        set_field(session, order, actor, now, "satisfaction", satisfaction)
    if to == states.ASSIGNED:
        set_field(session, order, actor, now, "assignee", assignee)
    if to == states.FOLLOW_UP:
        set_field(session, order, actor, now, "resolution_note", resolution, visibility=VISIBILITY_CUSTOMER)
    if to == states.ESCALATED and queue:
        set_field(session, order, actor, now, "queue", queue, note)
    order.status = to
    reopened = old == states.FOLLOW_UP and to == states.IN_PROGRESS
    if reopened:
        order.reopen_count += 1
    record(session, order, actor, now, "status", old, to,
           note or ("客户不满意，重新处理" if reopened else edge.label), visibility)
    if order.first_responded_at is None and to != states.ASSIGNED:
        order.first_responded_at = now
    if to in states.TERMINAL:
        order.closed_at = now
    order.updated_at = now
    session.flush()
    return order


def follow_up(session: Session, clock: Clock, actor: Actor, number: str, contact_result: Any,
              satisfaction: Any = None, note: Any = "") -> WorkOrder:
    """Record a 回访: reached and 满意/一般 closes the order, 不满意 reopens it;
    not reached keeps it in 待回访 with a history row."""
    contact = choice(contact_result, CONTACT_RESULTS, "unknown_contact_result", "回访结果")
    if contact == CONTACT_REACHED:
        if satisfaction in (None, ""):
            raise ValidationFailed("联系上客户后请记录满意度。", code="missing_field", details={"field": "satisfaction"})
        satisfaction = choice(satisfaction, SATISFACTION, "unknown_satisfaction", "满意度")
        to = states.CLOSED if satisfaction in SATISFIED else states.IN_PROGRESS
        return transition(session, clock, actor, number, to,
                          {"contact_result": contact, "satisfaction": satisfaction, "note": note})
    if satisfaction not in (None, ""):
        raise ValidationFailed("未联系上客户时不能记录满意度。", code="contact_not_reached",
                               details={"field": "satisfaction"})
    note = text(note, "note", "说明", MAX_NOTE)
    now = clock.now()
    order = lock_order(session, actor, number)
    if order.status != states.FOLLOW_UP:
        raise IllegalTransition(f"工单处于「{order.status}」，不在待回访状态，不能登记回访。",
                                code="not_awaiting_follow_up",
                                details={"allowed": states.allowed_next(order.status)})
    old = order.contact_result
    order.contact_result = contact
    record(session, order, actor, now, "contact_result", old, contact, note or "回访未完成，稍后再联系")
    order.updated_at = now
    session.flush()
    return order


def add_note(session: Session, clock: Clock, actor: Actor, number: str, body: Any,
             visibility: Any = VISIBILITY_INTERNAL) -> WorkOrder:
    """A free note on the timeline; ``customer`` notes are what the customer was told."""
    body = text(body, "text", "备注内容", MAX_NOTE, required=True)
    visibility = _visibility(visibility)
    now = clock.now()
    order = lock_order(session, actor, number)
    record(session, order, actor, now, "note", None, None, body, visibility)
    if visibility == VISIBILITY_CUSTOMER and order.first_responded_at is None:
        order.first_responded_at = now
    order.updated_at = now
    session.flush()
    return order
