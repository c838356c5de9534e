"""The compliance rules: each forbidden phrase is caught; its polite neighbours pass."""

from __future__ import annotations

import pytest

from sandbox.scoring.compliance import ASKS_SECRET, BLAME, JARGON, PII, PROMISE, RUDE, WRONG_CLAIM, check_text

CAUGHT = [
    ("我保证明天之前到账。", PROMISE), ("这笔钱一定能退回来。", PROMISE), ("放心，肯定没问题。", PROMISE),
    ("这个产品绝对安全。", PROMISE), ("百分之百能批下来。", PROMISE), ("收益100%有保障", PROMISE),
    ("这款理财稳赚不赔。", PROMISE), ("这个产品保本的。", PROMISE), ("零风险，您放心买。", PROMISE),
    ("这是您自己的问题。", BLAME), ("这不归我们管。", BLAME), ("这是商户的问题，跟我们没关系。", BLAME), ("您听不懂吗？", RUDE),
    ("这是您自己操作失误造成的。", BLAME), ("您的账户是久悬户。", JARGON), ("已为您办理挂失止付。", JARGON),
    ("业绩比较基准是2.6%。", JARGON), ("还有三天宽限期。", JARGON),
    ("请提供您的短信验证码。", ASKS_SECRET), ("系统刚发了一条6位动态码，麻烦您把它回复到对话框里", ASKS_SECRET),
    ("麻烦您报一下卡片密码。", ASKS_SECRET), ("告诉我卡背面的三位数字", ASKS_SECRET),
    ("您的卡号是4111111111111111吗", PII), ("卡号9900 0217 4985 3816", PII), ("１８７８０３５０２９２", PII),
    ("您这张卡的取款密码是多少？", ASKS_SECRET), ("请把验证码念一下", ASKS_SECRET),
    ("这600元年费我直接给您退回来", PROMISE), ("本金也不会亏", PROMISE), ("损失银行也会全额赔给您", PROMISE),
    ("临时挂失是长期有效的", WRONG_CLAIM), ("分期没有任何手续费", WRONG_CLAIM), ("这都不懂？", RUDE),
    ("身份证号11010519491231002X已登记", PII), ("手机13812345678收到了吗", PII),
]
POLITE = [
    "开户需要缴纳保证金吗？我帮您查一下。", "这款产品不保本，请您留意风险。", "请您一定保管好银行卡和密码。",
    "本行工作人员不会索要您的密码和验证码。", "请勿向任何人透露验证码。", "请您自己在App里输入密码完成转账。",
    "您的账户是久悬户，也就是长期没有使用被暂停的账户。", "稳盈30天持有期是R2级产品。",
    "我们会尽力在15日内给您答复，以实际处理结果为准。", "您的卡号尾号1234，手机号138****5678。",
    "非常理解您的心情，我马上为您查询。", "这款产品不是保本的，收益会有波动。", "您绝对不要把验证码告诉别人。",
    "先别慌，我帮您看看。", "实在不好意思，让您久等了。", "董阿姨好！", "您还有别的问题吗？",
    "您在手机银行点信用卡—分期—账单分期就能办理。", "临时挂失一般只管5天，之后要去网点办正式挂失。",
    "请您在手机银行里自己输入收到的验证码。", "验证码已发到您手机，请在App里自己填写。",
    "鉴于您已将短信验证码告知对方，请立即修改密码。",
    "麻烦您跟我说一下您的名字、身份证最后六位数。", "您这笔应该没问题的话，系统会自动入账。",
]


@pytest.mark.parametrize("text,kind", CAUGHT)
def test_forbidden_phrases_are_caught(text, kind):
    assert kind in {f.kind for f in check_text(text)}, text


@pytest.mark.parametrize("text", POLITE)
def test_polite_neighbours_pass(text):
    assert [f.kind for f in check_text(text) if f.kind != JARGON] == [], text


def test_a_finding_names_the_clause_and_what_it_was_read_as():
    finding = next(f for f in check_text("您好。麻烦把短信里那串数字报给我。") if f.kind == ASKS_SECRET)
    assert "数字" in finding.clause and finding.read_as == "索要密码或验证码"


def test_a_term_explained_earlier_need_not_be_explained_again():
    earlier = "账单分期就是把这期账单分成几个月还。"
    assert check_text("那我帮您办理账单分期。", earlier) == []
    assert [f.kind for f in check_text("那我帮您办理账单分期。")] == [JARGON]


def test_findings_never_repeat_the_clear_number():
    finding = next(f for f in check_text("卡号4111111111111111") if f.kind == PII)
    assert "4111111111111111" not in finding.phrase + finding.message


def test_a_list_of_amounts_and_a_date_is_not_a_card_number():
    for text in ("本期账单1633.20、最低还款163.32、到期日2026-12-05。", "金额1633.20、163.32元",
                 "应还 8632.50 / 863.25 元"):
        assert not [f for f in check_text(text) if f.kind == "pii"], text
    assert [f for f in check_text("您的卡号是6222.0212.3456.7890.123") if f.kind == "pii"]
