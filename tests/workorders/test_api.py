"""Work-order API: creation, reading, lists, notes, follow-up, history, ownership, bad input."""

from __future__ import annotations

import pytest

from tests.workorders.conftest import order_data
from workorders import states


def test_create_returns_the_order_with_history(api, clock):
    resp = api("candidate").post("/api/v1/workorders", json=order_data(expected_callback_at="2026-11-28T15:30"))
    assert resp.status_code == 201
    body = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/workorders/{body['number']}")
    for key in ("number", "type", "priority", "queue", "status", "due_at", "history"):
        assert key in body
    assert body["number"] == "WO20261128-0001"
    assert (body["type"], body["category"], body["priority"], body["queue"], body["status"]) == \
        ("投诉", "信用卡", "高", "信用卡中心", "新建")
    assert body["customer"] == {"id": "C003", "label": "张**"}  # masked
    assert body["conversation_id"] == 41
    assert body["expected_callback_at"] == "2026-11-28T07:30:00+00:00"  # 15:30 Beijing time
    assert body["creator"] == "考生一号"
    assert isinstance(body["history"], list) and body["history"][0]["to"] == "新建"
    assert body["history"][0]["who"] == "考生一号"


def test_defaults_and_pii_in_text_is_masked(api):
    body = api("candidate").post("/api/v1/workorders", json={
        "category": "借记卡", "title": "挂失",
        "description": "客户手机 13812345678，卡号 9900011234567898"}).get_json()
    assert (body["type"], body["priority"], body["queue"]) == ("咨询", "中", "人工坐席")
    assert "13812345678" not in body["description"] and "138****5678" in body["description"]
    assert "990001******7898" in body["description"]


@pytest.mark.parametrize("change,status,code", [
    ({"type": "表扬"}, 400, "unknown_type"),
    ({"priority": "特急"}, 400, "unknown_priority"),
    ({"queue": "行长办公室"}, 400, "unknown_queue"),
    ({"category": "彩票"}, 400, "unknown_category"),
    ({"category": None}, 400, "missing_field"),
    ({"title": "  "}, 400, "missing_field"),
    ({"title": "长" * 101}, 400, "text_too_long"),
    ({"description": "长" * 2001}, 400, "text_too_long"),
    ({"customer_name": "名" * 33}, 400, "text_too_long"),
    ({"title": 12}, 400, "invalid_field"),
    ({"customer_id": "C 003; drop"}, 400, "invalid_field"),
    ({"conversation_id": "abc"}, 400, "invalid_field"),
    ({"conversation_id": -3}, 400, "invalid_field"),
    ({"expected_callback_at": "明天下午"}, 400, "invalid_time"),
    ({"expected_callback_at": "2026-11-27T10:00"}, 400, "invalid_time"),
])
def test_bad_creation_input_writes_nothing(api, counts, change, status, code):
    before = counts()
    resp = api("candidate").post("/api/v1/workorders", json=order_data(**change))
    assert resp.status_code == status
    err = resp.get_json()["error"]
    assert err["code"] == code and err["message"]
    assert counts() == before


