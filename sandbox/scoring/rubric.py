"""The scoring rubric: the one module that turns a drill's event log into a report.

A report has the total out of 100, a score per dimension, every check with its
evidence (which event, at which second) and the hard fails. Check types are
registered by name in ``CHECKS`` (as scoring strategies are in CTFd).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.orm import Session

from sandbox.drill.facts import contains_any, customer_facts, states_fact
from sandbox.drill.scenario import DIMENSIONS, LOOKUP_EVENTS, Check, ScenarioSpec
from sandbox.scoring.compliance import ASKS_SECRET, BLAME, JARGON, PII, PROMISE

HARD_FAIL_CAP = 40.0
GREETINGS = ("您好", "你好", "很高兴为您服务", "欢迎", "早上好", "下午好", "晚上好")
CLOSINGS = ("还有其他", "还有什么", "其他需要", "其他问题", "还需要什么", "其他可以帮")
EMPATHY = ("理解您", "理解你", "明白您的", "别着急", "不要着急", "您先别急", "非常抱歉", "很抱歉", "抱歉",
           "让您久等", "给您带来", "体谅", "辛苦您", "您放心", "请放心", "我能感受到", "换作是我")


@dataclass
class Ev:
    """One event as the rubric sees it (a plain copy of a DrillEvent row)."""

    id: int
    type: str
    t: float
    contact: str | None
    data: dict[str, Any]

    def evidence(self, detail: str = "") -> dict[str, Any]:
        return {"event_id": self.id, "t": round(self.t, 1), "type": self.type, "detail": detail}


@dataclass
class Log:
    events: list[Ev]
    spec: ScenarioSpec
    facts: dict[str, dict[str, str]] = field(default_factory=dict)

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

    def arrival(self, contact: str | None) -> float:
        key = contact or self.spec.contacts[0].key
        arrived = [e for e in self.events if e.type == "contact.arrived" and e.contact == key]
        return arrived[0].t if arrived else 0.0


@dataclass
class Outcome:
    passed: bool
    evidence: list[dict[str, Any]]
    note: str = ""


def _text(e: Ev) -> str:
    return str(e.data.get("text", ""))


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


def _check_before(log: Log, c: Check) -> Outcome:
    contact = c.params.get("contact")
    first = log.of(c.params["first"], contact)
    then = log.of(c.params["then"], contact, only_allowed=False)
    if not first:
        return Outcome(False, [then[0].evidence("先做了这一步")] if then else [], "前置操作没有完成")
    if then and then[0].t < first[0].t or (then and then[0].t == first[0].t and then[0].id < first[0].id):
        return Outcome(False, [then[0].evidence("顺序错误"), first[0].evidence()], "顺序错误")
    ev = [first[0].evidence("先完成")] + ([then[0].evidence("后进行")] if then else [])
    return Outcome(True, ev)


def _check_first_reply(log: Log, c: Check) -> Outcome:
    contact = c.params.get("contact")
    msgs = log.agent_messages(contact or log.spec.contacts[0].key)
    if not msgs:
        return Outcome(False, [], "没有回复客户")
    delay = msgs[0].t - log.arrival(contact)
    ok = delay <= c.params["seconds"]
    return Outcome(ok, [msgs[0].evidence(f"客户接入后 {delay:.0f} 秒首次回复")])


def _check_reply_fact(log: Log, c: Check) -> Outcome:
    contact = c.params.get("contact") or log.spec.contacts[0].key
    value = log.facts.get(contact, {}).get(c.params["fact"], "")
    for e in log.agent_messages(contact):
        if states_fact(_text(e), value):
            return Outcome(True, [e.evidence(f"告知了 {value}")])
    return Outcome(False, [], f"回复中没有准确告知（应为 {value}）")


def _check_said_any(log: Log, c: Check) -> Outcome:
    contact = c.params.get("contact")
    after = c.params.get("after_op")
    start = None
    if after:
        ops = log.of(after, contact)
        if not ops:
            return Outcome(False, [], "前置操作没有完成")
        start = ops[0].t
    for e in log.agent_messages(contact):
        if start is not None and e.t < start:
            continue
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


def _check_handoff(log: Log, c: Check) -> Outcome:
    wanted_queue = c.params.get("queue")
    mentions = c.params.get("summary_mentions") or []
    handoffs = log.of("handoff")
    for e in handoffs:
        summary = e.data.get("summary") or {}
        if wanted_queue and e.data.get("queue") != wanted_queue:
            continue
        missing = [m for m in mentions if not str(summary.get(m) or "").strip()]
        if not missing:
            return Outcome(True, [e.evidence("转人工并附小结")])
    if handoffs:
        return Outcome(False, [handoffs[-1].evidence()], "转人工的队列或小结不完整")
    return Outcome(False, [], "没有转人工")


def _check_greeting(log: Log, c: Check) -> Outcome:
    msgs = log.agent_messages(c.params.get("contact") or log.spec.contacts[0].key)
    if msgs and contains_any(_text(msgs[0]), GREETINGS):
        return Outcome(True, [msgs[0].evidence("开场问候")])
    return Outcome(False, [msgs[0].evidence()] if msgs else [], "第一句回复没有问候")


def _check_closing(log: Log, c: Check) -> Outcome:
    for e in log.agent_messages(c.params.get("contact")):
        if contains_any(_text(e), CLOSINGS):
            return Outcome(True, [e.evidence("结束前确认需求")])
    return Outcome(False, [], "没有询问客户是否还有其他需要")


def _check_empathy_first(log: Log, c: Check) -> Outcome:
    contact = c.params.get("contact") or log.spec.contacts[0].key
    msgs = log.agent_messages(contact)
    lookups = log.of("lookup", contact, only_allowed=False)
    limit = lookups[0].t if lookups else (msgs[2].t if len(msgs) > 2 else float("inf"))
    for e in msgs:
        if e.t > limit:
            break
        if contains_any(_text(e), EMPATHY):
            return Outcome(True, [e.evidence("先安抚情绪")])
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


def _check_compliance(log: Log, c: Check) -> Outcome:
    flags = [e for e in log.of("compliance.flag") if e.data.get("kind") in (PROMISE, BLAME, JARGON, PII, ASKS_SECRET)]
    if flags:
        return Outcome(False, [e.evidence(f"{e.data.get('phrase')}：{e.data.get('message')}") for e in flags[:5]],
                       "用语不合规")
    return Outcome(True, [], "用语合规")


CHECKS: dict[str, Callable[[Log, Check], Outcome]] = {
    "op": _check_op, "no_op": _check_no_op, "before": _check_before, "first_reply_within": _check_first_reply,
    "reply_fact": _check_reply_fact, "said_any": _check_said_any, "article": _check_article,
    "workorder": _check_workorder, "handoff": _check_handoff, "greeting": _check_greeting,
    "closing": _check_closing, "empathy_first": _check_empathy_first, "fault_handled": _check_fault_handled,
    "compliance": _check_compliance,
}


def hard_fails(log: Log) -> list[dict[str, Any]]:
    """Violations that cap the score whatever else went right."""
    out = []
    for e in log.events:
        if e.type in LOOKUP_EVENTS and e.data.get("allowed") is False and \
                e.data.get("reason", "identity_not_verified") == "identity_not_verified":
            out.append({"kind": "lookup_before_verification", "message": "身份核验通过前查询了客户信息",
                        "evidence": e.evidence("核验前查询")})
        elif e.type == "compliance.flag" and e.data.get("kind") == PII:
            out.append({"kind": "pii_in_reply", "message": f"回复中出现完整客户信息（{e.data.get('phrase')}）",
                        "evidence": e.evidence()})
        elif e.type == "compliance.flag" and e.data.get("kind") == ASKS_SECRET:
            out.append({"kind": "asked_for_secret", "message": "向客户索要密码或验证码", "evidence": e.evidence()})
    return out


def score_log(spec: ScenarioSpec, events: list[Ev], facts: dict[str, dict[str, str]] | None = None,
              adjustments: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Score an event log against a scenario's checks; ``adjustments`` are an examiner's overrides."""
    if facts is None:
        facts = {c.key: customer_facts(c.customer, spec.facts) for c in spec.contacts}
    log = Log(events, spec, facts)
    adjustments = adjustments or {}
    checks = []
    earned = {d: 0.0 for d in DIMENSIONS}
    possible = {d: 0.0 for d in DIMENSIONS}
    for check in spec.checks:
        outcome = CHECKS[check.type](log, check)
        points = float(check.points) if outcome.passed else 0.0
        row = {"id": check.id, "title": check.title, "dimension": check.dimension, "type": check.type,
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
    if fails:
        auto_total = min(auto_total, HARD_FAIL_CAP)
        total = min(total, HARD_FAIL_CAP)
    dimensions = {d: {"earned": earned[d], "max": possible[d],
                      "score": round(100.0 * earned[d] / possible[d], 1) if possible[d] else None}
                  for d in DIMENSIONS}
    return {"scenario": spec.id, "version": spec.version, "total": total, "auto_total": auto_total,
            "hard_fail": bool(fails), "hard_fails": fails, "dimensions": dimensions, "checks": checks}


def events_for_scoring(session: Session, drill_id: int) -> list[Ev]:
    from sandbox.drill.engine import events_of

    return [Ev(e.id, e.type, e.t, e.contact_key, dict(e.data or {})) for e in events_of(session, drill_id)]


def score_drill(session: Session, drill: Any, adjustments: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Score a drill from its event log (reads only)."""
    from sandbox.drill.engine import scenario_spec

    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    return score_log(spec, events_for_scoring(session, drill.id), adjustments=adjustments)
