"""Parsing one scenario's YAML text into a ``ScenarioSpec``: every part is validated and all the
problems found (file, line, field) are raised together as ``ScenarioInvalid``."""

from __future__ import annotations

from pathlib import Path

import yaml

from sandbox.drill.scenario.checks import parse_check, parse_reference
from sandbox.drill.scenario.contacts import parse_contact
from sandbox.drill.scenario.errors import Collector, ScenarioError, ScenarioInvalid, line_index
from sandbox.drill.scenario.fields import check_templates, claim_field, int_field, text_field, text_list
from sandbox.drill.scenario.followups import parse_followups
from sandbox.drill.scenario.model import Check, Contact, ScenarioSpec, TimedEvent
from sandbox.drill.scenario.needs import resolve_customers
from sandbox.drill.scenario.vocabulary import (
    BASE_FACTS,
    DIFFICULTIES,
    FAULT_COMPONENTS,
    MAX_FACT_CHARS,
    PERSONAS,
    SCENARIO_YAML_LIMITS,
    SLUG,
)
from sandbox.safe_load import UnsafeInput, load_yaml, yaml_error_line


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
    c = Collector(file, line_index(root))
    if not isinstance(data, dict):
        raise ScenarioInvalid([ScenarioError(file, 1, "(文件)", "场景文件的顶层必须是键值对象")])
    sid = data.get("id")
    if not isinstance(sid, str) or not SLUG.match(sid):
        c.add(("id",), "id 必须是 3–64 位小写字母、数字、连字符")
        sid = ""
    stem = Path(file).stem
    if sid and file.endswith((".yaml", ".yml")) and stem != sid:
        c.add(("id",), f"id {sid!r} 与文件名 {stem!r} 不一致")
    version = int_field(data, "version", (), c, 1, 100000, default=1)
    title = text_field(data, "title", (), c, max_len=60)
    summary = text_field(data, "summary", (), c, max_len=200)
    difficulty = data.get("difficulty")
    if difficulty not in DIFFICULTIES:
        c.add(("difficulty",), f"难度必须是 {'、'.join(DIFFICULTIES)} 之一")
    persona = text_list(data.get("persona"), ("persona",), c, allowed=PERSONAS, required=True)
    tags = text_list(data.get("tags"), ("tags",), c)
    time_limit = int_field(data, "time_limit", (), c, 60, 3600)
    brief = text_field(data, "brief", (), c)
    expected = text_field(data, "expected_outcome", (), c)
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
        contact = parse_contact(raw, ("contacts", i), c, fact_names)
        if contact is None:
            continue
        if contact.key in keys:
            c.add(("contacts", i, "key"), f"联系人 key {contact.key!r} 重复")
        if customer_ids is not None and contact.customer and contact.customer not in customer_ids:
            c.add(("contacts", i, "customer"), f"模拟客户 {contact.customer} 不存在")
        contact = resolve_customers(contact, ("contacts", i), c, customer_ids, facts)
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
        at = int_field(ev, "at", p, c, 0, 3600)
        duration = ev.get("duration")
        if duration is not None and (not isinstance(duration, int) or duration < 1):
            c.add(p + ("duration",), "持续时间必须是正整数秒")
            duration = None
        message = ev.get("message") or f"{FAULT_COMPONENTS[ev['component']]}服务异常"
        events.append(TimedEvent(at, "fault", ev["component"], duration, str(message)))
    reference = parse_reference(data.get("reference_run"), ("reference_run",), c, keys)
    checks: list[Check] = []
    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        c.add(("checks",), "至少需要一个评分项（checks）")
        raw_checks = []
    check_ids: set[str] = set()
    for i, raw in enumerate(raw_checks):
        check = parse_check(raw, ("checks", i), c, fact_names, keys)
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
        claim_field(forbidden, ("forbidden_claims",), c)
    # Templates: what the simulated customer says, the model answer and the expected outcome.
    for i, raw in enumerate(raw_contacts):
        if isinstance(raw, dict):
            for key in ("opening", "fallback"):
                check_templates(raw.get(key), ("contacts", i, key), c, fact_names)
            rules = raw.get("rules")
            for j, rule in enumerate(rules if isinstance(rules, list) else []):
                if isinstance(rule, dict):
                    for key in ("reply", "replies"):
                        check_templates(rule.get(key), ("contacts", i, "rules", j, key), c, fact_names)
    followups = parse_followups(data.get("followups"), ("followups",), c)
    check_templates(data.get("expected_outcome"), ("expected_outcome",), c, fact_names)
    check_templates(data.get("reference_run"), ("reference_run",), c, fact_names)
    known = {"id", "version", "title", "summary", "difficulty", "persona", "tags", "time_limit", "brief",
             "expected_outcome", "facts", "contacts", "events", "reference_run", "checks", "forbidden_claims",
             "followups"}
    for key in sorted(set(data) - known):
        c.add((key,), "未知字段")
    if c.errors:
        raise ScenarioInvalid(c.errors)
    return ScenarioSpec(sid, version, title, summary, str(difficulty), persona, tags, time_limit, brief, expected,
                        facts, tuple(contacts), tuple(events), reference, tuple(checks), raw=data,
                        followups=followups)