def test_malformed_json_and_unknown_numbers(api, counts):
    client = api("candidate")
    before = counts()
    resp = client.post("/api/v1/workorders", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"
    resp = client.post("/api/v1/workorders", json=["a"])
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"
    for url in ("/api/v1/workorders/WO20261128-0404", "/api/v1/workorders/nonsense"):
        resp = client.get(url)
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_work_order"
    for suffix, body in (("transitions", {"to": "已分派", "assignee": "王"}), ("notes", {"text": "x"}),
                         ("follow-ups", {"contact_result": "已接通", "satisfaction": "满意"}),
                         ("waiting", {"waiting": True})):
        resp = client.post(f"/api/v1/workorders/WO20261128-0404/{suffix}", json=body)
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_work_order"
    resp = client.patch("/api/v1/workorders/WO20261128-0404", json={"priority": "高"})
    assert resp.status_code == 404
    assert counts() == before


def test_list_filters(api, make_order):
    a = make_order(states.NEW, queue="信用卡中心")
    b = make_order(states.IN_PROGRESS, queue="风险管理部", type="故障")
    client = api("candidate")
    items = client.get("/api/v1/workorders").get_json()["items"]
    assert [o["number"] for o in items] == [b, a] and "history" not in items[0]
    assert [o["number"] for o in client.get("/api/v1/workorders?queue=风险管理部").get_json()["items"]] == [b]
    assert [o["number"] for o in client.get("/api/v1/workorders?status=新建").get_json()["items"]] == [a]
    assert [o["number"] for o in client.get("/api/v1/workorders?type=故障&status=处理中").get_json()["items"]] == [b]
    assert client.get("/api/v1/workorders?conversation_id=41").get_json()["count"] == 2
    assert client.get("/api/v1/workorders?conversation_id=42").get_json()["count"] == 0
    for query, code in (("queue=行长办公室", "unknown_queue"), ("status=已完成", "unknown_status"),
                        ("overdue=maybe", "invalid_field"), ("limit=0", "invalid_field")):
        resp = client.get(f"/api/v1/workorders?{query}")
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code


def test_notes_keep_internal_and_customer_apart(api, make_order, counts):
    number = make_order(states.ASSIGNED)
    client = api("candidate")
    client.post(f"/api/v1/workorders/{number}/notes", json={"text": "内部：核对了扣费流水"})
    resp = client.post(f"/api/v1/workorders/{number}/notes",
                       json={"text": "已告知客户两个工作日内回复", "visibility": "customer"})
    assert resp.status_code == 201
    body = resp.get_json()
    notes = [(h["note"], h["visibility"]) for h in body["history"] if h["field"] == "note"]
    assert notes == [("内部：核对了扣费流水", "internal"), ("已告知客户两个工作日内回复", "customer")]
    assert [h["note"] for h in body["customer_updates"]] == ["已告知客户两个工作日内回复"]
    assert body["first_responded_at"] is not None  # telling the customer is a response
    before = counts()
    for payload, code in (({"text": ""}, "missing_field"), ({"text": "长" * 1001}, "text_too_long"),
                          ({"text": "x", "visibility": "everyone"}, "unknown_visibility")):
        resp = client.post(f"/api/v1/workorders/{number}/notes", json=payload)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code
    assert counts() == before


@pytest.mark.db
def test_every_change_leaves_a_history_row(api, make_order):
    client = api("candidate")
    number = client.post("/api/v1/workorders", json=order_data()).get_json()["number"]
    steps = [
        ("patch", "", {"title": "账单多扣年费 200 元", "queue": "运营网点"}),
        ("post", "/transitions", {"to": "已分派", "assignee": "信用卡中心 王经理", "note": "转信用卡中心"}),
        ("post", "/transitions", {"to": "处理中"}),
        ("post", "/waiting", {"waiting": True}),
        ("post", "/waiting", {"waiting": False}),
        ("post", "/notes", {"text": "已联系客户"}),
        ("post", "/transitions", {"to": "待回访", "resolution_note": "年费已退回", "visibility": "customer"}),
        ("post", "/follow-ups", {"contact_result": "已接通", "satisfaction": "不满意", "note": "客户要求补偿"}),
        ("post", "/transitions", {"to": "待回访", "resolution_note": "已补偿积分"}),
        ("post", "/follow-ups", {"contact_result": "已接通", "satisfaction": "满意"}),
    ]
    for method, suffix, payload in steps:
        resp = getattr(client, method)(f"/api/v1/workorders/{number}{suffix}", json=payload)
        assert resp.status_code in (200, 201), resp.get_json()
    history = client.get(f"/api/v1/workorders/{number}").get_json()["history"]
    got = [(h["field"], h["from"], h["to"]) for h in history]
    assert got == [
        ("status", None, "新建"),
        ("queue", "信用卡中心", "运营网点"),
        ("title", "账单多扣年费", "账单多扣年费 200 元"),
        ("assignee", None, "信用卡中心 王经理"),
        ("status", "新建", "已分派"),
        ("status", "已分派", "处理中"),
        ("waiting_on_customer", "否", "是"),
        ("waiting_on_customer", "是", "否"),
        ("note", None, None),
        ("resolution_note", None, "年费已退回"),
        ("status", "处理中", "待回访"),
        ("contact_result", None, "已接通"),
        ("satisfaction", None, "不满意"),
        ("status", "待回访", "处理中"),
        ("resolution_note", "年费已退回", "已补偿积分"),
        ("status", "处理中", "待回访"),
        ("satisfaction", "不满意", "满意"),
        ("status", "待回访", "已办结"),
    ]
    assert all(h["who"] == "考生一号" and h["at"] for h in history)
    assert history[4]["note"] == "转信用卡中心"
    assert history[13]["note"] == "客户要求补偿"


def test_follow_up(api, make_order, counts):
    client = api("candidate")
    for satisfaction, status in (("满意", "已办结"), ("一般", "已办结"), ("不满意", "处理中")):
        number = make_order(states.FOLLOW_UP)
        body = client.post(f"/api/v1/workorders/{number}/follow-ups",
                           json={"contact_result": "已接通", "satisfaction": satisfaction}).get_json()
        assert (body["status"], body["satisfaction"]) == (status, satisfaction)
        assert body["reopen_count"] == (1 if status == "处理中" else 0)
        assert (body["closed_at"] is not None) == (status == "已办结")
    number = make_order(states.FOLLOW_UP)
    body = client.post(f"/api/v1/workorders/{number}/follow-ups",
                       json={"contact_result": "未接通", "note": "明天上午再打"}).get_json()
    assert body["status"] == "待回访" and body["contact_result"] == "未接通"
    assert body["history"][-1]["note"] == "明天上午再打"
    not_yet = make_order(states.IN_PROGRESS)
    before = counts()
    for payload, status, code in (
            ({"contact_result": "未接通", "satisfaction": "满意"}, 400, "contact_not_reached"),
            ({"contact_result": "已接通"}, 400, "missing_field"),
            ({"contact_result": "已接通", "satisfaction": "还行"}, 400, "unknown_satisfaction"),
            ({"contact_result": "打了"}, 400, "unknown_contact_result")):
        resp = client.post(f"/api/v1/workorders/{number}/follow-ups", json=payload)
        assert resp.status_code == status and resp.get_json()["error"]["code"] == code
    resp = client.post(f"/api/v1/workorders/{not_yet}/follow-ups", json={"contact_result": "未接通"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_awaiting_follow_up"
    resp = client.post(f"/api/v1/workorders/{not_yet}/follow-ups",
                       json={"contact_result": "已接通", "satisfaction": "满意"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "illegal_transition"
    assert counts() == before


def test_update_rules(api, make_order, counts):
    client = api("candidate")
    closed = make_order(states.CLOSED)
    number = make_order()
    before = counts()
    resp = client.patch(f"/api/v1/workorders/{closed}", json={"priority": "高"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "work_order_closed"
    for payload, code in (({"status": "已办结"}, "invalid_field"), ({"priority": "特急"}, "unknown_priority"),
                          ({"title": ""}, "missing_field")):
        resp = client.patch(f"/api/v1/workorders/{number}", json=payload)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code
    assert counts() == before


@pytest.mark.db
def test_a_candidate_cannot_see_or_change_another_candidates_orders(api, make_order, counts):
    mine = make_order(states.IN_PROGRESS, role="candidate")
    other = api("candidate2")
    before = counts()
    resp = other.get(f"/api/v1/workorders/{mine}")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    for method, suffix, payload in (
            ("post", "/transitions", {"to": "待回访", "resolution_note": "x"}),
            ("post", "/notes", {"text": "x"}), ("post", "/waiting", {"waiting": True}),
            ("post", "/follow-ups", {"contact_result": "未接通"}), ("patch", "", {"priority": "低"})):
        resp = getattr(other, method)(f"/api/v1/workorders/{mine}{suffix}", json=payload)
        assert resp.status_code == 403, (suffix, resp.get_json())
    assert counts() == before
    assert other.get("/api/v1/workorders").get_json()["items"] == []
    assert other.get("/api/v1/workorders?conversation_id=41").get_json()["items"] == []
    # Examiners and admins see and work every order; trainers have no access.
    for role in ("examiner", "admin"):
        assert [o["number"] for o in api(role).get("/api/v1/workorders").get_json()["items"]] == [mine]
        assert api(role).post(f"/api/v1/workorders/{mine}/notes", json={"text": f"{role} 已阅"}).status_code == 201
    assert api("trainer").get("/api/v1/workorders").status_code == 403
    assert api("trainer").get(f"/api/v1/workorders/{mine}").status_code == 403


def test_meta_lists_vocabularies_and_the_transition_table(api):
    body = api("candidate").get("/api/v1/workorders/meta").get_json()
    assert body["types"] == ["咨询", "投诉", "建议", "业务办理", "故障"]
    assert "老年客户" in body["categories"] and len(body["categories"]) == 15
    assert {"from": "待回访", "to": "处理中", "label": "回访不满意，重新处理", "requires": ["satisfaction"]} \
        in body["transitions"]
    assert body["sla"]["first_response_seconds"]["紧急"] == 1800
