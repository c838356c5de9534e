"""What a poll of a conversation answers, built in one place for the app's view
(``api.drills.messages_list``) and the poll lane in front of the app (``sandbox.web.poll_lane``).

No Flask here: the caller passes the session, the time and the memo.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from sandbox.bank.masking import redact
from sandbox.drill import drill_clock, event_log, quiet
from sandbox.drill.models import ConversationMessage
from sandbox.web.poll_memo import PollMemo
from workorders import vocab


def message_json(msg: ConversationMessage, audience: str = "agent") -> dict[str, Any]:
    """A message as the agent (or the customer side) may see it; audio stays hidden until recognised."""
    body: dict[str, Any] = {"seq": msg.seq, "speaker": msg.speaker, "kind": msg.kind,
                            "at": msg.created_at.isoformat()}
    if msg.kind == "audio" and audience == "agent":
        body["recognized"] = msg.recognized
        body["audio_seconds"] = max(2, round(len(msg.text) / 4))
        if msg.recognized:
            body["text"] = redact(msg.asr_text or "")
            body["confidence"] = msg.asr_confidence
        else:
            body["text"] = None
    else:
        body["text"] = redact(msg.text)  # masked for every audience (the customer side and watchers too)
    return body


class ContactState(Protocol):
    """What a poll shows of a contact: a drill contact row, or the values a kept answer holds."""

    @property
    def closed(self) -> bool: ...
    @property
    def mood(self) -> int: ...


def messages_body(conversation_id: int, msgs: list[ConversationMessage], audience: str,
                  drill: drill_clock.Clocked | None, contact: ContactState | None, now: datetime) -> dict[str, Any]:
    """The poll's answer: the new messages and, for a drill's conversation, the drill's clock and
    the contact's state at ``now``."""
    body: dict[str, Any] = {"conversation": conversation_id, "messages": [message_json(m, audience) for m in msgs]}
    if drill is not None and contact is not None:
        body["drill"] = {"status": drill.status,
                         "remaining_seconds": round(drill_clock.remaining_seconds(drill, now), 1)}
        body["closed"] = contact.closed
        body["mood"] = vocab.mood_label(contact.mood)
    return body


def kept_answer(session: Session, memo: PollMemo, conversation_id: int, after: int, user_id: int,
                now: datetime) -> tuple[dict[str, Any] | None, quiet.Stamp | None]:
    """The answer kept for ``user_id``'s last quiet poll of the conversation, when the drill's
    stamp (read now) says it still holds: ``(body, stamp)``. ``(None, stamp)``: nothing kept, or
    it no longer holds (``stamp``: the drill's, when read; the caller reads afresh)."""
    last = memo.get(conversation_id)
    if last is None or last.user_id != user_id:
        return None, None
    stamp = quiet.drill_stamp(session, last.drill_id, conversation_id)
    if not last.holds(stamp, now):
        return None, stamp
    assert stamp is not None  # holds() is False for a missing stamp
    msgs = event_log.message_copies_after(session, conversation_id, after) if after < quiet.last_seq_of(stamp) else []
    return messages_body(conversation_id, msgs, "agent", stamp, last, now), stamp
