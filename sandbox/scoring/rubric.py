"""The scoring rubric: the one module that turns a drill's event log into a report.

A pure function of the log (``score_log``): the drill engine passes the events and the
scenario in; nothing here touches the database. A report has the total out of 100, a
score per dimension, every check with its evidence (which event, at which second, the
clause it rests on and what it was read as), the caps applied and the hard fails.

What the agent says is judged by what it means (``sandbox.dialogue``): greetings, empathy,
closings, explanations and warnings are dialogue acts; facts count only when bound to their
slot; wrong facts and forbidden claims are wrong claims. A check that needs words passes
only on evidence from a message: silence earns no communication points.

Caps, each explained in the report:
- a hard fail (lookup before verification; a full card/ID/mobile number; asking for a
  password or code; promising returns, refunds or outcomes; a forbidden claim marked
  ``severity: hard``) caps the score at ``HARD_FAIL_CAP``;
- rude or blaming words cap it at ``TONE_CAP``;
- a wrong claim (a wrong value for a fact, a forbidden claim) caps it at ``WRONG_CLAIM_CAP``;
- a contact whose questions were none of them answered caps it at ``UNANSWERED_CAP``.
Check types are registered by name in ``CHECKS`` (as scoring strategies are in CTFd).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.bank.masking import redact
from sandbox.dialogue.acts import CONTENT_ACTS, act_label
from sandbox.dialogue.claims import Proposition, forbidden_for, match_proposition, read_fact
from sandbox.dialogue.reader import Reading
from sandbox.dialogue.text import normalise, sentences
from sandbox.drill.facts import contains_any, customer_facts
from sandbox.drill.scenario.model import Check, ScenarioSpec
from sandbox.drill.scenario.vocabulary import DIMENSIONS, LOOKUP_EVENTS
from sandbox.scoring import compliance
from sandbox.scoring.compliance import Finding
from workorders.vocab import MOODS, mood_label

HARD_FAIL_CAP = 40.0
TONE_CAP = 50.0
WRONG_CLAIM_CAP = 60.0
UNANSWERED_CAP = 20.0
NEED_TYPES = ("reply_fact", "claim")
SUBSTANTIVE = tuple(a for a in ("greet", "empathize", "ask_identity", "explain", "inform", "instruct", "hold",
                                "fault_notice", "transfer", "closing", "risk_disclosure", "warn_secret", "refuse",
                                "thank"))


@dataclass
class Ev:
    """One event as the rubric sees it (a plain copy of a DrillEvent row)."""

    id: int
    type: str
    t: float
    contact: str | None
    data: dict[str, Any]

    def evidence(self, detail: str = "", clause: str | None = None, read_as: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"event_id": self.id, "t": round(self.t, 1), "type": self.type, "detail": detail}
        if clause is not None:
            out["clause"] = redact(clause)  # a report is a way out: no full number in it
        if read_as is not None:
            out["read_as"] = read_as
        return out


@dataclass
class Log:
    events: list[Ev]
    spec: ScenarioSpec
    facts: dict[str, dict[str, str]] = field(default_factory=dict)
    _readings: dict[int, Reading] = field(default_factory=dict, repr=False)
    _findings: dict[int, list[Finding]] = field(default_factory=dict, repr=False)
    need_times: dict[str, float] = field(default_factory=dict)
    wrong_claims: list[dict[str, Any]] = field(default_factory=list)
    # Forbidden claims from outside the scenario (the KB articles the drill used), passed in.
    extra_forbidden: list[dict[str, Any]] = field(default_factory=list)

    def of(self, op: str, contact: str | None = None, only_allowed: bool = True) -> list[Ev]:
        out = []
        for e in self.events:
            if contact and e.contact != contact:
                continue
            matches = e.type == op or (op == "lookup" and e.type in LOOKUP_EVENTS)
            if not matches:
                continue
            if only_allowed and e.data.get("allowed") is False:
                continue
            out.append(e)
        return out

    def agent_messages(self, contact: str | None = None) -> list[Ev]:
        return self.of("message.agent", contact)

    def customer_messages(self, contact: str | None = None) -> list[Ev]:
        return self.of("message.customer", contact)

    def arrival(self, contact: str | None) -> float:
        key = contact or self.spec.contacts[0].key
        arrived = [e for e in self.events if e.type == "contact.arrived" and e.contact == key]
        return arrived[0].t if arrived else 0.0

    def reading(self, e: Ev) -> Reading:
        if e.id not in self._readings:
            self._readings[e.id] = compliance.read(_text(e))
        return self._readings[e.id]

    def findings(self, e: Ev) -> list[Finding]:
        """Compliance findings of one agent message (terms explained earlier count)."""
        if e.id not in self._findings:
            # A term counts as explained if the agent explains it anywhere in the conversation;
            # a term the customer used first is the customer's own word.
            others = "\n".join(_text(m) for m in self.agent_messages(e.contact) if m.id != e.id)
            heard = "\n".join(_text(m) for m in self.customer_messages(e.contact))
            self._findings[e.id] = compliance.findings_for(self.reading(e), others, self.forbidden, heard)
        return self._findings[e.id]

    @property
    def forbidden(self) -> list[Proposition]:
        return forbidden_for(list(self.spec.raw.get("forbidden_claims") or []) + list(self.extra_forbidden))

    def substantive(self, contact: str | None = None) -> list[Ev]:
        """Agent messages that do something (not only "好的" / "嗯")."""
        return [e for e in self.agent_messages(contact) if any(c.act in SUBSTANTIVE for c in self.reading(e).clauses)]


@dataclass
class Outcome:
    passed: bool
    evidence: list[dict[str, Any]]
    note: str = ""
    fraction: float | None = None  # partial credit, for checks that count several things


def _text(e: Ev) -> str:
    return str(e.data.get("text", ""))


def _contact(log: Log, c: Check) -> str:
    return c.params.get("contact") or log.spec.contacts[0].key


def _clause_evidence(e: Ev, clause: Any, detail: str) -> dict[str, Any]:
    return e.evidence(detail, clause=clause.text, read_as=clause.label)


def _check_op(log: Log, c: Check) -> Outcome:
    events = log.of(c.params["op"], c.params.get("contact"))
    within = c.params.get("within")
    if within is not None:
        start = log.arrival(c.params.get("contact"))
        events = [e for e in events if e.t - start <= within]
    if events:
        return Outcome(True, [events[0].evidence("已完成")])
    return Outcome(False, [], "未完成该操作" + (f"（要求 {within} 秒内）" if within else ""))


def _check_no_op(log: Log, c: Check) -> Outcome:
    events = log.of(c.params["op"], c.params.get("contact"))
    if events:
        return Outcome(False, [e.evidence("不应进行的操作") for e in events[:3]], "进行了不应进行的操作")
    return Outcome(True, [], "未进行该操作")


def _grounded(log: Log, verified: Ev) -> tuple[bool, str]:
    """Whether what the agent entered to verify was said by the caller before."""
    details = verified.data.get("details") or {}
    if verified.data.get("method") == "sms" or not details:
        return True, ""
    said = [e for e in log.customer_messages(verified.contact) if e.t <= verified.t]
    if said and not any("text" in e.data for e in said):
        return True, ""  # a log from before customer texts were recorded
    heard = normalise(" ".join(_text(e) for e in said)).replace(" ", "")
    missing = [label for key, label in (("name", "姓名"), ("id_last6", "证件号后六位"), ("phone_last4", "手机尾号"))
               if details.get(key) and normalise(str(details[key])).replace(" ", "") not in heard]
    if missing:
        return False, "核验所用的" + "、".join(missing) + "不是客户在对话中提供的"
    return True, ""


def _check_before(log: Log, c: Check) -> Outcome:
    contact = c.params.get("contact")
    first = log.of(c.params["first"], contact)
    then = log.of(c.params["then"], contact, only_allowed=False)
    if not first:
        return Outcome(False, [then[0].evidence("先做了这一步")] if then else [], "前置操作没有完成")
    if c.params["first"] == "identity.verified":
        ok, why = _grounded(log, first[0])
        if not ok:
            return Outcome(False, [first[0].evidence(why)], why)
    if then and then[0].t < first[0].t or (then and then[0].t == first[0].t and then[0].id < first[0].id):
        return Outcome(False, [then[0].evidence("顺序错误"), first[0].evidence()], "顺序错误")
    ev = [first[0].evidence("先完成")] + ([then[0].evidence("后进行")] if then else [])
    return Outcome(True, ev)


def _check_first_reply(log: Log, c: Check) -> Outcome:
    contact = _contact(log, c)
    msgs = log.substantive(contact)
    if not msgs:
        return Outcome(False, [], "没有有效回复客户")
    delay = msgs[0].t - log.arrival(contact)
    ok = delay <= c.params["seconds"]
    return Outcome(ok, [msgs[0].evidence(f"客户接入后 {delay:.0f} 秒首次有效回复")])


def _check_reply_fact(log: Log, c: Check) -> Outcome:
    contact = _contact(log, c)
    slot = c.params["fact"]
    value = log.facts.get(contact, {}).get(slot, "")
    right: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    for e in log.agent_messages(contact):
        reading = read_fact(_text(e), slot, value, c.params.get("cues"))
        for claim in reading.right:
            right.append(e.evidence(f"告知了 {claim.text}", clause=claim.clause, read_as=f"{c.title}：{claim.text}"))
        for claim in reading.wrong:
            wrong.append(e.evidence(f"告知有误：{claim.text}（应为 {value}）", clause=claim.clause,
                                    read_as=f"{c.title}：{claim.text}"))
    if wrong:
        log.wrong_claims.append({"check": c.id, "evidence": wrong[0], "message": f"{c.title}：告知的数值有误（应为 {value}）"})
        return Outcome(False, wrong[:3], f"告知有误（应为 {value}）")
    if right:
        log.need_times[c.id] = right[0]["t"]
        return Outcome(True, right[:1])
    return Outcome(False, [], f"没有把{value}作为该项明确告知客户（应为 {value}）")


def _propositions(c: Check) -> list[Proposition]:
    raw = c.params["claim"]
    items = raw if isinstance(raw, list) else [raw]
    return [Proposition.from_dict(item, default_id=f"{c.id}-{i}") for i, item in enumerate(items)]


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def _after(log: Log, c: Check) -> float | None:
    after = c.params.get("after_op")
    if not after:
        return 0.0
    ops = log.of(after, c.params.get("contact"))
    return ops[0].t if ops else None


def _messages_after(log: Log, c: Check) -> list[Ev] | None:
    """The agent's messages from the check's ``after_op`` on (None if that operation never happened)."""
    start = _after(log, c)
    if start is None:
        return None
    return [e for e in log.agent_messages(c.params.get("contact")) if e.t >= start]


_NOT_DONE = Outcome(False, [], "前置操作没有完成")


def _check_claim(log: Log, c: Check) -> Outcome:
    """Any of the check's propositions stated, in a clause that carries content."""
    messages = _messages_after(log, c)
    if messages is None:
        return _NOT_DONE
    for e in messages:
        reading = log.reading(e)
        for prop in _propositions(c):
            sentence = match_proposition(_text(e), prop)
            if not sentence:
                continue
            bare = _bare(sentence)
            clauses = [cl for cl in reading.clauses if _bare(cl.text) in bare or bare in _bare(cl.text)]
            content = [cl for cl in clauses if cl.act in CONTENT_ACTS + ("empathize", "hold")]
            if content:
                log.need_times[c.id] = e.t
                return Outcome(True, [_clause_evidence(e, content[0], f"说明了：{prop.text}")])
    return Outcome(False, [], "没有说明：" + "；".join(p.text for p in _propositions(c)[:1]))


