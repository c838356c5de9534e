"""Compliance of what an agent writes: the one list of rules, used live (hints, the drill's
flags, the examiner's board) and in scoring.

Findings come from what a clause *does* (its dialogue act, read by ``sandbox.dialogue``),
not from which words it contains: "这款产品不保本" is a disclosure and "这款产品保本" a
promise; "请勿透露验证码" is advice and "请把验证码念一下" a violation. Kinds:

- ``promise``: a guarantee of returns, principal, a refund, compensation or an outcome;
- ``asks_secret``: asking the customer for a password or a code, in any wording;
- ``pii``: a full card, ID or mobile number in clear, in any spelling (spaces, dashes,
  full-width digits, Chinese numerals; ``sandbox.bank.masking`` decides);
- ``blame`` and ``rude``: shifting blame, arguing, contempt, impatience;
- ``wrong_claim``: a statement that contradicts a banking rule (``dialogue.claims``);
- ``jargon``: a term from ``JARGON_TERMS`` used in a sentence that does not explain it,
  when it was not explained earlier (a menu path such as "信用卡—分期—账单分期" names a
  button, not a concept, and is not jargon).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from sandbox.bank.masking import find_clear_pii
from sandbox.dialogue.acts import act_label
from sandbox.dialogue.claims import Proposition, forbidden_for, wrong_propositions
from sandbox.dialogue.reader import Reading, read_message
from sandbox.dialogue.text import normalise, sentences

PROMISE = "promise"
BLAME = "blame"
RUDE = "rude"
JARGON = "jargon"
PII = "pii"
ASKS_SECRET = "asks_secret"
WRONG_CLAIM = "wrong_claim"

KIND_LABELS = {
    PROMISE: "承诺性用语",
    BLAME: "推诿或争辩",
    RUDE: "态度生硬或不礼貌",
    JARGON: "未解释的专业术语",
    PII: "明文客户信息",
    ASKS_SECRET: "索要密码或验证码",
    WRONG_CLAIM: "与业务规则不符的说法",
}
# Kinds that fail a drill outright.
HARD_FAIL_KINDS = (PII, ASKS_SECRET, PROMISE)

JARGON_TERMS: dict[str, str] = {
    "挂失止付": "先临时冻结这张卡，别人就用不了卡里的钱",
    "久悬户": "长期没有使用、被暂停的账户",
    "久悬": "长期没有使用、被暂停的账户",
    "业绩比较基准": "银行参考的收益目标，不代表一定能拿到的收益",
    "宽限期": "到期后还能免罚息还款的几天",
    "最低还款额": "这个月至少要还的钱",
    "账单分期": "把这期账单分成几个月还，每月另收手续费",
    "溢缴款": "多还进信用卡里的钱",
    "司法冻结": "法院等机关要求冻结账户",
    "风险承受能力": "您能接受亏损的程度",
    "持有期": "买入后要放满的天数，期间不能取出",
    "t+1": "下一个工作日",
    "止付": "暂停卡或账户的付款",
}
_EXPLAIN_MARKERS = ("也就是", "就是", "意思是", "指的是", "简单说", "简单来说", "通俗地说", "通俗点说", "即", "是指", "说白了",
                    "（", "(", "相当于", "换句话说", ",是", "，是", "说的是", "是说")
# "这个数叫最低还款额" names the thing first, then the term.
_NAMED_BEFORE = ("叫", "称为", "叫做", "也就是")
# A menu path: terms joined by dashes, arrows or "点…再点".
_MENU_PATH = re.compile(r"[\w\u4e00-\u9fff]+(?:\s*(?:[—–\-]{1,2}|->|→|>|/)\s*[\w\u4e00-\u9fff]+){1,5}")

_MESSAGES = {
    PROMISE: "不能承诺收益、保本、退款、赔偿或办理结果，可改为“以实际审核结果为准”“我们会尽力为您争取”。",
    ASKS_SECRET: "任何情况下都不能向客户索要密码或验证码；需要验证时请客户在自己的手机或银行渠道内操作。",
    BLAME: "不要推诿或与客户争辩：先表达理解，再说明可以怎么做。",
    RUDE: "语气生硬或不礼貌，请耐心、尊重地回应客户。",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    phrase: str
    message: str
    suggestion: str = ""
    clause: str = ""
    read_as: str = ""
    severity: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


# What was said around a message (the agent's earlier words, the customer's): the words, or a
# function that gives them when a check needs them. Only a message that uses a term needs
# them, and reading a conversation costs a query.
Said = str | Callable[[], str]


def _words(said: Said) -> str:
    return said() if callable(said) else said


def _jargon(reading: Reading, earlier: Said, heard: Said = "") -> list[Finding]:
    text = normalise(reading.text)
    # What was said before is normalised only when a term needs it: ``earlier`` grows with the
    # conversation and is new text on every post (no cache holds it).
    earlier_norm: str | None = None
    heard_norm: str | None = None
    menu_spans = [m.span() for m in _MENU_PATH.finditer(text) if re.search(r"[—–\-]|->|→|>", m.group())]
    out: list[Finding] = []
    for term, plain in JARGON_TERMS.items():
        if term not in text:
            continue  # most messages hold none of the terms: no pattern is looked up for them
        for m in re.finditer(re.escape(term), text):
            if any(s <= m.start() < e for s, e in menu_spans):
                continue
            if any(term != other and term in other and other in text for other in JARGON_TERMS):
                break  # the longer term is judged instead
            if term == "持有期" and re.search(r"\d+天持有期", text):
                break  # part of a product's name
            if heard_norm is None:
                heard_norm = normalise(_words(heard))
            if term in heard_norm:
                break  # the customer's own word
            if _explains(term, plain, text):
                break
            if earlier_norm is None:
                earlier_norm = normalise(_words(earlier))
            if _explains(term, plain, earlier_norm):
                break
            sentence = next((x for x in sentences(text) if term in x), text)
            out.append(Finding(JARGON, term, f"“{term}”是专业术语，请用通俗的话解释。", f"可以说：{plain}", sentence))
            break
    return out


def _explains(term: str, plain: str, text: str) -> bool:
    idx = text.find(term)
    while idx >= 0:
        if any(text[max(0, idx - len(m)):idx] == m for m in _NAMED_BEFORE):
            return True
        after = text[idx + len(term): idx + len(term) + 14]
        if any(marker in after for marker in _EXPLAIN_MARKERS):
            return True
        idx = text.find(term, idx + 1)
    return normalise(plain)[:4] in text


def findings_for(reading: Reading, earlier: Said = "", forbidden: Sequence[Proposition] = (),
                 heard: Said = "") -> list[Finding]:
    """Every compliance problem of one read message; ``heard`` is what the customer said (a
    term the customer used first needs no explanation). ``earlier`` and ``heard`` may be
    functions, called only when a term in the message needs them."""
    findings: list[Finding] = []
    for clause in reading.clauses:
        if clause.act == "promise":
            findings.append(Finding(PROMISE, clause.text, _MESSAGES[PROMISE], clause=clause.text, read_as=clause.label))
        elif clause.act == "ask_secret":
            findings.append(Finding(ASKS_SECRET, clause.text, _MESSAGES[ASKS_SECRET], clause=clause.text,
                                    read_as=clause.label))
        elif clause.act in (BLAME, RUDE):
            findings.append(Finding(clause.act, clause.text, _MESSAGES[clause.act], clause=clause.text,
                                    read_as=clause.label))
    seen: set[str] = set()
    for kind, masked in find_clear_pii(reading.text) + find_clear_pii(normalise(reading.text)):
        if masked in seen:
            continue
        seen.add(masked)
        label = {"card": "卡号", "id_number": "身份证号", "phone": "手机号"}.get(kind, "客户信息")
        findings.append(Finding(PII, masked, f"回复中出现了完整的{label}（{masked}），只能使用脱敏信息。",
                                read_as=KIND_LABELS[PII]))
    for prop, sentence in wrong_propositions(reading.text, list(forbidden) or forbidden_for()):
        findings.append(Finding(WRONG_CLAIM, sentence, f"说法与业务规则不符：{prop.note or prop.text}。",
                                clause=sentence, read_as=f"陈述“{prop.text}”", severity=prop.severity))
    findings.extend(_jargon(reading, earlier, heard))
    return findings


@lru_cache(maxsize=4096)
def _cached_reading(text: str) -> Reading:
    return read_message(text)


def read(text: str) -> Reading:
    """The reading of a message (cached by text: readings are pure functions of it)."""
    return _cached_reading(text or "")


def check_text(text: str, earlier: Said = "", forbidden: Sequence[Proposition] = ()) -> list[Finding]:
    """Every compliance problem in one agent message.

    ``earlier`` is what the agent already said in this conversation (or a function giving it
    when needed): a term explained there need not be explained again."""
    return findings_for(read(text or ""), earlier, forbidden)


def is_hard_fail(finding: Finding | dict[str, Any]) -> bool:
    """Findings that fail a drill outright (PII in clear, asking for a secret, a promise)."""
    data = finding.to_dict() if isinstance(finding, Finding) else finding
    return data.get("kind") in HARD_FAIL_KINDS or (data.get("kind") == WRONG_CLAIM and data.get("severity") == "hard")


def describe(kind: str) -> str:
    """The Chinese label of a finding's kind."""
    return KIND_LABELS.get(kind, act_label(kind))
