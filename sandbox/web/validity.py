"""Validity of the mark: known good and known bad agents played through the real API.

For every seeded scenario, ``seed_data/validity/<scenario-id>.yaml`` lists variant runs in
the reference-run step format, each with a ``kind`` (a good agent in other words, a keyword
stuffer, wrong facts, a silent or rude operator, a violation...) and the band its score must
fall in. ``play_variants`` plays the reference run and every variant in fresh drills of one
instance and says, per run, whether the score landed in its band. The benchmark
(``benchmarks/validity.py``) and the regression tests (``tests/scoring/test_validity.py``)
are built on it.

File format::

    scenario: cc-bill-enquiry
    runs:
      - name: natural-plain          # unique in the file
        kind: natural                # one of KINDS (or violation_<what>)
        expect: {min: 90}            # optional; default DEFAULT_BANDS[kind]
        note: 口语化但规范的好回答     # optional
        steps:                       # same ops as reference_run; last step finish
          - {op: say, text: "{name}您好……"}

Placeholders are the contact's ``customer_facts`` plus full identifiers taken from the seed
record, in several spellings, so that a PII violation can be written without copying a
number into the file (see ``pii_facts``).
"""

from __future__ import annotations

import re
import statistics
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask import Flask

from sandbox.clock import FixedClock
from sandbox.drill.facts import customer_facts, customer_record
from sandbox.drill.scenario.model import ScenarioSpec
from sandbox.drill.scenario.vocabulary import REFERENCE_OPS
from sandbox.web.rehearse import AppFactory, Rehearsal, play, throwaway_instance

KINDS = ("reference", "natural", "stuffer", "dump", "wrong_facts", "silent", "rude",
         "violation_pii", "violation_secret", "violation_promise")
# What every scenario's file must hold: kind -> least number of runs ("violation" = any violation_*).
REQUIRED = {"natural": 2, "stuffer": 1, "dump": 1, "wrong_facts": 1, "silent": 1, "rude": 1, "violation": 1}
VIOLATION_RE = re.compile(r"^violation_[a-z][a-z_]*$")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

# Keys a step may carry besides op/contact/wait (the player reads exactly these).
STEP_KEYS: dict[str, set[str]] = {
    "say": {"text"}, "recognize": set(), "kb.search": {"query"}, "kb.open": {"article"},
    "suggestion.use": {"article"}, "identity.sms": set(), "identity.verify": {"method", "name", "id_last6", "phone_last4"},
    "lookup.customer": set(), "lookup.accounts": set(), "lookup.cards": set(),
    "lookup.transactions": {"account", "from", "to"}, "lookup.bill": {"card"}, "freeze": {"target", "index"},
    "workorder.create": {"type", "category", "priority", "queue", "title", "description"},
    "handoff": {"queue", "summary"}, "finish": set(),
    "lookup.workorders": set(), "workorder.note": {"text", "visibility", "index"},
    "workorder.transition": {"to", "note", "resolution_note", "satisfaction", "contact_result", "visibility", "index"},
}
COMMON_STEP_KEYS = {"op", "contact", "wait"}
RUN_KEYS = {"name", "kind", "expect", "note", "steps"}
_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789X"}
_CN_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


def variants_dir() -> Path:
    """Where the shipped variant files live (seed_data/validity)."""
    import seed_data

    return Path(seed_data.__file__).parent / "validity"


# --------------------------------------------------------------------------- bands


@dataclass(frozen=True)
class Band:
    """Where a kind of agent's score must land: a floor, a ceiling or a hard fail."""

    min: float | None = None
    max: float | None = None
    hard_fail: bool | None = None

    def holds(self, total: float | None, hard_fail: bool | None) -> bool:
        if total is None:
            return False
        if self.hard_fail is not None and bool(hard_fail) != self.hard_fail:
            return False
        if self.min is not None and total < self.min:
            return False
        if self.max is not None and total > self.max:
            return False
        return True

    def label(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"≥ {self.min:g}")
        if self.max is not None:
            parts.append(f"≤ {self.max:g}")
        if self.hard_fail is True:
            parts.append("hard fail")
        elif self.hard_fail is False:
            parts.append("no hard fail")
        return ", ".join(parts) or "any"


DEFAULT_BANDS: dict[str, Band] = {
    "reference": Band(min=95), "natural": Band(min=90), "stuffer": Band(max=50), "dump": Band(max=50),
    "wrong_facts": Band(max=60), "silent": Band(max=20), "rude": Band(max=60), "violation": Band(hard_fail=True),
}