def _check_act(log: Log, c: Check) -> Outcome:
    """A clause performing one of ``acts`` (about one of ``about``, if given)."""
    wanted = tuple(c.params["acts"])
    about = [normalise(w) for w in c.params.get("about") or []]
    messages = _messages_after(log, c)
    if messages is None:
        return _NOT_DONE
    for e in messages:
        for clause in log.reading(e).clauses:
            if clause.act not in wanted:
                continue
            if about:
                sentence = next((s for s in sentences(normalise(_text(e))) if _bare(clause.text) in _bare(s)), clause.text)
                if not any(w in sentence for w in about):
                    continue
            log.need_times[c.id] = e.t
            return Outcome(True, [_clause_evidence(e, clause, f"{act_label(clause.act)}")])
    return Outcome(False, [], "回复中没有" + "或".join(act_label(a) for a in wanted))


def _check_said_any(log: Log, c: Check) -> Outcome:
    """A trainer's escape hatch: one of the phrases appears (after an operation, if given)."""
    messages = _messages_after(log, c)
    if messages is None:
        return _NOT_DONE
    for e in messages:
        phrase = contains_any(_text(e), c.params["phrases"])
        if phrase:
            return Outcome(True, [e.evidence(f"说到“{phrase}”")])
    return Outcome(False, [], "回复中没有相关表述")


