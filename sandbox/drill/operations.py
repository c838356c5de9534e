"""Operations on a drill's conversations and the events they leave in the drill's log.

A bank lookup, a KB search, a work order... done in a drill conversation by the drill's
candidate is recorded here, by the code path of the operation itself and in the same
transaction (the caller's unit of work): the operation and its event are committed
together or not at all. The event payloads are what ``sandbox.scoring.rubric`` reads.

Before the operation, ``is_open``/``enforce`` refuse it when the drill is over or paused
(``drill_expired``/``drill_paused``) or when the component it needs is down
(``service_unavailable``, logged as ``fault.blocked``); ``open_target`` does both as the first
step of an operation's own unit of work, for operations that write anyway.

Functions take a session and a clock and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, SessionTransaction

from sandbox.clock import Clock
from sandbox.drill import agent_turns, drill_clock, drill_contacts, drill_faults, event_log, lifecycle
from sandbox.drill.models import Drill, DrillContact
from sandbox.drill.scenario.store import scenario_spec
from sandbox.errors import DomainError, ServiceUnavailable

# Which component each kind of operation needs (a scenario's or an examiner's fault takes it down).
LOOKUP, KB, BOT = "lookup", "kb", "bot"

# Identity-check refusals that lock the check (for this conversation, or the agent's checks of
# this customer for a while): logged as ``identity.locked`` with the message the agent saw.
IDENTITY_LOCKS = ("too_many_attempts", "verification_throttled")


@dataclass(frozen=True)
class Target:
    """The drill contact an operation works on (ids: valid across transactions)."""

    drill_id: int
    contact_id: int
    conversation_id: int
    # Set by ``open_target``: the drill row as locked in the transaction that found it, so that
    # ``record`` in that same transaction does not select it again (a locking read always goes
    # to the database). Ignored in any other transaction.
    locked: tuple[SessionTransaction, Drill] | None = field(default=None, compare=False, repr=False)
    # The drill's round (None in practice): a drill never changes rounds, so the KB pin of the
    # round can be read without finding the drill again.
    round_id: int | None = field(default=None, compare=False)


def target_for(session: Session, conversation_id: int | None, user_id: int | None) -> Target | None:
    """The drill contact behind ``conversation_id`` when ``user_id`` is that drill's candidate.

    None for a free practice conversation, an unknown one, or someone else's drill (a
    watching examiner's reads are no operations of the candidate's). ``user_id`` None: the
    drill's contact whoever acts (the customer's side, e.g. confirming the SMS on its phone).
    """
    if conversation_id is None:
        return None
    found = _contact_and_drill(session, conversation_id, user_id, lock=False)
    return Target(found[1].id, found[0].id, conversation_id, round_id=found[1].round_id) if found else None


def open_target(session: Session, clock: Clock, conversation_id: int | None, user_id: int | None,
                component: str | None, operation: str) -> Target | None:
    """``target_for``, ``is_open`` and ``enforce`` at once, inside the operation's own unit of work.

    The drill is locked and brought up to date; a finished or paused drill is refused, and
    when ``component`` is down ``fault.blocked`` is logged and ``service_unavailable``
    raised, so the caller's unit must keep refusals (it commits the event). One transaction
    and one read of the drill, where the gate before a separate unit of work takes two of each.
    """
    if conversation_id is None:
        return None
    found = _contact_and_drill(session, conversation_id, user_id, lock=True)
    if found is None:
        return None
    transaction = session.get_transaction()
    assert transaction is not None  # the reads above began it
    contact, drill = found
    blocked = _refusal(session, clock, drill, contact, component, operation)
    if blocked is not None:
        raise blocked
    return Target(drill.id, contact.id, conversation_id, locked=(transaction, drill), round_id=drill.round_id)


def _contact_and_drill(session: Session, conversation_id: int, user_id: int | None,
                       lock: bool) -> tuple[DrillContact, Drill] | None:
    if not 0 < conversation_id < 2**31:
        return None
    found = drill_contacts.contact_and_drill(session, conversation_id, for_update=lock)
    if found is None or (user_id is not None and found[1].user_id != user_id):
        return None
    return found


def is_running(session: Session, target: Target) -> bool:
    """Whether the drill still takes events (not finished; a paused drill resumes)."""
    return drill_contacts.get_drill(session, target.drill_id).status != drill_clock.FINISHED


def is_open(session: Session, clock: Clock, target: Target, component: str | None) -> bool:
    """A read-only check: True when the drill takes the operation now with nothing to write.

    Raises when the drill is over or paused; False when the drill must first catch up with
    the clock or ``component`` is down (then ``enforce`` decides, in a write transaction).
    """
    drill = drill_contacts.get_drill(session, target.drill_id)
    if lifecycle.needs_tick(session, clock, drill):
        return False
    lifecycle.refuse_if_closed(drill)
    if component is None:
        return True
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    return not any(f["component"] == component for f in drill_faults.active_faults(session, drill, spec, clock.now()))


def enforce(session: Session, clock: Clock, target: Target, component: str | None,
            operation: str) -> ServiceUnavailable | None:
    """Advance the drill to now and refuse a closed one; when ``component`` is down, log
    ``fault.blocked`` and return the refusal for the caller to raise after committing it."""
    drill = drill_contacts.get_drill(session, target.drill_id, for_update=True)
    return _refusal(session, clock, drill, session.get(DrillContact, target.contact_id), component, operation)


def _refusal(session: Session, clock: Clock, drill: Drill, contact: DrillContact | None, component: str | None,
             operation: str) -> ServiceUnavailable | None:
    """``enforce`` on the locked drill."""
    spec = lifecycle.ensure_open(session, clock, drill)
    if component is None:
        return None
    now = clock.now()
    down = [f for f in drill_faults.active_faults(session, drill, spec, now) if f["component"] == component]
    if not down:
        return None
    event_log.record_event(session, drill, now, "fault.blocked", contact, component=component, endpoint=operation)
    return ServiceUnavailable(f"{down[0]['message']}，该功能暂不可用。", code="service_unavailable")


def record(session: Session, clock: Clock, target: Target, event_type: str, /, **data: Any) -> None:
    """Log the operation in the drill's event log and let the simulated customer react.

    ``data`` carries ``allowed`` (False for a refusal, with its ``reason``).
    """
    if target.locked is not None and target.locked[0] is session.get_transaction():
        drill = target.locked[1]
    else:
        # Its contacts in the same query: the operation's contact is one of them.
        drill = drill_contacts.get_drill(session, target.drill_id, for_update=True, with_contacts=True)
    contact = next(c for c in drill.contacts if c.id == target.contact_id)  # the target's own drill
    agent_turns.on_operation(session, clock, drill, contact, event_type, **data)


def refusal_data(error: DomainError) -> dict[str, Any]:
    """What a refused operation logs: not allowed, and why (the error code)."""
    return {"allowed": False, "reason": error.code}


def identity_event(method: Any, details: dict[str, str], result: dict[str, Any] | None = None,
                   error: DomainError | None = None) -> tuple[str, dict[str, Any]]:
    """The event for an identity check: ``identity.verified``, ``identity.failed`` or ``identity.locked``.

    A refused check (``error``) is still an attempt the examiner sees (``allowed`` True, with
    its ``reason``; a lock also keeps the message the agent saw). ``details`` is what the
    agent entered (partial identity data): the rubric checks the caller said it first.
    """
    if error is not None:
        data: dict[str, Any] = {"allowed": True, "reason": error.code}
        if error.code in IDENTITY_LOCKS:
            data["message"] = error.message
            return "identity.locked", data
        return "identity.failed", data
    data = {"method": method, "details": details, "allowed": True}
    if result and result.get("verified"):
        return "identity.verified", data
    if result and result.get("attempts_left") == 0:
        return "identity.locked", data
    return "identity.failed", data


def identity_details(body: dict[str, Any]) -> dict[str, str]:
    """The partial identity data an agent entered for a check (never a full number)."""
    return {k: str(body.get(k))[:64] for k in ("name", "id_last6", "phone_last4") if body.get(k)}
