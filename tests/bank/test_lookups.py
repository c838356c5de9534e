"""Lookups: refused before verification, allowed after, audited; isolation; freeze; bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sandbox.bank.models import Account, AuditEntry, CreditCard, Customer, StatusOverride

LOOKUPS = [
    ("get", "/customer", "profile"),
    ("get", "/accounts", "accounts"),
    ("get", "/accounts/A1/transactions", "transactions"),
    ("get", "/cards", "cards"),
    ("get", "/cards/K1", "card_status"),
    ("get", "/cards/K1/bill", "bill"),
    ("post", "/cards/K1/freeze", "freeze_card"),
    ("post", "/accounts/A1/freeze", "freeze_account"),
    ("post", "/cards/K1/unfreeze", "unfreeze_card"),
    ("post", "/accounts/A1/unfreeze", "unfreeze_account"),
]


def _audit(session, cid):
    session.rollback()  # end the read snapshot: see what the requests committed since
    return [(r.action, r.allowed, r.target_ref, r.reason) for r in session.scalars(
        select(AuditEntry).where(AuditEntry.conversation_id == cid).order_by(AuditEntry.id))]


@pytest.mark.db
@pytest.mark.parametrize("method,path,action", LOOKUPS, ids=[p for _, p, _ in LOOKUPS])
def test_lookup_refused_before_verification_and_allowed_after(bank, session, method, path, action):
    a = bank("candidate")
    cid = a.open("C001")
    url = f"/api/v1/conversations/{cid}{path}"
    refused = getattr(a, method)(url)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "identity_not_verified"
    ref = path.split("/")[2] if path.count("/") >= 2 else ""
    assert _audit(session, cid)[-1] == (action, False, ref, "identity_not_verified")
    assert a.verify(cid).get_json()["verified"]
    allowed = getattr(a, method)(url)
    if action.startswith("unfreeze"):
        assert allowed.status_code == 409 and allowed.get_json()["error"]["code"] == "needs_branch"
        assert _audit(session, cid)[-1] == (action, False, ref, "needs_branch")
    else:
        assert allowed.status_code == 200, allowed.get_json()
        assert _audit(session, cid)[-1] == (action, True, ref, "")
    assert session.scalar(select(AuditEntry.user_id).where(AuditEntry.conversation_id == cid,
                                                           AuditEntry.action == action).limit(1)) is not None


def test_lookups_return_masked_data_with_opaque_refs(bank, session):
    a = bank("candidate")
    cid = a.open_verified("C001")
    c = session.scalar(select(Customer).where(Customer.code == "C001"))
    profile = a.get(f"/api/v1/conversations/{cid}/customer").get_json()
    assert profile["id_number"] == c.id_number[:4] + "*" * 10 + c.id_number[-4:]
    assert profile["phone"] == c.phone[:3] + "****" + c.phone[-4:]
    assert profile["name"].startswith(c.name[0]) and "*" in profile["name"]
    accounts = a.get(f"/api/v1/conversations/{cid}/accounts").get_json()["accounts"]
    acct = session.scalar(select(Account).where(Account.customer_id == c.id).order_by(Account.id))
    assert accounts[0]["ref"] == "A1" and accounts[0]["number"].endswith(acct.number[-4:])
    assert accounts[0]["balance"] == f"{acct.balance:.2f}" and isinstance(accounts[0]["balance"], str)
    cards = a.get(f"/api/v1/conversations/{cid}/cards").get_json()["cards"]
    card = session.scalar(select(CreditCard).where(CreditCard.customer_id == c.id).order_by(CreditCard.id))
    assert cards[0]["ref"] == "K1" and cards[0]["number"] == card.number[:6] + "******" + card.number[-4:]
    bill = a.get(f"/api/v1/conversations/{cid}/cards/K1/bill").get_json()
    assert bill["bill"]["amount"] == f"{card.bill.amount:.2f}"
    assert bill["bill"]["minimum"] == f"{card.bill.minimum:.2f}"
    assert bill["bill"]["due_date"] == card.bill.due_date.isoformat()
    # refs are case-insensitive but a number is not a ref
    assert a.get(f"/api/v1/conversations/{cid}/cards/k1").status_code == 200
    resp = a.get(f"/api/v1/conversations/{cid}/cards/{card.number}")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_ref"


@pytest.mark.db
@pytest.mark.parametrize("code", ["C009", "C018", "C026", "C001"])
def test_the_bill_lists_the_cards_instalments(bank, session, code):
    """Every instalment plan of the card, in the order they were taken out (none: an empty list)."""
    a = bank("candidate")
    cid = a.open_verified(code)
    c = session.scalar(select(Customer).where(Customer.code == code))
    cards = a.get(f"/api/v1/conversations/{cid}/cards").get_json()["cards"]
    for item, card in zip(cards, c.cards, strict=True):
        body = a.get(f"/api/v1/conversations/{cid}/cards/{item['ref']}/bill").get_json()
        assert body["instalments"] == [
            {"kind": i.kind, "total": f"{i.total:.2f}", "periods": i.periods, "paid_periods": i.paid_periods,
             "current_period": i.current_period, "per_period": f"{i.per_period:.2f}",
             "fee_per_period": f"{i.fee_per_period:.2f}", "remaining_principal": f"{i.remaining_principal:.2f}"}
            for i in sorted(card.instalments, key=lambda i: i.id)]
        assert (body["bill"] is None) == (card.bill is None)
        if card.bill is not None:
            assert body["bill"]["unpaid"] == f"{card.bill.amount - card.bill.paid:.2f}"
    if code != "C001":
        assert any(k.instalments for k in c.cards)


def test_refs_are_per_conversation(bank):
    a = bank("candidate")
    c1 = a.open_verified("C001")
    c2 = a.open_verified("C002")
    k1_a = a.get(f"/api/v1/conversations/{c1}/cards/K1").get_json()["number"]
    k1_b = a.get(f"/api/v1/conversations/{c2}/cards")
    numbers_b = [k["number"] for k in k1_b.get_json()["cards"]]
    assert k1_a not in numbers_b


def test_transactions_filter_by_date_range(bank):
    a = bank("candidate")
    cid = a.open_verified("C001")
    base = f"/api/v1/conversations/{cid}/accounts/A1/transactions"
    everything = a.get(base).get_json()["transactions"]
    assert len(everything) > 20
    ats = [t["at"] for t in everything]
    assert ats == sorted(ats, reverse=True)
    week = a.get(base + "?from=2026-11-20&to=2026-11-26").get_json()
    assert week["from"] == "2026-11-20" and week["to"] == "2026-11-26"
    assert week["transactions"] and all("2026-11-20" <= t["at"][:10] <= "2026-11-26" for t in week["transactions"])
    expected = [t for t in everything if "2026-11-20" <= t["at"][:10] <= "2026-11-26"]
    assert len(week["transactions"]) == len(expected)
    only_from = a.get(base + "?from=2026-11-27").get_json()["transactions"]
    assert all(t["at"][:10] >= "2026-11-27" for t in only_from)
    for query, code in (("?from=2026-13-01", "invalid_date"), ("?to=yesterday", "invalid_date"),
                        ("?from=2026-11-1", "invalid_date"),
                        ("?from=2026-11-27&to=2026-11-20", "invalid_date_range")):
        resp = a.get(base + query)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code, query


def test_risk_events_appear_in_transactions(bank, session):
    code = session.scalar(select(Customer.code).where(Customer.magic == "fraud_target"))
    a = bank("candidate")
    cid = a.open_verified(code)
    accounts = a.get(f"/api/v1/conversations/{cid}/accounts").get_json()["accounts"]
    events = []
    for acct in accounts:
        events += a.get(f"/api/v1/conversations/{cid}/accounts/{acct['ref']}/transactions").get_json()["risk_events"]
    assert any("拦截" in (e.get("result") or "") for e in events)


def test_frozen_seed_account_shows_its_memo(bank, session):
    code = session.scalar(select(Customer.code).where(Customer.magic == "frozen_account"))
    a = bank("candidate")
    cid = a.open_verified(code)
    accounts = a.get(f"/api/v1/conversations/{cid}/accounts").get_json()["accounts"]
    frozen = [x for x in accounts if x["status"] == "冻结"]
    assert frozen and "冻结" in frozen[0]["status_memo"]
    resp = a.post(f"/api/v1/conversations/{cid}/accounts/{frozen[0]['ref']}/freeze")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "already_frozen"


@pytest.mark.db
def test_candidate_cannot_read_another_candidates_conversation(bank, session):
    a = bank("candidate")
    cid = a.open_verified("C001")
    b = bank("candidate2")
    for method, path, _ in LOOKUPS + [("get", "", "view"), ("post", "/identity/sms", "sms"),
                                      ("post", "/close", "close")]:
        resp = getattr(b, method)(f"/api/v1/conversations/{cid}{path}")
        assert resp.status_code == 403, path
        assert resp.get_json()["error"]["code"] == "forbidden"
    resp = b.verify(cid)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    # each refusal is in the audit log under the intruder's name, and nothing leaked
    assert "990002" not in resp.get_data(as_text=True)
    from sandbox.users.services import get_user

    session.rollback()
    intruder = get_user(session, "candidate2")
    refused = list(session.scalars(select(AuditEntry).where(AuditEntry.conversation_id == cid,
                                                            AuditEntry.user_id == intruder.id)))
    assert len(refused) == len(LOOKUPS) + 4
    assert all(not r.allowed and r.reason == "not_owner" for r in refused)
    assert {"card_bill", "identity_verify", "conversation"} <= {r.action for r in refused}
    # examiners may watch the conversation but not act in it
    e = bank("examiner")
    assert e.get(f"/api/v1/conversations/{cid}").status_code == 200
    assert e.get(f"/api/v1/conversations/{cid}/accounts").status_code == 403


@pytest.mark.db
def test_freeze_is_visible_in_the_same_conversation_only(bank, session):
    a = bank("candidate")
    cid = a.open_verified("C001")
    before = a.get(f"/api/v1/conversations/{cid}/cards").get_json()["cards"][0]
    assert before["status"] == "正常"
    resp = a.post(f"/api/v1/conversations/{cid}/cards/K1/freeze")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "挂失" and resp.get_json()["previous_status"] == "正常"
    after = a.get(f"/api/v1/conversations/{cid}/cards").get_json()["cards"][0]
    assert after["status"] == "挂失" and "临时挂失" in after["status_memo"]
    assert a.get(f"/api/v1/conversations/{cid}/cards/K1").get_json()["status"] == "挂失"
    assert a.get(f"/api/v1/conversations/{cid}/cards/K1/bill").get_json()["card"]["status"] == "挂失"
    again = a.post(f"/api/v1/conversations/{cid}/cards/K1/freeze")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_frozen"
    unfreeze = a.post(f"/api/v1/conversations/{cid}/cards/K1/unfreeze")
    assert unfreeze.status_code == 409 and unfreeze.get_json()["error"]["code"] == "needs_branch"
    # the same account frozen too
    assert a.post(f"/api/v1/conversations/{cid}/accounts/A1/freeze").get_json()["status"] == "挂失"
    assert a.get(f"/api/v1/conversations/{cid}/accounts").get_json()["accounts"][0]["status"] == "挂失"
    # another conversation (same user, or another candidate) sees the seed status
    other = a.open_verified("C001")
    assert a.get(f"/api/v1/conversations/{other}/cards").get_json()["cards"][0]["status"] == "正常"
    assert a.get(f"/api/v1/conversations/{other}/accounts").get_json()["accounts"][0]["status"] == "正常"
    b = bank("candidate2")
    theirs = b.open_verified("C001")
    assert b.get(f"/api/v1/conversations/{theirs}/cards").get_json()["cards"][0]["status"] == "正常"
    # the seed row itself is untouched
    c = session.scalar(select(Customer).where(Customer.code == "C001"))
    assert session.scalar(select(CreditCard.status).where(CreditCard.customer_id == c.id)) == "正常"


def test_drill_scoped_freeze_is_shared_by_the_drills_conversations(runtime):
    from sandbox.bank import identity, lookups
    from sandbox.bank.conversations import open_conversation
    from sandbox.users.services import get_user

    clock = runtime.clock
    with runtime.transaction() as s:
        user = get_user(s, "candidate1")
        first = open_conversation(s, clock, user, "C001", drill_id=41)
        second = open_conversation(s, clock, user, "C001", drill_id=41)
        other_drill = open_conversation(s, clock, user, "C001", drill_id=42)
        c = first.customer
        for conv in (first, second, other_drill):
            assert identity.verify(s, clock, conv, user, {"method": "id_phone", "name": c.name,
                                                          "id_last6": c.id_number[-6:],
                                                          "phone_last4": c.phone[-4:]}).verified
        lookups.freeze(s, clock, first, user, "card", "K1")
        assert lookups.list_cards(s, clock, second, user)[0]["status"] == "挂失"
        assert lookups.list_cards(s, clock, other_drill, user)[0]["status"] == "正常"
        assert s.scalar(select(StatusOverride.drill_id)) == 41


@pytest.mark.parametrize("body,status,code", [
    ({"customer_id": "C999"}, 404, "unknown_customer"),
    ({"customer_id": ""}, 404, "unknown_customer"),
    ({"customer_id": 1}, 404, "unknown_customer"),
    ({}, 404, "unknown_customer"),
    ({"customer_id": "C001", "channel": "电话"}, 400, "invalid_channel"),
])
def test_open_conversation_bad_input(bank, body, status, code):
    resp = bank("candidate").client.post("/api/v1/conversations", json=body)
    assert resp.status_code == status and resp.get_json()["error"]["code"] == code


def test_open_conversation_answer_is_masked_summary(bank, session):
    resp = bank("trainer").client.post("/api/v1/conversations", json={"customer_id": "c001", "channel": "语音"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert {"id", "customer", "channel"} <= set(body) and body["channel"] == "语音"
    c = session.scalar(select(Customer).where(Customer.code == "C001"))
    assert body["customer"]["id"] == "C001" and c.name not in resp.get_data(as_text=True)
    assert "magic" not in body["customer"]


def test_unknown_conversation_and_ref(bank):
    a = bank("candidate")
    resp = a.get("/api/v1/conversations/999999/accounts")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_conversation"
    cid = a.open_verified("C001")
    for method, path in (("get", "/accounts/A9/transactions"), ("get", "/cards/K9"), ("get", "/cards/A1/bill"),
                         ("post", "/cards/K9/freeze"), ("post", "/accounts/K1/freeze"),
                         ("post", "/accounts/ZZZZZZZZZZ/unfreeze")):
        resp = getattr(a, method)(f"/api/v1/conversations/{cid}{path}")
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_ref", path


def test_unknown_ref_before_verification_is_still_403(bank):
    a = bank("candidate")
    cid = a.open("C001")
    resp = a.get(f"/api/v1/conversations/{cid}/cards/K9/bill")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "identity_not_verified"


def test_closed_conversation_refuses_lookups(bank):
    a = bank("candidate")
    cid = a.open_verified("C001")
    assert a.post(f"/api/v1/conversations/{cid}/close").get_json()["status"] == "closed"
    resp = a.get(f"/api/v1/conversations/{cid}/accounts")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conversation_closed"
    assert a.post(f"/api/v1/conversations/{cid}/close").status_code == 409


def test_customer_list_is_masked_and_hides_magic_from_candidates(bank, session):
    rows = bank("candidate").get("/api/v1/bank/customers").get_json()["customers"]
    assert len(rows) >= 40 and all("magic" not in r for r in rows)
    c = session.scalar(select(Customer).where(Customer.code == rows[0]["id"]))
    assert rows[0]["name"] != c.name and rows[0]["name"][0] == c.name[0]
    staff = bank("examiner").get("/api/v1/bank/customers").get_json()["customers"]
    assert any(r["magic"] for r in staff)


def test_refused_and_allowed_lookups_are_audited_with_user(bank, session):
    from sandbox.users.services import get_user

    a = bank("candidate")
    cid = a.open("C001")
    a.get(f"/api/v1/conversations/{cid}/cards")
    a.verify(cid)
    a.get(f"/api/v1/conversations/{cid}/cards")
    a.get(f"/api/v1/conversations/{cid}/cards/K1/bill")
    rows = session.scalars(select(AuditEntry).where(AuditEntry.conversation_id == cid).order_by(AuditEntry.id))
    rows = list(rows)
    user = get_user(session, "candidate1")
    c = session.scalar(select(Customer).where(Customer.code == "C001"))
    assert all(r.user_id == user.id and r.customer_id == c.id and r.at is not None for r in rows)
    assert [(r.action, r.allowed, r.target_ref) for r in rows] == [
        ("open_conversation", True, ""), ("cards", False, ""), ("verify", True, "id_phone"),
        ("cards", True, ""), ("bill", True, "K1")]


@pytest.mark.db
def test_parallel_lookups_all_succeed(bank, session):
    """Every lookup writes an audit row: parallel requests must queue, not fail (SQLite)."""
    from concurrent.futures import ThreadPoolExecutor

    drivers = [bank("candidate"), bank("candidate2")]
    cids = [(d, d.open_verified(f"C00{i + 1}")) for i, d in enumerate(drivers)]
    paths = ["/customer", "/accounts", "/cards", "/accounts/A1/transactions", "/cards/K1/bill"]

    def call(job):
        driver, cid, path = job
        return driver.get(f"/api/v1/conversations/{cid}{path}").status_code

    jobs = [(d, cid, p) for d, cid in cids for p in paths] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(call, jobs))
    assert statuses == [200] * len(jobs)
    session.rollback()
    allowed = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.allowed.is_(True), AuditEntry.conversation_id.in_([cid for _, cid in cids]),
        AuditEntry.action != "verify", AuditEntry.action != "open_conversation"))
    assert allowed == len(jobs)
