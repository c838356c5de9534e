"""转人工: summary and transcript travel, examiners accept and continue, timeouts offer a callback."""

from __future__ import annotations

import pytest

SUMMARY = {"intent": "信用卡账单疑问", "request": "要求退还多扣的年费", "actions_taken": "已核实身份并查询账单",
           "verification_status": "已核验", "mood": "愤怒"}


@pytest.fixture
def conversation(gateway, actors):
    """Conversation 7 belongs to candidate1."""
    return gateway.add(7, actors["candidate"].user_id)


def _handoff(api, role="candidate", conversation_id=7, **extra):
    return api(role).post(f"/api/v1/conversations/{conversation_id}/handoff",
                          json={"queue": "人工坐席", "summary": SUMMARY, **extra})


def test_handoff_carries_summary_and_masked_transcript(api, conversation, clock):
    resp = _handoff(api)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/handoffs/{body['id']}")
    assert body["summary"] == SUMMARY
    assert body["queue"] == "人工坐席" and body["conversation_id"] == 7
    assert body["status"] == "waiting" and body["timed_out"] is False and body["callback_offer"] is False
    assert body["customer"] == {"id": "C003", "label": "张**"}
    assert [line["speaker"] for line in body["transcript"]] == ["客户", "坐席"]
    assert "9900011234567898" not in body["transcript"][0]["text"]
    assert "990001******7898" in body["transcript"][0]["text"]
    clock.advance(45)
    body = api("candidate").get(f"/api/v1/handoffs/{body['id']}").get_json()
    assert body["waiting_seconds"] == 45 and body["timeout_seconds"] == 120


@pytest.mark.db
def test_examiner_sees_the_queue_accepts_and_continues_the_conversation(api, conversation, clock):
    hid = _handoff(api).get_json()["id"]
    clock.advance(30)
    queue = api("examiner").get("/api/v1/handoffs").get_json()
    assert [(h["id"], h["waiting_seconds"], h["summary"]["mood"]) for h in queue["items"]] == [(hid, 30, "愤怒")]
    assert "transcript" not in queue["items"][0]
    resp = api("examiner").post(f"/api/v1/handoffs/{hid}/accept", json={})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "accepted" and body["accepted_by"] == "考官"
    assert body["accepted_at"] == clock.now().isoformat() and body["waiting_seconds"] == 30
    assert body["conversation_id"] == 7 and body["transcript"][1]["text"].startswith("您好")
    # The same conversation continues: the agent's messages are kept with the handoff.
    clock.advance(10)
    resp = api("examiner").post(f"/api/v1/handoffs/{hid}/messages", json={"text": "您好，我是人工客服，马上为您处理年费问题。"})
    assert resp.status_code == 201
    # The candidate (conversation owner) sees who took over and what was said.
    seen = api("candidate").get(f"/api/v1/handoffs/{hid}").get_json()
    assert seen["status"] == "accepted" and seen["accepted_by"] == "考官"
    assert [m["text"] for m in seen["messages"]] == ["您好，我是人工客服，马上为您处理年费问题。"]
    assert api("examiner").get("/api/v1/handoffs").get_json()["items"] == []
    # Nobody accepts twice; other agents cannot speak for the one who accepted.
    resp = api("admin").post(f"/api/v1/handoffs/{hid}/accept", json={})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "handoff_already_accepted"
    clock.advance(600)
    resp = api("candidate").get(f"/api/v1/handoffs/{hid}").get_json()
    assert resp["timed_out"] is False and resp["waiting_seconds"] == 30


