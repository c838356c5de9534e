"""SLA due times from the injected clock, overdue flags in lists, pause while waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.workorders.conftest import order_data
from workorders import queries, sla, states
from workorders.vocab import PRIORITIES, TYPES

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def test_table_covers_every_type_and_priority_and_meets_the_rules():
    assert sla.FIRST_RESPONSE_SECONDS["紧急"] == 30 * 60
    assert max(sla.RESOLUTION_SECONDS["投诉"].values()) <= 15 * 86400
    for t in TYPES:
        for p in PRIORITIES:
            assert sla.RESOLUTION_SECONDS[t][p] >= sla.FIRST_RESPONSE_SECONDS[p]
        # More urgent never gets more time.
        times = [sla.RESOLUTION_SECONDS[t][p] for p in PRIORITIES]
        assert times == sorted(times)


@pytest.mark.db
@pytest.mark.parametrize("type_", TYPES)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_due_times_follow_the_table(api, clock, type_, priority):
    clock.set(T0)
    resp = api("candidate").post("/api/v1/workorders", json=order_data(type=type_, priority=priority))
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["due_at"] == _iso(T0 + timedelta(seconds=sla.RESOLUTION_SECONDS[type_][priority]))
    assert body["first_response_due_at"] == _iso(T0 + timedelta(seconds=sla.FIRST_RESPONSE_SECONDS[priority]))
    assert body["overdue"] is False


@pytest.mark.db
def test_urgent_first_response_overdue_after_30_minutes(api, clock):
    clock.set(T0)
    client = api("candidate")
    number = client.post("/api/v1/workorders", json=order_data(type="故障", priority="紧急")).get_json()["number"]
    clock.advance(30 * 60)
    assert client.get(f"/api/v1/workorders/{number}").get_json()["overdue"] is False
    clock.advance(1)
    assert client.get(f"/api/v1/workorders/{number}").get_json()["overdue"] is True
    listed = client.get("/api/v1/workorders?overdue=true").get_json()["items"]
    assert [o["number"] for o in listed] == [number] and listed[0]["overdue"] is True
    assert client.get("/api/v1/workorders?overdue=false").get_json()["items"] == []
    # Responding (starting work) clears the first-response breach; resolution is due in 4 h.
    client.post(f"/api/v1/workorders/{number}/transitions", json={"to": "已分派", "assignee": "科技运维 李工"})
    body = client.post(f"/api/v1/workorders/{number}/transitions", json={"to": "处理中"}).get_json()
    assert body["overdue"] is False and body["first_responded_at"] == _iso(clock.now())
    clock.advance(4 * 3600)
    assert client.get(f"/api/v1/workorders/{number}").get_json()["overdue"] is True


@pytest.mark.db
def test_complaint_overdue_after_15_days_and_closed_orders_never_overdue(api, clock, make_order):
    clock.set(T0)
    client = api("candidate")
    open_no = make_order(states.IN_PROGRESS, type="投诉", priority="低")
    closed_no = make_order(states.CLOSED, type="投诉", priority="低")
    clock.advance(15 * 86400)
    assert client.get(f"/api/v1/workorders/{open_no}").get_json()["overdue"] is False
    clock.advance(1)
    assert client.get(f"/api/v1/workorders/{open_no}").get_json()["overdue"] is True
    assert client.get(f"/api/v1/workorders/{closed_no}").get_json()["overdue"] is False
    assert [o["number"] for o in client.get("/api/v1/workorders?overdue=1").get_json()["items"]] == [open_no]


@pytest.mark.db
def test_clock_pauses_while_waiting_on_customer(api, clock, make_order):
    clock.set(T0)
    client = api("candidate")
    number = make_order(states.IN_PROGRESS, type="咨询", priority="中")  # resolution 1 day
    base_due = T0 + timedelta(days=1)
    clock.advance(hours=20)
    body = client.post(f"/api/v1/workorders/{number}/waiting", json={"waiting": True, "note": "请客户补充流水截图"}).get_json()
    assert body["waiting_on_customer"] is True and body["sla_paused"] is True
    clock.advance(hours=10)  # would be overdue by 6 h if the clock ran
    body = client.get(f"/api/v1/workorders/{number}").get_json()
    assert body["overdue"] is False
    assert body["due_at"] == _iso(base_due + timedelta(hours=10))  # projected while paused
    assert client.get("/api/v1/workorders?overdue=true").get_json()["items"] == []
    body = client.post(f"/api/v1/workorders/{number}/waiting", json={"waiting": False}).get_json()
    assert body["waiting_on_customer"] is False and body["paused_seconds"] == 10 * 3600
    assert body["due_at"] == _iso(base_due + timedelta(hours=10))
    toggles = [h for h in body["history"] if h["field"] == "waiting_on_customer"]
    assert [(h["from"], h["to"]) for h in toggles] == [("否", "是"), ("是", "否")]
    assert toggles[0]["note"] == "请客户补充流水截图"
    clock.advance(hours=4)
    assert client.get(f"/api/v1/workorders/{number}").get_json()["overdue"] is False
    clock.advance(hours=1)
    assert client.get(f"/api/v1/workorders/{number}").get_json()["overdue"] is True


def test_waiting_rules(api, clock, make_order, counts):
    client = api("candidate")
    new_no = make_order(states.NEW)
    resp = client.post(f"/api/v1/workorders/{new_no}/waiting", json={"waiting": True})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "cannot_wait"
    number = make_order(states.IN_PROGRESS)
    resp = client.post(f"/api/v1/workorders/{number}/waiting", json={"waiting": False})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_waiting"
    for body, code in (({}, "missing_field"), ({"waiting": "yes"}, "invalid_field")):
        resp = client.post(f"/api/v1/workorders/{number}/waiting", json=body)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code
    client.post(f"/api/v1/workorders/{number}/waiting", json={"waiting": True})
    before = counts()
    resp = client.post(f"/api/v1/workorders/{number}/waiting", json={"waiting": True})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "already_waiting"
    assert counts() == before
    # A status change ends the wait and banks the paused time.
    clock.advance(600)
    body = client.post(f"/api/v1/workorders/{number}/transitions",
                       json={"to": "待回访", "resolution_note": "已退还年费"}).get_json()
    assert body["waiting_on_customer"] is False and body["paused_seconds"] == 600


@pytest.mark.db
def test_priority_change_recomputes_due_and_keeps_paused_time(api, clock, make_order):
    clock.set(T0)
    client = api("candidate")
    number = make_order(states.IN_PROGRESS, type="投诉", priority="低")
    client.post(f"/api/v1/workorders/{number}/waiting", json={"waiting": True})
    clock.advance(3600)
    client.post(f"/api/v1/workorders/{number}/waiting", json={"waiting": False})
    body = client.patch(f"/api/v1/workorders/{number}", json={"priority": "紧急", "note": "客户情绪激动"}).get_json()
    assert body["priority"] == "紧急"
    assert body["due_at"] == _iso(T0 + timedelta(days=2, hours=1))
    changes = [(h["field"], h["from"], h["to"]) for h in body["history"][-2:]]
    assert changes[0] == ("priority", "低", "紧急") and changes[1][0] == "due_at"


def test_sql_and_python_overdue_agree(runtime, clock, make_order, actors):
    clock.set(T0)
    numbers = [make_order(s, type="咨询", priority=p) for s in (states.NEW, states.IN_PROGRESS, states.CLOSED)
               for p in ("紧急", "低")]
    for step in (0, 1800, 3600 * 5, 86400 * 4):
        clock.set(T0 + timedelta(seconds=step))
        with runtime.transaction() as s:
            everything = queries.list_orders(s, clock, actors["examiner"])
            flagged = {o.number for o in everything if sla.is_overdue(o, clock.now())}
            via_sql = {o.number for o in queries.list_orders(s, clock, actors["examiner"],
                                                             queries.ListFilter(overdue=True))}
        assert flagged == via_sql
        assert set(numbers) >= flagged
    assert flagged  # something did become overdue
