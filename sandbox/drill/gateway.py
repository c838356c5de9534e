"""The conversation gateway the work-order package uses for handoffs (transcript, owner)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.bank.conversations import CLOSED
from sandbox.bank.masking import mask_name, redact
from sandbox.bank.models import Conversation
from sandbox.drill.drill_clock import FINISHED
from sandbox.drill.event_log import append_message, messages_after
from sandbox.drill.models import Drill
from sandbox.errors import NotFound
from workorders.handoff import ConversationInfo

SPEAKERS = {"customer": "客户", "agent": "坐席", "human": "人工坐席", "system": "系统"}


class BankConversationGateway:
    """Reads a mock-bank conversation and its messages (masked) for a handoff."""

    def get(self, session: Session, conversation_id: int) -> ConversationInfo:
        conversation = session.get(Conversation, conversation_id) if isinstance(conversation_id, int) else None
        if conversation is None or conversation.owner_id is None:  # None: held for a drill not started
            raise NotFound(f"会话 {conversation_id} 不存在。", code="unknown_conversation")
        transcript = []
        for msg in messages_after(session, conversation.id, 0, limit=400):
            text: str | None
            if msg.kind == "audio" and not msg.recognized:
                text = "[语音，未识别]"
            else:
                text = msg.asr_text if msg.kind == "audio" else msg.text
            transcript.append({"speaker": SPEAKERS.get(msg.speaker, msg.speaker), "text": redact(text or ""),
                               "at": msg.created_at.isoformat()})
        customer = conversation.customer
        return ConversationInfo(conversation_id=conversation.id, owner_user_id=conversation.owner_id,
                                customer_id=customer.code, customer_label=mask_name(customer.name),
                                transcript=transcript)

    def ended(self, session: Session, conversation_ids: list[int]) -> set[int]:
        """Those conversations that are over: closed, or part of a finished drill."""
        ids = sorted({i for i in conversation_ids if isinstance(i, int)})
        if not ids:
            return set()
        rows = session.execute(select(Conversation.id, Conversation.status, Drill.status)
                               .outerjoin(Drill, Drill.id == Conversation.drill_id)
                               .where(Conversation.id.in_(ids)))
        return {cid for cid, status, drill_status in rows if status == CLOSED or drill_status == FINISHED}

    def post_human_message(self, session: Session, message) -> None:
        """Route a human agent's handoff message into the conversation the customer sees."""
        handoff = message.handoff
        if handoff.conversation_id and session.get(Conversation, handoff.conversation_id) is not None:
            append_message(session, message.at, handoff.conversation_id, "human", message.text,
                           author_id=message.author_id)
