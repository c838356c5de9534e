"""Claims: facts bound to their slot, and propositions matched with negation understood.

A fact is *stated* only when its value is bound to its slot in one clause: "本期账单8632.50元"
binds 8632.50 to 账单金额; a bare "8632.50" or a dump of numbers binds nothing. A value bound
to a slot that differs from the customer's fact is a *wrong claim*; two different values
bound to the same slot in one message are a hedge, also wrong.

A proposition ("只还最低还款额会产生利息") is a set of concept groups (each a list of
alternative words) that must all appear in one sentence, the last group being the predicate;
its polarity is the parity of negators before and inside the predicate in that clause
(``rules.negation_parity``), so "剩下的部分同样免息" and "不享受免息，要计息" read opposite ways.
Required propositions score explanations; forbidden ones (scenario-level, and the banking
truths in ``FORBIDDEN_CLAIMS`` that hold in every scenario) are wrong claims.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from sandbox.dialogue.rules import asserted_part, stance
from sandbox.dialogue.text import chinese_number, normalise, split_clauses

AMOUNT, DATE, LEVEL, TEXT = "amount", "date", "level", "text"

# slot -> (kind, cue words). The one table of how agents name each fact.
SLOTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bill_amount": (AMOUNT, ("本期账单金额", "账单金额", "本期账单", "账单总额", "本期应还", "应还金额", "应还款", "应还",
                             "账单", "全额还款", "全额", "总共要还", "一共要还", "总共", "一共", "欠款", "要还")),
    "bill_minimum": (AMOUNT, ("最低还款额", "最低还款", "最低应还", "最低要还", "最低", "最少还", "最少要还", "最少", "至少还",
                              "至少要还", "至少")),
    "bill_due_date": (DATE, ("到期还款日", "最后还款日", "还款日", "还款截止", "截止日", "截止", "到期日", "到期", "最晚",
                             "之前还", "前还", "以前还", "还款期限", "期限")),
    "balance": (AMOUNT, ("可用余额", "账户余额", "余额", "还剩", "剩下", "剩余", "里面有", "里有", "结余", "卡里是", "卡里现在有",
                         "卡里现在是", "现在卡里", "卡里", "账户里", "还有")),
    "fee_amount": (AMOUNT, ("年费", "费用", "收费", "扣了", "扣费", "扣款")),
    "fee_date": (DATE, ("扣费", "扣款", "收取", "扣的", "扣了")),
    "atm_amount": (AMOUNT, ("取款金额", "取款", "取了", "取的", "没出钞", "未出钞", "吐钞", "金额", "这笔", "款项", "钱")),
    "atm_date": (DATE, ("取款", "那天", "当天", "发生", "日期", "时间")),
    "deduction_amount": (AMOUNT, ("扣款", "扣了", "扣费", "扣除", "划扣", "扣的", "支出", "会员费", "续费", "这笔", "金额")),
    "deduction_date": (DATE, ("扣款", "扣了", "扣费", "划扣", "日期", "时间")),
    "transferred_total": (AMOUNT, ("累计转", "一共转", "总共转", "合计", "共计", "累计", "转账", "转出", "转了", "一共", "总共")),
    "transfer_amount": (AMOUNT, ("转账金额", "转账", "转给", "转出", "转", "金额")),
    "product_risk": (LEVEL, ("产品风险等级", "风险等级", "风险级别", "等级", "级别", "属于", "是")),
    "risk_level": (LEVEL, ("风险承受能力", "测评结果", "测评等级", "风险测评", "测评", "评估结果", "等级", "属于", "是")),
    "dormant_since": (DATE, ("久悬", "转为", "转入", "起", "开始", "自", "从")),
    "freeze_date": (DATE, ("冻结", "起", "自", "从", "日期")),
    "freeze_authority": (TEXT, ()),
    "reported_at": (DATE, ("挂失", "报失", "办理", "申请", "办的")),
    "credit_limit": (AMOUNT, ("信用额度", "额度", "授信")),
}

_NUMBER = r"\d+(?:\.\d+)?"
_CN_NUM = "[零〇一二两三四五六七八九十百千万]+(?:点[零〇一二三四五六七八九]+)?"
_AMOUNT_RE = re.compile(rf"(?P<num>{_NUMBER}|{_CN_NUM})\s*(?P<unit>万元|万|千元|千|元|块钱|块|rmb|人民币)?"
                        r"(?P<jiao>[一二三四五六七八九]|\d(?!\d))?(?:角|毛)?(?P<fen>[一二三四五六七八九]|\d(?!\d))?分?"
                        r"(?P<more>多|左右|出头)?")
_DATE_RE = re.compile(
    r"(?:(?P<y>20\d\d)\s*[年\-/.]\s*)?(?P<m>\d{1,2}|[一二三四五六七八九十]{1,3})\s*(?:月|[\-/.])\s*"
    r"(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})\s*(?:日|号)?")
_DAY_ONLY_RE = re.compile(r"(?:(?P<rel>本月|这个月|下个月|下月)\s*)?(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})\s*号")
_NOT_MONEY_AFTER = re.compile(r"\s*(?:年|月|日|号|天|期|位|个|次|%|％|倍|小时|分钟|分|秒|岁|笔|张|家|人|点|级|条|项|"
                              r"楼|层|栋|室|:|：|/|-|\.\d)")
_RANGE_RE = re.compile(r"[rc]\s*[1-5一二三四五]\s*(?:到|至|~|～|-|—)\s*[rc]?\s*[1-5一二三四五]")
_LEVEL_RE = re.compile(r"(?<![a-z])(?P<l>[rc])\s*(?P<n>[1-5一二三四五])(?![0-9])")


@dataclass(frozen=True)
class Value:
    kind: str
    value: Any
    start: int
    end: int
    approximate: bool = False


@dataclass(frozen=True)
class Claim:
    """A value bound to a slot in a clause."""

    slot: str
    value: Any
    text: str
    clause: str
    strong: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"slot": self.slot, "value": str(self.value), "text": self.text, "clause": self.clause}


def _cn_or_int(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    value = chinese_number(text)
    return int(value) if value is not None else None


@lru_cache(maxsize=8192)
def _values(clause: str) -> tuple[Value, ...]:
    """The dates, levels and amounts of a clause (cached: every slot a post reads looks at the
    same clauses)."""
    out: list[Value] = []
    taken: list[tuple[int, int]] = []
    for m in _DATE_RE.finditer(clause):
        month, day = _cn_or_int(m.group("m")), _cn_or_int(m.group("d"))
        if month and day and 1 <= month <= 12 and 1 <= day <= 31:
            year = int(m.group("y")) if m.group("y") else None
            # "8632.50" is not a date: a dot-separated pair needs a year or a 月/号 mark.
            if not m.group("y") and re.fullmatch(r"\d+\.\d+", m.group().strip()):
                continue
            out.append(Value(DATE, (year, month, day), m.start(), m.end()))
            taken.append((m.start(), m.end()))
    for m in _DAY_ONLY_RE.finditer(clause):
        if any(s <= m.start() < e for s, e in taken):
            continue
        day = _cn_or_int(m.group("d"))
        if day and 1 <= day <= 31:
            out.append(Value(DATE, (None, None, day), m.start(), m.end()))
            taken.append((m.start(), m.end()))
    ranges = [r.span() for r in _RANGE_RE.finditer(clause)]
    for m in _LEVEL_RE.finditer(clause):
        if any(a <= m.start() < b for a, b in ranges):
            taken.append((m.start(), m.end()))
            continue  # "R1到R5" names the scale, not a level
        n = _cn_or_int(m.group("n"))
        out.append(Value(LEVEL, f"{m.group('l').upper()}{n}", m.start(), m.end()))
        taken.append((m.start(), m.end()))
    for m in _AMOUNT_RE.finditer(clause):
        if any(s <= m.start() < e for s, e in taken):
            continue
        raw = m.group("num")
        unit = m.group("unit") or ""
        if not re.search(r"\d", raw):
            if not unit and len(raw) < 2:
                continue
            parsed = chinese_number(raw)
            if parsed is None:
                continue
            number = Decimal(str(parsed))
        else:
            try:
                number = Decimal(raw)
            except InvalidOperation:
                continue
        jiao = m.group("jiao")
        if jiao and unit in ("元", "块", "块钱"):
            number += Decimal(_cn_or_int(jiao) or 0) / 10
            fen = m.group("fen")
            if fen:
                number += Decimal(_cn_or_int(fen) or 0) / 100
        if unit.startswith("万"):
            number *= 10000
        elif unit.startswith("千"):
            number *= 1000
        # Card tails, years and long ids are not amounts.
        if not unit and (len(raw) >= 9 or re.fullmatch(r"\d{4}", raw) and clause[m.end():m.end() + 1] in ("年", "")
                         and "尾号" in clause[max(0, m.start() - 4):m.start()]):
            continue
        if "尾号" in clause[max(0, m.start() - 4):m.start()] or "后四位" in clause[max(0, m.start() - 5):m.start()]:
            continue
        # A count, a period, a rate or an ordinal is not a sum of money: 10月, 5天, 3期, 4.2%, 第2.
        if not unit and (_NOT_MONEY_AFTER.match(clause, m.end()) or clause[max(0, m.start() - 1):m.start()] in ("第", "前")):
            continue
        out.append(Value(AMOUNT, number, m.start(), m.end(), approximate=bool(m.group("more"))))
    return tuple(sorted(out, key=lambda v: v.start))


def _cue_slots(slots: Iterable[str]) -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for slot in slots:
        for word in SLOTS.get(slot, (TEXT, ()))[1]:
            words.setdefault(normalise(word), []).append(slot)
    return words


# Levels name their scale: a product's risk is R1–R5, a customer's risk tolerance C1–C5.
LEVEL_PREFIX = {"product_risk": "R", "risk_level": "C"}
# Cues that name one slot beyond doubt; a different value bound through a weaker cue (这笔, 金额,
# 是…) may be about something else and is not counted as a wrong claim.
STRONG_CUES: dict[str, tuple[str, ...]] = {
    "bill_amount": ("本期账单金额", "账单金额", "本期账单", "账单总额", "本期应还", "应还金额", "账单", "应还"),
    "fee_amount": ("年费",),
    "deduction_amount": ("扣款金额",),
    "transferred_total": ("累计转", "一共转", "总共转", "合计", "共计"),
    "bill_minimum": ("最低还款额", "最低还款", "最低应还"),
    "bill_due_date": ("到期还款日", "最后还款日", "还款日"),
    "balance": ("可用余额", "账户余额", "余额"),
    "credit_limit": ("信用额度",),
    "product_risk": ("产品风险等级",),
    "risk_level": ("风险承受能力", "测评结果", "测评等级"),
}


@lru_cache(maxsize=1024)
def _cue_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def claims_in(text: str, slots: Sequence[str], extra_cues: dict[str, Sequence[str]] | None = None) -> list[Claim]:
    """Claims a message makes about ``slots`` (values bound to the nearest cue of their kind)."""
    wanted = list(slots)
    cue_words = _cue_slots(wanted)
    for slot, words in (extra_cues or {}).items():
        for word in words:
            cue_words.setdefault(normalise(word), []).append(slot)
    if not cue_words:
        return []
    cue_re = _cue_pattern(tuple(cue_words))
    out: list[Claim] = []
    carried: tuple[str, int] | None = None  # a cue ending the previous clause: "年费，600元"
    for clause in split_clauses(text):
        body = clause.text
        cues = [(m.start(), m.end(), cue_words[m.group()]) for m in cue_re.finditer(body)]
        values = _values(body)
        if not cues and carried and carried[1] == clause.sentence and values and values[0].start <= 2:
            word = carried[0]
            body = f"{word}：{body}"
            cues = [(0, len(word), cue_words[word])]
            values = _values(body)
        last = max(cues, key=lambda c: c[1]) if cues else None
        # Only a label that ends its clause ("年费，600元") carries over to the next one.
        ends_with_label = last is not None and re.fullmatch(r"(?:是|为|有)?[:：]?", body[last[1]:]) is not None
        carried = (body[last[0]:last[1]], clause.sentence) if last and not values and ends_with_label else None
        if not cues:
            continue
        for value in values:
            if value.approximate:
                continue
            fitting = [(s, e, [sl for sl in slots_ if SLOTS.get(sl, (TEXT,))[0] == value.kind and (
                value.kind != LEVEL or str(value.value).startswith(LEVEL_PREFIX.get(sl, str(value.value)[:1])))])
                for s, e, slots_ in cues]
            fitting = [(s, e, sl) for s, e, sl in fitting if sl]
            before = [(value.start - e, sl, s, e) for s, e, sl in fitting if e <= value.start and value.start - e <= 16]
            after = [(s - value.end, sl, s, e) for s, e, sl in fitting if s >= value.end and s - value.end <= 6]
            best = min(before) if before else (min(after) if after else None)
            if best:
                cue_text = body[best[2]:best[3]]
                out.append(Claim(best[1][0], value.value, body[value.start:value.end], body,
                                 strong=cue_text in STRONG_CUES.get(best[1][0], ())))
    return out


def _same_amount(a: Any, b: str) -> bool:
    try:
        return abs(Decimal(str(a)) - Decimal(str(b).replace(",", ""))) < Decimal("0.005")
    except InvalidOperation:
        return False


def _same_date(a: Any, b: str) -> bool:
    try:
        target = date.fromisoformat(str(b)[:10])
    except ValueError:
        return False
    year, month, day = a
    return (month is None or month == target.month) and day == target.day and (year is None or year == target.year)


def same_value(slot: str, claimed: Any, fact: str) -> bool:
    """Whether a claimed value equals the fact (amounts as numbers, dates by day, levels by name)."""
    kind = SLOTS.get(slot, (TEXT,))[0]
    if kind == AMOUNT:
        return _same_amount(claimed, fact)
    if kind == DATE:
        return _same_date(claimed, fact)
    if kind == LEVEL:
        return str(claimed).upper() == normalise(str(fact)).upper()
    return normalise(str(fact)) in normalise(str(claimed))


@dataclass
class FactReading:
    """How a message stands on one fact: stated right, stated wrong, or not at all."""

    slot: str
    right: list[Claim] = field(default_factory=list)
    wrong: list[Claim] = field(default_factory=list)

    @property
    def stated(self) -> bool:
        return bool(self.right) and not self.wrong


def read_fact(text: str, slot: str, fact: str, extra_cues: Sequence[str] | None = None) -> FactReading:
    """Claims of ``text`` about ``slot`` split into right and wrong against ``fact``.

    A text fact (no value kind, e.g. the authority that froze an account) is stated when
    its normalised text appears in a clause."""
    reading = FactReading(slot)
    kind = SLOTS.get(slot, (TEXT, ()))[0]
    if not str(fact).strip():
        return reading
    if kind == TEXT:
        needle = normalise(str(fact))
        for clause in split_clauses(text):
            if needle and needle in clause.text:
                reading.right.append(Claim(slot, fact, fact, clause.text))
        return reading
    for claim in claims_in(text, [slot], {slot: list(extra_cues or ())}):
        if same_value(slot, claim.value, fact):
            reading.right.append(claim)
        elif claim.strong or SLOTS.get(slot, (TEXT,))[0] == DATE and claim.value[1] is not None:
            reading.wrong.append(claim)
    return reading


# -- propositions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Proposition:
    """A statement matched by its concept groups and its polarity."""

    id: str
    text: str
    groups: tuple[tuple[str, ...], ...]
    severity: str = "soft"
    note: str = ""

    @property
    def polarity(self) -> int:
        return _predicate_parity(normalise(self.text), self.groups[-1]) if self.groups else 0

    @classmethod
    def from_dict(cls, data: dict[str, Any], default_id: str = "") -> Proposition:
        groups = tuple(tuple(str(w) for w in g) for g in data.get("groups") or [])
        return cls(str(data.get("id") or default_id), str(data.get("text") or ""), groups,
                   str(data.get("severity") or "soft"), str(data.get("note") or ""))


@lru_cache(maxsize=4096)
def _any_of(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for ``words``, longest first (built once per word list: they are few and fixed)."""
    pattern = "|".join(re.escape(normalise(w)) for w in sorted(words, key=len, reverse=True) if w)
    return re.compile(pattern) if pattern else None


