"""Handoff to a human agent (转人工): summary and transcript into a live queue.

The conversation itself belongs to the mock bank; this module reads it through a
:class:`ConversationGateway` the caller supplies, and keeps a copy of the transcript
with the handoff. A handoff nobody accepts within the timeout is shown as
``timed_out`` (derived from the clock, nothing is written on read) and offers the
candidate a callback work order (留言回电) instead. A waiting handoff whose conversation
has ended (closed, or its drill finished: the gateway's ``ended``) is shown as ``ended``
and can no longer be accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sandbox.bank.masking import mask_name, redact
from sandbox.clock import Clock
from sandbox.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sandbox.users.models import User
from workorders import access, creation, history, input_checks
from workorders.access import Actor
from workorders.models import Handoff, HandoffMessage
from workorders.presentation import iso
from workorders.vocab import (
    CALLBACK_CATEGORY,
    CALLBACK_QUEUE,
    CALLBACK_TYPES,
    DEFAULT_QUEUE,
    MAX_NOTE,
    MAX_SUMMARY_FIELD,
    MAX_TRANSCRIPT_ENTRIES,
    MAX_TRANSCRIPT_TEXT,
    MOODS,
    PRIORITIES,
    QUEUES,
    VERIFICATION_STATUSES,
    VISIBILITY_CUSTOMER,
)

WAITING, ACCEPTED, TIMED_OUT, CALLBACK_CREATED = "waiting", "accepted", "timed_out", "callback_created"
ENDED = "ended"  # derived: still waiting, but the customer's conversation is over
STATUS_LABELS = {WAITING: "等待接入", ACCEPTED: "已接入", TIMED_OUT: "等待超时", CALLBACK_CREATED: "已转留言回电",
                 ENDED: "会话已结束"}
DEFAULT_TIMEOUT_SECONDS = 120
DEFAULT_CALLBACK_DELAY = timedelta(hours=2)
SUMMARY_FIELDS = {"intent": "识别意图", "request": "客户诉求", "actions_taken": "已做处理",
                  "verification_status": "核验状态", "mood": "客户情绪"}


@dataclass(frozen=True)
class ConversationInfo:
    """What a handoff needs to know about a conversation.

    ``customer_label`` is stored masked (``mask_name``; masking a masked name is a no-op);
    ``transcript`` is a list of ``{"speaker", "text", "at"}``.
    """

    conversation_id: int
    owner_user_id: int
    customer_id: str | None = None
    customer_label: str = ""
    transcript: list[dict[str, Any]] = field(default_factory=list)


class ConversationGateway(Protocol):
    """Looks up a conversation; raises NotFound when there is none.

    A gateway may also offer ``ended(session, conversation_ids) -> set[int]``: those of the
    conversations that are over (the web layer uses it for the queue; see ``ENDED``).
    """

    def get(self, session: Session, conversation_id: int) -> ConversationInfo: ...


class NoConversations:
    """The gateway used until the conversation package is plugged in: nothing exists."""

    def get(self, session: Session, conversation_id: int) -> ConversationInfo:
        raise NotFound(f"会话 {conversation_id} 不存在。", code="unknown_conversation")


# --- input checks -----------------------------------------------------------------------

def check_summary(summary: Any) -> dict[str, str]:
    """The five summary fields; intent and request are required, the two statuses enumerated."""
    if not isinstance(summary, Mapping):
        raise ValidationFailed("summary 必须是对象，包含 intent、request 等字段。", code="invalid_summary",
                               details={"field": "summary"})
    unknown = sorted(set(summary) - set(SUMMARY_FIELDS))
    if unknown:
        raise ValidationFailed(f"summary 含未知字段：{'、'.join(unknown)}。", code="invalid_summary",
                               details={"field": unknown[0], "allowed": list(SUMMARY_FIELDS)})
    out = {}
    for key, label in SUMMARY_FIELDS.items():
        out[key] = input_checks.text(summary.get(key), key, label, MAX_SUMMARY_FIELD,
                                     required=key in ("intent", "request"))
    out["verification_status"] = input_checks.choice(out["verification_status"] or "未核验", VERIFICATION_STATUSES,
                                                  "unknown_verification_status", "核验状态")
    out["mood"] = input_checks.choice(out["mood"] or "平静", MOODS, "unknown_mood", "客户情绪")
    return out


def check_transcript(transcript: Any) -> list[dict[str, Any]]:
    """A list of ``{"speaker", "text", "at"}``; full card/ID/phone numbers are masked."""
    if not isinstance(transcript, list) or len(transcript) > MAX_TRANSCRIPT_ENTRIES:
        raise ValidationFailed(f"会话记录必须是不超过 {MAX_TRANSCRIPT_ENTRIES} 条的列表。",
                               code="invalid_transcript")
    out = []
    for entry in transcript:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("speaker"), str) \
                or not isinstance(entry.get("text"), str):
            raise ValidationFailed("每条会话记录需包含 speaker 与 text。", code="invalid_transcript")
        at = entry.get("at")
        at = at.isoformat() if isinstance(at, datetime) else (str(at) if at is not None else None)
        out.append({"speaker": entry["speaker"][:32], "text": redact(entry["text"][:MAX_TRANSCRIPT_TEXT]),
                    "at": at})
    return out


# --- state ------------------------------------------------------------------------------

def effective_status(handoff: Handoff, now: datetime, timeout: int, ended: bool = False) -> str:
    """The status to show: ``ended`` (``ended``: its conversation is over) or ``timed_out`` are
    derived from a stored ``waiting``."""
    if handoff.status == WAITING and ended:
        return ENDED
    if handoff.status == WAITING and now - handoff.created_at >= timedelta(seconds=timeout):
        return TIMED_OUT
    return handoff.status


def waiting_seconds(handoff: Handoff, now: datetime) -> int:
    end = handoff.accepted_at or now
    return max(int((end - handoff.created_at).total_seconds()), 0)


def _check_role(actor: Actor) -> None:
    access.require_work_order_role(actor)


def _check_owner(actor: Actor, handoff: Handoff) -> None:
    _check_role(actor)
    if not actor.is_staff and handoff.owner_id != actor.user_id:
        raise Forbidden("这不是您的会话的转人工请求。")


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("只有考官或管理员可以接入人工坐席队列。")


def _load(session: Session, handoff_id: Any) -> Handoff:
    hid = input_checks.positive_int(handoff_id, "id", "转人工编号") if not isinstance(handoff_id, int) else handoff_id
    handoff = session.get(Handoff, hid, populate_existing=True) if hid else None
    if handoff is None:
        raise NotFound(f"转人工请求 {handoff_id} 不存在。", code="unknown_handoff")
    return handoff


# --- operations -------------------------------------------------------------------------

def create_handoff(session: Session, clock: Clock, actor: Actor, info: ConversationInfo, queue: Any,
                   summary: Any) -> Handoff:
    """Put ``info``'s conversation into the human-agent queue with its summary and transcript."""
    _check_role(actor)
    queue = input_checks.choice(queue or DEFAULT_QUEUE, QUEUES, "unknown_queue", "队列")
    checked = check_summary(summary)
    transcript = check_transcript(info.transcript)
    if not actor.is_staff and info.owner_user_id != actor.user_id:
        raise Forbidden("这不是您的会话，不能转人工。")
    pending = session.scalar(select(Handoff.id).where(
        Handoff.conversation_id == info.conversation_id, Handoff.status.in_((WAITING, ACCEPTED))))
    if pending is not None:
        raise Conflict("该会话已有未结束的转人工请求（等待中或已接入）。", code="handoff_pending",
                       details={"handoff_id": pending})
    now = clock.now()
    handoff = Handoff(conversation_id=info.conversation_id, owner_id=info.owner_user_id,
                      created_by_id=actor.user_id, customer_id=info.customer_id,
                      customer_label=mask_name(info.customer_label), queue=queue, summary=checked,
                      transcript=transcript, status=WAITING, created_at=now, messages=[])
    session.add(handoff)
    session.flush()
    return handoff


