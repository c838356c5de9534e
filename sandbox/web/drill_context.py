"""Glue between the API and running drills.

An API call that works on a drill's conversation does two things here, both called by
the view itself (no hook keyed by endpoint names):

- before the operation, ``drill_gate`` refuses it when the drill is over or paused
  (``drill_expired``/``drill_paused``) or the component it needs is down
  (``service_unavailable``, logged as ``fault.blocked``); ``drill_target`` does the same as
  the first step of the operation's unit of work, for operations that write anyway;
- inside the operation's unit of work, ``recorded`` appends its event to the drill's log
  (allowed or refused) through ``sandbox.drill.operations``, so the operation and its
  event are committed together or not at all, and the simulated customer may react.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import request
from sqlalchemy.orm import Session

from sandbox.drill import drill_contacts, event_log, operations
from sandbox.drill.models import ConversationMessage, Drill, DrillContact
from sandbox.drill.operations import Target
from sandbox.errors import DomainError, Forbidden, ValidationFailed
from sandbox.web.request_context import current_user
from sandbox.web.tx import db, end_read, runtime, undo_on_refusal, unit_of_work


def drill_gate(conversation_id: int | None, component: str | None, *, anyone: bool = False) -> Target | None:
    """Before an operation on ``conversation_id``: the drill contact it works on, or None.

    None when it is no drill conversation of the current user's. For the drill's candidate:
    refuses a finished or paused drill and an operation whose ``component`` (``lookup``,
    ``kb``, ``bot``) a fault has taken down (the ``fault.blocked`` event is committed before
    the 503). The usual case is a read, without the write lock. ``anyone``: whoever acts
    (the customer's side of a drill), not only its candidate.
    """
    user = current_user()
    if user is None:
        return None
    s = db()
    target = operations.target_for(s, conversation_id, None if anyone else user.id)
    if target is None or operations.is_open(s, runtime().clock, target, component):
        end_read()
        return target
    with unit_of_work() as s:
        blocked = operations.enforce(s, runtime().clock, target, component, request.endpoint or "")
    if blocked is not None:
        raise blocked
    return target


def drill_target(s: Session, conversation_id: int | None, component: str | None, *,
                 anyone: bool = False) -> Target | None:
    """``drill_gate`` inside the operation's own unit of work, which must keep refusals
    (``unit_of_work(keep_refusal=True)``: it commits the ``fault.blocked`` event before the 503).

    For operations that write anyway (a bank lookup writes its audit row): one transaction and
    one read of the drill instead of the gate's read and then the write. Call it before
    ``recorded``, so a refused operation logs no event of its own.
    """
    user = current_user()
    if user is None:
        return None
    return operations.open_target(s, runtime().clock, conversation_id, None if anyone else user.id, component,
                                  request.endpoint or "")


Refusal = Callable[[DomainError], "tuple[str, dict[str, Any]] | None"]


@dataclass
class Recording:
    """What the operation logs: set ``data`` (or ``event`` and ``data``) once it succeeded."""

    event: str | None
    data: dict[str, Any] = field(default_factory=dict)
    # How a refusal is logged: (event, data), or None for nothing; the default logs the
    # operation's event with ``allowed`` False and the refusal's code.
    refusal: Refusal | None = None

    def set(self, event: str | None = None, **data: Any) -> None:
        if event is not None:
            self.event = event
        self.data = data


def _refused(event: str) -> Refusal:
    return lambda exc: (event, operations.refusal_data(exc))


def log_nothing(exc: DomainError) -> None:
    """A refusal that leaves no event (a search or an SMS that did not happen)."""
    return None


@contextmanager
def recorded(s: Session, target: Target | None, event: str | None, *, refusal: Refusal | None = None,
             undo_refused: bool = False) -> Iterator[Recording]:
    """Inside the operation's unit of work: log the operation on ``target``'s drill when the
    block succeeds, or its refusal when it raises a ``DomainError`` (the unit must then keep
    refusals, ``unit_of_work(keep_refusal=True)``, or the event goes with the rollback).

    ``undo_refused``: the block's writes are undone on a refusal (a savepoint) while the
    refusal's event is kept, for operations whose refusals write no audit row.
    Outside a drill (``target`` None) this records nothing (and ``undo_refused`` still undoes
    the block's writes on a refusal).
    """
    rec = Recording(event, refusal=refusal)
    if target is None:
        with undo_on_refusal(s, undo_refused):
            yield rec
        return
    try:
        with undo_on_refusal(s, undo_refused):
            yield rec
    except DomainError as exc:
        logged = (rec.refusal or _refused(rec.event))(exc) if rec.event is not None else None
        if logged is not None:
            operations.record(s, runtime().clock, target, logged[0], **logged[1])
        raise
    if rec.event is not None:
        operations.record(s, runtime().clock, target, rec.event, **{**rec.data, "allowed": True})


@dataclass
class ContactContext:
    conversation: Any
    contact: DrillContact | None
    drill: Drill | None
    audience: str

    def post_free(self, session: Session, text: str, as_customer: bool = False) -> ConversationMessage:
        """A message in a free practice conversation (no simulated customer): a person plays each side."""
        from sandbox.bank.conversations import ensure_open

        text = (text or "").strip()
        if not text:
            raise ValidationFailed("消息不能为空。", code="empty_message")
        if len(text) > event_log.MAX_MESSAGE_CHARS:
            raise ValidationFailed(f"消息过长（最多 {event_log.MAX_MESSAGE_CHARS} 字）。", code="message_too_long")
        ensure_open(self.conversation)
        speaker = "customer" if as_customer or self.audience == "customer" else "agent"
        return event_log.append_message(session, runtime().clock.now(), self.conversation.id, speaker, text,
                                        author_id=current_user().id)


def load_contact(conversation_id: int, write: bool = False, as_customer: bool = False) -> ContactContext:
    """The conversation (owner, or an examiner watching) and its drill contact, if any.

    ``as_customer``: the customer's side of a free practice conversation (role-play), for its
    owner or an examiner; a drill's customer is always the simulated one.
    """
    from sandbox.bank.conversations import check_access, get_conversation

    s = db()
    user = current_user()
    # A drill's conversation names its drill: the two (every contact, locked to write) come in
    # one query. Any other conversation is loaded alone, and its drill contact, if any (rows
    # from before conversations named their drill), found by the conversation.
    found = drill_contacts.conversation_and_drill(s, conversation_id, for_update=write) \
        if isinstance(conversation_id, int) and 0 < conversation_id < 2**31 else None
    contact: DrillContact | None = None
    drill: Drill | None = None
    if found is not None:
        conversation, drill = check_access(s, found[0], user, watch=True), found[1]
        contact = next((c for c in drill.contacts if c.conversation_id == conversation.id), None)
    else:
        conversation = get_conversation(s, conversation_id, user, watch=True)
    if contact is None:
        contact, drill = drill_contacts.contact_and_drill(s, conversation.id, for_update=write) or (None, None)
    if as_customer:
        if drill is not None:
            raise Forbidden("演练中的客户由系统模拟，不能以客户身份发言。", code="forbidden")
        return ContactContext(conversation, None, None, "customer")
    if drill is not None and write and drill.user_id != user.id:
        raise Forbidden("只有作答的考生可以在演练会话中操作。", code="forbidden")
    audience = "agent" if conversation.owner_id == user.id or drill is not None else "customer"
    return ContactContext(conversation, contact, drill, audience)


def request_conversation_id() -> int | None:
    """The conversation id this API call is about (URL, ``?conversation=`` or the JSON body)."""
    body = request.get_json(silent=True) if request.is_json else None
    conv = (request.view_args or {}).get("conversation_id") or request.args.get("conversation")
    if conv is None and isinstance(body, dict):
        conv = body.get("conversation_id")
    try:
        conv_id = int(conv) if conv is not None else None
    except (TypeError, ValueError, OverflowError):
        return None
    if conv_id is not None and not 0 < conv_id < 2**31:
        return None  # no such conversation (and PostgreSQL INTEGER would refuse the lookup)
    return conv_id


def kb_pin(target: Target | None) -> Any:
    """When a KB call belongs to a drill of a round (``target``: the candidate's drill contact
    from ``drill_gate``), the time the round pinned the KB at; None otherwise."""
    from sandbox.exam.models import Round

    if target is None or target.round_id is None:
        return None
    rnd = db().get(Round, target.round_id)
    return rnd.created_at if rnd else None
