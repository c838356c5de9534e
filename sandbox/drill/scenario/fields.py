"""Field validators shared by every part of a scenario: texts, integers, lists, short
identifiers, turns, templates (``{fact}`` placeholders), claims and work-order vocabularies.

Each takes the value, its path and a ``Collector`` (``sandbox.drill.scenario.errors``), records
what is wrong and returns a usable value so that checking goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sandbox.dialogue.claims import proposition_problems
from sandbox.drill.facts import PLACEHOLDER
from sandbox.drill.scenario.errors import Collector
from sandbox.drill.scenario.model import Turn
from sandbox.drill.scenario.vocabulary import DEFAULT_ASR_CONFIDENCE, KEY_SLUG, MAX_TURN_CHARS


def turns_field(value: Any, path: tuple, c: Collector, required: bool = True) -> tuple[Turn, ...]:
    """What someone says: one turn or a list, each a text or ``{text, asr: {text, confidence}}``."""
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


def text_field(data: dict, key: str, path: tuple, c: Collector, required: bool = True, max_len: int = 4000) -> str:
    """The text ``data[key]``, stripped (empty when missing or wrong)."""
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


def int_field(data: dict, key: str, path: tuple, c: Collector, lo: int, hi: int, default: int | None = None) -> int:
    """The integer ``data[key]`` within ``lo``…``hi`` (``lo`` when missing or wrong)."""
    value = data.get(key, default)
    if value is None:
        c.add(path + (key,), "缺少必填字段")
        return lo
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        c.add(path + (key,), f"必须是 {lo} 到 {hi} 之间的整数")
        return lo
    return value


def text_list(value: Any, path: tuple, c: Collector, allowed: Iterable[str] | None = None,
              required: bool = False) -> tuple[str, ...]:
    """A list of texts (numbers read as texts), each one of ``allowed`` when that is given."""
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


def slug_field(data: dict, field: str, path: tuple, c: Collector, message: str, fallback: str) -> str:
    """A short lowercase identifier field (rule id, contact key, check id); the fallback keeps checking going."""
    value = data.get(field)
    if not isinstance(value, str) or not KEY_SLUG.match(value):
        c.add(path + (field,), message)
        return fallback
    return value


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


def check_templates(value: Any, path: tuple, c: Collector, fact_names: set[str]) -> None:
    """Check every string under ``value`` (a turn list, a reference run...) as a template."""
    if isinstance(value, str):
        for problem in template_problems(value, fact_names):
            c.add(path, problem)
    elif isinstance(value, dict):
        for key, sub in value.items():
            check_templates(sub, path + (key,), c, fact_names)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            check_templates(sub, path + (i,), c, fact_names)


def claim_field(data: Any, path: tuple, c: Collector) -> None:
    """A proposition: ``{text: 规范说法, groups: [[同义词…], …]}``; the last group is the predicate."""
    for sub, message in proposition_problems(data):
        c.add(path + sub, message)


def vocab_fields(data: dict, path: tuple, c: Collector) -> None:
    """Work-order fields must use the work-order vocabularies (one source: workorders.vocab)."""
    from workorders import vocab

    lists = {"type": vocab.TYPES, "category": vocab.CATEGORIES, "priority": vocab.PRIORITIES, "queue": vocab.QUEUES}
    for key, allowed in lists.items():
        if key in data and data[key] not in allowed:
            c.add(path + (key,), f"取值 {data[key]!r} 无效；可选：{'、'.join(allowed)}")