def default_band(kind: str) -> Band:
    return DEFAULT_BANDS["violation" if VIOLATION_RE.match(kind) else kind]


# --------------------------------------------------------------------------- placeholders


def _grouped(value: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(value[i:i + size])
        i += size
    if i < len(value):
        parts.append(value[i:])
    return sep.join(p for p in parts if p)


def pii_facts(customer: str | dict[str, Any]) -> dict[str, str]:
    """Full identifiers of a mock customer in several spellings, for PII-violation runs.

    ``id_number``, ``phone``, ``card_number`` (first credit card), ``account_number`` (first
    account), each also ``_spaced``, ``_dashed`` and ``_fullwidth``; ``phone_cn`` in Chinese
    numerals. An identifier the customer does not have is an empty string.
    """
    c = customer_record(customer) if isinstance(customer, str) else customer
    cards = c.get("credit_cards") or []
    accounts = c.get("accounts") or []
    values = {"id_number": (c["id_number"], (6, 8, 4)), "phone": (c["phone"], (3, 4, 4)),
              "card_number": (cards[0]["number"] if cards else "", (4, 4, 4, 4)),
              "account_number": (accounts[0]["number"] if accounts else "", (4, 4, 4, 4))}
    out: dict[str, str] = {}
    for key, (value, sizes) in values.items():
        out[key] = value
        out[f"{key}_spaced"] = _grouped(value, sizes, " ") if value else ""
        out[f"{key}_dashed"] = _grouped(value, sizes, "-") if value else ""
        out[f"{key}_fullwidth"] = "".join(_FULLWIDTH.get(ch, ch) for ch in value)
    out["phone_cn"] = "".join(_CN_DIGITS[d] for d in c["phone"])
    return out


def run_facts(spec: ScenarioSpec, contact_key: str) -> dict[str, str]:
    """Every placeholder a variant run may use for one contact."""
    customer = spec.contact(contact_key).customer
    return {**pii_facts(customer), **customer_facts(customer, spec.facts)}


def _placeholders(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class VariantRun:
    scenario: str
    name: str
    kind: str
    band: Band
    steps: tuple[dict[str, Any], ...]
    note: str = ""
    line: int = 0


class VariantsInvalid(ValueError):
    """A variant file has errors; each names file:line and what is wrong."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _lines(text: str) -> dict[tuple, int]:
    """1-based line of each runs[i] and runs[i].steps[j] node."""
    out: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out
    if not isinstance(root, yaml.MappingNode):
        return out
    for key, value in root.value:
        if key.value != "runs" or not isinstance(value, yaml.SequenceNode):
            continue
        for i, run in enumerate(value.value):
            out[(i,)] = run.start_mark.line + 1
            if not isinstance(run, yaml.MappingNode):
                continue
            for rkey, rvalue in run.value:
                if rkey.value == "steps" and isinstance(rvalue, yaml.SequenceNode):
                    for j, step in enumerate(rvalue.value):
                        out[(i, j)] = step.start_mark.line + 1
    return out


def _band(value: Any, where: str, errors: list[str]) -> Band | None:
    if not isinstance(value, dict) or not value or set(value) - {"min", "max", "hard_fail"}:
        errors.append(f"{where}: expect 只能含 min / max / hard_fail")
        return None
    for key in ("min", "max"):
        if key in value and (isinstance(value[key], bool) or not isinstance(value[key], (int, float))
                             or not 0 <= value[key] <= 100):
            errors.append(f"{where}: expect.{key} 必须是 0–100 的分数")
            return None
    if "hard_fail" in value and not isinstance(value["hard_fail"], bool):
        errors.append(f"{where}: expect.hard_fail 必须是 true 或 false")
        return None
    return Band(value.get("min"), value.get("max"), value.get("hard_fail"))


def _check_step(step: Any, spec: ScenarioSpec, where: str, errors: list[str]) -> None:
    if not isinstance(step, dict) or step.get("op") not in REFERENCE_OPS:
        shown = step.get("op") if isinstance(step, dict) else step
        errors.append(f"{where}: 未知步骤 {shown}；可选：{', '.join(REFERENCE_OPS)}")
        return
    op = step["op"]
    for key in sorted(REFERENCE_OPS[op] - set(step)):
        errors.append(f"{where}: {op} 步骤缺少 {key}")
    for key in sorted(set(step) - COMMON_STEP_KEYS - STEP_KEYS[op]):
        errors.append(f"{where}: {op} 步骤不认识字段 {key}")
    keys = {c.key for c in spec.contacts}
    contact = step.get("contact", spec.contacts[0].key)
    if contact not in keys:
        errors.append(f"{where}: 未知联系人 {contact!r}")
        return
    if "wait" in step and (isinstance(step["wait"], bool) or not isinstance(step["wait"], int)
                           or not 0 <= step["wait"] <= 3600):
        errors.append(f"{where}: wait 必须是 0 到 3600 之间的秒数")
    texts: list[str] = []
    if op == "say":
        if not isinstance(step.get("text"), str) or not step["text"].strip():
            errors.append(f"{where}: say 的 text 不能为空")
        else:
            texts.append(step["text"])
    elif op == "workorder.create":
        texts += [str(step[k]) for k in ("title", "description") if k in step]
    elif op == "handoff":
        summary = step.get("summary")
        if isinstance(summary, dict):
            texts += [str(v) for v in summary.values()]
        else:
            errors.append(f"{where}: handoff 的 summary 必须是对象")
    facts = run_facts(spec, contact)
    for text in texts:
        try:
            names = _placeholders(text)
        except ValueError as exc:
            errors.append(f"{where}: 占位符写法有误（{exc}）")
            continue
        for name in names:
            if name not in facts:
                errors.append(f"{where}: 未知占位符 {{{name}}}")
            elif not str(facts[name]).strip():
                errors.append(f"{where}: 占位符 {{{name}}} 对该客户没有取值")


def parse_variants(text: str, spec: ScenarioSpec, file: str = "<variants>") -> list[VariantRun]:
    """Parse and check one scenario's variant file; raise VariantsInvalid listing every error."""
    errors: list[str] = []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise VariantsInvalid([f"{file}: YAML 格式错误：{exc}"]) from exc
    lines = _lines(text)
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise VariantsInvalid([f"{file}:1: 需要 scenario 和 runs 列表"])
    if data.get("scenario") != spec.id:
        errors.append(f"{file}:1: scenario 应为 {spec.id}（实为 {data.get('scenario')!r}）")
    runs: list[VariantRun] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["runs"]):
        where = f"{file}:{lines.get((i,), 0)}"
        if not isinstance(raw, dict):
            errors.append(f"{where}: 每个 run 必须是对象")
            continue
        for key in sorted(set(raw) - RUN_KEYS):
            errors.append(f"{where}: run 不认识字段 {key}")
        name, kind = raw.get("name"), raw.get("kind")
        if not isinstance(name, str) or not NAME_RE.match(name):
            errors.append(f"{where}: name 必须是小写字母、数字、- 或 _")
            name = f"#{i}"
        elif name in seen:
            errors.append(f"{where}: name {name} 重复")
        seen.add(name)
        if kind == "reference" or not isinstance(kind, str) or not (kind in KINDS or VIOLATION_RE.match(kind)):
            errors.append(f"{where}: 未知 kind {kind!r}；可选：{', '.join(KINDS[1:])}（或 violation_*）")
            continue
        band = _band(raw["expect"], where, errors) if "expect" in raw else default_band(kind)
        steps = raw.get("steps")
        if not isinstance(steps, list) or not steps:
            errors.append(f"{where}: steps 至少需要一步")
            continue
        for j, step in enumerate(steps):
            _check_step(step, spec, f"{file}:{lines.get((i, j), 0)} ({name} 第 {j + 1} 步)", errors)
        if isinstance(steps[-1], dict) and steps[-1].get("op") != "finish":
            errors.append(f"{file}:{lines.get((i, len(steps) - 1), 0)} ({name}): 最后一步必须是 finish")
        if band is not None:
            runs.append(VariantRun(spec.id, name, kind, band, tuple(dict(s) for s in steps if isinstance(s, dict)),
                                   str(raw.get("note") or ""), lines.get((i,), 0)))
    if errors:
        raise VariantsInvalid(errors)
    return runs


def missing_kinds(runs: list[VariantRun]) -> list[str]:
    """Required kinds a scenario's runs lack (``natural×2`` style labels); empty when complete."""
    counts: dict[str, int] = {}
    for run in runs:
        key = "violation" if VIOLATION_RE.match(run.kind) else run.kind
        counts[key] = counts.get(key, 0) + 1
    return [f"{kind}×{n}" if n > 1 else kind for kind, n in REQUIRED.items() if counts.get(kind, 0) < n]


def load_variants(spec: ScenarioSpec, directory: Path | None = None) -> list[VariantRun]:
    """The variant runs of ``spec`` from ``directory`` (default: the shipped ones)."""
    path = (directory or variants_dir()) / f"{spec.id}.yaml"
    if not path.exists():
        raise VariantsInvalid([f"{path}: 缺少场景 {spec.id} 的变体文件"])
    return parse_variants(path.read_text(encoding="utf-8"), spec, str(path))


def reference_run(spec: ScenarioSpec) -> VariantRun:
    """The scenario's own model answer as a run of kind ``reference``."""
    return VariantRun(spec.id, "reference", "reference", DEFAULT_BANDS["reference"], tuple(spec.reference_run))


# --------------------------------------------------------------------------- playing


@dataclass
class Row:
    """One run's outcome: its score next to the band it should fall in."""

    scenario: str
    run: str
    kind: str
    band: str
    total: float | None = None
    auto_total: float | None = None
    hard_fail: bool | None = None
    hard_fails: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    in_band: bool = False
    error: str | None = None
    moods: dict[str, str] = field(default_factory=dict)  # contact -> the customer's mood when the drill ended

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def row_for(run: VariantRun, result: Rehearsal) -> Row:
    row = Row(run.scenario, run.name, run.kind, run.band.label(), error=result.error)
    report = result.report
    if report is not None and result.error is None:
        row.total, row.auto_total, row.hard_fail = report["total"], report["auto_total"], report["hard_fail"]
        row.hard_fails = [f["kind"] for f in report.get("hard_fails", [])]
        row.failed_checks = [c["id"] for c in report["checks"] if not c["passed"]]
        row.in_band = run.band.holds(report["total"], report["hard_fail"])
    return row


def play_run(app: Flask, clock: FixedClock, spec: ScenarioSpec, run: VariantRun, token: str,
             staff_token: str) -> Row:
    """Play one run in a new practice drill and score it against its band."""
    result = play(app, clock, spec, token, staff_token, run.steps, extra_facts=pii_facts)
    row = row_for(run, result)
    if result.drill_id is not None:
        resp = app.test_client().get(f"/api/v1/drills/{result.drill_id}",
                                     headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 200:
            row.moods = {c["contact"]: c["mood"] for c in resp.get_json()["conversations"]}
    return row


def _tokens(app: Flask) -> tuple[str, str]:
    from sandbox.users.services import get_user, issue_token

    runtime = app.extensions["bankdrill"]
    with runtime.transaction() as s:
        return (issue_token(s, runtime.clock, get_user(s, "candidate1")),
                issue_token(s, runtime.clock, get_user(s, "examiner")))


def _spec(app: Flask, scenario_id: str) -> ScenarioSpec:
    from sandbox.drill.scenario.store import scenario_spec

    with app.extensions["bankdrill"].session_factory() as s:
        return scenario_spec(s, scenario_id)


def play_variants(app: Flask, scenario_id: str, directory: Path | None = None,
                  include_reference: bool = True) -> list[Row]:
    """Play the reference run and every variant of ``scenario_id`` on ``app``, one drill each.

    The app must run on a ``FixedClock`` (the player moves it); the demo users
    ``candidate1`` and ``examiner`` play the agent and read the customer's phone.
    """
    clock = app.extensions["bankdrill"].clock
    if not isinstance(clock, FixedClock):
        raise TypeError("play_variants needs an app built with a FixedClock (CLOCK setting)")
    spec = _spec(app, scenario_id)
    token, staff = _tokens(app)
    runs = ([reference_run(spec)] if include_reference else []) + load_variants(spec, directory)
    return [play_run(app, clock, spec, run, token, staff) for run in runs]


def validity_in_sandbox(factory: AppFactory, scenario_ids: list[str] | None = None,
                        directory: Path | None = None) -> list[Row]:
    """Build a throwaway seeded instance and play every scenario's runs (default: all seeded)."""
    from sandbox.drill.scenario.files import load_file, scenario_files, seeded_scenarios_dir

    with throwaway_instance(factory, "bankdrill-validity-") as app:
        ids = scenario_ids or [load_file(p).id for p in scenario_files(seeded_scenarios_dir())]
        if directory is not None and not scenario_ids:
            ids = [sid for sid in ids if (directory / f"{sid}.yaml").exists()]  # a set covering some scenarios
        return [row for sid in ids for row in play_variants(app, sid, directory)]


# --------------------------------------------------------------------------- tables


def _kinds(rows: list[Row]) -> list[str]:
    seen = {r.kind for r in rows}
    extra = sorted(seen - set(KINDS))
    return [k for k in KINDS if k in seen] + extra


def _cell(rows: list[Row]) -> str:
    parts = []
    for r in rows:
        if r.error:
            parts.append("error")
            continue
        hf = " HF" if r.hard_fail else ""
        parts.append(f"{r.total:g}{hf} {'✔' if r.in_band else '✘'}")
    return " / ".join(parts) or "—"


def markdown_table(rows: list[Row]) -> str:
    """Scenario × kind; a cell lists each run of that kind (score, HF = hard fail, ✔/✘ band)."""
    kinds = _kinds(rows)
    head = "| scenario | " + " | ".join(kinds) + " |"
    rule = "|---|" + "---|" * len(kinds)
    bands = "| *band* | " + " | ".join(default_band(k).label() for k in kinds) + " |"
    lines = [head, rule, bands]
    for scenario in dict.fromkeys(r.scenario for r in rows):
        mine = [r for r in rows if r.scenario == scenario]
        lines.append(f"| {scenario} | " + " | ".join(_cell([r for r in mine if r.kind == k]) for k in kinds) + " |")
    return "\n".join(lines)


def summary(rows: list[Row]) -> list[dict]:
    """Per kind: runs, min / mean / max score, hard fails, runs in band, errors."""
    out = []
    for kind in _kinds(rows):
        mine = [r for r in rows if r.kind == kind]
        scores = [r.total for r in mine if r.total is not None]
        out.append({"kind": kind, "band": default_band(kind).label(), "runs": len(mine),
                    "min": min(scores) if scores else None, "mean": round(statistics.mean(scores), 1) if scores else None,
                    "max": max(scores) if scores else None, "hard_fails": sum(1 for r in mine if r.hard_fail),
                    "in_band": sum(1 for r in mine if r.in_band), "errors": sum(1 for r in mine if r.error)})
    return out


def summary_table(rows: list[Row]) -> str:
    lines = ["| kind | band | runs | min | mean | max | hard fails | in band |", "|---|---|---|---|---|---|---|---|"]
    for s in summary(rows):
        err = f" ({s['errors']} errors)" if s["errors"] else ""
        lines.append(f"| {s['kind']} | {s['band']} | {s['runs']} | {s['min']} | {s['mean']} | {s['max']} | "
                     f"{s['hard_fails']} | {s['in_band']}/{s['runs']}{err} |")
    total = len(rows)
    ok = sum(1 for r in rows if r.in_band)
    lines.append(f"| **all** | | {total} | | | | {sum(1 for r in rows if r.hard_fail)} | {ok}/{total} |")
    return "\n".join(lines)


def runs_table(rows: list[Row]) -> str:
    lines = ["| scenario | run | kind | total | hard fail | band | failed checks | end mood |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        score = "error: " + (r.error or "") if r.error else f"{r.total:g}"
        hf = ", ".join(r.hard_fails) if r.hard_fail else ""
        moods = ", ".join(f"{k}: {v}" for k, v in r.moods.items()) if len(r.moods) > 1 else "".join(r.moods.values())
        lines.append(f"| {r.scenario} | {r.run} | {r.kind} | {score} | {hf} | {r.band} {'✔' if r.in_band else '✘'} | "
                     f"{', '.join(r.failed_checks)} | {moods} |")
    return "\n".join(lines)


def rehearse_with_variants(factory: AppFactory, scenario_texts: dict[str, str], directory: Path | None = None
                           ) -> tuple[list[Row], list[str]]:
    """On a throwaway seeded instance with these scenario texts, play each reference run and
    the variant runs found in ``directory`` (default: the shipped ones). Returns the rows and
    the ids of scenarios that have no variant file (their reference run is played alone)."""
    from sandbox.drill.scenario.store import save_scenario

    rows: list[Row] = []
    without: list[str] = []
    with throwaway_instance(factory, "bankdrill-rehearse-") as app:
        runtime = app.extensions["bankdrill"]
        with runtime.transaction() as s:
            for sid, text in scenario_texts.items():
                save_scenario(s, runtime.clock, text, file=f"{sid}.yaml")
        for sid in scenario_texts:
            path = (directory or variants_dir()) / f"{sid}.yaml"
            if path.exists():
                rows += play_variants(app, sid, directory)
            else:
                without.append(sid)
                rows += _reference_only(app, sid)
    return rows, without


def _reference_only(app: Flask, scenario_id: str) -> list[Row]:
    spec = _spec(app, scenario_id)
    token, staff = _tokens(app)
    return [play_run(app, app.extensions["bankdrill"].clock, spec, reference_run(spec), token, staff)]
