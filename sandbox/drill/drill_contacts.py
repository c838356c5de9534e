"""Finding a drill and its contacts: the drill by id (refused to anyone but its candidate), the
contact behind a conversation, the mock-bank customer a contact talks as and the facts it knows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, joinedload

from sandbox.bank.models import Conversation, Customer
from sandbox.db import CopyReader, PrimaryKeyLoader, table_of
from sandbox.drill import drill_clock
from sandbox.drill.facts import customer_facts
from sandbox.drill.models import Drill, DrillContact, ScenarioVersion
from sandbox.drill.scenario.model import Contact, ScenarioSpec
from sandbox.drill.scenario.store import scenario_spec, version_row_read
from sandbox.errors import Conflict, Forbidden, NotFound
from sandbox.exam.faults import round_faults_version_read
from sandbox.exam.models import Round

_VERSIONS = table_of(ScenarioVersion)
_ROUNDS = table_of(Round)


def contact_facts(row: DrillContact, spec: ScenarioSpec | None = None) -> dict[str, str]:
    """The facts of a drill contact's own customer (fixed at drill start)."""
    if row.facts:
        return dict(row.facts)
    # Drills started before fresh identities talk to the seed customer itself.
    return customer_facts(row.customer_id, spec.facts if spec else None)


def drill_contact_facts(session: Session, drill: Drill) -> dict[str, dict[str, str]]:
    """Facts per contact key of a drill (what its replies are checked against)."""
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    return {row.contact_key: contact_facts(row, spec) for row in drill.contacts}


def contact_customer(session: Session, drill_id: int, contact_key: str) -> Customer:
    """The mock-bank customer a drill contact talks as (full data: for tools, never for display)."""
    row = session.scalar(select(DrillContact).where(DrillContact.drill_id == drill_id,
                                                    DrillContact.contact_key == contact_key))
    if row is None:
        raise NotFound("演练中没有这位客户。", code="unknown_contact")
    customer = session.scalar(select(Customer).where(Customer.code == row.customer_id))
    if customer is None:
        raise NotFound("没有这位模拟客户。", code="unknown_customer")
    return customer


def get_drill(session: Session, drill_id: int, user_id: int | None = None, for_update: bool = False,
              with_contacts: bool = False) -> Drill:
    """The drill; with ``user_id``, refuse (403) a drill that belongs to someone else.

    ``with_contacts``: its contacts in the same query (a lock then covers the drill's row only:
    PostgreSQL refuses to lock the nullable side of an outer join)."""
    drill = _DRILL_LOADERS[with_contacts, for_update](session, drill_id)
    if drill is None or drill.status == drill_clock.PREPARED:  # nobody sees a question before its start
        raise NotFound("演练不存在。", code="unknown_drill")
    if user_id is not None and drill.user_id != user_id:
        raise Forbidden("这不是您的演练。", code="forbidden")
    return drill


def drill_snapshot(session: Session, drill_id: int) -> Drill | None:
    """A read-only copy of the drill and its contacts (two Core selects), or None.

    For a poll that only needs to know whether the drill has something to do and what to
    show: the copy is never added to a session; to change the drill, load it with get_drill.
    """
    found = _DRILL(session, drill_id=drill_id)
    if not found:
        return None
    drill = found[0]
    drill.contacts = _CONTACTS(session, drill_id=drill_id)
    return drill


_DRILL = CopyReader(Drill, lambda t: [t.c.id == bindparam("drill_id")])
_CONTACTS = CopyReader(DrillContact, lambda t: [t.c.drill_id == bindparam("drill_id")], order_by="id")


def conversation_of(row: DrillContact) -> int:
    """The contact's conversation id; a contact gets its conversation when it arrives."""
    if row.conversation_id is None:
        raise Conflict("该客户尚未接入。", code="contact_not_arrived")
    return row.conversation_id


