"""Negation, questions and reported speech read the way a person reads them.

Each row is a sentence an agent might say, a concept (a key point and its opposite, the same
concept groups in both polarities) and what the sentence does with it:

- ``stated``: the agent commits to the point (its key point is covered, the opposite is not);
- ``negated``: the agent says the opposite (the opposite, as a forbidden claim, is found);
- ``nothing``: neither (a question, an embedded question, someone else's words).

Conventions decided here (and documented in ``sandbox/dialogue/rules.py``): a warning about
the opposite ("不核验身份就查询是不行的") commits to the point; what the customer or a fraudster
said ("客户说不用核验") commits the agent to nothing; a tag question after a statement
("我先核实您的身份，可以吗？") leaves the statement standing; a conditional antecedent keeps its
own polarity unless what follows it says the opposite is bad.
"""

from __future__ import annotations

import pytest

from sandbox.dialogue.claims import Proposition, match_proposition, wrong_propositions
from sandbox.dialogue.keypoints import cover, parse_key_points
from sandbox.dialogue.rules import negation_parity

# concept -> (the point as a claim text, its opposite, concept groups; the last is the predicate)
CONCEPTS: dict[str, tuple[str, str, list[list[str]]]] = {
    "verify": ("要先核验身份", "不用核验身份", [["身份", "本人"], ["核验", "核实", "验证"]]),
    "ask_code": ("要求客户提供验证码", "不会要求客户提供验证码",
                 [["验证码", "密码", "动态码"], ["要求", "索要", "提供", "告诉", "报"]]),
    "branch": ("要去网点办理", "不用去网点", [["网点", "柜台"], ["去", "跑", "到"]]),
    "report_loss": ("可以挂失", "挂失不了", [["挂失"]]),
    "contact": ("联系客户", "联系不上客户", [["联系"]]),
    "find": ("查到交易记录", "查不到交易记录", [["记录", "交易", "流水"], ["查"]]),
    "freeze": ("冻结账户", "不冻结账户", [["账户", "卡"], ["冻结"]]),
    "submit": ("提交申请", "不提交申请", [["申请"], ["提交"]]),
    "important": ("核验身份很重要", "核验身份不重要", [["核验", "核实"], ["重要"]]),
    "fee": ("收手续费", "不收手续费", [["手续费", "年费", "费用"], ["收"]]),
    "leak": ("泄露客户信息", "不泄露客户信息", [["信息"], ["泄露", "透露"]]),
    "remind": ("提醒客户注意风险", "不提醒风险", [["风险"], ["提醒"]]),
    "recover": ("钱能追回", "钱追不回来", [["钱", "资金", "款"], ["追回", "追", "找回"]]),
}

