"""Validation of a scenario's contacts: customer, channel, mood, claims, lines, opening turns,
rules (their conditions, and rules that wait for each other in a cycle), fallback turns and
earlier work orders.

The agenda parts of a contact (needs, customer pool, mood effects) are checked in
``sandbox.drill.scenario.needs``.
"""

from __future__ import annotations

from typing import Any

from sandbox.dialogue.acts import ACTS
from sandbox.drill.agenda import LINE_KEYS
from sandbox.drill.scenario.errors import Collector
from sandbox.drill.scenario.fields import (
    check_templates,
    int_field,
    slug_field,
    text_field,
    text_list,
    turns_field,
    vocab_fields,
)
from sandbox.drill.scenario.model import Contact, Rule
from sandbox.drill.scenario.needs import parse_mood_effects, parse_needs, parse_pool
from sandbox.drill.scenario.vocabulary import (
    CHANNELS,
    CUSTOMER_ID,
    OP_NAMES,
    PRIOR_ORDER_KEYS,
    RULE_CONDITIONS,
    TRIGGER_CONDITIONS,
)


def _rule(data: Any, path: tuple, c: Collector, facts: set[str]) -> Rule | None:
    if not isinstance(data, dict):
        c.add(path, "规则必须是对象")
        return None
    rid = slug_field(data, "id", path, c, "规则 id 必须是小写字母、数字、连字符组成的短标识", f"rule-{path[-1]}")
    when = data.get("when")
    if not isinstance(when, dict) or not when:
        c.add(path + ("when",), "缺少触发条件 when")
        when = {}
    for key, value in when.items():
        p = path + ("when", key)
        if key not in RULE_CONDITIONS:
            c.add(p, f"未知条件；可选：{', '.join(sorted(RULE_CONDITIONS))}")
        elif key in ("said_any", "said_all", "not_said_any"):
            text_list(value, p, c, required=True)
            check_templates(value, p, c, facts)
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
    replies = turns_field(data.get("replies", data.get("reply")), path + ("replies" if "replies" in data else "reply",),
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


def parse_contact(data: Any, path: tuple, c: Collector, facts: set[str]) -> Contact | None:
    """One contact of ``contacts``; None when it is not even an object."""
    if not isinstance(data, dict):
        c.add(path, "联系人必须是对象")
        return None
    key = slug_field(data, "key", path, c, "key 必须是小写字母、数字组成的短标识", f"contact-{path[-1]}")
    customer = data.get("customer")
    pool = data.get("customer_pool")
    if pool is not None:
        if customer is not None:
            c.add(path + ("customer_pool",), "customer 与 customer_pool 只能写一个")
        pool = parse_pool(pool, path + ("customer_pool",), c)
        customer = ""
    elif not isinstance(customer, str) or not CUSTOMER_ID.match(customer):
        c.add(path + ("customer",), "必须是模拟客户编号，如 C001（或改用 customer_pool 从客户池抽取）")
        customer = ""
    channel = data.get("channel")
    if channel not in CHANNELS:
        c.add(path + ("channel",), f"渠道必须是 {'、'.join(CHANNELS)} 之一")
        channel = "文字"
    arrives_at = int_field(data, "arrives_at", path, c, 0, 3600, default=0)
    mood = int_field(data, "mood", path, c, -5, 5, default=0)
    patience = int_field(data, "patience", path, c, 10, 3600, default=90)
    claims = data.get("claims") or {}
    if not isinstance(claims, dict) or set(claims) - {"name", "id_last6", "phone_last4"}:
        c.add(path + ("claims",), "claims 只能包含 name、id_last6、phone_last4")
        claims = {}
    check_templates({k: str(v) for k, v in claims.items()}, path + ("claims",), c, facts)
    mood_effects = parse_mood_effects(data.get("mood_effects"), path + ("mood_effects",), c)
    identity_asr = data.get("identity_asr") or {}
    if not isinstance(identity_asr, dict) or set(identity_asr) - {"name", "id_last6", "phone_last4", "confidence"}:
        c.add(path + ("identity_asr",), "identity_asr 只能包含 name、id_last6、phone_last4、confidence")
        identity_asr = {}
    elif "confidence" in identity_asr and (isinstance(identity_asr["confidence"], bool) or not isinstance(
            identity_asr["confidence"], (int, float)) or not 0 <= identity_asr["confidence"] <= 1):
        c.add(path + ("identity_asr", "confidence"), "置信度必须是 0 到 1 之间的数")
        identity_asr = {}
    check_templates({k: str(v) for k, v in identity_asr.items() if k != "confidence"}, path + ("identity_asr",), c, facts)
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
            check_templates(v, path + ("lines", k), c, facts | ({"term"} if k == "term" else set()))
    opening = turns_field(data.get("opening"), path + ("opening",), c)
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
    fallback = turns_field(data.get("fallback"), path + ("fallback",), c, required=False)
    needs = parse_needs(data.get("needs"), path + ("needs",), c, facts)
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


def _prior_workorders(value: Any, path: tuple, c: Collector, facts: set[str]) -> tuple[dict[str, Any], ...]:
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
        days = int_field(item, "days_ago", p, c, 0, MAX_DAYS_AGO)
        for key in ("type", "category"):
            if key not in item:
                c.add(p + (key,), "缺少必填字段")
        vocab_fields({k: item[k] for k in ("type", "category", "priority", "queue") if k in item}, p, c)
        text_field(item, "title", p, c, max_len=vocab.MAX_TITLE)
        text_field(item, "description", p, c, required=False, max_len=vocab.MAX_DESCRIPTION)
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
            text_field(item, "resolution_note", p, c, max_len=vocab.MAX_DESCRIPTION)
        history = item.get("history") or []
        if not isinstance(history, list):
            c.add(p + ("history",), "history 必须是列表")
            history = []
        for j, entry in enumerate(history):
            q = p + ("history", j)
            if not isinstance(entry, dict):
                c.add(q, "工单记录必须是对象：{days_ago, note, visibility}")
                continue
            when = int_field(entry, "days_ago", q, c, 0, MAX_DAYS_AGO)
            if when > days:
                c.add(q + ("days_ago",), f"记录时间（{when} 天前）不能早于工单创建（{days} 天前）")
            text_field(entry, "note", q, c, max_len=vocab.MAX_NOTE)
            if entry.get("visibility", vocab.VISIBILITY_INTERNAL) not in vocab.VISIBILITIES:
                c.add(q + ("visibility",), f"可见范围只能是 {'、'.join(vocab.VISIBILITIES)}")
            for key in sorted(set(entry) - {"days_ago", "note", "visibility"}):
                c.add(q + (key,), "未知字段")
        for key in sorted(set(item) - PRIOR_ORDER_KEYS):
            c.add(p + (key,), "未知字段")
        check_templates({k: item[k] for k in ("title", "description", "resolution_note", "assignee", "staff")
                        if isinstance(item.get(k), str)}, p, c, facts)
        check_templates([e.get("note") for e in history if isinstance(e, dict) and isinstance(e.get("note"), str)],
                        p + ("history",), c, facts)
        out.append(dict(item))
    return tuple(out)


def _rule_cycles(rules: list[Rule], path: tuple, c: Collector) -> None:
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