def _check_article(log: Log, c: Check) -> Outcome:
    wanted = set(c.params["articles"])
    for e in log.events:
        if e.type in ("kb.open", "suggestion.use") and e.data.get("article") in wanted:
            return Outcome(True, [e.evidence(f"使用了知识 {e.data.get('article')}")])
    return Outcome(False, [], "没有打开或引用正确的知识条目")


def _check_workorder(log: Log, c: Check) -> Outcome:
    expect = c.params["expect"]
    created = log.of("workorder.created")
    for e in created:
        if all(str(e.data.get(k)) == str(v) for k, v in expect.items()):
            return Outcome(True, [e.evidence(f"工单 {e.data.get('number', '')}")])
    if created:
        got = created[-1].data
        diff = "、".join(f"{k} 应为 {v}（实为 {got.get(k)}）" for k, v in expect.items() if str(got.get(k)) != str(v))
        return Outcome(False, [created[-1].evidence(diff)], "工单要素不正确：" + diff)
    return Outcome(False, [], "没有创建工单")


_MEANINGFUL = re.compile(r"[\u4e00-\u9fff]")


def _meaningful(value: Any) -> bool:
    text = str(value or "").strip()
    return len(_MEANINGFUL.findall(text)) >= 2 and len(set(text)) >= 2