CASES: list[tuple[str, str, str]] = [
    # plain statements and plain negation (controls)
    ("我会先核验您的身份", "verify", "stated"),
    ("我们需要先核实一下您的身份", "verify", "stated"),
    ("这种情况不用核验身份，直接查就行", "verify", "negated"),
    ("我们这边不需要再核实您的身份了", "verify", "negated"),
    ("我没法核实您的身份", "verify", "negated"),
    ("系统暂时无法核验身份", "verify", "negated"),
    ("请您提供一下手机收到的验证码", "ask_code", "stated"),
    ("我会尽快联系您", "contact", "stated"),
    ("我帮您查一下交易记录", "find", "stated"),
    ("这笔转账不收手续费", "fee", "negated"),
    ("这笔转账要收取一定的手续费", "fee", "stated"),
    ("这笔转账免收手续费", "fee", "negated"),
    # a negator far before its verb, in the same clause
    ("我们这边是不会在任何情况下要求您提供验证码的", "ask_code", "negated"),
    ("您放心，我们银行的工作人员在任何时候都不会主动向您索要短信验证码", "ask_code", "negated"),
    ("银行工作人员绝不会向您索要验证码", "ask_code", "negated"),
    ("验证码千万不要告诉任何人", "ask_code", "negated"),
    ("我们并不会要求您提供密码", "ask_code", "negated"),
    ("请勿将验证码告诉他人", "ask_code", "negated"),
    ("不需要您先去网点办理任何手续就能挂失", "branch", "negated"),
    ("不需要您先去网点办理任何手续就能挂失", "report_loss", "stated"),
    ("您不用跑网点，电话里就能办", "branch", "negated"),
    ("无需去网点，手机银行上就能办", "branch", "negated"),
    ("临时挂失之后，您还需要去网点办理正式挂失", "branch", "stated"),
    # 非常 / 除非 / 非得 / 并非 / 绝非
    ("核验身份非常重要，一步都不能省", "important", "stated"),
    ("核验身份并不重要", "important", "negated"),
    ("除非先核验身份，否则没法查询", "verify", "stated"),
    ("除非消费满六次，否则会收年费", "fee", "stated"),
    ("这个业务非得去网点办理", "branch", "stated"),
    ("并非所有业务都要核验身份", "verify", "negated"),
    ("并非一定要去网点", "branch", "negated"),
    ("非本人不能办理挂失", "report_loss", "negated"),
    ("无卡也能办理挂失", "report_loss", "stated"),
    # negative purpose: 避免 / 以免 / 防止 negate their own object, not the next verb
    ("为避免风险，我先核验一下您的身份", "verify", "stated"),
    ("为避免风险先核验一下您的身份", "verify", "stated"),
    ("以免被人冒充，需要先核实您的身份", "verify", "stated"),
    ("为防止资金被盗用，我先帮您冻结账户", "freeze", "stated"),
    ("为防止资金被盗用马上冻结账户", "freeze", "stated"),
    ("要避免泄露客户信息", "leak", "negated"),
    ("您的信息可能已经泄露了", "leak", "stated"),
    # potential complements: X不了 / X不上 / X不到 negate X, not the next verb
    ("现在系统故障，暂时挂失不了", "report_loss", "negated"),
    ("一直联系不上客户", "contact", "negated"),
    ("联系不上客户会冻结账户", "freeze", "stated"),
    ("系统里查不到这笔交易记录", "find", "negated"),
    ("查不到记录需要重新提交申请", "submit", "stated"),
    ("被骗的钱恐怕追不回来了", "recover", "negated"),
    ("挂失不到一分钟就能办好", "report_loss", "stated"),
    # double negatives
    ("我们不得不先核验您的身份", "verify", "stated"),
    ("不能不核验身份就直接查询", "verify", "stated"),
    ("没有哪项业务不需要核验身份", "verify", "stated"),
    ("我们不能不提醒您注意风险", "remind", "stated"),
    ("不得不说，先挂失是最稳妥的", "report_loss", "stated"),
    # fixed words that only look negative
    ("不好意思需要先核验一下您的身份", "verify", "stated"),
    ("没问题我马上帮您挂失", "report_loss", "stated"),
    ("不管什么情况都要先核验身份", "verify", "stated"),
    ("毫无疑问要先核验身份", "verify", "stated"),
    ("不仅要核验身份，还要核对交易", "verify", "stated"),
    ("身份核验是少不了的", "verify", "stated"),
    ("没有核验身份之前不能告诉您余额", "verify", "stated"),
    ("未核实身份前不能办理", "verify", "stated"),
    # the negation of a different predicate in the same clause
    ("不用担心，我马上为您核验身份", "verify", "stated"),
    ("不用担心我马上为您核验身份", "verify", "stated"),
    ("别着急，先核验一下身份就好", "verify", "stated"),
    ("不是我们不帮您，而是需要先核验身份", "verify", "stated"),
    ("我不太清楚具体流程但会先帮您核实身份", "verify", "stated"),
    ("不要相信陌生来电要先核实对方身份", "verify", "stated"),
    ("先别挂失，等我核实一下", "report_loss", "negated"),
    ("先不要急着挂失", "report_loss", "negated"),
    # questions and embedded questions state nothing; a tag question leaves the statement
    ("您问问能不能先核验身份", "verify", "nothing"),
    ("是不是要先核验身份呢", "verify", "nothing"),
    ("要不要先核验一下身份？", "verify", "nothing"),
    ("是否需要先核验身份？", "verify", "nothing"),
    ("为什么要先核验身份？", "verify", "nothing"),
    ("先核验身份？", "verify", "nothing"),
    ("请问您需要挂失吗", "report_loss", "nothing"),
    ("您确定要挂失吗？", "report_loss", "nothing"),
    ("挂失能不能电话办？", "report_loss", "nothing"),
    ("能不能挂失要看核验结果", "report_loss", "nothing"),
    ("我会先核实您的身份，可以吗？", "verify", "stated"),
    ("我先核实一下您的身份好吗", "verify", "stated"),
    ("我这就帮您挂失，您看行吗？", "report_loss", "stated"),
    ("先帮您挂失，好不好？", "report_loss", "stated"),
    ("我会核实是否为本人操作", "verify", "stated"),
    # conditionals: a warning about the opposite commits to the point
    ("如果不核验身份就查询，会泄露客户信息", "verify", "stated"),
    ("不核验身份就查询是不行的", "verify", "stated"),
    ("不核实身份的话，我没法告诉您余额", "verify", "stated"),
    ("要是没核实身份就告诉您余额，那是违规的", "verify", "stated"),
    ("如果不及时挂失，卡里的钱可能被盗刷", "report_loss", "stated"),
    ("如果不挂失也没关系", "report_loss", "negated"),
    ("核验身份之前不能查询账户", "verify", "stated"),
    ("身份核实通过之后才能查询", "verify", "stated"),
    # reported speech commits the agent to nothing
    ("客户说不用核验身份", "verify", "nothing"),
    ("虽然客户说不用核验，我还是会先核验身份", "verify", "stated"),
    ("骗子说不用去网点也能解冻", "branch", "nothing"),
    ("您刚才说不需要挂失", "report_loss", "nothing"),
    ("您说得对，确实需要先核验身份", "verify", "stated"),
]


