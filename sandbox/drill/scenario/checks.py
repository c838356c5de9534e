"""Validation of a scenario's scoring checks and of its reference run (the model answer), with
the work-order and handoff fields a step may carry."""

from __future__ import annotations

from typing import Any

from sandbox.dialogue.acts import ACTS
from sandbox.drill.scenario.errors import Collector
from sandbox.drill.scenario.fields import claim_field, int_field, slug_field, text_field, text_list, vocab_fields
from sandbox.drill.scenario.model import Check
from sandbox.drill.scenario.vocabulary import CHECK_TYPES, DIMENSIONS, OP_NAMES, REFERENCE_OPS


def parse_check(data: Any, path: tuple, c: Collector, facts: set[str], contact_keys: set[str]) -> Check | None:
    """One scoring check of ``checks``; None when it is not an object or its type is unknown."""
    if not isinstance(data, dict):
        c.add(path, "评分项必须是对象")
        return None
    cid = slug_field(data, "id", path, c, "评分项 id 必须是小写字母、数字、连字符组成的短标识", f"check-{path[-1]}")
    ctype = data.get("type")
    if ctype not in CHECK_TYPES:
        c.add(path + ("type",), f"未知评分类型；可选：{', '.join(CHECK_TYPES)}")
        return None
    dimension = data.get("dimension")
    if dimension not in DIMENSIONS:
        c.add(path + ("dimension",), f"维度必须是 {'、'.join(DIMENSIONS)} 之一")
    points = int_field(data, "points", path, c, 1, 30)
    title = text_field(data, "title", path, c, max_len=60)
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
        text_list(params["phrases"], path + ("phrases",), c, required=True)
    if "articles" in params:
        text_list(params["articles"], path + ("articles",), c, required=True)
    if "expect" in params:
        expect = params["expect"]
        if not isinstance(expect, dict) or not expect or set(expect) - {"type", "category", "priority", "queue"}:
            c.add(path + ("expect",), "expect 只能包含 type、category、priority、queue，且至少一项")
        else:
            vocab_fields(expect, path + ("expect",), c)
    if "queue" in params:
        vocab_fields({"queue": params["queue"]}, path, c)
    if "claim" in params:
        claim_field(params["claim"], path + ("claim",), c)
    if "acts" in params:
        text_list(params["acts"], path + ("acts",), c, required=True, allowed=tuple(ACTS))
    if "about" in params:
        text_list(params["about"], path + ("about",), c, required=True)
    if "min" in params and (not isinstance(params["min"], int) or not -5 <= params["min"] <= 5):
        c.add(path + ("min",), "min 必须是 -5 到 5 之间的整数（客户情绪）")
    if "summary_mentions" in params:
        text_list(params["summary_mentions"], path + ("summary_mentions",), c,
                  allowed=("intent", "request", "actions_taken", "verification_status", "mood"))
    return Check(cid, ctype, dimension or "", points, title, params)


def _handoff_fields(step: dict, path: tuple, c: Collector) -> None:
    from workorders import vocab

    vocab_fields({"queue": step.get("queue")}, path, c)
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


def parse_reference(data: Any, path: tuple, c: Collector, contact_keys: set[str]) -> tuple[dict[str, Any], ...]:
    """The reference run: known steps with their required fields, ending with ``finish``."""
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
            vocab_fields(step, p, c)
        if step["op"] == "handoff":
            _handoff_fields(step, p, c)
        if "wait" in step and (not isinstance(step["wait"], int) or not 0 <= step["wait"] <= 3600):
            c.add(p + ("wait",), "必须是 0 到 3600 之间的秒数")
        steps.append(dict(step))
    if steps and steps[-1].get("op") != "finish":
        c.add(path + (len(data) - 1,), "最后一步必须是 finish")
    return tuple(steps)
