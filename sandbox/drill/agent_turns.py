"""What the candidate does in a drill and the simulated customer's answer: a message to a
contact (with compliance hints in practice mode), an operation (lookup, search, work
order...), voice recognition of the customer's audio turns. Functions take a session and a
clock and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.db import write_changes
from sandbox.drill.customer_turns import confirm_sms, react
from sandbox.drill.drill_contacts import conversation_of
from sandbox.drill.event_log import MAX_MESSAGE_CHARS, append_message, message_copies_after, record_event
from sandbox.drill.lifecycle import ensure_open
from sandbox.drill.models import ConversationMessage, Drill, DrillContact
from sandbox.drill.scenario.store import scenario_spec
from sandbox.errors import Conflict, ValidationFailed
from sandbox.scoring.compliance import Finding, findings_for, read


@dataclass
class AgentReply:
    """The candidate's message, the customer's replies to it and the hints shown (practice only)."""

    message: ConversationMessage
    customer_replies: list[ConversationMessage]
    hints: list[dict[str, str]]


def read_ahead(text: object) -> None:
    """Read an agent message before the write transaction that posts it.

    The reading (the dialogue model: a few milliseconds for a text not seen before) is a pure
    function of the text and cached by it, so ``post_agent_message`` finds it done: the
    database's write lock (SQLite's, shared by every server process) is not held while the
    model runs. Text that ``post_agent_message`` would refuse is not read."""
    if isinstance(text, str) and (stripped := text.strip()) and len(stripped) <= MAX_MESSAGE_CHARS:
        read(stripped)


def post_agent_message(session: Session, clock: Clock, drill: Drill, row: DrillContact, text: str,
                       author_id: int) -> AgentReply:
    """The candidate writes to a contact; the simulated customer answers; hints in practice mode."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("消息不能为空。", code="empty_message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(f"消息过长（最多 {MAX_MESSAGE_CHARS} 字）。", code="message_too_long")
    spec = ensure_open(session, clock, drill)
    if not row.arrived:
        raise Conflict("该客户尚未接入。", code="contact_not_arrived")
    if row.closed:
        raise Conflict("该会话已结束。", code="conversation_closed")
    now = clock.now()
    conversation_id = conversation_of(row)
    findings = _message_findings(session, conversation_id, text)
    msg = append_message(session, now, conversation_id, "agent", text, author_id=author_id)
    row.last_agent_at = now
    record_event(session, drill, now, "message.agent", row, seq=msg.seq, text=text,
                 flags=[f.to_dict() for f in findings])
    for finding in findings:
        record_event(session, drill, now, "compliance.flag", row, **finding.to_dict())
    replies = react(session, drill, now, spec, row, {"kind": "message", "text": text, "findings": findings})
    hints = [f.to_dict() for f in findings] if drill.mode == "practice" else []
    write_changes(session, row)  # the contact's new seq, times, mood and agenda: one UPDATE, no flush
    return AgentReply(msg, replies, hints)


def _message_findings(session: Session, conversation_id: int, text: str) -> list[Finding]:
    """The compliance findings of an agent message, against what was said before it: a term the
    agent explained earlier, or that the customer used first, needs no explanation. Only a
    message that uses a term needs the conversation: it is read then (once), before this
    message is written. The hints, the log and the customer's answer all take these."""

    @cache
    def before() -> list[ConversationMessage]:
        return message_copies_after(session, conversation_id, 0)

    return findings_for(read(text), lambda: "\n".join(m.text for m in before() if m.speaker == "agent" and m.text),
                        heard=lambda: "\n".join((m.asr_text or m.text or "") for m in before()
                                                 if m.speaker == "customer"))


def on_operation(session: Session, clock: Clock, drill: Drill, row: DrillContact | None, op: str,
                 **data: Any) -> list[ConversationMessage]:
    """Log an operation on the drill (lookup, search, work order...) and let the customer react."""
    now = clock.now()
    record_event(session, drill, now, op, row, **data)
    if row is None or data.get("allowed") is False:
        return []
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    said = react(session, drill, now, spec, row, {"kind": "op", "op": op})
    if op == "identity.sms":
        said += confirm_sms(session, clock, drill, spec, row)
    return said


def recognize(session: Session, clock: Clock, drill: Drill, row: DrillContact) -> list[ConversationMessage]:
    """Run voice recognition over the contact's audio turns not yet recognised."""
    ensure_open(session, clock, drill)
    if row.channel != "语音":
        raise Conflict("文字渠道无需语音识别。", code="not_voice")
    pending = list(session.scalars(select(ConversationMessage).where(
        ConversationMessage.conversation_id == row.conversation_id, ConversationMessage.kind == "audio",
        ConversationMessage.recognized.is_(False)).order_by(ConversationMessage.seq)))
    now = clock.now()
    for msg in pending:
        msg.recognized = True
        record_event(session, drill, now, "asr.recognized", row, seq=msg.seq, transcript=msg.asr_text,
                     confidence=msg.asr_confidence)
    return pending
