"""The drill's event log and its conversations' messages.

Every event carries the drill time it happened at; every message gets its conversation's next
sequence number, gap-free under concurrency. Functions take a session and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import manager_of_class

from sandbox.db import CopyReader, table_of
from sandbox.drill.drill_clock import drill_seconds
from sandbox.drill.models import ConversationMessage, Drill, DrillContact, DrillEvent, MessageCounter

# What one drill message may hold (the scenario format's MAX_TURN_CHARS too).
MAX_MESSAGE_CHARS = 2000


def record_event(session: Session, drill: Drill, now: datetime, type_: str, contact: DrillContact | None = None,
                 **data: Any) -> None:
    """Append one event to the drill's log.

    Written at once, by a prebuilt Core insert on the session's connection (inside its
    transaction, so a rollback takes it back): events are never changed after they are
    written, and the ORM's unit of work cost several times the insert. Ids follow the order of
    the calls, which is the log's order."""
    session.connection().execute(_INSERT_EVENT, {
        "drill_id": drill.id, "conversation_id": contact.conversation_id if contact else None,
        "contact_key": contact.contact_key if contact else None, "type": type_, "at": now,
        "t": round(drill_seconds(drill, now), 3), "data": data})


_INSERT_EVENT = insert(table_of(DrillEvent))
_INSERT_MESSAGE = insert(table_of(ConversationMessage)).returning(table_of(ConversationMessage).c.id)
_new_message = manager_of_class(ConversationMessage).new_instance


def _counter_upsert(make_insert: Any) -> Any:
    table = table_of(MessageCounter)
    return (make_insert(table).values(conversation_id=bindparam("conversation_id"), last_seq=1)
            .on_conflict_do_update(index_elements=[table.c.conversation_id], set_={"last_seq": table.c.last_seq + 1})
            .returning(table.c.last_seq))


# Built once per dialect: two messages per post, and building the statement cost more than running it.
_COUNTER_UPSERT = {"sqlite": _counter_upsert(sqlite_insert), "postgresql": _counter_upsert(pg_insert)}


def _next_seq(session: Session, conversation_id: int) -> int:
    # One statement: the first message creates the counter at 1, later ones add 1 under the
    # row's lock (gap-free under concurrency on both databases). A Core statement on the
    # session's connection: no ORM bulk-insert machinery and no autoflush for a counter row.
    statement = _COUNTER_UPSERT["sqlite" if session.get_bind().dialect.name == "sqlite" else "postgresql"]
    return session.connection().execute(statement, {"conversation_id": conversation_id}).scalar_one()


def append_message(session: Session, now: datetime, conversation_id: int, speaker: str, text: str,
                   kind: str = "text", asr_text: str | None = None, asr_confidence: float | None = None,
                   author_id: int | None = None) -> ConversationMessage:
    """Write a message with the conversation's next sequence number (gap-free under concurrency).

    Written at once by a prebuilt Core insert (like ``record_event``); the message returned is
    a read-only copy of the row, in no session: a later change goes through a query of its own."""
    values = {"conversation_id": conversation_id, "seq": _next_seq(session, conversation_id), "speaker": speaker,
              "kind": kind, "text": text, "asr_text": asr_text, "asr_confidence": asr_confidence,
              "recognized": kind != "audio", "author_id": author_id, "created_at": now}
    values["id"] = session.connection().execute(_INSERT_MESSAGE, values).scalar_one()
    msg = _new_message()
    msg.__dict__.update(values)
    return msg


def messages_after(session: Session, conversation_id: int, after_seq: int = 0, limit: int = 500) -> list[ConversationMessage]:
    """The conversation's messages after sequence number ``after_seq``, oldest first."""
    return list(session.scalars(select(ConversationMessage).where(
        ConversationMessage.conversation_id == conversation_id, ConversationMessage.seq > after_seq)
        .order_by(ConversationMessage.seq).limit(limit)))


def message_copies_after(session: Session, conversation_id: int, after_seq: int = 0) -> list[ConversationMessage]:
    """``messages_after`` as read-only copies (one Core select): for readers that only look at
    the messages (a poll showing them, a post's customer reading the history), never to change one."""
    return _MESSAGES_AFTER(session, conversation_id=conversation_id, after_seq=after_seq)


_MESSAGES_AFTER = CopyReader(ConversationMessage, lambda t: [t.c.conversation_id == bindparam("conversation_id"),
                                                             t.c.seq > bindparam("after_seq")], order_by="seq",
                             limit=500)  # as messages_after


def message_at(session: Session, conversation_id: int, seq: int) -> ConversationMessage | None:
    """The conversation's message with sequence number ``seq``, or None."""
    return session.scalars(select(ConversationMessage).where(
        ConversationMessage.conversation_id == conversation_id, ConversationMessage.seq == seq)).first()


def events_of(session: Session, drill_id: int) -> list[DrillEvent]:
    """The drill's event log in drill-time order."""
    return list(session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill_id)
                                .order_by(DrillEvent.t, DrillEvent.id)))