def get_handoff(session: Session, actor: Actor, handoff_id: Any) -> Handoff:
    handoff = _load(session, handoff_id)
    _check_owner(actor, handoff)
    return handoff


def queue_entries(session: Session, clock: Clock, actor: Actor, timeout: int, include_closed: bool = False,
                  limit: int = 200) -> list[Handoff]:
    """The human-agent queue (examiners and admins): waiting and timed-out first, oldest first."""
    _require_staff(actor)
    q = select(Handoff)
    if not include_closed:
        q = q.where(Handoff.status == WAITING)
    return list(session.scalars(q.order_by(Handoff.created_at, Handoff.id).limit(limit)))


def recent_handoffs(session: Session, actor: Actor, limit: int = 20) -> list[Handoff]:
    """Handoffs already accepted or turned into callbacks, newest first (examiners and admins)."""
    _require_staff(actor)
    return list(session.scalars(select(Handoff).where(Handoff.status != WAITING)
                                .order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(limit)))


def accept(session: Session, clock: Clock, actor: Actor, handoff_id: Any, ended: bool = False) -> Handoff:
    """The first examiner to accept takes the conversation (one atomic UPDATE decides).

    ``ended``: the caller found the conversation over (409 ``handoff_ended``, nothing written).
    """
    _check_role(actor)
    _require_staff(actor)
    handoff_id = input_checks.positive_int(handoff_id, "id", "转人工编号")
    if ended and _load(session, handoff_id).status == WAITING:
        raise Conflict("客户的会话已经结束（演练已交卷或超时），无法再接入。", code="handoff_ended")
    now = clock.now()
    won = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == WAITING)
        .values(status=ACCEPTED, accepted_by_id=actor.user_id, accepted_by_label=actor.label, accepted_at=now)
        .returning(Handoff.id).execution_options(synchronize_session=False)).scalar()
    handoff = _load(session, handoff_id)
    if won is None:
        if handoff.status == ACCEPTED:
            raise Conflict(f"该请求已由{handoff.accepted_by_label}接入。", code="handoff_already_accepted")
        raise Conflict("该请求已转为留言回电，不能再接入。", code="handoff_closed")
    return handoff


