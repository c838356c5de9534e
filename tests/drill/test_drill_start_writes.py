"""What a drill's start writes, and that it writes it without reading it back.

A drill's start draws a customer per contact into the mock bank and opens a conversation with
it; the ids the customer's inserts gave go straight to the conversation's references, a drill
started at once (practice, a round's later questions) is written running with its
conversations already its candidate's, and a drill prepared ahead is handed over with one
statement per conversation. These tests hold the result (owners, references, identity checks,
audit rows) and the statements that are no longer needed.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from sandbox.bank.conversations import hand_over_conversation
from sandbox.bank.models import Account, AuditEntry, Conversation, ConversationRef, CreditCard, IdentityCheck
from sandbox.drill import lifecycle
from sandbox.drill.models import Drill, DrillContact
from sandbox.errors import Conflict, NotFound
from sandbox.users.services import get_user

SCENARIO = "system-failure-queue"  # three contacts, arriving one after another

# Reads and updates a start no longer needs: the drawn customer read back, its accounts' and
# cards' ids read back, the drill's clock written a second time, a conversation read and
# updated to give it to its candidate.
READ_BACK = re.compile(r"^(SELECT bank_customers\.id,|SELECT bank_accounts\.id\s+FROM|SELECT bank_cards\.id\s+FROM|"
                       r"UPDATE drills|SELECT conversations\.|UPDATE conversations)")


class Statements:
    """The SQL statements run on ``engine`` while recording."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(" ".join(statement.split()))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


def _conversations_as_written(s, drill_id: int, user_id: int) -> list[dict]:
    """Each contact's conversation: owner, references against the customer's rows, identity
    check, and the audit rows of its opening."""
    found = []
    for row in s.scalars(select(DrillContact).where(DrillContact.drill_id == drill_id)
                         .order_by(DrillContact.id)):
        conversation = s.get(Conversation, row.conversation_id)
        assert conversation is not None
        refs = {r.ref: (r.kind, r.target_id) for r in s.scalars(
            select(ConversationRef).where(ConversationRef.conversation_id == conversation.id))}
        accounts = s.scalars(select(Account.id).where(Account.customer_id == conversation.customer_id)
                             .order_by(Account.id)).all()
        cards = s.scalars(select(CreditCard.id).where(CreditCard.customer_id == conversation.customer_id)
                          .order_by(CreditCard.id)).all()
        expected = {**{f"A{i}": ("account", a) for i, a in enumerate(accounts, 1)},
                    **{f"K{i}": ("card", k) for i, k in enumerate(cards, 1)}}
        checks = s.scalars(select(IdentityCheck).where(IdentityCheck.conversation_id == conversation.id)).all()
        audit = s.execute(select(AuditEntry.user_id, AuditEntry.action, AuditEntry.allowed, AuditEntry.customer_id)
                          .where(AuditEntry.conversation_id == conversation.id)).all()
        found.append({
            "owner": conversation.owner_id, "channel": conversation.channel == row.channel,
            "refs_match": refs == expected and bool(refs), "drill": conversation.drill_id,
            "identity_checks": [(c.customer_id == conversation.customer_id, c.failed_attempts, c.locked,
                                 c.verified_at) for c in checks],
            "audit": [tuple(a) == (user_id, "open_conversation", True, conversation.customer_id) for a in audit],
        })
    return found


@pytest.mark.db
def test_a_drill_started_at_once_is_written_running_with_its_candidates_conversations(api, runtime, drill_facts):
    cand = api("candidate")
    with Statements(runtime.engine) as statements:
        resp = cand.post("/api/v1/drills", json={"scenario": SCENARIO})
    assert resp.status_code == 201, resp.get_json()
    drill_id = resp.get_json()["id"]
    assert [s for s in statements.seen if READ_BACK.match(s)] == []
    assert resp.get_json()["remaining_seconds"] > 0
    with runtime.session_factory() as s:
        user = get_user(s, "candidate1")
        drill = s.get(Drill, drill_id)
        assert drill is not None and drill.status == "running" and drill.deadline > drill.started_at
        conversations = _conversations_as_written(s, drill_id, user.id)
    assert len(conversations) == 3
    for c in conversations:
        assert c == {"owner": user.id, "channel": True, "refs_match": True, "drill": drill_id,
                     "identity_checks": [(True, 0, False, None)], "audit": [True]}
    # The first contact's card references reach its own customer's cards once verified.
    conv = resp.get_json()["conversations"][0]["id"]
    facts = drill_facts(drill_id)
    verified = cand.post(f"/api/v1/conversations/{conv}/identity/verify", json={
        "method": "id_phone", "name": facts["name"], "id_last6": facts["id_last6"],
        "phone_last4": facts["phone_last4"]})
    assert verified.get_json()["verified"] is True, verified.get_json()
    cards = cand.get(f"/api/v1/conversations/{conv}/cards").get_json()["cards"]
    assert [c["ref"] for c in cards] == [f"K{i}" for i in range(1, len(cards) + 1)]