def _find_any(text: str, words: Sequence[str]) -> re.Match[str] | None:
    """The first of ``words`` in ``text``; a word followed by 期 is a noun (免息期, 还款期), not it."""
    pattern = _any_of(tuple(words))
    if pattern is None:
        return None
    for m in pattern.finditer(text):
        if text[m.end():m.end() + 1] == "期" and not m.group().endswith("期"):
            continue
        return m
    return None


def _predicate_parity(clause: str, predicate: Sequence[str]) -> int:
    m = _find_any(clause, predicate)
    if not m:
        return 0
    return stance(clause, m.start(), m.end()) or 0


_TOPIC_INTRO = re.compile(r"^(?:关于|针对|对于|就)[^，,。]{0,40}(?:问题|事情|情况|事宜|事项|诉求|疑问)$")
# The sentence ends of ``text.sentences``, kept so that a question mark is seen.
_SENTENCE_END = re.compile(r"[。！？!?；;\n…]+|\.(?!\d)|\s{2,}")
_CONTENT = re.compile(r"[\u4e00-\u9fff0-9a-z]")


@lru_cache(maxsize=4096)
def _marked_sentences(text: str) -> tuple[tuple[str, bool], ...]:
    """Sentences of normalised ``text`` (as ``text.sentences`` splits them), each with whether
    a question mark ended it (cached: every proposition checked against a message asks)."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for end in [*_SENTENCE_END.finditer(text), None]:
        piece = text[pos:end.start() if end else len(text)]
        if piece and _CONTENT.search(piece):
            out.append((piece.strip(), bool(end and re.search(r"[？?]", end.group()))))
        pos = end.end() if end else len(text)
    return tuple(out)


def match_proposition(text: str, prop: Proposition, assertions_only: bool = False) -> str | None:
    """The sentence of ``text`` that states ``prop`` with its polarity, or None; with
    ``assertions_only`` a question ("什么时候能回本？"), an embedded question ("您问问能不能…")
    or someone else's words ("客户说不用核验") state nothing (``rules.stance``)."""
    if not prop.groups:
        return None
    for sentence, asked in _marked_sentences(normalise(text)):
        if not all(_find_any(sentence, group) for group in prop.groups):
            continue
        body = asserted_part(sentence, asked) if assertions_only else sentence
        if not body:
            continue
        clauses = [c.text for c in split_clauses(body)]
        # Clauses that carry the predicate; when one of them holds more of the concept groups,
        # it is the one that speaks about the proposition ("电话里就能帮他激活，不用本人到网点
        # 办理" denies "本人到网点办理", whatever its first clause says).
        bearing = []
        for i, clause in enumerate(clauses):
            m = _find_any(clause, prop.groups[-1])
            if not m or _TOPIC_INTRO.search(clause):  # "关于您反映的…问题" names a topic only
                continue
            said = stance(clause, m.start(), m.end(), "，".join(clauses[i + 1:]), assertions_only=assertions_only)
            if said is not None:
                bearing.append((sum(1 for g in prop.groups if _find_any(clause, g)), said))
        best = max((rank for rank, _ in bearing), default=0)
        if any(rank == best and said == prop.polarity for rank, said in bearing):
            return sentence
    return None


