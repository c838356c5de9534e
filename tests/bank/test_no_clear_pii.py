"""Property: whatever a user does in a conversation, no answer or page shows a full number.

Random customers, random sequences of API calls and pages (verified or not, right or wrong
answers, SMS, freezes, date filters, time passing): no response body contains the full card,
account, ID or mobile number of any customer, and the generic detector finds none either.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sandbox.bank import masking
from sandbox.bank.models import Account, CreditCard, Customer

OPS = st.sampled_from([
    "open", "verify_ok", "verify_wrong", "verify_malformed", "sms", "verify_sms", "profile", "accounts",
    "transactions", "transactions_range", "cards", "card", "bill", "freeze_card", "freeze_account",
    "unfreeze_card", "unfreeze_account", "view", "phone", "page_practice", "page_conversation",
    "page_phone", "customers", "examiner_page", "advance", "bad_ref", "close",
])


def _secrets(session) -> tuple[list[str], dict]:
    numbers = []
    facts = {}
    for c in session.scalars(select(Customer)):
        numbers += [c.id_number, c.phone]
        facts[c.code] = {"name": c.name, "id_last6": c.id_number[-6:], "phone_last4": c.phone[-4:]}
    numbers += list(session.scalars(select(CreditCard.number))) + list(session.scalars(select(Account.number)))
    return numbers, facts


def test_no_response_ever_contains_a_full_number(app, login_as, session, clock):
    numbers, facts = _secrets(session)
    codes = sorted(facts)
    agent = login_as("candidate")
    examiner = login_as("examiner")
    state = {"cid": None, "code": None}

    def check(resp) -> None:
        body = resp.get_data(as_text=True)
        leaked = [n for n in numbers if n in body]
        assert not leaked, f"full number in {resp.request.path}: {[masking.mask_card(n) for n in leaked]}"
        assert not masking.find_clear_pii(body), (resp.request.path, masking.find_clear_pii(body))
        assert resp.status_code < 500

    def run(op: str, code: str, ref_n: int) -> None:
        if op == "open" or state["cid"] is None:
            resp = agent.post("/api/v1/conversations", json={"customer_id": code, "channel": "文字"})
            check(resp)
            state["cid"], state["code"] = resp.get_json()["id"], code
            if op == "open":
                return
        base = f"/api/v1/conversations/{state['cid']}"
        f = facts[state["code"]]
        a, k = f"A{ref_n}", f"K{ref_n}"
        requests = {
            "verify_ok": lambda: agent.post(base + "/identity/verify", json={"method": "id_phone", **f}),
            "verify_wrong": lambda: agent.post(base + "/identity/verify", json={
                "method": "id_phone", **facts[code]} if code != state["code"] else {
                "method": "id_phone", "name": "某某", "id_last6": "000000", "phone_last4": "0000"}),
            "verify_malformed": lambda: agent.post(base + "/identity/verify", json={
                "method": "id_phone", "name": f["name"], "id_last6": "12", "phone_last4": "x"}),
            "sms": lambda: agent.post(base + "/identity/sms", json={}),
            "profile": lambda: agent.get(base + "/customer"),
            "accounts": lambda: agent.get(base + "/accounts"),
            "transactions": lambda: agent.get(base + f"/accounts/{a}/transactions"),
            "transactions_range": lambda: agent.get(base + f"/accounts/{a}/transactions?from=2026-11-01&to=2026-11-28"),
            "cards": lambda: agent.get(base + "/cards"),
            "card": lambda: agent.get(base + f"/cards/{k}"),
            "bill": lambda: agent.get(base + f"/cards/{k}/bill"),
            "freeze_card": lambda: agent.post(base + f"/cards/{k}/freeze", json={}),
            "freeze_account": lambda: agent.post(base + f"/accounts/{a}/freeze", json={}),
            "unfreeze_card": lambda: agent.post(base + f"/cards/{k}/unfreeze", json={}),
            "unfreeze_account": lambda: agent.post(base + f"/accounts/{a}/unfreeze", json={}),
            "view": lambda: agent.get(base),
            "phone": lambda: agent.get(base + "/phone"),
            "page_practice": lambda: agent.get("/practice"),
            "page_conversation": lambda: agent.get(f"/practice/{state['cid']}"),
            "page_phone": lambda: agent.get(f"/practice/{state['cid']}/phone"),
            "customers": lambda: agent.get("/api/v1/bank/customers"),
            "examiner_page": lambda: examiner.get("/bank/customers"),
            "bad_ref": lambda: agent.get(base + "/cards/" + "9900021234567890/bill"),
            "close": lambda: agent.post(base + "/close", json={}),
        }
        if op == "advance":
            clock.advance(ref_n * 300)
            return
        if op == "verify_sms":
            inbox = agent.get(base + "/phone")
            check(inbox)
            found = re.findall(r"验证码 (\d{6})", inbox.get_data(as_text=True))
            resp = agent.post(base + "/identity/verify", json={"method": "sms", "code": found[-1] if found else "000000"})
        else:
            resp = requests[op]()
        check(resp)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
    @given(st.lists(st.tuples(OPS, st.sampled_from(codes), st.integers(1, 3)), min_size=1, max_size=14))
    def scenario(steps):
        state["cid"] = None
        for op, code, ref_n in steps:
            run(op, code, ref_n)

    scenario()
