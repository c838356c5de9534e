"""Helpers for work-order tests: actors for the demo users, orders driven to a state,
and a fake conversation gateway standing in for the mock bank's conversations."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from sandbox.errors import NotFound
from sandbox.users.services import get_user
from tests.conftest import ROLE_USER
from workorders import access, changes, creation, states
from workorders.handoff import ConversationInfo
from workorders.models import Handoff, WorkOrder, WorkOrderHistory

# The fields every edge of the transition table could ask for.
FULL_FIELDS = {"assignee": "信用卡中心 王经理", "resolution_note": "已为客户调整账单并短信告知。",
               "note": "客户要求，说明原因", "satisfaction": "满意"}

# How to reach each state from 新建.
PATHS: dict[str, list[str]] = {
    states.NEW: [],
    states.ASSIGNED: [states.ASSIGNED],
    states.IN_PROGRESS: [states.ASSIGNED, states.IN_PROGRESS],
    states.FOLLOW_UP: [states.ASSIGNED, states.IN_PROGRESS, states.FOLLOW_UP],
    states.CLOSED: [states.ASSIGNED, states.IN_PROGRESS, states.FOLLOW_UP, states.CLOSED],
    states.ESCALATED: [states.ESCALATED],
    states.CANCELLED: [states.CANCELLED],
}


def fields_for(current: str, target: str) -> dict[str, Any]:
    """Every field, with the satisfaction the edge wants (不满意 to reopen)."""
    fields = dict(FULL_FIELDS)
    if (current, target) == (states.FOLLOW_UP, states.IN_PROGRESS):
        fields["satisfaction"] = "不满意"
    return fields


def order_data(**overrides: Any) -> dict[str, Any]:
    data = {"type": "投诉", "category": "信用卡", "priority": "高", "queue": "信用卡中心",
            "title": "账单多扣年费", "description": "客户称本期账单多扣了 200 元年费。",
            "customer_id": "C003", "customer_name": "张三丰", "conversation_id": 41}
    data.update(overrides)
    return data


@pytest.fixture
def actors(runtime) -> dict[str, access.Actor]:
    """Actor per role and per demo username."""
    out = {}
    with runtime.transaction() as s:
        for key, username in list(ROLE_USER.items()) + [(u, u) for u in ROLE_USER.values()] + [("candidate2", "candidate2")]:
            out[key] = access.Actor.of(get_user(s, username))
    return out


@pytest.fixture
def make_order(runtime, actors):
    """``make_order(state="处理中", role="candidate", **data)``: a committed order in that state."""

    def _make(state: str = states.NEW, role: str = "candidate", **data: Any) -> str:
        actor = actors[role]
        with runtime.transaction() as s:
            number = creation.create_order(s, runtime.clock, actor, order_data(**data)).number
        current = states.NEW
        for target in PATHS[state]:
            with runtime.transaction() as s:
                changes.transition(s, runtime.clock, actor, number, target, fields_for(current, target))
            current = target
        return number

    return _make


@pytest.fixture
def counts(runtime):
    """``counts()`` → (orders, history rows, handoffs): to prove refused input wrote nothing."""

    def _counts() -> tuple[int, int, int]:
        with runtime.transaction() as s:
            return (s.scalar(select(func.count(WorkOrder.id))), s.scalar(select(func.count(WorkOrderHistory.id))),
                    s.scalar(select(func.count(Handoff.id))))

    return _counts


class FakeGateway:
    """Conversations the test declares: id → (owner user id, customer, transcript)."""

    def __init__(self) -> None:
        self.conversations: dict[int, ConversationInfo] = {}

    def add(self, conversation_id: int, owner_user_id: int, transcript=None, customer_id="C003",
            customer_label="张三丰") -> ConversationInfo:
        info = ConversationInfo(conversation_id=conversation_id, owner_user_id=owner_user_id,
                                customer_id=customer_id, customer_label=customer_label,
                                transcript=transcript if transcript is not None else [
                                    {"speaker": "客户", "text": "我的卡 9900011234567898 被扣了钱，我要找人工！",
                                     "at": "2026-11-28T09:00:05+08:00"},
                                    {"speaker": "坐席", "text": "您好，请您先别着急，我来帮您核实。",
                                     "at": "2026-11-28T09:00:20+08:00"}])
        self.conversations[conversation_id] = info
        return info

    def get(self, session, conversation_id: int) -> ConversationInfo:
        try:
            return self.conversations[conversation_id]
        except KeyError:
            raise NotFound(f"会话 {conversation_id} 不存在。", code="unknown_conversation") from None


@pytest.fixture(autouse=True)
def gateway(runtime, actors) -> FakeGateway:
    """Registered for every work-order test: an order may only name a conversation that exists
    and its creator owns, so conversation 41 (the one ``order_data`` names) is candidate1's."""
    fake = FakeGateway()
    fake.add(41, actors["candidate"].user_id)
    runtime.services["conversation_gateway"] = fake
    return fake
