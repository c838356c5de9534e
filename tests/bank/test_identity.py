"""Identity check: lockout, no hints, SMS expiry and single use, inactivity, isolation."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from sandbox.bank.models import AuditEntry, SmsCode
from tests.conftest import strip_tags


def _phone_code(driver, cid: int) -> str:
    resp = driver.get(f"/api/v1/conversations/{cid}/phone")
    assert resp.status_code == 200
    bodies = [m["body"] for m in resp.get_json()["messages"]]
    return re.search(r"验证码 (\d{6})", bodies[-1]).group(1)


@pytest.mark.db
def test_id_phone_passes_and_lookups_open(bank):
    a = bank("candidate")
    cid = a.open("C001")
    assert a.get(f"/api/v1/conversations/{cid}/accounts").status_code == 403
    resp = a.verify(cid)
    assert resp.get_json() == {"verified": True, "attempts_left": 3, "message": "身份核验通过。"}
    assert a.get(f"/api/v1/conversations/{cid}/accounts").status_code == 200
    state = a.get(f"/api/v1/conversations/{cid}").get_json()["identity"]
    assert state["verified"] is True and state["method"] == "id_phone"


@pytest.mark.db
def test_three_failures_lock_and_no_hint_which_field(bank, customer_facts, clock):
    a = bank("candidate")
    cid = a.open("C001")
    facts = customer_facts("C001")
    wrong_name = a.verify(cid, name="王某某").get_json()
    wrong_id = a.verify(cid, id_last6="000000" if facts["id_last6"] != "000000" else "111111").get_json()
    # the same answer shape and wording whichever field was wrong
    assert wrong_name["verified"] is False and wrong_id["verified"] is False
    assert (wrong_name["attempts_left"], wrong_id["attempts_left"]) == (2, 1)
    assert wrong_name["message"].replace("2", "N") == wrong_id["message"].replace("1", "N")
    for word in ("姓名", "证件", "手机", "name", "id_last6", "phone"):
        assert word not in wrong_name["message"] and word not in wrong_id["message"]
    third = a.verify(cid, phone_last4="0000" if facts["phone_last4"] != "0000" else "1111").get_json()
    assert third["verified"] is False and third["attempts_left"] == 0 and "锁定" in third["message"]
    # now even the right answer is refused, and so is an SMS
    locked = a.verify(cid)
    assert locked.status_code == 429 and locked.get_json()["error"]["code"] == "verification_locked"
    sms = a.post(f"/api/v1/conversations/{cid}/identity/sms")
    assert sms.status_code == 429 and sms.get_json()["error"]["code"] == "verification_locked"
    resp = a.get(f"/api/v1/conversations/{cid}/customer")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "identity_not_verified"
    assert a.get(f"/api/v1/conversations/{cid}").get_json()["identity"]["locked"] is True
    # a fresh conversation gives no new guesses: this agent's checks of C001 pause for 15 minutes
    fresh = a.open("C001")
    paused = a.verify(fresh)
    assert paused.status_code == 429 and paused.get_json()["error"]["code"] == "verification_throttled"
    clock.advance(15 * 60 + 1)
    assert a.verify(fresh).get_json()["verified"] is True


@pytest.mark.parametrize("override,code", [
    ({"id_last6": "12345"}, "invalid_id_last6"),
    ({"id_last6": "1234567"}, "invalid_id_last6"),
    ({"id_last6": "12a456"}, "invalid_id_last6"),
    ({"id_last6": 123456}, "invalid_id_last6"),
    ({"phone_last4": "123"}, "invalid_phone_last4"),
    ({"phone_last4": "12345"}, "invalid_phone_last4"),
    ({"phone_last4": "ab12"}, "invalid_phone_last4"),
    ({"name": ""}, "invalid_name"),
    ({"name": None}, "invalid_name"),
    ({"name": "张" * 65}, "invalid_name"),
    ({"method": "password"}, "invalid_method"),
    ({"method": None}, "invalid_method"),
])
def test_malformed_answers_are_400_and_not_counted(bank, override, code):
    a = bank("candidate")
    cid = a.open("C001")
    for _ in range(4):  # more than the lockout: none of them counts
        resp = a.verify(cid, **override)
        assert resp.status_code == 400, resp.get_json()
        assert resp.get_json()["error"]["code"] == code
    assert a.get(f"/api/v1/conversations/{cid}").get_json()["identity"]["attempts_left"] == 3
    assert a.verify(cid).get_json()["verified"] is True


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", 123456, None])
def test_malformed_sms_code_is_400_and_not_counted(bank, code):
    a = bank("candidate")
    cid = a.open("C001")
    resp = a.post(f"/api/v1/conversations/{cid}/identity/verify", json={"method": "sms", "code": code})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_code"
    assert a.get(f"/api/v1/conversations/{cid}").get_json()["identity"]["attempts_left"] == 3


def test_malformed_json_is_400(bank):
    a = bank("candidate")
    cid = a.open("C001")
    for data in ("{not json", "[1, 2]", ""):
        resp = a.client.post(f"/api/v1/conversations/{cid}/identity/verify", data=data,
                             headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"
    resp = a.client.post("/api/v1/conversations", data="{", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"


def test_lowercase_x_in_id_last6_is_accepted(bank, session):
    from sandbox.bank.models import Customer

    c = session.scalar(select(Customer).where(Customer.id_number.like("%X")).limit(1))
    assert c is not None, "the seed has an ID number ending in X"
    a = bank("candidate")
    cid = a.open(c.code)
    resp = a.verify(cid, c.code, id_last6=c.id_number[-6:].lower())
    assert resp.get_json()["verified"] is True


@pytest.mark.db
def test_sms_code_works_once_and_only_on_the_customer_phone(bank, session):
    a = bank("candidate")
    cid = a.open("C001")
    sent = a.post(f"/api/v1/conversations/{cid}/identity/sms")
    assert sent.status_code == 200
    body = sent.get_json()
    assert body["sent"] is True and body["expires_in"] == 300 and "****" in body["phone"]
    code = _phone_code(a, cid)
    assert code not in sent.get_data(as_text=True)
    # stored hashed, never in clear
    stored = session.scalar(select(SmsCode.code_hash).where(SmsCode.conversation_id == cid))
    assert code not in stored
    ok = a.post(f"/api/v1/conversations/{cid}/identity/verify", json={"method": "sms", "code": code})
    assert ok.get_json()["verified"] is True
    again = a.post(f"/api/v1/conversations/{cid}/identity/verify", json={"method": "sms", "code": code})
    assert again.get_json()["verified"] is False and again.get_json()["attempts_left"] == 2


@pytest.mark.db
def test_sms_code_expires_after_five_minutes(bank, clock):
    a = bank("candidate")
    cid = a.open("C001")
    a.post(f"/api/v1/conversations/{cid}/identity/sms")
    code = _phone_code(a, cid)
    clock.advance(5 * 60 + 1)
    late = a.post(f"/api/v1/conversations/{cid}/identity/verify", json={"method": "sms", "code": code})
    assert late.get_json()["verified"] is False and late.get_json()["attempts_left"] == 2
    # a new code (the old one is superseded) within its validity works
    assert a.post(f"/api/v1/conversations/{cid}/identity/sms").status_code == 200
    fresh = _phone_code(a, cid)
    clock.advance(4 * 60 + 59)
    resp = a.post(f"/api/v1/conversations/{cid}/identity/verify", json={"method": "sms", "code": fresh})
    assert resp.get_json()["verified"] is True


def test_only_the_newest_sms_code_counts_and_resend_is_throttled(bank, clock):
    a = bank("candidate")
    cid = a.open("C001")
    a.post(f"/api/v1/conversations/{cid}/identity/sms")
    first = _phone_code(a, cid)
    too_soon = a.post(f"/api/v1/conversations/{cid}/identity/sms")
    assert too_soon.status_code == 429 and too_soon.get_json()["error"]["code"] == "sms_too_frequent"
    assert too_soon.get_json()["error"]["retry_after"] == 61
    clock.advance(61)
    a.post(f"/api/v1/conversations/{cid}/identity/sms")
    second = _phone_code(a, cid)
    if first != second:
        old = a.post(f"/api/v1/conversations/{cid}/identity/verify", json={"method": "sms", "code": first})
        assert old.get_json()["verified"] is False
    assert a.post(f"/api/v1/conversations/{cid}/identity/verify",
                  json={"method": "sms", "code": second}).get_json()["verified"] is True


def test_sms_without_a_sent_code_counts_as_a_failure(bank):
    a = bank("candidate")
    cid = a.open("C001")
    resp = a.post(f"/api/v1/conversations/{cid}/identity/verify", json={"method": "sms", "code": "123456"})
    assert resp.status_code == 200 and resp.get_json() == {
        "verified": False, "attempts_left": 2, "message": "验证码不正确或已失效。还可尝试 2 次。"}


@pytest.mark.db
def test_verification_lapses_after_fifteen_minutes_of_inactivity(bank, clock):
    a = bank("candidate")
    cid = a.open_verified("C001")
    clock.advance(14 * 60)
    assert a.get(f"/api/v1/conversations/{cid}/accounts").status_code == 200  # activity restarts the timer
    clock.advance(14 * 60)
    assert a.get(f"/api/v1/conversations/{cid}/cards").status_code == 200
    clock.advance(15 * 60 + 1)
    resp = a.get(f"/api/v1/conversations/{cid}/cards")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "identity_not_verified"
    assert "超时" in resp.get_json()["error"]["message"]
    assert a.get(f"/api/v1/conversations/{cid}").get_json()["identity"]["verified"] is False
    assert a.verify(cid).get_json()["verified"] is True
    assert a.get(f"/api/v1/conversations/{cid}/cards").status_code == 200


@pytest.mark.db
def test_verification_does_not_leak_across_conversations_or_customers(bank, api):
    a = bank("candidate")
    verified = a.open_verified("C001")
    other_same_customer = a.open("C001")
    other_customer = a.open("C002")
    assert a.get(f"/api/v1/conversations/{verified}/accounts").status_code == 200
    for cid in (other_same_customer, other_customer):
        resp = a.get(f"/api/v1/conversations/{cid}/accounts")
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "identity_not_verified"
    # the facts of C001 do not verify C002
    resp = a.verify(other_customer, "C001")
    assert resp.get_json()["verified"] is False
    # failures in one conversation do not eat another's attempts
    assert a.get(f"/api/v1/conversations/{other_same_customer}").get_json()["identity"]["attempts_left"] == 3


def test_sms_phone_is_the_customer_side_only(bank, login_as):
    a = bank("candidate")
    cid = a.open("C001")
    a.post(f"/api/v1/conversations/{cid}/identity/sms")
    # another candidate cannot read it
    b = bank("candidate2")
    resp = b.get(f"/api/v1/conversations/{cid}/phone")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    # an examiner can (they play the customer)
    assert len(bank("examiner").get(f"/api/v1/conversations/{cid}/phone").get_json()["messages"]) == 1
    # a trainer who does not own the conversation cannot
    assert bank("trainer").get(f"/api/v1/conversations/{cid}/phone").status_code == 403


def test_phone_of_a_drill_conversation_is_hidden_from_its_candidate(runtime, bank, api_token):
    from sandbox.bank.conversations import open_conversation
    from sandbox.users.services import get_user

    with runtime.transaction() as s:
        conv = open_conversation(s, runtime.clock, get_user(s, "candidate1"), "C001", "语音", drill_id=7)
        cid = conv.id
    a = bank("candidate")
    assert a.post(f"/api/v1/conversations/{cid}/identity/sms").status_code == 200
    assert a.get(f"/api/v1/conversations/{cid}/phone").status_code == 403
    assert bank("examiner").get(f"/api/v1/conversations/{cid}/phone").status_code == 200


def test_verify_attempts_are_audited(bank, session):
    a = bank("candidate")
    cid = a.open("C001")
    a.verify(cid, name="错误")
    a.verify(cid)
    rows = list(session.scalars(select(AuditEntry).where(AuditEntry.conversation_id == cid,
                                                         AuditEntry.action == "verify").order_by(AuditEntry.id)))
    assert [(r.allowed, r.reason) for r in rows] == [(False, "mismatch"), (True, "")]


# --- the lockout across conversations (one agent, one customer, 15 minutes) ---------------------

def _wrong(a, cid):
    return a.verify(cid, name="王某某")


@pytest.mark.db
def test_thirty_guesses_over_new_conversations_stop_after_three(bank, clock, session):
    a = bank("candidate")
    answers = [_wrong(a, a.open("C001")) for _ in range(30)]
    counted = [r.get_json() for r in answers[:3]]
    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    assert [c["attempts_left"] for c in counted] == [2, 1, 0]
    assert "15 分钟内已失败 3 次" in counted[2]["message"] and "含其他会话" in counted[2]["message"]
    for resp in answers[3:]:
        assert resp.status_code == 429
        error = resp.get_json()["error"]
        assert error["code"] == "verification_throttled" and error["retry_after"] == 15 * 60 + 1
        assert "核验已暂停" in error["message"] and "15 分钟" in error["message"]
    # the right answer in yet another conversation is refused too, and so is an SMS
    cid = a.open("C001")
    assert a.verify(cid).status_code == 429
    sms = a.post(f"/api/v1/conversations/{cid}/identity/sms")
    assert sms.status_code == 429 and sms.get_json()["error"]["code"] == "verification_throttled"
    state = a.get(f"/api/v1/conversations/{cid}").get_json()["identity"]
    assert state["locked"] is True and state["lock"] == "agent_customer" and state["attempts_left"] == 0
    assert 0 < state["retry_after"] <= 15 * 60 + 1
    assert a.get(f"/api/v1/conversations/{cid}/accounts").status_code == 403
    # every step is in the audit log: three counted failures, then the refusals
    reasons = [r for (r,) in session.execute(select(AuditEntry.reason).where(
        AuditEntry.action.in_(("verify", "sms_send")), AuditEntry.allowed.is_(False)).order_by(AuditEntry.id))]
    assert reasons[:3] == ["mismatch", "mismatch", "mismatch_agent_locked"]
    assert reasons[3:] == ["agent_customer_locked"] * 29
    # 15 minutes later (the injected clock) the agent may try again
    clock.advance(15 * 60 + 1)
    assert a.verify(cid).get_json() == {"verified": True, "attempts_left": 3, "message": "身份核验通过。"}


def test_the_pause_is_per_agent_and_per_customer(bank):
    a = bank("candidate")
    for _ in range(3):
        _wrong(a, a.open("C001"))
    assert a.verify(a.open("C001")).status_code == 429
    # the same agent on another customer, and another agent on this customer, are not paused
    assert a.verify(a.open("C002"), "C002").get_json()["verified"] is True
    b = bank("candidate2")
    assert b.verify(b.open("C001")).get_json()["verified"] is True


def test_a_success_clears_the_count(bank):
    a = bank("candidate")
    for _ in range(2):
        _wrong(a, a.open("C001"))
    assert a.verify(a.open("C001")).get_json()["verified"] is True
    for _ in range(2):
        assert _wrong(a, a.open("C001")).status_code == 200
    state = a.get(f"/api/v1/conversations/{a.open('C001')}").get_json()["identity"]
    assert state["attempts_left"] == 1 and state["locked"] is False


def test_parallel_guesses_in_new_conversations_count_at_most_three(bank, session):
    a = bank("candidate")
    conversations = [a.open("C001") for _ in range(12)]
    results: list[int] = []

    def guess(cid: int) -> None:
        results.append(_wrong(a, cid).status_code)

    threads = [threading.Thread(target=guess, args=(cid,)) for cid in conversations]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 3 + [429] * 9
    counted = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "verify", AuditEntry.reason.in_(("mismatch", "mismatch_agent_locked"))))
    assert counted == 3


def test_the_examiner_sees_lockouts_and_a_candidate_cannot(bank, login_as, clock):
    a = bank("candidate")
    for _ in range(5):
        _wrong(a, a.open("C001"))
    cid = a.open("C002")
    for _ in range(3):
        _wrong(a, cid)  # locks that conversation for good (and pauses C002 as well)
    page = login_as("examiner").get("/bank/identity-locks")
    assert page.status_code == 200
    text = strip_tags(page.get_data(as_text=True))
    assert "考生一号" in text and "C001" in text and "C002" in text
    assert "跨会话暂停 15 分钟" in text and "本会话锁定" in text
    assert "2 次" in text  # the two refused attempts on C001 while paused
    assert "暂停中" in text
    assert login_as("candidate").get("/bank/identity-locks").status_code == 403
    clock.advance(16 * 60)
    text = strip_tags(login_as("admin").get("/bank/identity-locks").get_data(as_text=True))
    assert "暂停中" not in text and "已解除" in text


def _drill_customer(session, drill_id: int) -> str:
    from sandbox.drill.models import DrillContact

    return session.scalar(select(DrillContact.customer_id).where(DrillContact.drill_id == drill_id))


def test_a_pause_from_practice_does_not_reach_a_drill_customer_and_a_drill_lock_is_replayed(api, bank, session):
    from sandbox.drill.models import DrillEvent

    cand = api("candidate")
    a = bank("candidate")
    a.client = cand
    for _ in range(3):
        _wrong(a, a.open("C001"))
    assert a.verify(a.open("C001")).status_code == 429  # paused for C001 itself
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    conv = drill["conversations"][0]["id"]
    code = _drill_customer(session, drill["id"])
    assert code != "C001"  # the drill's caller is a customer of its own, with a fresh identity
    for _ in range(3):
        _wrong(a, conv)
    resp = a.verify(conv, code)
    assert resp.status_code == 429
    session.rollback()  # a new snapshot: the API wrote since this session last read
    events = list(session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill["id"])
                                  .order_by(DrillEvent.id)))
    assert [e.type for e in events].count("identity.failed") == 3
    locked = [e for e in events if e.type == "identity.locked"]
    assert len(locked) == 1 and locked[0].data["allowed"] is True


def test_failures_inside_one_drill_do_not_pause_the_next_drill(api, bank, session):
    cand = api("candidate")
    a = bank("candidate")
    a.client = cand
    first = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    conv = first["conversations"][0]["id"]
    for _ in range(3):
        a.verify(conv, name="王某某")
    assert a.verify(conv).status_code == 429  # this drill's conversation is locked
    cand.post(f"/api/v1/drills/{first['id']}/finish")
    second = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    resp = a.verify(second["conversations"][0]["id"], _drill_customer(session, second["id"]))
    assert resp.status_code == 200 and resp.get_json()["verified"] is True