def _mood_at(log: Log, contact: str | None, t: float) -> int | None:
    moods = [mood for e in log.customer_messages(contact) if e.t <= t and (mood := e.data.get("mood")) is not None]
    return int(moods[-1]) if moods else None


def _summary_problems(log: Log, e: Ev, mentions: list[str]) -> list[str]:
    summary = e.data.get("summary") or {}
    problems = [f"{m} 为空或无实际内容" for m in mentions if not _meaningful(summary.get(m))]
    status = str(summary.get("verification_status") or "")
    if status:
        verified = any(v.t <= e.t for v in log.of("identity.verified", e.contact))
        says_verified = ("已" in status or "通过" in status) and not re.search(r"未|没|失败|不", status)
        if verified != says_verified:
            problems.append(f"核验状态写为“{status}”，与实际（{'已核验' if verified else '未核验'}）不符")
    mood = str(summary.get("mood") or "")
    actual = _mood_at(log, e.contact, e.t)
    if mood in MOODS and actual is not None:
        expected = mood_label(actual)
        if abs(MOODS.index(mood) - MOODS.index(expected)) > 1:
            problems.append(f"客户情绪写为“{mood}”，与实际（{expected}）不符")
    return problems


def _check_handoff(log: Log, c: Check) -> Outcome:
    wanted_queue = c.params.get("queue")
    mentions = list(c.params.get("summary_mentions") or [])
    handoffs = log.of("handoff")
    last_problems: list[str] = []
    for e in handoffs:
        if wanted_queue and e.data.get("queue") != wanted_queue:
            last_problems = [f"队列应为 {wanted_queue}"]
            continue
        problems = _summary_problems(log, e, mentions)
        if not problems:
            return Outcome(True, [e.evidence("转人工并附小结，与事实一致")])
        last_problems = problems
    if handoffs:
        return Outcome(False, [handoffs[-1].evidence("；".join(last_problems))],
                       "转人工的队列或小结不符合要求：" + "；".join(last_problems))
    return Outcome(False, [], "没有转人工")


