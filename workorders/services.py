"""Work-order rules: numbering, creation, transitions, notes, follow-up, SLA pauses, access.

Functions take a session, the clock and an :class:`Actor`; they raise DomainErrors
and never commit. Every change writes history rows. A change to an existing order
starts with an UPDATE of its ``version`` (the row lock on PostgreSQL, the write lock
on SQLite) so concurrent changes to one order serialise instead of losing updates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sandbox.bank.masking import mask_name, redact
from sandbox.clock import BEIJING, Clock
from sandbox.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from sandbox.roles import STAFF_ROLES, WORK_ORDER_ROLES
from workorders import sla, states
from workorders.models import WorkOrder, WorkOrderCounter, WorkOrderHistory
from workorders.vocab import (
    CATEGORIES,
    CONTACT_REACHED,
    CONTACT_RESULTS,
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE,
    DEFAULT_TYPE,
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

NUMBER_RE = re.compile(r"^WO\d{8}-\d{4,}$")
CUSTOMER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")



@dataclass(frozen=True)
class Actor:
    """Who is acting: enough to check access and label history without a query."""

    user_id: int
    role: str
    label: str

    @classmethod
    def of(cls, user: Any) -> Actor:
        return cls(user_id=user.id, role=user.role, label=user.label)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


# --- access ---------------------------------------------------------------------------

def require_work_order_role(actor: Actor) -> None:
    """Trainers author content; they have no access to work orders (declared decision)."""
    if actor.role not in WORK_ORDER_ROLES:
        raise Forbidden("您的角色无权查看或处理工单。")


def check_access(actor: Actor, order: WorkOrder) -> None:
    """Candidates reach only orders they created; examiners and admins reach all."""
    require_work_order_role(actor)
    if not actor.is_staff and order.creator_id != actor.user_id:
        raise Forbidden("这不是您创建的工单，无权查看或修改。")


def check_conversation_access(actor: Actor, owner_user_id: int) -> None:
    """An order may name a conversation only its creator owns; examiners and admins may name any."""
    require_work_order_role(actor)
    if not actor.is_staff and owner_user_id != actor.user_id:
        raise Forbidden("这不是您的会话，不能为它创建工单。", code="forbidden",
                        details={"field": "conversation_id"})


# --- input checks -----------------------------------------------------------------------

def choice(value: Any, options: Iterable[str], code: str, label: str) -> str:
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValidationFailed(f"未知的{label}「{value}」；可选：{'、'.join(options)}。", code=code,
                               details={"field": code.removeprefix("unknown_"), "allowed": list(options)})
    return value


def text(value: Any, field: str, label: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{label}必须是文本。", code="invalid_field", details={"field": field})
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}。", code="missing_field", details={"field": field})
    if len(value) > limit:
        raise ValidationFailed(f"{label}不能超过 {limit} 个字（当前 {len(value)} 个）。",
                               code="text_too_long", details={"field": field, "max": limit})
    return redact(value)


def parse_time(value: Any, field: str, label: str) -> datetime | None:
    """An ISO 8601 time; a time without zone is read as Beijing time (what forms send)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(f"{label}格式不正确，请使用 2026-11-28T15:30 这样的时间。",
                                   code="invalid_time", details={"field": field}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed.astimezone(UTC)


def positive_int(value: Any, field: str, label: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        value = "x"
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{label}必须是正整数。", code="invalid_field", details={"field": field}) from None
    if number <= 0 or number > 2**31 - 1:
        raise ValidationFailed(f"{label}必须是正整数。", code="invalid_field", details={"field": field})
    return number


def _customer(data: Mapping[str, Any]) -> tuple[str | None, str]:
    customer_id = data.get("customer_id")
    if customer_id in (None, ""):
        customer_id = None
    elif not isinstance(customer_id, str) or not CUSTOMER_ID_RE.match(customer_id):
        raise ValidationFailed("客户编号格式不正确（如 C003）。", code="invalid_field",
                               details={"field": "customer_id"})
    # The label is always stored masked; masking a masked name changes nothing.
    raw = data.get("customer_name", data.get("customer_label"))
    label = mask_name(text(raw, "customer_name", "客户姓名", 32))
    return customer_id, label


# --- numbering --------------------------------------------------------------------------

def china_date(when: datetime) -> str:
    """``yyyymmdd`` of ``when`` in Beijing time."""
    return when.astimezone(BEIJING).strftime("%Y%m%d")


def allocate_number(session: Session, now: datetime) -> str:
    """The next ``WO<yyyymmdd>-<seq>`` for ``now``'s Beijing date.

    One atomic upsert on the day's counter row (INSERT … ON CONFLICT DO UPDATE …
    RETURNING): concurrent creators queue on that row, nobody reads a maximum.
    As the first statement of the caller's transaction it also takes SQLite's
    write lock, so a plain BEGIN never has to upgrade a stale read snapshot.
    """
    day = china_date(now)
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(WorkOrderCounter).values(day=day, value=1)
            .on_conflict_do_update(index_elements=[WorkOrderCounter.day],
                                   set_={"value": WorkOrderCounter.value + 1})
            .returning(WorkOrderCounter.value))
    value = session.execute(stmt).scalar_one()
    return f"WO{day}-{value:04d}"


# --- SLA --------------------------------------------------------------------------------

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


def _reset_due_times(order: WorkOrder) -> None:
    first, resolve = sla.due_times(order.type, order.priority, order.created_at, order.paused_seconds)
    if order.first_responded_at is None:
        order.first_response_due_at = first
    order.resolution_due_at = resolve


# --- history ----------------------------------------------------------------------------

def _fmt(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    return str(value)


def record(session: Session, order: WorkOrder, actor: Actor | None, now: datetime, field: str,
           old: Any, new: Any, note: str = "", visibility: str = VISIBILITY_INTERNAL) -> WorkOrderHistory:
    row = WorkOrderHistory(order=order, field=field, from_value=_fmt(old), to_value=_fmt(new),
                           actor_id=actor.user_id if actor else None,
                           actor_label=actor.label if actor else "系统", at=now, note=note,
                           visibility=visibility)
    session.add(row)
    return row


def _set(session: Session, order: WorkOrder, actor: Actor, now: datetime, field: str, value: Any,
         note: str = "", visibility: str = VISIBILITY_INTERNAL) -> bool:
    old = getattr(order, field)
    if old == value:
        return False
    setattr(order, field, value)
    record(session, order, actor, now, field, old, value, note, visibility)
    return True


# --- reading ----------------------------------------------------------------------------

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


def _lock(session: Session, actor: Actor, number: str) -> WorkOrder:
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
        clause = overdue_clause(clock.now())
        q = q.where(clause if f.overdue else not_(clause))
    return list(session.scalars(q.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(f.limit)))


def customer_orders(session: Session, actor: Actor, customer_code: str, limit: int = 50) -> list[WorkOrder]:
    """One customer's work orders that ``actor`` may see (工单记录), newest first, with their history."""
    require_work_order_role(actor)
    q = select(WorkOrder).where(WorkOrder.customer_id == customer_code)
    if not actor.is_staff:
        q = q.where(WorkOrder.creator_id == actor.user_id)
    return list(session.scalars(q.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(limit)))


# --- creating ---------------------------------------------------------------------------

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
    customer_id, customer_label = _customer(data)
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


# --- changing ---------------------------------------------------------------------------

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
        cid, label = _customer(changes)
        if "customer_id" in changes:
            checked["customer_id"] = cid
        if "customer_name" in changes:
            checked["customer_label"] = label
    note = text(changes.get("note"), "note", "备注", MAX_NOTE)
    order = _lock(session, actor, number)
    if order.status in states.TERMINAL:
        raise Conflict(f"工单已{order.status}，不能再修改。", code="work_order_closed")
    changed = False
    for field, value in checked.items():
        changed |= _set(session, order, actor, now, field, value, note)
    if "type" in checked or "priority" in checked:
        old_due = order.resolution_due_at
        _reset_due_times(order)
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
    order = _lock(session, actor, number)
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
    order = _lock(session, actor, number)
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
        _set(session, order, actor, now, "contact_result", contact or CONTACT_REACHED)
        _set(session, order, actor, now, "satisfaction", satisfaction)
    if to == states.ASSIGNED:
        _set(session, order, actor, now, "assignee", assignee)
    if to == states.FOLLOW_UP:
        _set(session, order, actor, now, "resolution_note", resolution, visibility=VISIBILITY_CUSTOMER)
    if to == states.ESCALATED and queue:
        _set(session, order, actor, now, "queue", queue, note)
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
    order = _lock(session, actor, number)
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
    order = _lock(session, actor, number)
    record(session, order, actor, now, "note", None, None, body, visibility)
    if visibility == VISIBILITY_CUSTOMER and order.first_responded_at is None:
        order.first_responded_at = now
    order.updated_at = now
    session.flush()
    return order


# --- presenting -------------------------------------------------------------------------

FIELD_NAMES = {"status": "状态", "assignee": "处理人", "resolution_note": "处理结果", "satisfaction": "满意度",
               "contact_result": "回访结果", "waiting_on_customer": "等待客户", "note": "备注",
               "type": "类型", "category": "分类", "priority": "优先级", "queue": "队列", "title": "标题",
               "description": "描述", "expected_callback_at": "期望回电时间", "customer_id": "客户编号",
               "customer_label": "客户", "due_at": "办结时限"}


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def history_to_dict(row: WorkOrderHistory) -> dict[str, Any]:
    return {"field": row.field, "field_label": FIELD_NAMES.get(row.field, row.field),
            "from": row.from_value, "to": row.to_value, "who": row.actor_label, "at": iso(row.at),
            "note": row.note, "visibility": row.visibility}


def order_to_dict(order: WorkOrder, now: datetime, history: bool = True) -> dict[str, Any]:
    first_due, due = effective_due(order, now)
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
        "paused_seconds": order.paused_seconds, "overdue": is_overdue(order, now),
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