@pytest.mark.db
def test_a_prepared_drill_is_held_then_handed_over_with_one_statement_per_conversation(runtime):
    clock = runtime.clock
    with runtime.transaction() as s:
        user = get_user(s, "candidate1")
        drill = lifecycle.prepare_drill(s, clock, user.id, SCENARIO, "exam")
        drill_id, user_id = drill.id, user.id
        held = _conversations_as_written(s, drill_id, user_id)
    assert len(held) == 3
    for c in held:  # held by nobody, nothing audited yet
        assert c == {"owner": None, "channel": True, "refs_match": True, "drill": drill_id,
                     "identity_checks": [(True, 0, False, None)], "audit": []}

    with runtime.transaction() as s:
        drill = s.get(Drill, drill_id)
        first = s.get(Conversation, drill.contacts[0].conversation_id)  # loaded before the hand-over
        with Statements(runtime.engine) as statements:
            lifecycle.activate_drill(s, clock, drill)
        assert first.owner_id == user_id  # the loaded object sees the new owner
        assert [s_ for s_ in statements.seen if s_.startswith("SELECT conversations.")] == []
        assert len([s_ for s_ in statements.seen if s_.startswith("UPDATE conversations")]) == 3
        handed = _conversations_as_written(s, drill_id, user_id)
    for c in handed:
        assert c == {"owner": user_id, "channel": True, "refs_match": True, "drill": drill_id,
                     "identity_checks": [(True, 0, False, None)], "audit": [True]}

    with runtime.transaction() as s:
        user = get_user(s, "candidate1")
        with pytest.raises(Conflict) as taken:
            hand_over_conversation(s, clock, s.get(Drill, drill_id).contacts[0].conversation_id, user)
        assert taken.value.code == "conversation_taken"
        with pytest.raises(NotFound) as missing:
            hand_over_conversation(s, clock, 10**9, user)
        assert missing.value.code == "unknown_conversation"
        with pytest.raises(Conflict) as again:
            lifecycle.activate_drill(s, clock, s.get(Drill, drill_id))
        assert again.value.code == "drill_already_started"


@pytest.mark.db
def test_an_operation_finds_its_contact_and_drill_in_one_query(api, runtime):
    """A drill conversation's contact and its drill with every contact, one statement (locked
    on the drill's row when writing); None outside drills; a drill not started is refused."""
    from sqlalchemy.dialects import postgresql

    from sandbox.bank.conversations import open_conversation
    from sandbox.drill import drill_contacts

    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": SCENARIO}).get_json()
    conv = drill["conversations"][0]["id"]
    for lock in (False, True):
        with runtime.transaction() as s, Statements(runtime.engine) as statements:
            contact, found = drill_contacts.contact_and_drill(s, conv, for_update=lock)
            assert found.id == drill["id"] and contact.conversation_id == conv and contact in found.contacts
            assert sorted(c.contact_key for c in found.contacts) == sorted(
                s.scalars(select(DrillContact.contact_key).where(DrillContact.drill_id == drill["id"])))
            selects = [x for x in statements.seen if x.startswith("SELECT")]
        assert len(selects) == 2  # the one query, then the check above
    locked = str(drill_contacts._DRILL_OF_CONVERSATION[True].compile(dialect=postgresql.dialect()))
    assert locked.rstrip().endswith("FOR UPDATE OF drills")
    with runtime.transaction() as s:
        user = get_user(s, "candidate1")
        free = open_conversation(s, runtime.clock, user, "C001")
        assert drill_contacts.contact_and_drill(s, free.id) is None
        assert drill_contacts.contact_and_drill(s, 10**9) is None
        prepared = lifecycle.prepare_drill(s, runtime.clock, user.id, SCENARIO, "exam")
        with pytest.raises(NotFound) as not_started:
            drill_contacts.contact_and_drill(s, prepared.contacts[0].conversation_id, for_update=True)
        assert not_started.value.code == "unknown_drill"


@pytest.mark.db
def test_a_drill_conversation_without_its_drill_link_is_still_found_by_its_contact(api, runtime):
    """A conversation written before conversations named their drill (``drill_id`` empty) is
    found through its contact: messages and polls work as for any drill conversation."""
    from sqlalchemy import update

    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    with runtime.transaction() as s:
        s.execute(update(Conversation).where(Conversation.id == conv).values(drill_id=None))
    posted = cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好，请问有什么可以帮您？"})
    assert posted.status_code == 201, posted.get_json()
    assert posted.get_json()["replies"]  # the simulated customer of that drill answered
    polled = cand.get(f"/api/v1/conversations/{conv}/messages?after=0").get_json()
    assert [m["speaker"] for m in polled["messages"]][:2] == ["customer", "agent"]
    # Still that drill's conversation: a watching examiner may read it but not write in it.
    examiner = api("examiner")
    assert examiner.get(f"/api/v1/conversations/{conv}/messages?after=0").status_code == 200
    refused = examiner.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