def _check_greeting(log: Log, c: Check) -> Outcome:
    msgs = log.agent_messages(_contact(log, c))
    for e in msgs[:2]:
        clause = log.reading(e).first("greet")
        if clause:
            return Outcome(True, [_clause_evidence(e, clause, "开场问候")])
        if log.reading(e).has(*[a for a in SUBSTANTIVE if a != "greet"]):
            break
    return Outcome(False, [msgs[0].evidence()] if msgs else [], "开场没有问候")


def _needs(log: Log, contact: str | None = None) -> list[Check]:
    return [k for k in log.spec.checks if k.type in NEED_TYPES and (contact is None or k.params.get("contact") in
                                                                      (None, contact))]


def _check_closing(log: Log, c: Check) -> Outcome:
    """A closing check after the customer's questions were answered (not in canned text)."""
    contact = c.params.get("contact")
    answered = [log.need_times[k.id] for k in _needs(log, contact) if k.id in log.need_times]
    if _needs(log, contact) and not answered:
        return Outcome(False, [], "客户的问题还没有得到解答，结束确认无从谈起")
    after = max(answered) if answered else None
    if after is None:
        content = [e.t for e in log.agent_messages(contact) if log.reading(e).has(*CONTENT_ACTS)]
        if not content:
            return Outcome(False, [], "没有为客户办理或解答任何事项")
        after = content[0]
    for e in log.agent_messages(contact):
        if e.t < after:
            continue
        clause = log.reading(e).first("closing")
        if clause:
            return Outcome(True, [_clause_evidence(e, clause, "解答后确认需求")])
    return Outcome(False, [], "解答之后没有确认客户是否还有其他需要")


def _check_empathy_first(log: Log, c: Check) -> Outcome:
    contact = _contact(log, c)
    msgs = log.agent_messages(contact)
    lookups = log.of("lookup", contact, only_allowed=False)
    solving = [e.t for e in msgs if log.reading(e).has("inform", "explain", "instruct")]
    limits = [t for t in ([lookups[0].t] if lookups else []) + solving[:1]]
    limit = min(limits) if limits else float("inf")
    for e in msgs[:4]:
        if e.t > limit:
            break
        clause = log.reading(e).first("empathize")
        if clause:
            return Outcome(True, [_clause_evidence(e, clause, "先安抚情绪")])
    return Outcome(False, [], "在处理问题之前没有先安抚客户情绪")


def _check_fault_handled(log: Log, c: Check) -> Outcome:
    faults = log.of("fault.started")
    if not faults:
        return Outcome(False, [], "演练在故障发生前就结束了")
    responses = log.of("handoff") + log.of("workorder.created")
    first = faults[0]
    after = sorted((e for e in responses if e.t >= first.t), key=lambda e: e.t)
    if after and after[0].t - first.t <= c.params["within"]:
        return Outcome(True, [first.evidence("故障发生"), after[0].evidence("应急处置")])
    return Outcome(False, [first.evidence("故障发生")], f"故障发生后 {c.params['within']} 秒内没有转人工或登记回电")


def _all_findings(log: Log, contact: str | None = None) -> list[tuple[Ev, Finding]]:
    return [(e, f) for e in log.agent_messages(contact) for f in log.findings(e)]


def _check_compliance(log: Log, c: Check) -> Outcome:
    contact = c.params.get("contact")
    if not log.substantive(contact):
        return Outcome(False, [], "没有可评判的回复内容")
    flags = _all_findings(log, contact)
    if flags:
        return Outcome(False, [e.evidence(f"{compliance.describe(f.kind)}：{f.message}", clause=f.clause or f.phrase,
                                          read_as=f.read_as or compliance.describe(f.kind)) for e, f in flags[:5]],
                       "用语不合规")
    return Outcome(True, [], "用语合规")