def add_message(session: Session, clock: Clock, actor: Actor, handoff_id: Any, body: Any) -> HandoffMessage:
    """What the accepting agent says to the customer (the conversation layer routes it)."""
    _require_staff(actor)
    body = input_checks.text(body, "text", "消息内容", MAX_NOTE, required=True)
    handoff = _load(session, handoff_id)
    if handoff.status != ACCEPTED:
        raise Conflict("请先接入该会话再发送消息。", code="handoff_not_accepted")
    if handoff.accepted_by_id != actor.user_id and actor.role != "admin":
        raise Forbidden(f"该会话由{handoff.accepted_by_label}接入，您不能代为回复。")
    message = HandoffMessage(handoff=handoff, author_id=actor.user_id, author_label=actor.label, text=body,
                             at=clock.now())
    session.add(message)
    session.flush()
    return message


def create_callback(session: Session, clock: Clock, actor: Actor, handoff_id: Any, timeout: int,
                    data: Mapping[str, Any] | None = None):
    """Turn a timed-out handoff into a 留言回电 work order linked to the conversation.

    ``data``: ``type`` (咨询 or 业务办理, default 咨询), ``priority`` (default 中),
    ``expected_callback_at`` (default two hours from now), ``note`` (what the customer is told).
    """
    _check_role(actor)
    data = dict(data or {})
    handoff_id = input_checks.positive_int(handoff_id, "id", "转人工编号")
    now = clock.now()
    type_ = input_checks.choice(data.get("type") or CALLBACK_TYPES[0], CALLBACK_TYPES, "unknown_type", "回电工单类型")
    callback_at = input_checks.parse_time(data.get("expected_callback_at"), "expected_callback_at", "期望回电时间") \
        or (now + DEFAULT_CALLBACK_DELAY)
    if callback_at < now:
        raise ValidationFailed("期望回电时间不能早于当前时间。", code="invalid_time",
                               details={"field": "expected_callback_at"})
    priority = input_checks.choice(data.get("priority") or "中", PRIORITIES, "unknown_priority", "优先级")
    note = input_checks.text(data.get("note"), "note", "告知客户的话", MAX_NOTE)
    # Claim the handoff first: the UPDATE is the transaction's first write and decides races.
    claimed = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == WAITING,
                              Handoff.created_at <= now - timedelta(seconds=timeout))
        .values(status=CALLBACK_CREATED).returning(Handoff.id)
        .execution_options(synchronize_session=False)).scalar()
    handoff = _load(session, handoff_id)
    _check_owner(actor, handoff)
    if claimed is None:
        if handoff.status == CALLBACK_CREATED:
            raise Conflict("已为该请求创建过留言回电工单。", code="callback_exists")
        if handoff.status == ACCEPTED:
            raise Conflict("人工坐席已接入，无需留言回电。", code="handoff_already_accepted")
        raise Conflict("人工坐席等待尚未超时，暂不提供留言回电。", code="callback_not_offered",
                       details={"waiting_seconds": waiting_seconds(handoff, now), "timeout_seconds": timeout})
    summary = handoff.summary
    description = "\n".join(f"{label}：{summary.get(key) or '—'}" for key, label in SUMMARY_FIELDS.items())
    if actor.user_id == handoff.owner_id:
        owner = actor
    else:  # staff acting for the candidate: the order stays the candidate's
        owner = Actor.of(session.get(User, handoff.owner_id))
    new = creation.check_new_order({
        "type": type_, "category": CALLBACK_CATEGORY, "priority": priority, "queue": CALLBACK_QUEUE,
        "title": f"留言回电：{summary.get('request', '')}"[:100],
        "description": f"人工坐席等待超时，客户留言回电。\n{description}",
        "customer_id": handoff.customer_id, "customer_name": handoff.customer_label,
        "conversation_id": handoff.conversation_id, "expected_callback_at": callback_at,
    }, now)
    order = creation.create_order(session, clock, owner, new, note="转人工等待超时，创建留言回电工单")
    if owner is not actor:
        history.record(session, order, actor, now, "note", None, None, f"由{actor.label}代为创建")
    history.record(session, order, actor, now, "note", None, None,
                   note or f"已为您登记回电，我们将在 {history.format_value(order.expected_callback_at)} 前与您联系。",
                   VISIBILITY_CUSTOMER)
    handoff.callback_order_id = order.id
    handoff.callback_order = order
    session.flush()
    return order


# --- presenting -------------------------------------------------------------------------

def handoff_to_dict(handoff: Handoff, now: datetime, timeout: int, full: bool = True,
                    ended: bool = False) -> dict[str, Any]:
    status = effective_status(handoff, now, timeout, ended)
    body: dict[str, Any] = {
        "id": handoff.id, "conversation_id": handoff.conversation_id, "queue": handoff.queue,
        "status": status, "status_label": STATUS_LABELS[status],
        "customer": {"id": handoff.customer_id, "label": handoff.customer_label},
        "summary": handoff.summary, "created_at": iso(handoff.created_at),
        "waiting_seconds": waiting_seconds(handoff, now), "timeout_seconds": timeout,
        "timed_out": status == TIMED_OUT, "callback_offer": status == TIMED_OUT,
        "accepted_by": handoff.accepted_by_label, "accepted_at": iso(handoff.accepted_at),
        "callback_work_order": handoff.callback_order.number if handoff.callback_order else None,
    }
    if full:
        body["transcript"] = handoff.transcript
        body["messages"] = [{"who": m.author_label, "text": m.text, "at": iso(m.at)} for m in handoff.messages]
    return body
