"""SMS verification is confirmed on the customer's phone: the code never passes through the
agent, and nothing in the console asks the agent to collect it."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.db
def test_the_customer_confirms_on_the_phone_and_the_conversation_is_verified(bank):
    a = bank("candidate")
    cid = a.open("C001")
    assert a.post(f"/api/v1/conversations/{cid}/identity/sms").status_code == 200
    phone = a.get(f"/api/v1/conversations/{cid}/phone").get_json()["messages"][-1]["body"]
    assert "切勿将验证码告诉任何人" in phone
    ok = a.post(f"/api/v1/conversations/{cid}/identity/confirm")
    assert ok.status_code == 200 and ok.get_json()["verified"] is True
    state = a.get(f"/api/v1/conversations/{cid}").get_json()["identity"]
    assert state["verified"] is True and state["method"] == "sms"
    assert a.get(f"/api/v1/conversations/{cid}/accounts").status_code == 200


def test_confirming_without_an_sms_is_a_clear_400(bank):
    a = bank("candidate")
    cid = a.open("C001")
    resp = a.post(f"/api/v1/conversations/{cid}/identity/confirm")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "no_sms"
    assert "请坐席先发送" in resp.get_json()["error"]["message"]


def test_a_candidate_in_a_drill_cannot_confirm_for_the_simulated_customer(api):
    candidate = api("candidate")
    drill = candidate.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    cid = drill["conversations"][0]["id"]
    assert candidate.post(f"/api/v1/conversations/{cid}/identity/sms").status_code == 200
    resp = candidate.post(f"/api/v1/conversations/{cid}/identity/confirm")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


def test_the_console_never_asks_the_agent_to_collect_a_code(app):
    template = app.jinja_env.get_template("bank/_customer_panel.html").render(conversation_id=1)
    assert "客户报出" not in template and 'name="code"' not in template
    assert "不要让客户把验证码" in template
    phone = Path(app.root_path) / "templates" / "bank" / "phone.html"
    text = phone.read_text(encoding="utf-8")
    assert "可以把验证码告诉坐席" not in text and 'data-action="phone-confirm"' in text
