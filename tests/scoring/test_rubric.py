"""Every check type passes and fails on hand-made event logs; hard fails cap the score."""

from __future__ import annotations

import pytest

from sandbox.drill.scenario.files import seeded_scenarios_dir
from sandbox.drill.scenario.model import Check
from sandbox.drill.scenario.parse import parse_scenario
from sandbox.scoring.rubric import CHECKS, HARD_FAIL_CAP, Ev, Log, score_log

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
    the_log = log(*events)
    # Needs are judged before closing and answered, as score_log does.
    for need in SPEC.checks:
        if need.type in ("reply_fact", "claim"):
            CHECKS[need.type](the_log, need)
    return CHECKS[type_](the_log, check(type_, **params)).passed


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
     [ev(1, 4, "identity.verified"),
      ev(2, 5, "handoff", queue="人工坐席", summary={"intent": "查询账单", "verification_status": "已核验"})],
     [ev(1, 5, "handoff", queue="人工坐席", summary={"intent": "查询账单", "verification_status": "已核验"})]),
    ("handoff", {"summary_mentions": ["intent", "mood"]},
     [ev(1, 3, "message.customer", mood=-4, text="我要投诉！"), ev(2, 5, "handoff", queue="人工坐席",
                                                                 summary={"intent": "投诉扣费", "mood": "愤怒"})],
     [ev(1, 3, "message.customer", mood=-4, text="我要投诉！"), ev(2, 5, "handoff", queue="人工坐席",
                                                                 summary={"intent": "x", "mood": "平静"})]),
    ("greeting", {}, [SAY(1, 2, "您好，很高兴为您服务")], [SAY(1, 2, "请说")]),
    ("closing", {}, [SAY(1, 2, "您本期账单金额是8632.50元。"), SAY(2, 4, "您还有别的问题吗？")],
     [SAY(1, 2, "请问还有其他可以帮您的吗？"), SAY(2, 4, "您本期账单金额是8632.50元。")]),
    ("empathy_first", {}, [SAY(1, 2, "非常理解您的着急"), ev(2, 5, "lookup.cards", allowed=True)],
     [ev(1, 2, "lookup.cards", allowed=True), SAY(2, 5, "非常理解您的着急")]),
    ("fault_handled", {"within": 60}, [ev(1, 10, "fault.started"), ev(2, 50, "handoff", queue="人工坐席")],
     [ev(1, 10, "fault.started"), ev(2, 90, "handoff", queue="人工坐席")]),
    ("compliance", {}, [SAY(1, 2, "您好")], [SAY(1, 2, "您好，这款产品保本，放心买")]),
    ("claim", {"claim": {"text": "只还最低还款额会产生利息", "groups": [["最低"], ["利息", "计息", "免息"]]}},
     [SAY(1, 2, "如果只还最低的，剩下没还的钱要按天算利息。")], [SAY(1, 2, "只还最低的话，剩下的部分同样免息。")]),
    ("act", {"acts": ["risk_disclosure"], "about": ["产品", "理财"]},
     [SAY(1, 2, "这款理财产品不保本，收益会有波动。")], [SAY(1, 2, "这款理财产品起购金额是1万元。")]),
    ("tone", {}, [SAY(1, 2, "别着急，我来帮您查。")], [SAY(1, 2, "这都不懂？自己看App去。")]),
    ("answered", {}, [SAY(1, 2, "您本期账单8632.50元，最低还款额863.25元，到期还款日12月15日。"),
                      SAY(2, 3, "只还最低还款额的话，剩余部分不享受免息，要按日计息。"),
                      SAY(3, 4, "您可以在手机银行App里还款，也可以设置自动还款。")],
     [SAY(1, 2, "您本期账单8632.50元。")]),
    ("mood", {"min": 0}, [SAY(1, 2, "您好"), ev(2, 3, "message.customer", mood=1, text="谢谢")],
     [SAY(1, 2, "您好"), ev(2, 3, "message.customer", mood=-2, text="你们怎么回事")]),
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
        (SAY(9, 7, "您的卡号是9900 0217 4985 3816"), "pii_in_reply"),
        (SAY(9, 7, "麻烦把短信里的六位数字念给我"), "asked_for_secret"),
        (SAY(9, 7, "这600元年费我直接给您退回来"), "promise"),
    ):
        report = score_log(SPEC, [ev(0, 0, "contact.arrived")] + good + [bad], FACTS)
        assert report["hard_fail"] is True and report["total"] <= HARD_FAIL_CAP
        assert report["hard_fails"][0]["kind"] == kind and report["hard_fails"][0]["evidence"]["event_id"] == 9


def test_adjustments_change_the_final_score_but_not_the_auto_score():
    events = [ev(0, 0, "contact.arrived"), SAY(1, 2, "您好"), SAY(2, 5, "您本期账单金额是8632.50元，最低还款额863.25元。")]
    auto = score_log(SPEC, events, FACTS)
    full = next(c for c in SPEC.checks if c.id == "closing").points
    adjusted = score_log(SPEC, events, FACTS, adjustments={"closing": {"points": full, "comment": "口头确认过"}})
    assert adjusted["auto_total"] == auto["total"] and adjusted["total"] > auto["total"]
    row = next(c for c in adjusted["checks"] if c["id"] == "closing")
    assert row["auto_points"] == 0 and row["points"] == full and row["adjusted"]["comment"] == "口头确认过"