def _check_tone(log: Log, c: Check) -> Outcome:
    contact = c.params.get("contact")
    if not log.substantive(contact):
        return Outcome(False, [], "没有可评判的回复内容")
    bad = [(e, f) for e, f in _all_findings(log, contact) if f.kind in (compliance.BLAME, compliance.RUDE)]
    if bad:
        return Outcome(False, [e.evidence(compliance.describe(f.kind), clause=f.clause, read_as=f.read_as)
                               for e, f in bad[:3]], "语气生硬、推诿或指责客户")
    return Outcome(True, [], "语气礼貌耐心")


def _check_answered(log: Log, c: Check) -> Outcome:
    needs = [k for k in _needs(log, c.params.get("contact")) if k.id != c.id]
    if not needs:
        return Outcome(True, [], "本场景没有需要解答的问题")
    done = [k for k in needs if k.id in log.need_times]
    missing = [k.title for k in needs if k.id not in log.need_times]
    fraction = len(done) / len(needs)
    note = "客户的问题都已解答" if not missing else "未解答：" + "、".join(missing)
    return Outcome(fraction == 1.0, [], note, fraction=fraction)


def _check_mood(log: Log, c: Check) -> Outcome:
    contact = _contact(log, c)
    wanted = int(c.params.get("min", 0))
    last = _mood_at(log, contact, float("inf"))
    if last is None:
        return Outcome(False, [], "没有客户情绪记录")
    ok = last >= wanted and bool(log.substantive(contact))
    return Outcome(ok, [], f"结束时客户情绪：{mood_label(last)}（{last:+d}）")


CHECKS: dict[str, Callable[[Log, Check], Outcome]] = {
    "op": _check_op, "no_op": _check_no_op, "before": _check_before, "first_reply_within": _check_first_reply,
    "reply_fact": _check_reply_fact, "said_any": _check_said_any, "article": _check_article,
    "workorder": _check_workorder, "handoff": _check_handoff, "greeting": _check_greeting,
    "closing": _check_closing, "empathy_first": _check_empathy_first, "fault_handled": _check_fault_handled,
    "compliance": _check_compliance, "claim": _check_claim, "act": _check_act, "tone": _check_tone,
    "answered": _check_answered, "mood": _check_mood,
}
# Needs are judged first: closing and answered read when each need was met.
_ORDER = {t: (0 if t in NEED_TYPES or t == "act" else 2 if t in ("closing", "answered") else 1) for t in CHECKS}


def hard_fails(log: Log) -> list[dict[str, Any]]:
    """Violations that cap the score whatever else went right: the one hard-fail rule."""
    out = []
    for e in log.events:
        if e.type in LOOKUP_EVENTS and e.data.get("allowed") is False and \
                e.data.get("reason", "identity_not_verified") == "identity_not_verified":
            out.append({"kind": "lookup_before_verification", "message": "身份核验通过前查询了客户信息",
                        "evidence": e.evidence("核验前查询")})
        elif e.type == "message.agent":
            for f in log.findings(e):
                if not compliance.is_hard_fail(f):
                    continue
                kind = {"pii": "pii_in_reply", "asks_secret": "asked_for_secret", "promise": "promise"}.get(
                    f.kind, "forbidden_claim")
                message = {"pii_in_reply": f"回复中出现完整客户信息（{f.phrase}）", "asked_for_secret": "向客户索要密码或验证码",
                           "promise": "承诺收益、保本、退款、赔偿或办理结果",
                           "forbidden_claim": f"违规说法：{f.message}"}[kind]
                out.append({"kind": kind, "message": message,
                            "evidence": e.evidence(f.message, clause=f.clause or f.phrase, read_as=f.read_as)})
    return out


