"""Compliance rules for what an agent writes: the one list, used live (hints) and in scoring.

Each finding names its kind, the phrase that triggered it, a Chinese explanation and
(for jargon) a plain-language suggestion. Polite neighbours are let through:
保证金 is not a promise, 不保本 is a required disclosure, 请勿透露验证码 is advice.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from sandbox.bank.masking import find_clear_pii

PROMISE = "promise"
BLAME = "blame"
JARGON = "jargon"
PII = "pii"
ASKS_SECRET = "asks_secret"

KIND_LABELS = {
    PROMISE: "承诺性用语",
    BLAME: "推诿或争辩",
    JARGON: "未解释的专业术语",
    PII: "明文客户信息",
    ASKS_SECRET: "索要密码或验证码",
}

# Forbidden promises, each with the neighbours that are not promises.
_PROMISES: list[tuple[str, str]] = [
    ("保证", r"保证(?!金)"),
    ("一定", r"(?<!不)一定(?!要|记得|注意|保管|及时|程度|的|期限|金额|比例)"),
    ("肯定没问题", r"肯定没问题"),
    ("肯定能", r"肯定(?:能|可以|会)"),
    ("绝对", r"绝对(?!值)"),
    ("百分之百", r"百分之百|100\s*[%％]"),
    ("稳赚", r"稳赚|稳赢|只赚不赔"),
    ("保本", r"(?<![不非])保本"),
    ("零风险", r"零风险|没有(?:任何)?风险|无风险"),
    ("包您满意", r"包(?:您|你)(?:满意|没事)"),
]
_BLAME: list[tuple[str, str]] = [
    ("这是您自己的问题", r"(?:是|都是)(?:您|你)自己的?(?:问题|原因|责任|错)"),
    ("不归我们管", r"不归(?:我们|我)管|不关(?:我们|我)的?事|跟(?:我们|我)没关系"),
    ("我也没办法", r"我也没(?:办法|辙)"),
    ("您听不懂吗", r"(?:您|你)(?:听不懂|没听明白|怎么还不明白)"),
    ("早就说过", r"早就(?:说|告诉)过"),
    ("您别激动", r"(?:您|你)(?:别|不要)(?:激动|吵|嚷)"),
]
# Jargon that must be explained in plain words when used with customers.
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
    "T+1": "下一个工作日",
    "止付": "暂停卡或账户的付款",
}
# Words that show a term was explained right there.
_EXPLAIN_MARKERS = ("也就是", "就是", "意思是", "指的是", "简单说", "通俗地说", "即", "是指", "（", "(")

_NEGATIONS = ("不会", "不要", "切勿", "请勿", "不需要", "无需", "不能", "千万别", "别", "不得", "绝不", "不可",
              "谨防", "不向", "不会向")
_SECRET_RE = re.compile(
    r"(?:请|麻烦|告诉|提供|报一下|报给|说一下|说出|念一下|发给|告知)[^。！？!?；;]{0,8}?"
    r"(?:(?:银行卡|卡|取款|交易|登录|支付|查询)?密码|(?:短信)?验证码|动态码|动态口令|cvv|cvv2|安全码|卡背面(?:的)?三位)",
    re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    kind: str
    phrase: str
    message: str
    suggestion: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _negated(text: str, start: int, end: int | None = None) -> bool:
    window = text[max(0, start - 8):end if end is not None else start]
    return any(n in window for n in _NEGATIONS)


def _explained(term: str, plain: str, text: str) -> bool:
    idx = text.find(term)
    while idx >= 0:
        after = text[idx + len(term): idx + len(term) + 12]
        if any(marker in after for marker in _EXPLAIN_MARKERS):
            return True
        idx = text.find(term, idx + 1)
    return plain[:4] in text


def check_text(text: str, earlier: str = "") -> list[Finding]:
    """Every compliance problem in one agent message.

    ``earlier`` is what the agent already said in this conversation: a term explained
    there need not be explained again.
    """
    text = text or ""
    findings: list[Finding] = []
    for label, pattern in _PROMISES:
        m = re.search(pattern, text)
        if m and not (label in ("绝对", "一定", "保证") and _negated(text, m.start())):
            findings.append(Finding(PROMISE, m.group(), f"避免使用“{m.group()}”等承诺性表述，可改为“我们会尽力”“以实际处理结果为准”。"))
    for label, pattern in _BLAME:
        m = re.search(pattern, text)
        if m:
            findings.append(Finding(BLAME, m.group(), "避免推诿或与客户争辩，先表达理解，再说明可以怎么做。"))
    for term, plain in JARGON_TERMS.items():
        idx = text.find(term)
        if idx < 0:
            continue
        if term == "持有期" and re.search(r"\d+天持有期", text):
            continue  # part of a product's name (稳盈30天持有期)
        if _explained(term, plain, text) or _explained(term, plain, earlier or ""):
            continue
        if any(term != other and term in other and other in text for other in JARGON_TERMS):
            continue  # the longer term is reported instead
        findings.append(Finding(JARGON, term, f"“{term}”是专业术语，请用通俗的话解释。", f"可以说：{plain}"))
    for kind, masked in find_clear_pii(text):
        label = {"card": "卡号", "id_number": "身份证号", "phone": "手机号"}[kind]
        findings.append(Finding(PII, masked, f"回复中出现了完整的{label}（{masked}），只能使用脱敏信息。"))
    for m in _SECRET_RE.finditer(text):
        if not _negated(text, m.start(), m.end()):
            findings.append(Finding(ASKS_SECRET, m.group(), "任何情况下都不能向客户索要密码或验证码。"))
            break
    return findings


def is_hard_fail(finding: Finding) -> bool:
    """Findings that fail a drill outright (PII in clear, asking for a secret)."""
    return finding.kind in (PII, ASKS_SECRET)
