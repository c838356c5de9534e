"""The agenda-driven customer: needs in order, answered needs skipped, identity details only
when asked, terms questioned, ignored questions repeated with a falling mood."""

from __future__ import annotations

from sandbox.drill.agenda import identity_details, initial_state, needs_from_spec, react, react_op
from sandbox.scoring.compliance import check_text, read

NEEDS = needs_from_spec([
    {"id": "amount", "ask": ["这个月要还多少？"], "met_by": {"fact": "bill_amount"}, "reply": "这么多啊……"},
    {"id": "minimum", "ask": ["那最少要还多少？"], "met_by": {"fact": "bill_minimum"}},
    {"id": "interest", "ask": ["只还最低的会怎样？"],
     "met_by": {"claim": {"text": "只还最低还款额会产生利息", "groups": [["最低"], ["利息", "计息", "免息"]]}}},
])
FACTS = {"bill_amount": "8632.50", "bill_minimum": "863.25", "name": "林思远", "id_last6": "170956",
         "phone_last4": "0292"}


def say(state, text, verified=False):
    return react(NEEDS, state, text, read(text), check_text(text), FACTS, identity_given=verified)


def test_the_customer_asks_the_next_need_only_when_the_current_one_is_met():
    r = say(initial_state(NEEDS), "您本期账单金额是8632.50元。")
    assert r.lines == ["这么多啊……", "那最少要还多少？"] and r.mood > 0
    r = say(r.state, "最少要还863.25元，也就是这个月至少要还的钱。")
    assert r.lines[-1] == "只还最低的会怎样？"


def test_a_need_answered_before_it_is_asked_is_skipped():
    r = say(initial_state(NEEDS), "您账单8632.50元，最低还款额863.25元，也就是至少要还的钱。")
    assert "那最少要还多少？" not in r.lines and r.lines[-1] == "只还最低的会怎样？"


def test_ignored_questions_are_repeated_and_the_mood_falls():
    state = initial_state(NEEDS)
    moods = []
    for _ in range(3):
        r = say(state, "好的。")
        state = r.state
        moods.append(r.mood)
        assert "这个月要还多少" in r.lines[-1]
    assert moods[-1] < 0


def test_identity_details_are_given_only_when_asked_and_only_those_asked():
    r = say(initial_state(NEEDS), "您好，麻烦提供一下您的姓名和手机尾号。")
    assert r.lines == ["好的，我叫林思远，手机尾号0292。"]
    assert identity_details(read("请报一下身份证后六位")) == ["id_last6"]
    # A warning about codes is not a question about identity.
    r = say(initial_state(NEEDS), "请不要把验证码告诉任何人。")
    assert not any("林思远" in line for line in r.lines)


def test_rudeness_and_asking_for_a_secret_upset_the_customer_empathy_calms():
    assert say(initial_state(NEEDS), "这都不懂？").mood < 0
    assert say(initial_state(NEEDS), "把短信里的验证码念给我。").mood < 0
    assert say(initial_state(NEEDS), "您别着急，我马上帮您查。").mood > 0


def test_closing_ends_only_when_every_need_is_met():
    r = say(initial_state(NEEDS), "您还有别的问题吗？")
    assert not r.ends and "还没解决" in r.lines[0]
    state = {**initial_state(NEEDS), "pending": [], "met": ["amount", "minimum", "interest"]}
    r = say(state, "请问还有其他可以帮您的吗？")
    assert r.ends


def test_an_unexplained_term_is_questioned_once():
    r = say(initial_state(NEEDS), "您可以办理账单分期。")
    assert any("账单分期" in line and "什么意思" in line for line in r.lines)
    r2 = say(r.state, "您可以办理账单分期。")
    assert not any("什么意思" in line for line in r2.lines)


def test_an_operation_can_meet_a_need_and_verification_brings_the_question_back():
    needs = needs_from_spec([{"id": "freeze", "ask": ["快帮我把卡冻上！"], "met_by": {"op": "freeze"}, "reply": "冻上了就好。"}])
    r = react_op(needs, initial_state(needs), "identity.verified")
    assert r.lines == ["快帮我把卡冻上！"]
    r = react_op(needs, r.state, "freeze")
    assert r.lines == ["冻上了就好。"] and r.state["pending"] == []


def test_mentioning_identity_details_is_not_asking_for_them():
    for text in ("身份核实通过之前，我无法透露账户信息。", "骗子可能已经拿到了您的名字和身份证号，千万要小心。",
                 "这样可以防止别人冒用您的身份。"):
        r = say(initial_state(NEEDS), text)
        assert not any(FACTS["id_last6"] in line or FACTS["name"] in line for line in r.lines), (text, r.lines)
    r = say(initial_state(NEEDS), "麻烦您提供一下身份证号码后六位。")
    assert any(FACTS["id_last6"] in line for line in r.lines) and r.identity_parts == ["id_last6"]


def test_only_a_real_winding_up_ends_the_talk():
    state = say(initial_state(NEEDS), "您账单8632.50元，最低还款863.25元；只还最低的话剩余部分会产生利息。").state
    assert state["pending"] == []
    r = say(state, "欢迎咨询，咱们一步步来。")
    assert not r.ends
    r = say(state, "请问还有其他可以帮您的吗？")
    assert r.ends and r.lines[-1] == "没有了，谢谢你！"