def test_messages_need_an_accepted_handoff_and_text(api, conversation, counts):
    hid = _handoff(api).get_json()["id"]
    resp = api("examiner").post(f"/api/v1/handoffs/{hid}/messages", json={"text": "你好"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "handoff_not_accepted"
    api("examiner").post(f"/api/v1/handoffs/{hid}/accept", json={})
    for payload, code in (({"text": ""}, "missing_field"), ({"text": "长" * 1001}, "text_too_long")):
        resp = api("examiner").post(f"/api/v1/handoffs/{hid}/messages", json=payload)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code
    assert api("candidate").post(f"/api/v1/handoffs/{hid}/messages", json={"text": "x"}).status_code == 403


@pytest.mark.db
def test_timeout_offers_a_callback_work_order(api, conversation, clock, counts):
    hid = _handoff(api).get_json()["id"]
    clock.advance(119)
    body = api("candidate").get(f"/api/v1/handoffs/{hid}").get_json()
    assert body["timed_out"] is False and body["callback_offer"] is False
    before = counts()
    resp = api("candidate").post(f"/api/v1/handoffs/{hid}/callback", json={})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "callback_not_offered"
    assert counts() == before
    clock.advance(1)
    body = api("candidate").get(f"/api/v1/handoffs/{hid}").get_json()
    assert body["status"] == "timed_out" and body["timed_out"] is True and body["callback_offer"] is True
    resp = api("candidate").post(f"/api/v1/handoffs/{hid}/callback",
                                 json={"type": "业务办理", "expected_callback_at": "2026-11-28T16:00+08:00"})
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    assert (order["type"], order["queue"], order["category"], order["status"]) == ("业务办理", "人工坐席", "人工服务", "新建")
    assert order["conversation_id"] == 7 and order["customer"] == {"id": "C003", "label": "张**"}
    assert order["expected_callback_at"] == "2026-11-28T08:00:00+00:00"
    assert order["title"] == "留言回电：要求退还多扣的年费"
    assert "客户情绪：愤怒" in order["description"]
    assert order["creator"] == "考生一号"
    assert order["customer_updates"] and "回电" in order["customer_updates"][0]["note"]
    body = api("candidate").get(f"/api/v1/handoffs/{hid}").get_json()
    assert body["status"] == "callback_created" and body["callback_work_order"] == order["number"]
    assert body["callback_offer"] is False
    # The candidate owns the callback order; a second callback or a late accept is refused.
    assert api("candidate").get(f"/api/v1/workorders/{order['number']}").status_code == 200
    resp = api("candidate").post(f"/api/v1/handoffs/{hid}/callback", json={})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "callback_exists"
    resp = api("examiner").post(f"/api/v1/handoffs/{hid}/accept", json={})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "handoff_closed"


def test_callback_defaults_and_bad_input(api, conversation, clock, counts):
    hid = _handoff(api).get_json()["id"]
    clock.advance(300)
    before = counts()
    for payload, code in (({"type": "投诉"}, "unknown_type"), ({"expected_callback_at": "soon"}, "invalid_time"),
                          ({"expected_callback_at": "2026-11-27T10:00"}, "invalid_time"),
                          ({"note": "长" * 1001}, "text_too_long")):
        resp = api("candidate").post(f"/api/v1/handoffs/{hid}/callback", json=payload)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code, payload
    assert counts() == before
    assert api("candidate2").post(f"/api/v1/handoffs/{hid}/callback", json={}).status_code == 403
    assert counts() == before
    order = api("candidate").post(f"/api/v1/handoffs/{hid}/callback", json={}).get_json()
    assert order["type"] == "咨询"
    from datetime import timedelta
    assert order["expected_callback_at"] == (clock.now() + timedelta(hours=2)).isoformat()


@pytest.mark.db
def test_late_accept_is_still_possible_before_a_callback(api, conversation, clock):
    hid = _handoff(api).get_json()["id"]
    clock.advance(500)
    assert api("examiner").get("/api/v1/handoffs").get_json()["items"][0]["timed_out"] is True
    body = api("examiner").post(f"/api/v1/handoffs/{hid}/accept", json={}).get_json()
    assert body["status"] == "accepted"
    resp = api("candidate").post(f"/api/v1/handoffs/{hid}/callback", json={})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "handoff_already_accepted"


def test_handoff_bad_input_and_access(api, gateway, actors, conversation, counts):
    gateway.add(8, actors["candidate2"].user_id)
    before = counts()
    cases = [
        ({"queue": "行长办公室", "summary": SUMMARY}, 400, "unknown_queue"),
        ({"summary": "客户要人工"}, 400, "invalid_summary"),
        ({"summary": {**SUMMARY, "password": "x"}}, 400, "invalid_summary"),
        ({"summary": {**SUMMARY, "intent": ""}}, 400, "missing_field"),
        ({"summary": {**SUMMARY, "request": "长" * 501}}, 400, "text_too_long"),
        ({"summary": {**SUMMARY, "mood": "开心"}}, 400, "unknown_mood"),
        ({"summary": {**SUMMARY, "verification_status": "差不多"}}, 400, "unknown_verification_status"),
    ]
    for payload, status, code in cases:
        resp = api("candidate").post("/api/v1/conversations/7/handoff", json=payload)
        assert resp.status_code == status and resp.get_json()["error"]["code"] == code, payload
    resp = api("candidate").post("/api/v1/conversations/999/handoff", json={"summary": SUMMARY})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_conversation"
    resp = api("candidate").post("/api/v1/conversations/8/handoff", json={"summary": SUMMARY})
    assert resp.status_code == 403
    assert counts() == before
    hid = _handoff(api).get_json()["id"]
    resp = _handoff(api)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "handoff_pending"
    assert api("candidate2").get(f"/api/v1/handoffs/{hid}").status_code == 403
    assert api("candidate").get("/api/v1/handoffs/4040").status_code == 404
    assert api("examiner").post("/api/v1/handoffs/4040/accept", json={}).status_code == 404
    assert api("candidate").get("/api/v1/handoffs").status_code == 403
    # The examiner may hand off on the candidate's behalf; the handoff stays the candidate's.
    body = _handoff(api, role="examiner", conversation_id=8).get_json()
    assert api("candidate2").get(f"/api/v1/handoffs/{body['id']}").status_code == 200


def test_without_a_registered_gateway_no_conversation_exists(api, counts):
    before = counts()
    resp = api("candidate").post("/api/v1/conversations/7/handoff", json={"summary": SUMMARY})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_conversation"
    assert counts() == before


class TestConfiguredTimeout:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": False, "HANDOFF_TIMEOUT_SECONDS": 30}

    def test_timeout_comes_from_config(self, api, conversation, clock):
        hid = _handoff(api).get_json()["id"]
        clock.advance(30)
        body = api("candidate").get(f"/api/v1/handoffs/{hid}").get_json()
        assert body["timeout_seconds"] == 30 and body["timed_out"] is True and body["callback_offer"] is True


def test_examiner_can_create_the_callback_for_the_candidate(api, conversation, clock):
    hid = _handoff(api).get_json()["id"]
    clock.advance(121)
    order = api("examiner").post(f"/api/v1/handoffs/{hid}/callback", json={}).get_json()
    assert order["creator"] == "考生一号"  # stays the candidate's order
    assert any(h["who"] == "考官" and "代为创建" in h["note"] for h in order["history"])
    mine = api("candidate").get("/api/v1/workorders").get_json()["items"]
    assert [o["number"] for o in mine] == [order["number"]]
    assert api("candidate2").get(f"/api/v1/workorders/{order['number']}").status_code == 403
