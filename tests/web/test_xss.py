"""XSS payloads typed anywhere (names, messages, scenario text, work orders) stay inert in every page."""

from __future__ import annotations

import re

from sandbox.drill.scenario.files import seeded_scenarios_dir

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def assert_inert(html: str) -> None:
    assert "<script>alert" not in html
    assert not re.search(r"<img[^>]*onerror", html)


def test_payloads_are_escaped_everywhere(app, api, login_as, runtime, clock):
    from sandbox.users.services import create_user

    with runtime.transaction() as s:
        create_user(s, clock, "xss_user", "candidate", "abcd12345", PAYLOAD[:60])
    examiner = api("examiner")
    rnd = examiner.post("/api/v1/rounds", json={"name": PAYLOAD[:90], "scenarios": ["cc-bill-enquiry"]}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["xss_user", "candidate1"]})
    examiner.post(f"/api/v1/rounds/{rnd['id']}/start")

    cand = api("candidate2")  # not on the round's roster: the roster may not practise its scenario
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": PAYLOAD})
    cand.post("/api/v1/workorders", json={"type": "咨询", "category": "信用卡", "priority": "中", "queue": "人工坐席",
                                          "title": PAYLOAD[:90], "description": PAYLOAD, "conversation_id": conv})
    cand.post(f"/api/v1/drills/{drill['id']}/finish")

    trainer = login_as("trainer")
    text = (seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8")
    text = text.replace("title: 信用卡账单查询", "title: '<script>alert(\"x\")</script>'")
    assert trainer.post("/trainer/scenarios/cc-bill-enquiry/edit", data={"yaml_text": text}).status_code == 302

    pages = {
        "candidate2": ["/", "/drills", f"/drills/{drill['id']}", f"/drills/{drill['id']}/report", "/workorders"],
        "candidate1": ["/", "/drills", f"/exam/{rnd['id']}"],
        "examiner": ["/rounds", f"/rounds/{rnd['id']}", f"/drills/{drill['id']}/report",
                     f"/rounds/{rnd['id']}/candidates/1/print", "/handoffs"],
        "trainer": ["/trainer/scenarios/", "/trainer/scenarios/cc-bill-enquiry", "/drills"],
        "admin": ["/admin/users"],
    }
    for role, urls in pages.items():
        client = login_as(role)
        for url in urls:
            resp = client.get(url)
            assert resp.status_code in (200, 404), (url, resp.status_code)
            assert_inert(resp.get_data(as_text=True))
    # The payloads were really shown (escaped), so the checks above are not vacuous.
    for role, url in (("examiner", f"/rounds/{rnd['id']}"), ("candidate2", f"/drills/{drill['id']}/report"),
                      ("trainer", "/trainer/scenarios/cc-bill-enquiry"), ("admin", "/admin/users")):
        assert "&lt;script&gt;" in login_as(role).get(url).get_data(as_text=True), url
    # JSON carries the text as data (the pages render it with textContent, never innerHTML).
    body = cand.get(f"/api/v1/conversations/{conv}/messages").get_json()
    assert any(m["text"] == PAYLOAD for m in body["messages"])
