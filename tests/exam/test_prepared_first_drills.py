"""The first question of a round is prepared when the examiner starts the round.

开始考试 draws every rostered candidate's first customers and opens their conversations (held
by nobody); 开始作答 then only starts the clock. Nothing of a prepared question may show before
that press: not its drill, its conversation, its customer, its earlier work orders or a line of
its log; and its clock must not run, whatever the round does meanwhile.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sandbox.bank.models import AuditEntry, Conversation, Customer
from sandbox.drill import drill_clock
from sandbox.drill.models import ConversationMessage, Drill, DrillEvent
from sandbox.users.models import User
from workorders.models import WorkOrder

SCENARIO = "cc-bill-enquiry"


@pytest.fixture
def roles(api):
    return {"examiner": api("examiner"), "c1": api("candidate1"), "c2": api("candidate2")}


def open_round(roles, scenarios=(SCENARIO,), usernames=("candidate1", "candidate2"), start=True, **extra) -> int:
    ex = roles["examiner"]
    rnd = ex.post("/api/v1/rounds", json={"name": "预备首题", "scenarios": list(scenarios), **extra}).get_json()
    assert ex.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": list(usernames)}).status_code == 200
    if start:
        assert ex.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    return rnd["id"]


def prepared_of(session, round_id: int, username: str) -> Drill | None:
    user_id = session.scalar(select(User.id).where(User.username == username))
    return session.scalar(select(Drill).where(Drill.round_id == round_id, Drill.user_id == user_id))


@pytest.mark.db
def test_starting_the_round_prepares_each_rostered_candidates_first_question(roles, session):
    rid = open_round(roles)
    drills = list(session.scalars(select(Drill).where(Drill.round_id == rid)))
    assert len(drills) == 2 and {d.status for d in drills} == {drill_clock.PREPARED}
    for drill in drills:
        assert drill.scenario_id == SCENARIO and drill.mode == "exam"
        assert drill.contacts and all(c.conversation_id for c in drill.contacts)
        for contact in drill.contacts:
            conversation = session.get(Conversation, contact.conversation_id)
            assert conversation.owner_id is None  # held: no agent reaches it
            assert session.scalar(select(Customer.id).where(Customer.code == contact.customer_id,
                                                            Customer.drill_id == drill.id)) is not None
            assert session.scalar(select(func.count()).select_from(ConversationMessage)
                                  .where(ConversationMessage.conversation_id == contact.conversation_id)) == 0
        # Nothing happened in it yet: no event, no audit line of an opened conversation.
        assert session.scalar(select(func.count()).select_from(DrillEvent).where(DrillEvent.drill_id == drill.id)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "open_conversation",
        AuditEntry.conversation_id.in_([c.conversation_id for d in drills for c in d.contacts]))) == 0


@pytest.mark.db
def test_a_draft_round_prepares_nothing(roles, session):
    rid = open_round(roles, start=False)
    assert session.scalar(select(func.count()).select_from(Drill).where(Drill.round_id == rid)) == 0


@pytest.mark.db
def test_the_candidate_sees_nothing_of_a_prepared_question(roles, session, login_as):
    rid = open_round(roles)
    c1 = roles["c1"]
    drill = prepared_of(session, rid, "candidate1")
    conv = drill.contacts[0].conversation_id
    code = drill.contacts[0].customer_id

    me = c1.get(f"/api/v1/rounds/{rid}/me").get_json()
    assert me["step"] == "start" and me["progress"]["current"] is None
    assert [item["status"] for item in me["progress"]["plan"]] == ["pending"]
    assert me["progress"]["ticking"] is False
    for url in (f"/api/v1/drills/{drill.id}", f"/api/v1/drills/{drill.id}/report",
                f"/api/v1/drills/{drill.id}/followups"):
        assert c1.get(url).status_code == 404, url
    assert c1.post(f"/api/v1/drills/{drill.id}/finish").status_code == 404
    for url in (f"/api/v1/conversations/{conv}/messages", f"/api/v1/conversations/{conv}",
                f"/api/v1/conversations/{conv}/identity", f"/api/v1/conversations/{conv}/workorders"):
        resp = c1.get(url)
        assert resp.status_code in (403, 404), (url, resp.status_code)
        assert code not in resp.get_data(as_text=True)
    resp = c1.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好"})
    assert resp.status_code in (403, 404)
    # Its customer cannot be reached by a conversation of one's own either.
    assert c1.post("/api/v1/conversations", json={"customer_id": code}).status_code == 404
    page = login_as("candidate1").get("/drills").get_data(as_text=True)
    assert f"/drills/{drill.id}" not in page
    # Nothing was written by all those attempts: the question is as it was prepared.
    session.rollback()  # a fresh snapshot: the requests committed meanwhile
    assert session.get(Drill, drill.id).status == drill_clock.PREPARED
    assert session.scalar(select(func.count()).select_from(DrillEvent).where(DrillEvent.drill_id == drill.id)) == 0


@pytest.mark.db
def test_pressing_start_starts_the_prepared_question_at_that_moment(roles, session, clock):
    rid = open_round(roles, time_per_scenario=300)
    prepared_id = prepared_of(session, rid, "candidate1").id
    clock.advance(600)  # the candidate reads the instructions for ten minutes first
    resp = roles["c1"].post(f"/api/v1/rounds/{rid}/next")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["id"] == prepared_id
    assert body["status"] == drill_clock.RUNNING
    assert body["progress"]["remaining_seconds"] == 300 and body["progress"]["ticking"] is True
    session.rollback()  # a fresh snapshot: the requests committed meanwhile
    drill = session.get(Drill, prepared_id)
    assert drill.started_at == clock.now() and (drill.deadline - drill.started_at).total_seconds() == 300
    events = list(session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill.id).order_by(DrillEvent.id)))
    assert events[0].type == "drill.started" and events[0].at == clock.now()
    conv = drill.contacts[0].conversation_id
    conversation = session.get(Conversation, conv)
    user_id = session.scalar(select(User.id).where(User.username == "candidate1"))
    assert conversation.owner_id == user_id and conversation.created_at == clock.now()
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "open_conversation", AuditEntry.conversation_id == conv, AuditEntry.user_id == user_id)) == 1
    # The customer speaks now, and the candidate reads it like any drill's conversation.
    messages = roles["c1"].get(f"/api/v1/conversations/{conv}/messages").get_json()["messages"]
    assert messages and messages[0]["speaker"] == "customer"
    # The other candidate's question is still prepared, and still unseen by anyone's clock.
    other = prepared_of(session, rid, "candidate2")
    assert other.status == drill_clock.PREPARED
    # Pressing again gives the same question; no second drill appears.
    again = roles["c1"].post(f"/api/v1/rounds/{rid}/next").get_json()
    assert again["id"] == prepared_id
    assert session.scalar(select(func.count()).select_from(Drill).where(Drill.round_id == rid)) == 2


@pytest.mark.db
def test_the_round_pausing_extending_and_faults_do_not_touch_a_prepared_question(roles, session, clock):
    ex = roles["examiner"]
    rid = open_round(roles, time_per_scenario=300)
    prepared_id = prepared_of(session, rid, "candidate1").id
    c1_id = session.scalar(select(User.id).where(User.username == "candidate1"))
    assert ex.post(f"/api/v1/rounds/{rid}/faults", json={"component": "lookup"}).status_code == 201
    assert ex.post(f"/api/v1/rounds/{rid}/pause").status_code == 200
    clock.advance(120)
    assert ex.post(f"/api/v1/rounds/{rid}/resume").status_code == 200
    assert ex.post(f"/api/v1/rounds/{rid}/extend", json={"user": c1_id, "seconds": 60}).status_code == 200
    board = ex.get(f"/api/v1/rounds/{rid}/live").get_json()["candidates"]
    assert all(row["current"] is None and row["finished"] == 0 for row in board)
    roles["c1"].get(f"/api/v1/rounds/{rid}/me")  # a poll while a fault is active
    session.rollback()  # a fresh snapshot: the requests committed meanwhile
    assert session.scalar(select(func.count()).select_from(DrillEvent)
                          .where(DrillEvent.drill_id == prepared_id)) == 0
    clock.advance(30)
    body = roles["c1"].post(f"/api/v1/rounds/{rid}/next").get_json()
    assert body["id"] == prepared_id
    assert body["progress"]["remaining_seconds"] == 360  # the full time plus the extension
    session.rollback()
    types = [e.type for e in session.scalars(select(DrillEvent).where(DrillEvent.drill_id == prepared_id)
                                               .order_by(DrillEvent.id))]
    assert types[0] == "drill.started"
    assert "drill.paused" not in types and "drill.extended" not in types


@pytest.mark.db
def test_ending_the_round_leaves_an_unstarted_question_unscored(roles, session):
    ex = roles["examiner"]
    rid = open_round(roles)
    assert roles["c1"].post(f"/api/v1/rounds/{rid}/next").status_code == 201
    assert ex.post(f"/api/v1/rounds/{rid}/end").status_code == 200
    results = ex.get(f"/api/v1/rounds/{rid}/results").get_json()
    by_user = {row["username"]: row for row in results["rows"]}
    assert by_user["candidate1"]["drill"] is not None and by_user["candidate1"]["complete"] is True
    assert by_user["candidate2"]["drill"] is None and by_user["candidate2"]["status"] == "未作答"
    session.rollback()  # a fresh snapshot: the requests committed meanwhile
    other = prepared_of(session, rid, "candidate2")
    assert other.status == drill_clock.PREPARED and other.total is None
    assert roles["c2"].post(f"/api/v1/rounds/{rid}/next").status_code == 409


@pytest.mark.db
def test_a_candidate_who_joins_after_the_start_starts_the_ordinary_way(roles, session, api):
    ex = roles["examiner"]
    rid = open_round(roles, usernames=("candidate1",))
    assert ex.post(f"/api/v1/rounds/{rid}/candidates", json={"usernames": ["candidate2"]}).status_code == 200
    assert prepared_of(session, rid, "candidate2") is None
    body = roles["c2"].post(f"/api/v1/rounds/{rid}/next").get_json()
    assert body["status"] == drill_clock.RUNNING and body["scenario"]["id"] == SCENARIO


@pytest.mark.db
def test_earlier_work_orders_of_a_prepared_customer_appear_only_when_the_question_starts(roles, session):
    rid = open_round(roles, scenarios=("complaint-followup-loop",), usernames=("candidate1",))
    drill = prepared_of(session, rid, "candidate1")
    codes = [c.customer_id for c in drill.contacts]
    assert session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.customer_id.in_(codes))) == 0
    assert roles["c1"].post(f"/api/v1/rounds/{rid}/next").status_code == 201
    session.rollback()
    assert session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.customer_id.in_(codes))) >= 1


@pytest.mark.db
def test_a_shuffled_round_prepares_each_candidates_own_first_question(roles, session):
    scenarios = ("lost-debit-card", SCENARIO, "dormant-account")
    rid = open_round(roles, scenarios=scenarios, shuffle=True)
    for username, role in (("candidate1", "c1"), ("candidate2", "c2")):
        prepared = prepared_of(session, rid, username)
        plan = roles[role].get(f"/api/v1/rounds/{rid}/me").get_json()["progress"]["plan"]
        assert prepared.scenario_id == plan[0]["scenario"]
        assert roles[role].post(f"/api/v1/rounds/{rid}/next").get_json()["id"] == prepared.id