def _p(pid: str, text: str, *groups: Sequence[str], severity: str = "soft", note: str = "") -> Proposition:
    return Proposition(pid, text, tuple(tuple(g) for g in groups), severity, note)


# Banking truths that hold in every scenario: stating the opposite is a wrong claim.
FORBIDDEN_CLAIMS: tuple[Proposition, ...] = (
    _p("minimum-no-interest", "只还最低还款额不会产生利息",
       ("最低", "只还一部分", "只还部分", "剩下的", "剩余", "没还的", "未还"), ("利息", "计息", "免息", "息"),
       note="只还最低还款额不享受免息，未还部分按日计息"),
    _p("loss-report-permanent", "临时挂失长期有效", ("挂失",), ("长期有效", "一直有效", "永久有效", "不会失效", "一直管用",
                                                          "永远有效", "长期管用", "不用再办", "不用去网点", "不需要去网点"),
       note="临时挂失有效期有限（一般为5天），之后须到网点办理正式挂失"),
    _p("instalment-no-fee", "分期没有手续费", ("分期",), ("手续费", "费用", "利息", "收费")),
    _p("fake-risk-test", "把风险测评选高", ("测评", "风险承受", "问卷", "评估", "c5", "c4", "等级"),
       ("选高", "往高选", "往高了选", "往高填", "测高", "改高", "填高", "选激进", "选c5", "测到c5", "测成c5", "测出c5",
        "测个c5", "多选几个高", "选最高", "挑高的选"),
       severity="hard", note="风险测评必须如实填写，不得诱导客户选高"),
)