# (with its contacts, locked): a write locks the drill's row only, ``FOR UPDATE OF drills``.
_DRILL_LOADERS: dict[tuple[bool, bool], PrimaryKeyLoader[Drill]] = {
    (False, False): PrimaryKeyLoader(Drill),
    (False, True): PrimaryKeyLoader(Drill, for_update=True),
    (True, False): PrimaryKeyLoader(Drill, joinedload(Drill.contacts)),
    (True, True): PrimaryKeyLoader(Drill, joinedload(Drill.contacts), for_update={"of": Drill}),
}


def contact_and_drill(session: Session, conversation_id: int, *,
                      for_update: bool = False) -> tuple[DrillContact, Drill] | None:
    """The drill contact a conversation belongs to and its drill with all its contacts, in one
    query (a lock covers the drill's row); None for a conversation outside drills. Refuses a
    drill that has not started, as ``get_drill`` does; no check of who asks."""
    found = session.execute(_DRILL_OF_CONVERSATION[for_update], {"conversation_id": conversation_id}
                            ).unique().one_or_none()
    if found is None:
        return None
    drill, faults_version = found
    if drill.round_id is not None:
        round_faults_version_read(session, drill.round_id, faults_version)
    if drill.status == drill_clock.PREPARED:  # nobody sees a question before its start
        raise NotFound("演练不存在。", code="unknown_drill")
    contact = next((c for c in drill.contacts if c.conversation_id == conversation_id), None)
    return (contact, drill) if contact is not None else None


def _drill_of_conversation(for_update: bool) -> Select[Any]:
    # With the round's count of fault changes: a round that never had a fault needs no read of them.
    drill_id = select(DrillContact.drill_id).where(
        DrillContact.conversation_id == bindparam("conversation_id")).scalar_subquery()
    statement = (select(Drill, _ROUNDS.c.faults_version).outerjoin(_ROUNDS, _ROUNDS.c.id == Drill.round_id)
                 .where(Drill.id == drill_id).options(joinedload(Drill.contacts)))
    return statement.with_for_update(of=Drill) if for_update else statement


# Built once: every bank lookup, search and work order of a drill conversation finds its drill so.
_DRILL_OF_CONVERSATION = {lock: _drill_of_conversation(lock) for lock in (False, True)}


def conversation_and_drill(session: Session, conversation_id: int, *,
                           for_update: bool = False) -> tuple[Conversation, Drill] | None:
    """A conversation that names its drill, and that drill with every contact, in one query (a
    lock covers the drill's row only); None for any other conversation (or none). Every
    message of a drill loads them so; no check of who asks."""
    found = session.execute(_CONVERSATION_AND_DRILL[for_update], {"conversation_id": conversation_id}
                            ).unique().first()
    if found is None:
        return None
    conversation, drill, version_id, version_created_at, faults_version = found
    if version_id is not None:  # the drill's scenario version, for scenario_spec
        version_row_read(session, drill.scenario_id, drill.scenario_version, version_id, version_created_at)
    if drill.round_id is not None:
        round_faults_version_read(session, drill.round_id, faults_version)
    return conversation, drill


def _conversation_and_drill(for_update: bool) -> Any:  # a multi-entity Select (typed apart in 2.0 and 2.1)
    # With the row of the drill's scenario version (its id and creation time), which the
    # message's scenario_spec would otherwise read by a query of its own, and the round's count
    # of fault changes (a round that never had a fault needs no read of them).
    statement = (select(Conversation, Drill, _VERSIONS.c.id, _VERSIONS.c.created_at, _ROUNDS.c.faults_version)
                 .join(Drill, Drill.id == Conversation.drill_id)
                 .outerjoin(_VERSIONS, (_VERSIONS.c.scenario_id == Drill.scenario_id)
                            & (_VERSIONS.c.version == Drill.scenario_version))
                 .outerjoin(_ROUNDS, _ROUNDS.c.id == Drill.round_id)
                 .where(Conversation.id == bindparam("conversation_id")).options(joinedload(Drill.contacts)))
    return statement.with_for_update(of=Drill) if for_update else statement


_CONVERSATION_AND_DRILL = {lock: _conversation_and_drill(lock) for lock in (False, True)}


def contact_spec(spec: ScenarioSpec, row: DrillContact) -> Contact:
    """The scenario's description of a drill contact."""
    return spec.contact(row.contact_key)
