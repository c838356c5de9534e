"""Pages: list with filters and overdue badges, detail with timeline and forms, the agent queue."""

from __future__ import annotations

import re

import pytest

from tests.conftest import strip_tags
from tests.workorders.test_handoff import SUMMARY
from workorders import states


def test_list_page_filters_and_flags_overdue(login_as, make_order, clock):
    late = make_order(states.NEW, type="故障", priority="紧急", title="手机银行无法登录")
    fine = make_order(states.NEW, type="建议", priority="低", title="希望增加大字版")
    clock.advance(3600)
    page = login_as("candidate").get("/workorders")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    row = re.search(rf"<tr class=\"wo-overdue\">.*?{late}.*?</tr>", html, re.S)
    assert row and "已超时" in row.group(0)
    assert fine in html and 'class="wo-panel card"' in html
    assert "js/workorders.js" in html and "css/workorders.css" in html
    filtered = login_as("candidate").get("/workorders?overdue=true").get_data(as_text=True)
    assert late in filtered and fine not in filtered
    bad = login_as("candidate").get("/workorders?queue=行长办公室")
    assert bad.status_code == 400 and "未知的队列" in bad.get_data(as_text=True)
    # Another candidate sees none of it.
    other = login_as("candidate2").get("/workorders").get_data(as_text=True)
    assert late not in other and "没有符合条件的工单" in other


def test_detail_page_shows_timeline_and_forms(login_as, make_order):
    number = make_order(states.FOLLOW_UP)
    client = login_as("candidate")
    html = client.get(f"/workorders/{number}").get_data(as_text=True)
    text = strip_tags(html)
    assert "处理记录" in text and "已分派 → 处理中" in text and "告知客户" in text
    assert f'action="/workorders/{number}/follow-up"' in html
    assert f'action="/workorders/{number}/transition"' in html
    assert "<script>" not in html and "style=" not in html
    assert login_as("candidate2").get(f"/workorders/{number}").status_code == 403
    assert client.get("/workorders/WO20261128-0999").status_code == 404


def test_page_forms_change_the_order(login_as, make_order, api):
    number = make_order(states.NEW)
    client = login_as("candidate")
    resp = client.post(f"/workorders/{number}/transition", data={"to": "已分派", "assignee": "王经理"})
    assert resp.status_code == 303
    resp = client.post(f"/workorders/{number}/transition", data={"to": "已办结"}, follow_redirects=True)
    assert "不能从「已分派」变为「已办结」" in resp.get_data(as_text=True)
    client.post(f"/workorders/{number}/transition", data={"to": "处理中", "visibility": "internal"})
    client.post(f"/workorders/{number}/waiting", data={"waiting": "1", "note": "等客户发截图"})
    client.post(f"/workorders/{number}/note", data={"text": "截图已收到", "visibility": "customer"})
    client.post(f"/workorders/{number}/waiting", data={"waiting": "0"})
    client.post(f"/workorders/{number}/transition", data={"to": "待回访", "resolution_note": "已退费"})
    resp = client.post(f"/workorders/{number}/follow-up", data={"contact_result": "已接通", "satisfaction": "满意"},
                       follow_redirects=True)
    assert "回访已登记" in resp.get_data(as_text=True)
    body = api("candidate").get(f"/api/v1/workorders/{number}").get_json()
    assert body["status"] == "已办结" and body["assignee"] == "王经理"
    assert [h["to"] for h in body["history"] if h["field"] == "waiting_on_customer"] == ["是", "否"]
    # Someone else's order: refused, nothing changes.
    resp = login_as("candidate2").post(f"/workorders/{number}/note", data={"text": "x"})
    assert resp.status_code == 403


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_forms_and_cookie_api_calls_need_the_token(self, app, make_order, counts):
        number = make_order(states.NEW)
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        password = app.config["TEST_PASSWORDS"]["candidate1"]
        assert client.post("/login", data={"username": "candidate1", "password": password,
                                           "csrf_token": token}).status_code == 302
        before = counts()
        resp = client.post(f"/workorders/{number}/note", data={"text": "无令牌"})
        assert resp.status_code == 400
        resp = client.post("/api/v1/workorders", json={"category": "账户", "title": "无令牌"})
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "csrf_failed"
        assert counts() == before
        html = client.get(f"/workorders/{number}").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
        resp = client.post("/api/v1/workorders", json={"category": "账户", "title": "有令牌"},
                           headers={"X-CSRFToken": token})
        assert resp.status_code == 201


def test_queue_page_accept_and_reply(login_as, api, gateway, actors, clock):
    gateway.add(7, actors["candidate"].user_id)
    hid = api("candidate").post("/api/v1/conversations/7/handoff", json={"summary": SUMMARY}).get_json()["id"]
    clock.advance(75)
    examiner = login_as("examiner")
    html = examiner.get("/handoffs").get_data(as_text=True)
    assert "要求退还多扣的年费" in html and 'data-seconds="75"' in html and "1分钟" in html
    detail = examiner.get(f"/handoffs/{hid}").get_data(as_text=True)
    assert "990001******7898" in detail and "客户情绪" in detail and "愤怒" in detail
    resp = examiner.post(f"/handoffs/{hid}/accept", data={})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/handoffs/{hid}")
    examiner.post(f"/handoffs/{hid}/message", data={"text": "您好，我来继续为您处理。"})
    detail = examiner.get(f"/handoffs/{hid}").get_data(as_text=True)
    assert "您好，我来继续为您处理。" in detail and "已接入" in detail
    resp = login_as("admin").post(f"/handoffs/{hid}/accept", data={}, follow_redirects=True)
    assert "已由考官接入" in resp.get_data(as_text=True)
    assert "当前没有等待接入的客户" in examiner.get("/handoffs").get_data(as_text=True)
    assert examiner.get("/handoffs/4040").status_code == 404


def test_nav_shows_work_orders_by_role(login_as):
    assert "人工坐席队列" in login_as("examiner").get("/").get_data(as_text=True)
    cand = login_as("candidate").get("/").get_data(as_text=True)
    assert "工单" in cand and "人工坐席队列" not in cand
    assert "工单" not in strip_tags(login_as("trainer").get("/").get_data(as_text=True))
