"""Every check type passes and fails on hand-made event logs; hard fails cap the score."""

from __future__ import annotations

import pytest

from sandbox.drill.scenario import parse_scenario, seeded_scenarios_dir
from sandbox.scoring.rubric import CHECKS, HARD_FAIL_CAP, Ev, Log, score_log
from sandbox.drill.scenario import Check

SPEC = parse_scenario((seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8"))
FACTS = {"main": {"bill_amount": "8632.50", "bill_minimum": "863.25", "bill_due_date": "2026-12-15"}}


def ev(i, t, type_, **data):
    return Ev(i, type_, t, "main", data)


def log(*events):
    base = [ev(0, 0, "contact.arrived")]
    return Log(base + list(events), SPEC, FACTS)


def check(type_, **params):
    return Check("c", type_, "智能适配", 10, "t", params)


def run(type_, events, **params):
    return CHECKS[type_](log(*events), check(type_, **params)).passed


SAY = lambda i, t, text: ev(i, t, "message.agent", text=text)  # noqa: E731

CASES = [
    # type, params, passing events, failing events
    ("op", {"op": "kb.search", "within": 30}, [ev(1, 10, "kb.search", query="账单")], [ev(1, 40, "kb.search")]),
    ("op", {"op": "lookup"}, [ev(1, 5, "lookup.bill", allowed=True)], [ev(1, 5, "lookup.bill", allowed=False)]),
    ("no_op", {"op": "lookup"}, [ev(1, 5, "lookup.bill", allowed=False)], [ev(1, 5, "lookup.cards", allowed=True)]),
    ("before", {"first": "identity.verified", "then": "lookup"},
     [ev(1, 5, "identity.verified"), ev(2, 6, "lookup.cards", allowed=True)],
     [ev(1, 4, "lookup.cards", allowed=False), ev(2, 6, "identity.verified")]),
    ("first_reply_within", {"seconds": 30}, [SAY(1, 20, "您好")], [SAY(1, 31, "您好")]),
    ("reply_fact", {"fact": "bill_amount"}, [SAY(1, 20, "本期应还 8,632.50 元")], [SAY(1, 20, "本期应还 8,623.50 元")]),
    ("reply_fact", {"fact": "bill_due_date"}, [SAY(1, 20, "请在12月15日前还款")], [SAY(1, 20, "请在12月16日前还款")]),
    ("said_any", {"phrases": ["利息"], "after_op": "lookup.bill"},
     [ev(1, 5, "lookup.bill", allowed=True), SAY(2, 8, "会产生利息")], [SAY(1, 3, "会产生利息"), ev(2, 5, "lookup.bill")]),
    ("article", {"articles": ["CC-001"]}, [ev(1, 5, "kb.open", article="CC-001")], [ev(1, 5, "kb.open", article="CC-002")]),
    ("workorder", {"expect": {"type": "投诉", "queue": "运营网点"}},
     [ev(1, 5, "workorder.created", type="投诉", queue="运营网点", priority="高")],
     [ev(1, 5, "workorder.created", type="咨询", queue="运营网点")]),
    ("handoff", {"queue": "人工坐席", "summary_mentions": ["intent", "verification_status"]},
     [ev(1, 5, "handoff", queue="人工坐席", summary={"intent": "账单", "verification_status": "已核验"})],
     [ev(1, 5, "handoff", queue="人工坐席", summary={"intent": "账单", "verification_status": ""})]),
    ("greeting", {}, [SAY(1, 2, "您好，很高兴为您服务")], [SAY(1, 2, "请说")]),
    ("closing", {}, [SAY(1, 2, "请问还有其他可以帮您的吗？")], [SAY(1, 2, "再见")]),
    ("empathy_first", {}, [SAY(1, 2, "非常理解您的着急"), ev(2, 5, "lookup.cards", allowed=True)],
     [ev(1, 2, "lookup.cards", allowed=True), SAY(2, 5, "非常理解您的着急")]),
    ("fault_handled", {"within": 60}, [ev(1, 10, "fault.started"), ev(2, 50, "handoff", queue="人工坐席")],
     [ev(1, 10, "fault.started"), ev(2, 90, "handoff", queue="人工坐席")]),
    ("compliance", {}, [SAY(1, 2, "您好")], [ev(1, 2, "compliance.flag", kind="promise", phrase="保证")]),
]


@pytest.mark.parametrize("type_,params,good,bad", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_check_type_passes_and_fails(type_, params, good, bad):
    assert run(type_, good, **params) is True
    assert run(type_, bad, **params) is False


def test_every_check_type_is_covered():
    assert {c[0] for c in CASES} == set(CHECKS)


def test_hard_fails_cap_the_score_and_explain_why():
    good = [SAY(1, 2, "您好"), ev(2, 5, "identity.verified"), ev(3, 6, "lookup.bill", allowed=True)]
    assert score_log(SPEC, [ev(0, 0, "contact.arrived")] + good, FACTS)["hard_fail"] is False
    for bad, kind in (
        (ev(9, 1, "lookup.cards", allowed=False, reason="identity_not_verified"), "lookup_before_verification"),
        (ev(9, 7, "compliance.flag", kind="pii", phrase="411111******1111"), "pii_in_reply"),
        (ev(9, 7, "compliance.flag", kind="asks_secret", phrase="请提供验证码"), "asked_for_secret"),
    ):
        report = score_log(SPEC, [ev(0, 0, "contact.arrived")] + good + [bad], FACTS)
        assert report["hard_fail"] is True and report["total"] <= HARD_FAIL_CAP
        assert report["hard_fails"][0]["kind"] == kind and report["hard_fails"][0]["evidence"]["event_id"] == 9


def test_adjustments_change_the_final_score_but_not_the_auto_score():
    events = [ev(0, 0, "contact.arrived"), SAY(1, 2, "您好")]
    auto = score_log(SPEC, events, FACTS)
    adjusted = score_log(SPEC, events, FACTS, adjustments={"closing": {"points": 10, "comment": "口头确认过"}})
    assert adjusted["auto_total"] == auto["total"] and adjusted["total"] > auto["total"]
    row = next(c for c in adjusted["checks"] if c["id"] == "closing")
    assert row["auto_points"] == 0 and row["points"] == 10 and row["adjusted"]["comment"] == "口头确认过"