PROPOSITION_FIELDS = ("id", "text", "groups", "severity", "note")


def proposition_problems(data: Any) -> list[tuple[tuple, str]]:
    """What is wrong with a proposition in its file form (one object or a list of alternatives):
    ``(relative path, message)`` pairs. A proposition needs ``text`` (the canonical wording) and
    ``groups`` (non-empty lists of words, the last being the predicate)."""
    items = data if isinstance(data, list) else [data]
    problems: list[tuple[tuple, str]] = []
    for i, item in enumerate(items):
        p: tuple = (i,) if isinstance(data, list) else ()
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item.get("text", "").strip():
            problems.append((p, "说法必须是对象，含 text（规范说法）与 groups（概念词组列表）"))
            continue
        groups = item.get("groups")
        if not isinstance(groups, list) or not groups or not all(
                isinstance(g, list) and g and all(isinstance(w, str) and w.strip() for w in g) for g in groups):
            problems.append((p + ("groups",), "groups 必须是非空的词组列表，每组至少一个词"))
        if item.get("severity", "soft") not in ("soft", "hard"):
            problems.append((p + ("severity",), "severity 只能是 soft 或 hard"))
        for key in sorted(set(item) - set(PROPOSITION_FIELDS)):
            problems.append((p + (key,), "未知字段"))
    return problems


def wrong_propositions(text: str, props: Sequence[Proposition]) -> list[tuple[Proposition, str]]:
    """Forbidden propositions ``text`` states, each with the sentence that states it."""
    found = []
    for prop in props:
        sentence = match_proposition(text, prop, assertions_only=True)
        if sentence:
            found.append((prop, sentence))
    return found


def forbidden_for(extra: Sequence[dict[str, Any]] | None = None) -> list[Proposition]:
    """The global forbidden claims plus a scenario's own."""
    props = list(FORBIDDEN_CLAIMS)
    for i, data in enumerate(extra or []):
        props.append(Proposition.from_dict(data, default_id=f"forbidden-{i + 1}"))
    return props

