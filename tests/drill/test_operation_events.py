"""Every drill operation endpoint leaves its event, written in the operation's own transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox.bank.models import AuditEntry, StatusOverride
from sandbox.drill import agent_turns, drill_contacts
from sandbox.drill.models import DrillContact, DrillEvent

SCENARIO = "cc-bill-enquiry"


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": False, "PROPAGATE_UNEXPECTED": False}


def _drill(cand):
    resp = cand.post("/api/v1/drills", json={"scenario": SCENARIO, "mode": "practice"})
    assert resp.status_code == 201, resp.get_json()
    drill = resp.get_json()
    return drill["id"], drill["conversations"][0]["id"]


def _facts(session, conv):
    session.rollback()  # a fresh snapshot (the views committed in other sessions)
    return drill_contacts.contact_facts(session.scalar(select(DrillContact).where(DrillContact.conversation_id == conv)))


def _events(session, drill_id):
    session.rollback()  # a fresh snapshot (the views committed in other sessions)
    return list(session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill_id).order_by(DrillEvent.id)))


def _new(session, drill_id, seen):
    events = _events(session, drill_id)
    fresh = events[seen[0]:]
    seen[0] = len(events)
    return [(e.type, e.data) for e in fresh]


def test_every_drill_operation_endpoint_logs_its_event(api, session):
    cand = api("candidate")
    drill_id, conv = _drill(cand)
    c = f"/api/v1/conversations/{conv}"
    seen = [len(_events(session, drill_id))]

    def call(method, url, expect_status, **kw):
        resp = getattr(cand, method)(url, **kw)
        assert resp.status_code == expect_status, (url, resp.get_json())
        new = _new(session, drill_id, seen)
        return resp, [t for t, _ in new], dict(reversed(new))

    # A lookup before verification: refused, and logged as refused (the rubric's hard fail).
    _r, types, data = call("get", f"{c}/cards", 403)
    assert "lookup.cards" in types and data["lookup.cards"] == {"allowed": False, "reason": "identity_not_verified"}

    facts = _facts(session, conv)
    _r, types, data = call("post", f"{c}/identity/verify", 200,
                           json={"method": "id_phone", "name": facts["name"], "id_last6": "000000",
                                 "phone_last4": facts["phone_last4"]})
    assert data["identity.failed"]["method"] == "id_phone" and data["identity.failed"]["allowed"] is True
    assert data["identity.failed"]["details"] == {"name": facts["name"], "id_last6": "000000",
                                                  "phone_last4": facts["phone_last4"]}
    _r, types, data = call("post", f"{c}/identity/sms", 200)
    assert data["identity.sms"] == {"allowed": True}
    # The simulated customer confirms on the phone in the same transaction: verified.
    assert "identity.verified" in types

    _r, types, data = call("get", f"{c}/customer", 200)
    assert data["lookup.customer"] == {"allowed": True}
    accounts, types, data = call("get", f"{c}/accounts", 200)
    assert data["lookup.accounts"] == {"allowed": True}
    acc = accounts.get_json()["accounts"][0]["ref"]
    _r, types, data = call("get", f"{c}/accounts/{acc}/transactions", 200)
    assert data["lookup.transactions"] == {"ref": acc, "allowed": True}
    cards, types, data = call("get", f"{c}/cards", 200)
    assert data["lookup.cards"] == {"allowed": True}
    card = cards.get_json()["cards"][0]["ref"]
    _r, types, data = call("get", f"{c}/cards/{card}", 200)
    assert data["lookup.cards"] == {"ref": card, "allowed": True}
    _r, types, data = call("get", f"{c}/cards/{card}/bill", 200)
    assert data["lookup.bill"] == {"ref": card, "allowed": True}
    _r, types, data = call("get", f"{c}/cards/NOPE/bill", 404)
    assert data["lookup.bill"]["allowed"] is False and data["lookup.bill"]["reason"]
    _r, types, data = call("post", f"{c}/cards/{card}/freeze", 200)
    assert data["freeze"] == {"target": "card", "ref": card, "allowed": True}
    _r, types, _d = call("post", f"{c}/cards/{card}/unfreeze", 409)  # only at a branch
    assert types == []  # unfreezing is no scored operation (as before)
    _r, types, data = call("post", f"{c}/accounts/{acc}/freeze", 200)
    assert data["freeze"] == {"target": "account", "ref": acc, "allowed": True}

    search, types, data = call("get", f"/api/v1/kb/search?q=信用卡账单&conversation={conv}", 200)
    ids = [r["id"] for r in search.get_json()["results"]]
    assert ids and data["kb.search"] == {"query": "信用卡账单", "results": ids[:10],
                                         "total": search.get_json()["total"], "allowed": True}
    _r, types, data = call("get", f"/api/v1/kb/articles/{ids[0]}?conversation={conv}", 200)
    assert data["kb.open"] == {"article": ids[0], "allowed": True}
    _r, types, data = call("post", f"{c}/suggestions/use", 200, json={"article": ids[0]})
    assert data["suggestion.use"] == {"article": ids[0], "allowed": True}

    _r, types, data = call("post", f"{c}/messages", 201, json={"text": "您好，请问还有什么可以帮您？"})
    assert "message.agent" in types

    order, types, data = call("post", "/api/v1/workorders", 201,
                              json={"category": "信用卡", "title": "账单疑问", "conversation_id": conv})
    number = order.get_json()["number"]
    assert data["workorder.created"]["number"] == number and data["workorder.created"]["allowed"] is True
    assert set(data["workorder.created"]) == {"number", "type", "category", "priority", "queue", "status", "allowed"}
    _r, types, data = call("post", "/api/v1/workorders", 400, json={"title": "", "conversation_id": conv})
    assert data["workorder.created"]["allowed"] is False and data["workorder.created"]["reason"]
    _r, types, data = call("patch", f"/api/v1/workorders/{number}", 200, json={"priority": "紧急"})
    assert data["workorder.updated"]["number"] == number and data["workorder.updated"]["priority"] == "紧急"

    summary = {"intent": "信用卡账单查询", "request": "查询本期账单", "actions_taken": "已核验",
               "verification_status": "已核验", "mood": "平静"}
    handoff, types, data = call("post", f"{c}/handoff", 201, json={"queue": "人工坐席", "summary": summary})
    assert data["handoff"] == {"queue": "人工坐席", "summary": summary, "handoff_id": handoff.get_json()["id"],
                               "allowed": True}


def test_identity_confirmed_on_the_drill_customers_phone_is_logged(api, session):
    cand, examiner = api("candidate"), api("examiner")
    drill_id, conv = _drill(cand)
    c = f"/api/v1/conversations/{conv}"
    # The examiner watching plays the customer's phone: the simulated customer has not
    # confirmed yet when the SMS is refused to a caller whose number differs, so send it and
    # let the examiner confirm; both paths log identity.verified once verified.
    assert cand.post(f"{c}/identity/sms").status_code == 200
    before = len([e for e in _events(session, drill_id) if e.type == "identity.verified"])
    resp = examiner.post(f"{c}/identity/confirm")
    assert resp.status_code == 200, resp.get_json()
    after = [e for e in _events(session, drill_id) if e.type in ("identity.verified", "identity.failed",
                                                                  "identity.locked")]
    assert len(after) == before + 1 and after[-1].data["method"] == "sms"


def test_a_failing_event_write_rolls_the_operation_back(api, session, monkeypatch):
    """Recording the event fails: the freeze and its audit row are not committed either (500)."""
    cand = api("candidate")
    drill_id, conv = _drill(cand)
    c = f"/api/v1/conversations/{conv}"
    assert cand.post(f"{c}/identity/sms").status_code == 200
    card = cand.get(f"{c}/cards").get_json()["cards"][0]["ref"]
    session.rollback()  # a fresh snapshot (the views committed in other sessions)
    audits = session.query(AuditEntry).count()
    overrides = session.query(StatusOverride).count()
    events = len(_events(session, drill_id))

    real = agent_turns.on_operation

    def failing(s, clock, drill, row, op, **data):
        if op == "freeze":
            s.flush()
            raise RuntimeError("the event log is unwritable")
        return real(s, clock, drill, row, op, **data)

    monkeypatch.setattr(agent_turns, "on_operation", failing)
    resp = cand.post(f"{c}/cards/{card}/freeze")
    assert resp.status_code == 500 and resp.get_json()["error"]["code"] == "internal_error"
    session.rollback()  # a fresh snapshot (the views committed in other sessions)
    assert session.query(AuditEntry).count() == audits
    assert len(_events(session, drill_id)) == events
    assert session.query(StatusOverride).count() == overrides  # the card was not frozen
    monkeypatch.setattr(agent_turns, "on_operation", real)
    assert cand.post(f"{c}/cards/{card}/freeze").status_code == 200
    assert [e.type for e in _events(session, drill_id)][-1] in ("freeze", "message.customer")
