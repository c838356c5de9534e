"""The whole transition table, every from × to pair, through the API."""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.workorders.conftest import PATHS, fields_for
from workorders import states

PAIRS = [(a, b) for a in states.STATES for b in states.STATES]


def test_table_shape():
    # The machine: the main line, escalation, cancellation, reopening.
    main_line = [states.NEW, states.ASSIGNED, states.IN_PROGRESS, states.FOLLOW_UP, states.CLOSED]
    for a, b in pairwise(main_line):
        assert (a, b) in states.TRANSITIONS
    assert (states.FOLLOW_UP, states.IN_PROGRESS) in states.TRANSITIONS
    assert states.allowed_next(states.CLOSED) == [] and states.allowed_next(states.CANCELLED) == []
    assert states.TRANSITIONS[(states.NEW, states.ASSIGNED)].requires == ("assignee",)
    assert states.TRANSITIONS[(states.IN_PROGRESS, states.FOLLOW_UP)].requires == ("resolution_note",)
    assert states.TRANSITIONS[(states.FOLLOW_UP, states.CLOSED)].requires == ("satisfaction",)
    for target in (states.CANCELLED, states.ESCALATED):
        assert all(e.requires == ("note",) for (a, b), e in states.TRANSITIONS.items() if b == target)


@pytest.mark.db
@pytest.mark.parametrize("current,target", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_pair_is_allowed_or_409(api, make_order, counts, current, target):
    number = make_order(current)
    client = api("candidate")
    before = client.get(f"/api/v1/workorders/{number}").get_json()
    resp = client.post(f"/api/v1/workorders/{number}/transitions",
                       json={"to": target, **fields_for(current, target)})
    if (current, target) in states.TRANSITIONS:
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["status"] == target
        last = [h for h in body["history"] if h["field"] == "status"][-1]
        assert (last["from"], last["to"]) == (current, target)
    else:
        assert resp.status_code == 409, resp.get_json()
        err = resp.get_json()["error"]
        assert err["code"] == "illegal_transition"
        assert err["allowed"] == states.allowed_next(current)
        for name in err["allowed"]:
            assert name in err["message"]
        after = client.get(f"/api/v1/workorders/{number}").get_json()
        assert after == before  # nothing written


@pytest.mark.parametrize("current,target,missing", [
    (states.NEW, states.ASSIGNED, "assignee"),
    (states.IN_PROGRESS, states.FOLLOW_UP, "resolution_note"),
    (states.FOLLOW_UP, states.CLOSED, "satisfaction"),
    (states.FOLLOW_UP, states.IN_PROGRESS, "satisfaction"),
    (states.NEW, states.CANCELLED, "note"),
    (states.IN_PROGRESS, states.ESCALATED, "note"),
    (states.ESCALATED, states.ASSIGNED, "assignee"),
])
def test_missing_required_field_is_400_and_writes_nothing(api, make_order, counts, current, target, missing):
    number = make_order(current)
    fields = fields_for(current, target)
    fields.pop(missing)
    fields[missing] = "   " if missing != "satisfaction" else ""
    before = counts()
    resp = api("candidate").post(f"/api/v1/workorders/{number}/transitions", json={"to": target, **fields})
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "missing_field" and err["field"] == missing
    assert counts() == before


def test_satisfaction_must_match_the_edge(api, make_order):
    number = make_order(states.FOLLOW_UP)
    resp = api("candidate").post(f"/api/v1/workorders/{number}/transitions",
                                 json={"to": states.CLOSED, "satisfaction": "不满意"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "satisfaction_mismatch"
    resp = api("candidate").post(f"/api/v1/workorders/{number}/transitions",
                                 json={"to": states.IN_PROGRESS, "satisfaction": "满意"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "satisfaction_mismatch"


@pytest.mark.parametrize("body,code", [
    ({"to": "已完成"}, "unknown_status"),
    ({}, "missing_field"),
    ({"to": states.ASSIGNED, "assignee": "甲" * 65}, "text_too_long"),
    ({"to": states.CANCELLED, "note": "原" * 1001}, "text_too_long"),
    ({"to": states.CANCELLED, "note": "原因", "visibility": "public"}, "unknown_visibility"),
])
def test_bad_transition_input(api, make_order, counts, body, code):
    number = make_order()
    before = counts()
    resp = api("candidate").post(f"/api/v1/workorders/{number}/transitions", json=body)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code
    assert counts() == before


def test_paths_reach_their_states(api, make_order):
    for state in PATHS:
        number = make_order(state)
        assert api("candidate").get(f"/api/v1/workorders/{number}").get_json()["status"] == state