def _props(concept: str) -> tuple[Proposition, Proposition]:
    point, opposite, groups = CONCEPTS[concept]
    g = tuple(tuple(x) for x in groups)
    return Proposition(f"{concept}-pos", point, g), Proposition(f"{concept}-neg", opposite, g)


def test_the_table_is_large_and_each_concept_reads_its_own_polarity():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) >= 60
    for concept in CONCEPTS:
        pos, neg = _props(concept)
        assert pos.polarity == 0 and neg.polarity == 1, concept


@pytest.mark.parametrize("sentence,concept,expected", CASES, ids=[f"{c}:{s}" for s, c, _ in CASES])
def test_a_sentence_states_negates_or_says_nothing(sentence, concept, expected):
    pos, neg = _props(concept)
    stated = match_proposition(sentence, pos, assertions_only=True) is not None
    negated = match_proposition(sentence, neg, assertions_only=True) is not None
    got = "stated" if stated and not negated else "negated" if negated and not stated else \
        "nothing" if not stated and not negated else "both"
    assert got == expected
    # The key points of a 追问 answer read it the same way ...
    points = parse_key_points([{"id": "p", "text": pos.text, "claim": {"text": pos.text, "groups": list(
        map(list, pos.groups))}}])
    assert cover(sentence, points)[0].covered is (expected == "stated")
    # ... and so does the scorer's list of forbidden claims (the opposite stated is a wrong claim).
    assert bool(wrong_propositions(sentence, [neg])) is (expected == "negated")


@pytest.mark.parametrize("clause,word,odd", [
    ("我们这边是不会在任何情况下要求您提供验证码", "要求", 1),
    ("非常重要", "重要", 0),
    ("为避免风险先核验身份", "核验", 0),
    ("恢复不了就只能补办", "补办", 0),
    ("恢复不了就只能补办", "恢复", 1),
    ("不得不核验", "核验", 0),
    ("绝非保本", "保本", 1),
])
def test_negation_parity_at_the_word(clause, word, odd):
    start = clause.index(word)
    assert negation_parity(clause, start, start + len(word)) == odd