def caps(log: Log, fails: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every cap that applies to this log, with its reason."""
    out: list[dict[str, Any]] = []
    if fails:
        out.append({"kind": "hard_fail", "cap": HARD_FAIL_CAP, "message": "出现一票否决项"})
    tone = [(e, f) for e, f in _all_findings(log) if f.kind in (compliance.BLAME, compliance.RUDE)]
    if tone:
        e, f = tone[0]
        out.append({"kind": "tone", "cap": TONE_CAP, "message": "对客户态度生硬、推诿或指责",
                    "evidence": e.evidence(compliance.describe(f.kind), clause=f.clause, read_as=f.read_as)})
    wrong = list(log.wrong_claims) + [
        {"evidence": e.evidence(f.message, clause=f.clause, read_as=f.read_as), "message": f.message}
        for e, f in _all_findings(log) if f.kind == compliance.WRONG_CLAIM and not compliance.is_hard_fail(f)]
    if wrong:
        out.append({"kind": "wrong_claim", "cap": WRONG_CLAIM_CAP, "message": "向客户告知了错误信息：" + wrong[0]["message"],
                    "evidence": wrong[0]["evidence"]})
    for contact in log.spec.contacts:
        needs = _needs(log, contact.key)
        if needs and not any(k.id in log.need_times for k in needs):
            out.append({"kind": "unanswered", "cap": UNANSWERED_CAP,
                        "message": "客户的问题一个都没有得到解答" + (f"（{contact.key}）" if len(log.spec.contacts) > 1 else "")})
            break
    return out


def score_log(spec: ScenarioSpec, events: list[Ev], facts: dict[str, dict[str, str]] | None = None,
              adjustments: dict[str, dict[str, Any]] | None = None,
              forbidden: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Score an event log against a scenario's checks; ``adjustments`` are an examiner's overrides,
    ``forbidden`` extra forbidden claims (those of the KB articles the drill used)."""
    if facts is None:
        facts = {c.key: customer_facts(c.customer, spec.facts) for c in spec.contacts}
    log = Log(events, spec, facts, extra_forbidden=list(forbidden or []))
    adjustments = adjustments or {}
    outcomes: dict[str, Outcome] = {}
    for check in sorted(spec.checks, key=lambda k: _ORDER.get(k.type, 1)):
        outcomes[check.id] = CHECKS[check.type](log, check)
    checks = []
    earned = {d: 0.0 for d in DIMENSIONS}
    possible = {d: 0.0 for d in DIMENSIONS}
    for check in spec.checks:
        outcome = outcomes[check.id]
        if outcome.fraction is not None:
            points = round(float(check.points) * outcome.fraction, 1)
        else:
            points = float(check.points) if outcome.passed else 0.0
        row: dict[str, Any] = {"id": check.id, "title": check.title, "dimension": check.dimension, "type": check.type,
               "passed": outcome.passed, "points": points, "auto_points": points, "max_points": float(check.points),
               "evidence": outcome.evidence, "note": outcome.note}
        adj = adjustments.get(check.id)
        if adj is not None:
            row["points"] = float(max(0.0, min(float(check.points), float(adj["points"]))))
            row["adjusted"] = {"points": row["points"], "comment": adj.get("comment", ""), "by": adj.get("by"),
                               "at": adj.get("at")}
        earned[check.dimension] += row["points"]
        possible[check.dimension] += check.points
        checks.append(row)
    total_possible = sum(possible.values()) or 1.0
    auto_total = round(100.0 * sum(r["auto_points"] for r in checks) / total_possible, 1)
    total = round(100.0 * sum(earned.values()) / total_possible, 1)
    fails = hard_fails(log)
    applied = caps(log, fails)
    cap = min((c["cap"] for c in applied), default=None)
    if cap is not None:
        auto_total = min(auto_total, cap)
        total = min(total, cap) if not any(r.get("adjusted") for r in checks) else min(total, max(cap, 0.0))
    dimensions = {d: {"earned": earned[d], "max": possible[d],
                      "score": round(100.0 * earned[d] / possible[d], 1) if possible[d] else None}
                  for d in DIMENSIONS}
    return {"scenario": spec.id, "version": spec.version, "total": total, "auto_total": auto_total,
            "hard_fail": bool(fails), "hard_fails": fails, "caps": applied, "dimensions": dimensions,
            "checks": checks, "rubric": 2}


def message_hard_fails(text: str) -> list[dict[str, Any]]:
    """Hard-fail findings of one message alone (the examiner's live board)."""
    return [f.to_dict() for f in compliance.check_text(text) if compliance.is_hard_fail(f)]

