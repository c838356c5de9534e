"""Scenario files: parsing, validation with file/line/field errors, and the typed model.

The format is documented in docs/scenario-format.md. Run
``bankdrill scenarios validate PATH`` to check files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sandbox.dialogue.acts import ACTS
from sandbox.drill.agenda import LINE_KEYS, MOOD_EFFECTS
from sandbox.drill.facts import (
    IDENTITY_VARIANT_FACTS,
    PLACEHOLDER,
    POOL_FEATURES,
    POOL_KEYS,
    pool_members,
    record_facts,
    seed_records,
)
from sandbox.errors import ValidationFailed
from sandbox.safe_load import UnsafeInput, YamlLimits, load_yaml, yaml_error_line

DIMENSIONS = ("智能适配", "专业适配", "沟通与服务", "应急处置", "职业素养")
DIFFICULTIES = ("初级", "中级", "高级")
PERSONAS = ("老年", "青年", "企业", "普通", "情绪激动", "焦虑", "特殊需求")
CHANNELS = ("文字", "语音")
FAULT_COMPONENTS = {"bot": "智能识别/机器人", "kb": "知识库检索", "lookup": "客户信息查询"}

LOOKUP_EVENTS = ("lookup.customer", "lookup.accounts", "lookup.transactions", "lookup.cards", "lookup.bill",
                 "lookup.workorders")
EVENT_TYPES = (
    "drill.started", "drill.finished", "drill.expired", "contact.arrived", "message.customer",
    "message.agent", "asr.recognized", "kb.search", "kb.open", "suggestion.use", "identity.sms",
    "identity.failed", "identity.verified", "identity.locked", *LOOKUP_EVENTS, "freeze",
    "workorder.created", "workorder.updated", "handoff", "handoff.accepted", "fault.started",
    "fault.ended", "fault.blocked", "compliance.flag",
)
# Operation names usable in rules and checks: every event type, plus "lookup" for any lookup.
OP_NAMES = frozenset(EVENT_TYPES) | {"lookup"}

REFERENCE_OPS = {
    "say": {"text"}, "recognize": set(), "kb.search": {"query"}, "kb.open": {"article"},
    "suggestion.use": {"article"}, "identity.sms": set(), "identity.verify": {"method"},
    "lookup.customer": set(), "lookup.accounts": set(), "lookup.cards": set(),
    "lookup.transactions": set(), "lookup.bill": set(), "freeze": {"target"},
    "workorder.create": {"type", "priority", "queue"}, "handoff": {"queue", "summary"}, "finish": set(),
    # The customer's earlier work orders (工单记录) and changes to one of them (``index`` in that list).
    "lookup.workorders": set(), "workorder.note": {"text"}, "workorder.transition": {"to"},
}
CHECK_TYPES = {
    "op": {"op"}, "no_op": {"op"}, "before": {"first", "then"}, "first_reply_within": {"seconds"},
    "reply_fact": {"fact"}, "said_any": {"phrases"}, "article": {"articles"}, "workorder": {"expect"},
    "handoff": set(), "greeting": set(), "closing": set(), "empathy_first": set(),
    "fault_handled": {"within"}, "compliance": set(),
    # Rubric v2: judged by dialogue acts and claims (sandbox.dialogue).
    "claim": {"claim"}, "act": {"acts"}, "tone": set(), "answered": set(), "mood": set(),
}
RULE_CONDITIONS = {"said_any", "said_all", "not_said_any", "said_fact", "op", "after_rule", "not_after_rule", "act",
                   "silence", "mood_below", "mood_at_least"}
TRIGGER_CONDITIONS = {"said_any", "said_all", "said_fact", "op", "silence", "act"}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
KEY_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CUSTOMER_ID = re.compile(r"^C\d{3,}$")
DEFAULT_ASR_CONFIDENCE = 0.93
MAX_YAML_BYTES = 200_000
# A scenario is a few hundred nodes, nested about eight deep; anchors and aliases are refused.
SCENARIO_YAML_LIMITS = YamlLimits(max_bytes=MAX_YAML_BYTES, max_nodes=20_000, max_depth=32)
MAX_TURN_CHARS = 2000  # what a drill message may hold (the engine's MAX_MESSAGE_CHARS)
MAX_FACT_CHARS = 200


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Turn:
    text: str
    asr_text: str | None = None
    asr_confidence: float | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    when: dict[str, Any]
    replies: tuple[Turn, ...]
    mood: int = 0
    once: bool = True
    ends: bool = False


@dataclass(frozen=True)
class Contact:
    key: str
    customer: str
    channel: str
    arrives_at: int
    mood: int
    patience: int
    claims: dict[str, str]
    opening: tuple[Turn, ...]
    rules: tuple[Rule, ...]
    fallback: tuple[Turn, ...]
    needs: tuple[dict[str, Any], ...] = ()
    # v2: draw the customer from a pool (``customer`` is then the pool's first member, for tools
    # that need one id); per-contact mood effects and wordings of the agenda customer's lines.
    customer_pool: dict[str, Any] = field(default_factory=dict)
    mood_effects: dict[str, int] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)
    # Voice: what recognition makes of the identity details the customer gives (templates), and
    # with what confidence; e.g. ``{name: "{name_misheard}", id_last6: "{id_last6_dropped}"}``.
    identity_asr: dict[str, Any] = field(default_factory=dict)
    # Earlier work orders of this customer, created at drill start (sandbox.drill.prior_orders).
    prior_workorders: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TimedEvent:
    at: int
    type: str
    component: str
    duration: int | None
    message: str


@dataclass(frozen=True)
class Check:
    id: str
    type: str
    dimension: str
    points: int
    title: str
    params: dict[str, Any]


@dataclass(frozen=True)
class ScenarioSpec:
    id: str
    version: int
    title: str
    summary: str
    difficulty: str
    persona: tuple[str, ...]
    tags: tuple[str, ...]
    time_limit: int
    brief: str
    expected_outcome: str
    facts: dict[str, str]
    contacts: tuple[Contact, ...]
    events: tuple[TimedEvent, ...]
    reference_run: tuple[dict[str, Any], ...]
    checks: tuple[Check, ...]
    raw: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)

    @property
    def channel(self) -> str:
        return "语音" if any(c.channel == "语音" for c in self.contacts) else "文字"

    def contact(self, key: str) -> Contact:
        for c in self.contacts:
            if c.key == key:
                return c
        raise KeyError(key)

    def summary_dict(self) -> dict[str, Any]:
        """The public, answer-free description (what `scenarios list --json` prints)."""
        return {"id": self.id, "version": self.version, "title": self.title, "summary": self.summary,
                "difficulty": self.difficulty, "channel": self.channel, "persona": list(self.persona),
                "tags": list(self.tags), "time_limit": self.time_limit, "contacts": len(self.contacts)}


# --------------------------------------------------------------------------- errors with lines


@dataclass
class ScenarioError:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class ScenarioInvalid(ValidationFailed):
    """A scenario file failed validation; ``errors`` lists each problem with its line."""

    code = "scenario_invalid"

    def __init__(self, errors: list[ScenarioError], code: str | None = None) -> None:
        self.errors = errors
        super().__init__("场景文件有误：\n" + "\n".join(str(e) for e in errors), code=code,
                         details={"errors": [e.__dict__ for e in errors]})


def _line_index(root: yaml.Node | None) -> dict[tuple, int]:
    """Map each value's path (tuple of keys/indexes) to its 1-based line in the YAML text."""
    index: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                index[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
                index[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    if root is not None:
        walk(root, ())
    return index


class _Collector:
    def __init__(self, file: str, lines: dict[tuple, int]) -> None:
        self.file = file
        self.lines = lines
        self.errors: list[ScenarioError] = []

    def add(self, path: tuple, message: str) -> None:
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            probe = probe[:-1]
        label = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
        self.errors.append(ScenarioError(self.file, line or self.lines.get(()), label or "(文件)", message))


# --------------------------------------------------------------------------- validation


def _turns(value: Any, path: tuple, c: _Collector, required: bool = True) -> tuple[Turn, ...]:
    if value is None:
        if required:
            c.add(path, "至少需要一句话")
        return ()
    if not isinstance(value, list):
        value = [value]
    turns = []
    for i, item in enumerate(value):
        p = path + (i,)
        text = item if isinstance(item, str) else item.get("text") if isinstance(item, dict) else None
        if isinstance(text, str) and len(text) > MAX_TURN_CHARS:
            c.add(p, f"一句话不能超过 {MAX_TURN_CHARS} 字")
        if isinstance(item, str) and item.strip():
            turns.append(Turn(item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            asr = item.get("asr")
            if asr is None:
                turns.append(Turn(item["text"].strip()))
            elif isinstance(asr, dict) and isinstance(asr.get("text"), str):
                conf = asr.get("confidence", DEFAULT_ASR_CONFIDENCE)
                if not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
                    c.add(p + ("asr", "confidence"), "识别置信度必须是 0 到 1 之间的数")
                    conf = DEFAULT_ASR_CONFIDENCE
                turns.append(Turn(item["text"].strip(), asr["text"].strip(), float(conf)))
            else:
                c.add(p + ("asr",), "asr 需要 text（识别结果）和可选的 confidence")
        else:
            c.add(p, "每句话必须是非空字符串，或带 text 的对象")
    if required and not turns and value:
        pass
    elif required and not value:
        c.add(path, "至少需要一句话")
    return tuple(turns)


def _str(data: dict, key: str, path: tuple, c: _Collector, required: bool = True, max_len: int = 4000) -> str:
    value = data.get(key)
    if value is None:
        if required:
            c.add(path + (key,), "缺少必填字段")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        c.add(path + (key,), "必须是非空文本")
        return ""
    if len(value) > max_len:
        c.add(path + (key,), f"文本过长（最多 {max_len} 字）")
    return value.strip()


def _int(data: dict, key: str, path: tuple, c: _Collector, lo: int, hi: int, default: int | None = None) -> int:
    value = data.get(key, default)
    if value is None:
        c.add(path + (key,), "缺少必填字段")
        return lo
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        c.add(path + (key,), f"必须是 {lo} 到 {hi} 之间的整数")
        return lo
    return value


def _str_list(value: Any, path: tuple, c: _Collector, allowed: Iterable[str] | None = None,
              required: bool = False) -> tuple[str, ...]:
    if value is None:
        if required:
            c.add(path, "缺少必填字段")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        c.add(path, "必须是文本列表")
        return ()
    items = tuple(str(v).strip() for v in value if str(v).strip())
    if required and not items:
        c.add(path, "列表不能为空")
    if allowed is not None:
        allowed = tuple(allowed)
        for i, v in enumerate(items):
            if v not in allowed:
                c.add(path + (i,), f"取值 {v!r} 无效；可选：{'、'.join(allowed)}")
    return items


def _slug_field(data: dict, field: str, path: tuple, c: _Collector, message: str, fallback: str) -> str:
    """A short lowercase identifier field (rule id, contact key, check id); the fallback keeps checking going."""
    value = data.get(field)
    if not isinstance(value, str) or not KEY_SLUG.match(value):
        c.add(path + (field,), message)
        return fallback
    return value


def _rule(data: Any, path: tuple, c: _Collector, facts: set[str]) -> Rule | None:
    if not isinstance(data, dict):
        c.add(path, "规则必须是对象")
        return None
    rid = _slug_field(data, "id", path, c, "规则 id 必须是小写字母、数字、连字符组成的短标识", f"rule-{path[-1]}")
    when = data.get("when")
    if not isinstance(when, dict) or not when:
        c.add(path + ("when",), "缺少触发条件 when")
        when = {}
    for key, value in when.items():
        p = path + ("when", key)
        if key not in RULE_CONDITIONS:
            c.add(p, f"未知条件；可选：{', '.join(sorted(RULE_CONDITIONS))}")
        elif key in ("said_any", "said_all", "not_said_any"):
            _str_list(value, p, c, required=True)
            _templates(value, p, c, facts)
        elif key == "said_fact" and value not in facts:
            c.add(p, f"未知事实 {value!r}；可用：{', '.join(sorted(facts))}")
        elif key == "act":
            acts = value if isinstance(value, list) else [value]
            unknown = [a for a in acts if a not in ACTS]
            if not acts or unknown:
                c.add(p, f"未知话语行为 {unknown or value!r}；可选：{', '.join(ACTS)}")
        elif key == "op" and value not in OP_NAMES:
            c.add(p, f"未知操作 {value!r}")
        elif key in ("silence",) and (not isinstance(value, int) or isinstance(value, bool) or not 5 <= value <= 3600):
            c.add(p, "必须是 5 到 3600 之间的秒数")
        elif key in ("mood_below", "mood_at_least") and (not isinstance(value, int) or not -5 <= value <= 5):
            c.add(p, "必须是 -5 到 5 之间的整数")
        elif key in ("after_rule", "not_after_rule") and not isinstance(value, str):
            c.add(p, "必须是规则 id")
    if when and not (set(when) & TRIGGER_CONDITIONS):
        c.add(path + ("when",), "至少需要一个触发条件：said_any / said_all / said_fact / act / op / silence")
    if "reply" in data and "replies" in data:
        c.add(path, "reply 与 replies 只能写一个")
    replies = _turns(data.get("replies", data.get("reply")), path + ("replies" if "replies" in data else "reply",),
                     c, required=not data.get("ends") and "mood" not in data)
    mood = data.get("mood", 0)
    if not isinstance(mood, int) or isinstance(mood, bool) or not -5 <= mood <= 5:
        c.add(path + ("mood",), "情绪变化必须是 -5 到 5 之间的整数")
        mood = 0
    once = data.get("once", True)
    if not isinstance(once, bool):
        c.add(path + ("once",), "必须是 true 或 false")
        once = True
    ends = data.get("ends", False)
    if not isinstance(ends, bool):
        c.add(path + ("ends",), "必须是 true 或 false")
        ends = False
    unknown_keys = set(data) - {"id", "when", "reply", "replies", "mood", "once", "ends"}
    for key in sorted(unknown_keys):
        c.add(path + (key,), "未知字段")
    return Rule(rid, dict(when), replies, mood, once, ends)


def _contact(data: Any, path: tuple, c: _Collector, facts: set[str]) -> Contact | None:
    if not isinstance(data, dict):
        c.add(path, "联系人必须是对象")
        return None
    key = _slug_field(data, "key", path, c, "key 必须是小写字母、数字组成的短标识", f"contact-{path[-1]}")
    customer = data.get("customer")
    pool = data.get("customer_pool")
    if pool is not None:
        if customer is not None:
            c.add(path + ("customer_pool",), "customer 与 customer_pool 只能写一个")
        pool = _pool(pool, path + ("customer_pool",), c)
        customer = ""
    elif not isinstance(customer, str) or not CUSTOMER_ID.match(customer):
        c.add(path + ("customer",), "必须是模拟客户编号，如 C001（或改用 customer_pool 从客户池抽取）")
        customer = ""
    channel = data.get("channel")
    if channel not in CHANNELS:
        c.add(path + ("channel",), f"渠道必须是 {'、'.join(CHANNELS)} 之一")
        channel = "文字"
    arrives_at = _int(data, "arrives_at", path, c, 0, 3600, default=0)
    mood = _int(data, "mood", path, c, -5, 5, default=0)
    patience = _int(data, "patience", path, c, 10, 3600, default=90)
    claims = data.get("claims") or {}
    if not isinstance(claims, dict) or set(claims) - {"name", "id_last6", "phone_last4"}:
        c.add(path + ("claims",), "claims 只能包含 name、id_last6、phone_last4")
        claims = {}
    _templates({k: str(v) for k, v in claims.items()}, path + ("claims",), c, facts)
    mood_effects = _mood_effects(data.get("mood_effects"), path + ("mood_effects",), c)
    identity_asr = data.get("identity_asr") or {}
    if not isinstance(identity_asr, dict) or set(identity_asr) - {"name", "id_last6", "phone_last4", "confidence"}:
        c.add(path + ("identity_asr",), "identity_asr 只能包含 name、id_last6、phone_last4、confidence")
        identity_asr = {}
    elif "confidence" in identity_asr and (isinstance(identity_asr["confidence"], bool) or not isinstance(
            identity_asr["confidence"], (int, float)) or not 0 <= identity_asr["confidence"] <= 1):
        c.add(path + ("identity_asr", "confidence"), "置信度必须是 0 到 1 之间的数")
        identity_asr = {}
    _templates({k: str(v) for k, v in identity_asr.items() if k != "confidence"}, path + ("identity_asr",), c, facts)
    lines = data.get("lines") or {}
    if not isinstance(lines, dict):
        c.add(path + ("lines",), "lines 必须是键值对象")
        lines = {}
    for k, v in lines.items():
        if k not in LINE_KEYS:
            c.add(path + ("lines", k), f"未知台词；可选：{', '.join(LINE_KEYS)}")
        elif not isinstance(v, str) or not v.strip():
            c.add(path + ("lines", k), "台词必须是非空文本")
        else:
            _templates(v, path + ("lines", k), c, facts | ({"term"} if k == "term" else set()))
    opening = _turns(data.get("opening"), path + ("opening",), c)
    rules: list[Rule] = []
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        c.add(path + ("rules",), "rules 必须是列表")
        raw_rules = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        rule = _rule(raw, path + ("rules", i), c, facts)
        if rule is None:
            continue
        if rule.id in seen:
            c.add(path + ("rules", i, "id"), f"规则 id {rule.id!r} 重复")
        seen.add(rule.id)
        rules.append(rule)
    for i, rule in enumerate(rules):
        for condition in ("after_rule", "not_after_rule"):
            ref = rule.when.get(condition)
            if isinstance(ref, str) and ref not in seen:
                c.add(path + ("rules", i, "when", condition), f"引用了不存在的规则 {ref!r}")
    _rule_cycles(rules, path, c)
    fallback = _turns(data.get("fallback"), path + ("fallback",), c, required=False)
    needs = _needs(data.get("needs"), path + ("needs",), c, facts)
    if needs:
        for i, raw in enumerate(raw_rules):
            if isinstance(raw, dict) and isinstance(raw.get("when"), dict) and "silence" in raw["when"]:
                c.add(path + ("rules", i, "when", "silence"),
                      "有 needs 的客户由议程处理坐席沉默（等 patience 秒后追问，连续三次后离开）："
                      "请删除这条 silence 规则，用 patience 和 lines.silence 代替")
    prior = _prior_workorders(data.get("prior_workorders"), path + ("prior_workorders",), c, facts)
    unknown = set(data) - {"key", "customer", "customer_pool", "channel", "arrives_at", "mood", "patience", "claims",
                           "opening", "rules", "fallback", "needs", "mood_effects", "lines", "identity_asr",
                           "prior_workorders"}
    for k in sorted(unknown):
        c.add(path + (k,), "未知字段")
    return Contact(key, customer, channel, arrives_at, mood, patience, {k: str(v) for k, v in claims.items()},
                   opening, tuple(rules), fallback, needs, customer_pool=dict(pool or {}),
                   mood_effects=mood_effects, lines={str(k): str(v) for k, v in lines.items() if k in LINE_KEYS},
                   identity_asr=dict(identity_asr), prior_workorders=prior)


PRIOR_ORDER_KEYS = {"days_ago", "type", "category", "priority", "queue", "title", "description", "status", "assignee",
                    "resolution_note", "satisfaction", "staff", "history"}


def _prior_workorders(value: Any, path: tuple, c: _Collector, facts: set[str]) -> tuple[dict[str, Any], ...]:
    """Earlier work orders of the contact's customer: ``[{days_ago, type, category, priority, queue,
    title, description, status, resolution_note, history: [{days_ago, note, visibility}]}]``."""
    from sandbox.drill.prior_orders import MAX_DAYS_AGO, PATHS
    from workorders import vocab

    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        c.add(path, "prior_workorders 必须是非空列表")
        return ()
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        p = path + (i,)
        if not isinstance(item, dict):
            c.add(p, "历史工单必须是对象")
            continue
        days = _int(item, "days_ago", p, c, 0, MAX_DAYS_AGO)
        for key in ("type", "category"):
            if key not in item:
                c.add(p + (key,), "缺少必填字段")
        _vocab_fields({k: item[k] for k in ("type", "category", "priority", "queue") if k in item}, p, c)
        _str(item, "title", p, c, max_len=vocab.MAX_TITLE)
        _str(item, "description", p, c, required=False, max_len=vocab.MAX_DESCRIPTION)
        status = item.get("status", "新建")
        if status not in PATHS:
            c.add(p + ("status",), f"状态只能是 {'、'.join(PATHS)} 之一")
        elif status in ("待回访", "已办结") and not str(item.get("resolution_note") or "").strip():
            c.add(p + ("resolution_note",), f"状态为“{status}”的工单需要写处理结果说明 resolution_note")
        if "satisfaction" in item and item["satisfaction"] not in vocab.SATISFIED:
            c.add(p + ("satisfaction",), f"已办结工单的满意度只能是 {'、'.join(vocab.SATISFIED)}")
        for key in ("assignee", "staff"):
            if key in item and (not isinstance(item[key], str) or not item[key].strip() or len(item[key]) > 64):
                c.add(p + (key,), "必须是 1–64 字的文本")
        if "resolution_note" in item:
            _str(item, "resolution_note", p, c, max_len=vocab.MAX_DESCRIPTION)
        history = item.get("history") or []
        if not isinstance(history, list):
            c.add(p + ("history",), "history 必须是列表")
            history = []
        for j, entry in enumerate(history):
            q = p + ("history", j)
            if not isinstance(entry, dict):
                c.add(q, "工单记录必须是对象：{days_ago, note, visibility}")
                continue
            when = _int(entry, "days_ago", q, c, 0, MAX_DAYS_AGO)
            if when > days:
                c.add(q + ("days_ago",), f"记录时间（{when} 天前）不能早于工单创建（{days} 天前）")
            _str(entry, "note", q, c, max_len=vocab.MAX_NOTE)
            if entry.get("visibility", vocab.VISIBILITY_INTERNAL) not in vocab.VISIBILITIES:
                c.add(q + ("visibility",), f"可见范围只能是 {'、'.join(vocab.VISIBILITIES)}")
            for key in sorted(set(entry) - {"days_ago", "note", "visibility"}):
                c.add(q + (key,), "未知字段")
        for key in sorted(set(item) - PRIOR_ORDER_KEYS):
            c.add(p + (key,), "未知字段")
        _templates({k: item[k] for k in ("title", "description", "resolution_note", "assignee", "staff")
                    if isinstance(item.get(k), str)}, p, c, facts)
        _templates([e.get("note") for e in history if isinstance(e, dict) and isinstance(e.get("note"), str)],
                   p + ("history",), c, facts)
        out.append(dict(item))
    return tuple(out)


# Operations an agent performs: the only ones a need can wait for.
AGENT_OPS = frozenset({"identity.sms", "identity.verified", "identity.failed", *LOOKUP_EVENTS, "lookup", "freeze",
                       "workorder.created", "workorder.updated", "handoff", "kb.search", "kb.open", "suggestion.use",
                       "asr.recognized"})


def _resolve_customers(contact: Contact, path: tuple, c: _Collector, customer_ids: Any,
                       extra_facts: dict[str, str]) -> Contact:
    """Check the pool against the mock customers and the needs against each possible customer.

    A pool that matches nobody, or a need waiting for a fact a possible customer does not have
    (a bill for a customer without a credit card), can never be played: refused here.
    """
    records = seed_records()
    if customer_ids is not None and not isinstance(customer_ids, dict):
        records = {k: v for k, v in records.items() if k in customer_ids}
    elif isinstance(customer_ids, dict):
        records = customer_ids
    candidates = [contact.customer] if contact.customer else []
    if contact.customer_pool:
        candidates = pool_members(contact.customer_pool, records)
        if not candidates:
            c.add(path + ("customer_pool",), f"客户池没有匹配任何模拟客户：{contact.customer_pool}")
            return contact
        contact = replace(contact, customer=candidates[0])
    for j, need in enumerate(contact.needs):
        fact = need.get("met_by", {}).get("fact")
        if fact and fact not in extra_facts:
            lacking = [cid for cid in candidates if cid in records and not record_facts(records[cid]).get(fact)]
            if lacking:
                c.add(path + ("needs", j, "met_by", "fact"),
                      f"客户 {'、'.join(lacking[:5])} 没有“{fact}”这项数据，这个需求永远无法满足")
    return contact


def _pool(value: Any, path: tuple, c: _Collector) -> dict[str, Any]:
    """A customer pool: ``{segment, magic, gender, has}`` (each optional, at least one)."""
    if not isinstance(value, dict) or not value:
        c.add(path, f"customer_pool 必须是非空对象，可写：{', '.join(POOL_KEYS)}")
        return {}
    value = dict(value)
    if "persona" in value and "segment" not in value:
        value["segment"] = value.pop("persona")  # the issue's spelling: persona means the customer's segment
    out: dict[str, Any] = {}
    for key, raw in value.items():
        if key not in POOL_KEYS:
            c.add(path + (key,), f"未知字段；可写：{', '.join(POOL_KEYS)}")
            continue
        items = raw if isinstance(raw, list) else [raw]
        if not items or not all(isinstance(x, str) and x for x in items):
            c.add(path + (key,), "必须是文本或文本列表")
            continue
        if key == "has":
            for x in items:
                if x not in POOL_FEATURES:
                    c.add(path + (key,), f"未知特征 {x!r}；可选：{', '.join(POOL_FEATURES)}")
        out[key] = items
    return out


def _mood_effects(value: Any, path: tuple, c: _Collector) -> dict[str, int]:
    """Per-contact mood change by act or finding (``{empathize: 2, rude: -3}``), each -3…3."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.add(path, "mood_effects 必须是键值对象")
        return {}
    allowed = set(ACTS) | set(MOOD_EFFECTS)
    out: dict[str, int] = {}
    for key, v in value.items():
        if key not in allowed:
            c.add(path + (key,), f"未知话语行为或情绪来源；可选：{', '.join(sorted(allowed))}")
        elif not isinstance(v, int) or isinstance(v, bool) or not -3 <= v <= 3:
            c.add(path + (key,), "情绪变化必须是 -3 到 3 之间的整数")
        else:
            out[str(key)] = v
    return out


def _rule_cycles(rules: list[Rule], path: tuple, c: _Collector) -> None:
    """Rules that wait for each other (``after_rule`` in a cycle) can never fire: refuse them."""
    after = {r.id: r.when.get("after_rule") for r in rules if isinstance(r.when.get("after_rule"), str)}
    index = {r.id: i for i, r in enumerate(rules)}
    reported: set[str] = set()
    for start in after:
        chain = [start]
        node = after.get(start)
        while node is not None and node not in chain:
            chain.append(node)
            node = after.get(node)
        if node is not None and node == start and start not in reported:
            reported.update(chain)
            loop = " → ".join(chain + [start])
            c.add(path + ("rules", index[start], "when", "after_rule"),
                  f"规则互相等待，永远不会触发：{loop}")


def _needs(value: Any, path: tuple, c: _Collector, facts: set[str]) -> tuple[dict[str, Any], ...]:
    """The customer's agenda: ``[{id, ask, met_by: {fact|claim|acts(+about)|op}, reply}]``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        c.add(path, "needs 必须是列表")
        return ()
    out: list[dict[str, Any]] = []
    ids: set[str] = set()
    for i, item in enumerate(value):
        p = path + (i,)
        if not isinstance(item, dict):
            c.add(p, "需求必须是对象")
            continue
        nid = _slug_field(item, "id", p, c, "需求 id 必须是小写字母、数字、连字符组成的短标识", f"need-{i + 1}")
        if nid in ids:
            c.add(p + ("id",), f"需求 id {nid!r} 重复")
        ids.add(nid)
        asks = item.get("ask")
        if isinstance(asks, str):
            asks = [asks]
        _str_list(asks, p + ("ask",), c, required=True)
        met_by = item.get("met_by")
        if not isinstance(met_by, dict) or len(set(met_by) & {"fact", "claim", "acts", "op"}) != 1:
            c.add(p + ("met_by",), "met_by 必须且只能写 fact、claim、acts、op 其中之一（acts 可加 about）")
        else:
            if "fact" in met_by and met_by["fact"] not in facts:
                c.add(p + ("met_by", "fact"), f"未知事实 {met_by['fact']!r}；可用：{', '.join(sorted(facts))}")
            if "claim" in met_by:
                _claim_field(met_by["claim"], p + ("met_by", "claim"), c)
            if "acts" in met_by:
                _str_list(met_by["acts"], p + ("met_by", "acts"), c, required=True, allowed=tuple(ACTS))
            if "about" in met_by:
                _str_list(met_by["about"], p + ("met_by", "about"), c, required=True)
            if "op" in met_by and met_by["op"] not in AGENT_OPS:
                c.add(p + ("met_by", "op"), f"{met_by['op']!r} 不是坐席能做的操作，这个需求永远无法满足；"
                      f"可选：{', '.join(sorted(AGENT_OPS))}")
            for key in sorted(set(met_by) - {"fact", "claim", "acts", "about", "op"}):
                c.add(p + ("met_by", key), "未知字段")
        for key in ("reply", "answer"):
            if key in item and not isinstance(item[key], str):
                c.add(p + (key,), f"{key} 必须是文本")
        _templates([a for a in asks or [] if isinstance(a, str)], p + ("ask",), c, facts)
        _templates({k: item[k] for k in ("reply", "answer") if isinstance(item.get(k), str)}, p, c, facts)
        if isinstance(met_by, dict) and "op" not in met_by and not isinstance(item.get("answer"), str):
            c.add(p + ("answer",), "请写 answer：一句能满足这个需求的坐席回答（模板），用于连贯性测试")
        for key in sorted(set(item) - {"id", "ask", "met_by", "reply", "answer"}):
            c.add(p + (key,), "未知字段")
        out.append({"id": nid, "ask": list(asks or []), "met_by": dict(met_by or {}), "reply": item.get("reply", ""),
                    "answer": item.get("answer", "")})
    return tuple(out)


def _check(data: Any, path: tuple, c: _Collector, facts: set[str], contact_keys: set[str]) -> Check | None:
    if not isinstance(data, dict):
        c.add(path, "评分项必须是对象")
        return None
    cid = _slug_field(data, "id", path, c, "评分项 id 必须是小写字母、数字、连字符组成的短标识", f"check-{path[-1]}")
    ctype = data.get("type")
    if ctype not in CHECK_TYPES:
        c.add(path + ("type",), f"未知评分类型；可选：{', '.join(CHECK_TYPES)}")
        return None
    dimension = data.get("dimension")
    if dimension not in DIMENSIONS:
        c.add(path + ("dimension",), f"维度必须是 {'、'.join(DIMENSIONS)} 之一")
    points = _int(data, "points", path, c, 1, 30)
    title = _str(data, "title", path, c, max_len=60)
    params = {k: v for k, v in data.items() if k not in ("id", "type", "dimension", "points", "title")}
    for key in CHECK_TYPES[ctype] - set(params):
        c.add(path + (key,), f"{ctype} 类型的评分项缺少 {key}")
    for key in ("op", "first", "then", "after_op"):
        if key in params and params[key] not in OP_NAMES:
            c.add(path + (key,), f"未知操作 {params[key]!r}")
    if "fact" in params and params["fact"] not in facts:
        c.add(path + ("fact",), f"未知事实 {params['fact']!r}；可用：{', '.join(sorted(facts))}")
    if "contact" in params and params["contact"] not in contact_keys:
        c.add(path + ("contact",), f"未知联系人 {params['contact']!r}")
    for key in ("within", "seconds"):
        if key in params and (not isinstance(params[key], int) or not 1 <= params[key] <= 3600):
            c.add(path + (key,), "必须是 1 到 3600 之间的秒数")
    if "phrases" in params:
        _str_list(params["phrases"], path + ("phrases",), c, required=True)
    if "articles" in params:
        _str_list(params["articles"], path + ("articles",), c, required=True)
    if "expect" in params:
        expect = params["expect"]
        if not isinstance(expect, dict) or not expect or set(expect) - {"type", "category", "priority", "queue"}:
            c.add(path + ("expect",), "expect 只能包含 type、category、priority、queue，且至少一项")
        else:
            _vocab_fields(expect, path + ("expect",), c)
    if "queue" in params:
        _vocab_fields({"queue": params["queue"]}, path, c)
    if "claim" in params:
        _claim_field(params["claim"], path + ("claim",), c)
    if "acts" in params:
        _str_list(params["acts"], path + ("acts",), c, required=True, allowed=tuple(ACTS))
    if "about" in params:
        _str_list(params["about"], path + ("about",), c, required=True)
    if "min" in params and (not isinstance(params["min"], int) or not -5 <= params["min"] <= 5):
        c.add(path + ("min",), "min 必须是 -5 到 5 之间的整数（客户情绪）")
    if "summary_mentions" in params:
        _str_list(params["summary_mentions"], path + ("summary_mentions",), c,
                  allowed=("intent", "request", "actions_taken", "verification_status", "mood"))
    return Check(cid, ctype, dimension or "", points, title, params)


def _claim_field(data: Any, path: tuple, c: _Collector) -> None:
    """A proposition: ``{text: 规范说法, groups: [[同义词…], …]}``; the last group is the predicate."""
    items = data if isinstance(data, list) else [data]
    for i, item in enumerate(items):
        p = path + ((i,) if isinstance(data, list) else ())
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item.get("text", "").strip():
            c.add(p, "说法必须是对象，含 text（规范说法）与 groups（概念词组列表）")
            continue
        groups = item.get("groups")
        if not isinstance(groups, list) or not groups or not all(
                isinstance(g, list) and g and all(isinstance(w, str) and w.strip() for w in g) for g in groups):
            c.add(p + ("groups",), "groups 必须是非空的词组列表，每组至少一个词")
        if item.get("severity", "soft") not in ("soft", "hard"):
            c.add(p + ("severity",), "severity 只能是 soft 或 hard")
        for key in sorted(set(item) - {"id", "text", "groups", "severity", "note"}):
            c.add(p + (key,), "未知字段")


def _vocab_fields(data: dict, path: tuple, c: _Collector) -> None:
    """Work-order fields must use the work-order vocabularies (one source: workorders.vocab)."""
    from workorders import vocab

    lists = {"type": vocab.TYPES, "category": vocab.CATEGORIES, "priority": vocab.PRIORITIES, "queue": vocab.QUEUES}
    for key, allowed in lists.items():
        if key in data and data[key] not in allowed:
            c.add(path + (key,), f"取值 {data[key]!r} 无效；可选：{'、'.join(allowed)}")


def _handoff_fields(step: dict, path: tuple, c: _Collector) -> None:
    from workorders import vocab

    _vocab_fields({"queue": step.get("queue")}, path, c)
    summary = step.get("summary")
    if not isinstance(summary, dict):
        c.add(path + ("summary",), "summary 必须是对象")
        return
    allowed_keys = ("intent", "request", "actions_taken", "verification_status", "mood")
    for key in summary:
        if key not in allowed_keys:
            c.add(path + ("summary", key), f"未知字段；可选：{', '.join(allowed_keys)}")
    for key in ("intent", "request"):
        if not str(summary.get(key) or "").strip():
            c.add(path + ("summary", key), "转人工小结必须填写")
    if "verification_status" in summary and summary["verification_status"] not in vocab.VERIFICATION_STATUSES:
        c.add(path + ("summary", "verification_status"), f"可选：{'、'.join(vocab.VERIFICATION_STATUSES)}")
    if "mood" in summary and summary["mood"] not in vocab.MOODS:
        c.add(path + ("summary", "mood"), f"可选：{'、'.join(vocab.MOODS)}")


def _reference(data: Any, path: tuple, c: _Collector, contact_keys: set[str]) -> tuple[dict[str, Any], ...]:
    if not isinstance(data, list) or not data:
        c.add(path, "参考答案（reference_run）至少需要一步")
        return ()
    steps = []
    for i, step in enumerate(data):
        p = path + (i,)
        if not isinstance(step, dict) or step.get("op") not in REFERENCE_OPS:
            c.add(p + ("op",), f"未知步骤；可选：{', '.join(REFERENCE_OPS)}")
            continue
        for key in REFERENCE_OPS[step["op"]] - set(step):
            c.add(p + (key,), f"{step['op']} 步骤缺少 {key}")
        if "contact" in step and step["contact"] not in contact_keys:
            c.add(p + ("contact",), f"未知联系人 {step['contact']!r}")
        if step["op"] == "workorder.create":
            _vocab_fields(step, p, c)
        if step["op"] == "handoff":
            _handoff_fields(step, p, c)
        if "wait" in step and (not isinstance(step["wait"], int) or not 0 <= step["wait"] <= 3600):
            c.add(p + ("wait",), "必须是 0 到 3600 之间的秒数")
        steps.append(dict(step))
    if steps and steps[-1].get("op") != "finish":
        c.add(path + (len(data) - 1,), "最后一步必须是 finish")
    return tuple(steps)


def template_problems(text: str, fact_names: set[str]) -> list[str]:
    """What is wrong with the placeholders of one template (empty when it is fine).

    Only plain ``{fact}`` placeholders naming a known fact are allowed: no attribute
    (``{name.x}``), index (``{name[0]}``), conversion (``{name!r}``) or format spec
    (``{name:>9}``). ``{{`` and ``}}`` stand for literal braces.
    """
    problems = []
    for m in PLACEHOLDER.finditer(text):
        name = m.group(1)
        if name is not None and name not in fact_names:
            problems.append(f"占位符 {{{name}}} 引用了未知事实；可用：{', '.join(sorted(fact_names))}")
    rest = PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        bad = re.search(r"\{[^{}]*\}?|\}", rest)
        assert bad is not None  # rest holds a brace, and either alternative matches one
        problems.append(f"占位符 {bad.group()[:40]!r} 无效：只能写成 {{事实名}}，不能带属性、下标、转换或格式；"
                        "要显示花括号请写 {{ 或 }}")
    return problems


def _templates(value: Any, path: tuple, c: _Collector, fact_names: set[str]) -> None:
    """Check every string under ``value`` (a turn list, a reference run...) as a template."""
    if isinstance(value, str):
        for problem in template_problems(value, fact_names):
            c.add(path, problem)
    elif isinstance(value, dict):
        for key, sub in value.items():
            _templates(sub, path + (key,), c, fact_names)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            _templates(sub, path + (i,), c, fact_names)


BASE_FACTS = {"name", "id_last6", "phone_last4", "card_last4", "bill_amount", "bill_minimum", "bill_due_date",
              "account_last4", "balance", "segment", "risk_level"} | IDENTITY_VARIANT_FACTS


def parse_scenario(text: str, file: str = "<scenario>", customer_ids: set[str] | None = None) -> ScenarioSpec:
    """Parse and validate one scenario's YAML text; raise ScenarioInvalid listing every error."""
    try:
        data, root = load_yaml(text, SCENARIO_YAML_LIMITS, what="场景文件")
    except UnsafeInput as exc:
        raise ScenarioInvalid([ScenarioError(file, exc.line, "(YAML)", exc.reason)], code=exc.code) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioInvalid([ScenarioError(file, yaml_error_line(exc), "(YAML)",
                                             f"YAML 语法错误：{problem}")]) from None
    c = _Collector(file, _line_index(root))
    if not isinstance(data, dict):
        raise ScenarioInvalid([ScenarioError(file, 1, "(文件)", "场景文件的顶层必须是键值对象")])
    sid = data.get("id")
    if not isinstance(sid, str) or not SLUG.match(sid):
        c.add(("id",), "id 必须是 3–64 位小写字母、数字、连字符")
        sid = ""
    stem = Path(file).stem
    if sid and file.endswith((".yaml", ".yml")) and stem != sid:
        c.add(("id",), f"id {sid!r} 与文件名 {stem!r} 不一致")
    version = _int(data, "version", (), c, 1, 100000, default=1)
    title = _str(data, "title", (), c, max_len=60)
    summary = _str(data, "summary", (), c, max_len=200)
    difficulty = data.get("difficulty")
    if difficulty not in DIFFICULTIES:
        c.add(("difficulty",), f"难度必须是 {'、'.join(DIFFICULTIES)} 之一")
    persona = _str_list(data.get("persona"), ("persona",), c, allowed=PERSONAS, required=True)
    tags = _str_list(data.get("tags"), ("tags",), c)
    time_limit = _int(data, "time_limit", (), c, 60, 3600)
    brief = _str(data, "brief", (), c)
    expected = _str(data, "expected_outcome", (), c)
    facts_raw = data.get("facts") or {}
    if not isinstance(facts_raw, dict):
        c.add(("facts",), "facts 必须是键值对象")
        facts_raw = {}
    facts = {str(k): str(v) for k, v in facts_raw.items()}
    for key, value in facts.items():
        if len(value) > MAX_FACT_CHARS:
            c.add(("facts", key), f"事实取值不能超过 {MAX_FACT_CHARS} 字")
    fact_names = BASE_FACTS | set(facts)
    contacts: list[Contact] = []
    raw_contacts = data.get("contacts")
    if not isinstance(raw_contacts, list) or not raw_contacts:
        c.add(("contacts",), "至少需要一位客户（contacts）")
        raw_contacts = []
    keys: set[str] = set()
    for i, raw in enumerate(raw_contacts):
        contact = _contact(raw, ("contacts", i), c, fact_names)
        if contact is None:
            continue
        if contact.key in keys:
            c.add(("contacts", i, "key"), f"联系人 key {contact.key!r} 重复")
        if customer_ids is not None and contact.customer and contact.customer not in customer_ids:
            c.add(("contacts", i, "customer"), f"模拟客户 {contact.customer} 不存在")
        contact = _resolve_customers(contact, ("contacts", i), c, customer_ids, facts)
        keys.add(contact.key)
        contacts.append(contact)
    if contacts and contacts[0].arrives_at != 0:
        c.add(("contacts", 0, "arrives_at"), "第一位客户必须在第 0 秒到达")
    events: list[TimedEvent] = []
    raw_events = data.get("events") or []
    if not isinstance(raw_events, list):
        c.add(("events",), "events 必须是列表")
        raw_events = []
    for i, ev in enumerate(raw_events):
        p = ("events", i)
        if not isinstance(ev, dict):
            c.add(p, "事件必须是对象")
            continue
        if ev.get("type") != "fault":
            c.add(p + ("type",), "目前只支持 fault（系统故障）事件")
            continue
        if ev.get("component") not in FAULT_COMPONENTS:
            c.add(p + ("component",), f"故障组件必须是 {', '.join(FAULT_COMPONENTS)} 之一")
            continue
        at = _int(ev, "at", p, c, 0, 3600)
        duration = ev.get("duration")
        if duration is not None and (not isinstance(duration, int) or duration < 1):
            c.add(p + ("duration",), "持续时间必须是正整数秒")
            duration = None
        message = ev.get("message") or f"{FAULT_COMPONENTS[ev['component']]}服务异常"
        events.append(TimedEvent(at, "fault", ev["component"], duration, str(message)))
    reference = _reference(data.get("reference_run"), ("reference_run",), c, keys)
    checks: list[Check] = []
    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        c.add(("checks",), "至少需要一个评分项（checks）")
        raw_checks = []
    check_ids: set[str] = set()
    for i, raw in enumerate(raw_checks):
        check = _check(raw, ("checks", i), c, fact_names, keys)
        if check is None:
            continue
        if check.id in check_ids:
            c.add(("checks", i, "id"), f"评分项 id {check.id!r} 重复")
        check_ids.add(check.id)
        checks.append(check)
    forbidden = data.get("forbidden_claims") or []
    if not isinstance(forbidden, list):
        c.add(("forbidden_claims",), "forbidden_claims 必须是列表")
    else:
        _claim_field(forbidden, ("forbidden_claims",), c)
    # Templates: what the simulated customer says, the model answer and the expected outcome.
    for i, raw in enumerate(raw_contacts):
        if isinstance(raw, dict):
            for key in ("opening", "fallback"):
                _templates(raw.get(key), ("contacts", i, key), c, fact_names)
            rules = raw.get("rules")
            for j, rule in enumerate(rules if isinstance(rules, list) else []):
                if isinstance(rule, dict):
                    for key in ("reply", "replies"):
                        _templates(rule.get(key), ("contacts", i, "rules", j, key), c, fact_names)
    _templates(data.get("expected_outcome"), ("expected_outcome",), c, fact_names)
    _templates(data.get("reference_run"), ("reference_run",), c, fact_names)
    known = {"id", "version", "title", "summary", "difficulty", "persona", "tags", "time_limit", "brief",
             "expected_outcome", "facts", "contacts", "events", "reference_run", "checks", "forbidden_claims"}
    for key in sorted(set(data) - known):
        c.add((key,), "未知字段")
    if c.errors:
        raise ScenarioInvalid(c.errors)
    return ScenarioSpec(sid, version, title, summary, str(difficulty), persona, tags, time_limit, brief, expected,
                        facts, tuple(contacts), tuple(events), reference, tuple(checks), raw=data)


def scenario_files(path: Path) -> list[Path]:
    """The YAML files at ``path`` (a file or a folder)."""
    if path.is_dir():
        return sorted(list(path.glob("*.yaml")) + list(path.glob("*.yml")))
    return [path]


def load_file(path: Path, customer_ids: set[str] | None = None) -> ScenarioSpec:
    """Read and validate one file; unreadable files are reported like validation errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioInvalid([ScenarioError(str(path), None, "(文件)", f"无法读取：{exc}")]) from None
    return parse_scenario(text, str(path), customer_ids)


def seeded_scenarios_dir() -> Path:
    import seed_data

    return Path(seed_data.__file__).parent / "scenarios"
