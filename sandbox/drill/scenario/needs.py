"""Validation of the agenda customer's parts of a contact (format v2): its needs, the customer
pool it is drawn from and its mood effects, and the check that every customer the pool can
draw can have each need met.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sandbox.dialogue.acts import ACTS
from sandbox.drill.agenda import MOOD_EFFECTS
from sandbox.drill.facts import POOL_FEATURES, POOL_KEYS, pool_members, record_facts, seed_records
from sandbox.drill.scenario.errors import Collector
from sandbox.drill.scenario.fields import check_templates, claim_field, slug_field, text_list
from sandbox.drill.scenario.model import Contact
from sandbox.drill.scenario.vocabulary import AGENT_OPS


def resolve_customers(contact: Contact, path: tuple, c: Collector, customer_ids: Any,
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


def parse_pool(value: Any, path: tuple, c: Collector) -> dict[str, Any]:
    """A customer pool: ``{segment, magic, gender, has}`` (each optional, at least one)."""
    if not isinstance(value, dict) or not value:
        c.add(path, f"customer_pool 必须是非空对象，可写：{', '.join(POOL_KEYS)}")
        return {}
    value = dict(value)
    if "persona" in value and "segment" not in value:
        value["segment"] = value.pop("persona")  # the spelling: persona means the customer's segment
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


def parse_mood_effects(value: Any, path: tuple, c: Collector) -> dict[str, int]:
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


def parse_needs(value: Any, path: tuple, c: Collector, facts: set[str]) -> tuple[dict[str, Any], ...]:
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
        nid = slug_field(item, "id", p, c, "需求 id 必须是小写字母、数字、连字符组成的短标识", f"need-{i + 1}")
        if nid in ids:
            c.add(p + ("id",), f"需求 id {nid!r} 重复")
        ids.add(nid)
        asks = item.get("ask")
        if isinstance(asks, str):
            asks = [asks]
        text_list(asks, p + ("ask",), c, required=True)
        met_by = item.get("met_by")
        if not isinstance(met_by, dict) or len(set(met_by) & {"fact", "claim", "acts", "op"}) != 1:
            c.add(p + ("met_by",), "met_by 必须且只能写 fact、claim、acts、op 其中之一（acts 可加 about）")
        else:
            if "fact" in met_by and met_by["fact"] not in facts:
                c.add(p + ("met_by", "fact"), f"未知事实 {met_by['fact']!r}；可用：{', '.join(sorted(facts))}")
            if "claim" in met_by:
                claim_field(met_by["claim"], p + ("met_by", "claim"), c)
            if "acts" in met_by:
                text_list(met_by["acts"], p + ("met_by", "acts"), c, required=True, allowed=tuple(ACTS))
            if "about" in met_by:
                text_list(met_by["about"], p + ("met_by", "about"), c, required=True)
            if "op" in met_by and met_by["op"] not in AGENT_OPS:
                c.add(p + ("met_by", "op"), f"{met_by['op']!r} 不是坐席能做的操作，这个需求永远无法满足；"
                      f"可选：{', '.join(sorted(AGENT_OPS))}")
            for key in sorted(set(met_by) - {"fact", "claim", "acts", "about", "op"}):
                c.add(p + ("met_by", key), "未知字段")
        for key in ("reply", "answer"):
            if key in item and not isinstance(item[key], str):
                c.add(p + (key,), f"{key} 必须是文本")
        check_templates([a for a in asks or [] if isinstance(a, str)], p + ("ask",), c, facts)
        check_templates({k: item[k] for k in ("reply", "answer") if isinstance(item.get(k), str)}, p, c, facts)
        if isinstance(met_by, dict) and "op" not in met_by and not isinstance(item.get("answer"), str):
            c.add(p + ("answer",), "请写 answer：一句能满足这个需求的坐席回答（模板），用于连贯性测试")
        for key in sorted(set(item) - {"id", "ask", "met_by", "reply", "answer"}):
            c.add(p + (key,), "未知字段")
        out.append({"id": nid, "ask": list(asks or []), "met_by": dict(met_by or {}), "reply": item.get("reply", ""),
                    "answer": item.get("answer", "")})
    return tuple(out)
