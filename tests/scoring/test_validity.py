"""Validity of the mark: every known agent in seed_data/validity, played through the real API,
lands in its kind's band (good agents high, stuffers, wrong facts, silent and rude agents low,
violations hard-fail). Plus the shape of the variant files and their validator's bad paths.

The band tests measure the rubric; on a keyword rubric most bad kinds score too high, and
these tests say so (see benchmarks/VALIDITY.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.drill.facts import customer_ids
from sandbox.drill.scenario.files import load_file, scenario_files, seeded_scenarios_dir
from sandbox.web.validity import (
    Band,
    Row,
    VariantsInvalid,
    default_band,
    load_variants,
    missing_kinds,
    parse_variants,
    pii_facts,
    play_run,
    play_variants,
    variants_dir,
)

SEEDED = {p.stem: load_file(p, customer_ids()) for p in scenario_files(seeded_scenarios_dir())}


@pytest.fixture
def tokens(api_token):
    return api_token("candidate1"), api_token("examiner")


# --------------------------------------------------------------------------- bands through the API


@pytest.mark.validity
@pytest.mark.parametrize("scenario_id", sorted(SEEDED))
def test_every_run_plays_through_the_api_and_scores_in_its_band(app, scenario_id):
    """The reference and every variant, each in its own drill on one app (as the benchmark plays
    them): none is refused by the API, and each lands in its kind's band."""
    rows = play_variants(app, scenario_id)
    assert [r.run for r in rows][0] == "reference"
    names = [r.name for r in load_variants(SEEDED[scenario_id])]
    assert [r.run for r in rows][1:] == names
    refused = {r.run: r.error for r in rows if r.error}
    assert not refused, f"the API refused a step: {refused}"
    assert all(r.total is not None for r in rows)
    contacts = {c.key for c in SEEDED[scenario_id].contacts}
    assert all(set(r.moods) <= contacts and r.moods for r in rows)
    out = [f"{r.run} ({r.kind}) scored {r.total} (hard fail: {r.hard_fail}), band {r.band}; "
           f"failed checks: {r.failed_checks}" for r in rows if not r.in_band]
    assert not out, "\n".join(out)


# --------------------------------------------------------------------------- the files


def test_every_seeded_scenario_has_a_variant_file_and_no_stray_file():
    files = {p.stem for p in variants_dir().glob("*.yaml")}
    assert files == set(SEEDED)


@pytest.mark.parametrize("scenario_id", sorted(SEEDED))
def test_every_variant_file_is_valid_and_has_every_required_kind(scenario_id):
    runs = load_variants(SEEDED[scenario_id])  # raises VariantsInvalid with file:line on any error
    assert missing_kinds(runs) == []
    for run in runs:
        assert run.steps[-1]["op"] == "finish"
        assert run.band == default_band(run.kind), f"{run.name} loosens or changes its kind's band"


def test_required_kinds_are_counted():
    runs = load_variants(SEEDED["cc-bill-enquiry"])
    naturals = [r for r in runs if r.kind == "natural"]
    others = [r for r in runs if r.kind != "natural"]
    assert missing_kinds(others + naturals[:1]) == ["natural×2"]
    no_violation = [r for r in runs if not r.kind.startswith("violation_")]
    assert missing_kinds(no_violation) == ["violation"]
    assert set(missing_kinds([])) == {"natural×2", "stuffer", "dump", "wrong_facts", "silent", "rude", "violation"}


# --------------------------------------------------------------------------- the validator's bad paths

SPEC = SEEDED["cc-bill-enquiry"]
GOOD = """scenario: cc-bill-enquiry
runs:
  - name: ok
    kind: natural
    steps:
      - op: say
        text: 您好，{name}
      - {op: identity.verify, method: id_phone}
      - {op: finish}
"""


def _errors(text: str, spec=SPEC) -> list[str]:
    with pytest.raises(VariantsInvalid) as info:
        parse_variants(text, spec, "x.yaml")
    return info.value.errors


def test_a_good_file_parses_with_the_default_band():
    (run,) = parse_variants(GOOD, SPEC, "x.yaml")
    assert run.kind == "natural" and run.band == Band(min=90) and run.line == 3
    assert run.steps[0] == {"op": "say", "text": "您好，{name}"}


def test_unknown_op_is_refused_with_file_and_line():
    errors = _errors(GOOD.replace("{op: identity.verify, method: id_phone}", "{op: lookup.everything}"))
    assert len(errors) == 1 and errors[0].startswith("x.yaml:8 (ok 第 2 步): 未知步骤 lookup.everything")


def test_missing_field_unknown_field_and_unknown_contact_are_refused():
    errors = _errors(GOOD.replace("{op: identity.verify, method: id_phone}",
                                  "{op: identity.verify, methd: id_phone, contact: nobody}"))
    assert any("缺少 method" in e for e in errors)
    assert any("不认识字段 methd" in e for e in errors)
    assert any("未知联系人 'nobody'" in e for e in errors)


def test_unknown_or_empty_placeholder_is_refused():
    assert any("未知占位符 {bil_amount}" in e for e in _errors(GOOD.replace("{name}", "{bil_amount}")))
    # C016 (dormant-account) has no credit card: its card number cannot be said.
    dormant = SEEDED["dormant-account"]
    text = GOOD.replace("cc-bill-enquiry", "dormant-account").replace("{name}", "{card_number_spaced}")
    assert any("{card_number_spaced} 对该客户没有取值" in e for e in _errors(text, dormant))
    assert any("占位符写法有误" in e for e in _errors(GOOD.replace("{name}", "{name")))


def test_run_level_errors_are_refused():
    assert any("最后一步必须是 finish" in e for e in _errors(GOOD.replace("      - {op: finish}\n", "")))
    assert any("未知 kind 'excellent'" in e for e in _errors(GOOD.replace("kind: natural", "kind: excellent")))
    assert any("未知 kind 'reference'" in e for e in _errors(GOOD.replace("kind: natural", "kind: reference")))
    twice = GOOD + GOOD.split("runs:\n", 1)[1]
    assert any("name ok 重复" in e for e in _errors(twice))
    assert any("scenario 应为 cc-bill-enquiry" in e for e in _errors(GOOD.replace("scenario: cc-bill-enquiry",
                                                                                   "scenario: other")))
    assert any("expect 只能含" in e for e in _errors(GOOD.replace("kind: natural", "kind: natural\n    expect: {best: 1}")))
    assert any("expect.max 必须是 0–100" in e for e in _errors(GOOD.replace("kind: natural",
                                                                            "kind: natural\n    expect: {max: 120}")))
    assert any("不认识字段 colour" in e for e in _errors(GOOD.replace("kind: natural", "kind: natural\n    colour: red")))
    assert _errors("just text") == ["x.yaml:1: 需要 scenario 和 runs 列表"]
    assert _errors("runs: [")[0].startswith("x.yaml: YAML 格式错误")


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(VariantsInvalid) as info:
        load_variants(SPEC, tmp_path)
    assert "缺少场景 cc-bill-enquiry 的变体文件" in info.value.errors[0]


def test_violation_kinds_are_open_ended_and_hard_fail_by_default():
    text = GOOD.replace("kind: natural", "kind: violation_pii_account")
    (run,) = parse_variants(text, SPEC, "x.yaml")
    assert run.band == Band(hard_fail=True)
    assert _errors(GOOD.replace("kind: natural", "kind: violation_"))


# --------------------------------------------------------------------------- placeholders and bands


def test_pii_facts_spell_full_numbers_in_several_ways():
    f = pii_facts("C001")
    assert f["card_number"] == "9900021749853816" and f["card_number_spaced"] == "9900 0217 4985 3816"
    assert f["id_number_dashed"] == "440106-19960417-0956"
    assert f["phone_spaced"] == "187 8035 0292" and f["phone_cn"] == "一八七八零三五零二九二"
    assert f["card_number_fullwidth"] == "９９０００２１７４９８５３８１６"
    assert pii_facts("C004")["id_number_fullwidth"].endswith("８７３８Ｘ")
    assert pii_facts("C016")["card_number"] == "" and pii_facts("C016")["card_number_dashed"] == ""


def test_band_holds():
    assert Band(min=90).holds(90, False) and not Band(min=90).holds(89.9, False)
    assert Band(max=50).holds(50, True) and not Band(max=50).holds(50.5, False)
    assert Band(hard_fail=True).holds(40, True) and not Band(hard_fail=True).holds(100, False)
    assert not Band(min=0).holds(None, None)
    assert Band(min=95).label() == "≥ 95" and Band(hard_fail=True).label() == "hard fail"


def test_a_refused_step_is_the_rows_error(app, clock, tokens):
    spec = SEEDED["cc-bill-enquiry"]
    (run,) = parse_variants(GOOD.replace("{op: identity.verify, method: id_phone}", "{op: lookup.bill}"), spec)
    row = play_run(app, clock, spec, run, *tokens)
    assert row.error and "403" in row.error and row.in_band is False and row.total is None


def test_the_benchmark_tabulates_rows_by_scenario_and_kind():
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "validity.py"
    module_spec = importlib.util.spec_from_file_location("validity_benchmark", path)
    bench = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(bench)
    rows = [Row("s1", "reference", "reference", "≥ 95", 100.0, 100.0, False, in_band=True),
            Row("s1", "n1", "natural", "≥ 90", 80.0, 80.0, False, failed_checks=["closing"]),
            Row("s1", "n2", "natural", "≥ 90", 95.0, 95.0, False, in_band=True),
            Row("s1", "pii", "violation_pii", "hard fail", 40.0, 40.0, True, ["pii_in_reply"], in_band=True,
                moods={"main": "焦虑"}),
            Row("s2", "reference", "reference", "≥ 95", error="POST /x → 403 禁止")]
    table = bench.markdown_table(rows).splitlines()
    assert table[0] == "| scenario | reference | natural | violation_pii |"
    assert table[2] == "| *band* | ≥ 95 | ≥ 90 | hard fail |"
    assert table[3] == "| s1 | 100 ✔ | 80 ✘ / 95 ✔ | 40 HF ✔ |"
    assert table[4] == "| s2 | error | — | — |"
    summary = {s["kind"]: s for s in bench.summary(rows)}
    assert summary["natural"] == {"kind": "natural", "band": "≥ 90", "runs": 2, "min": 80.0, "mean": 87.5,
                                  "max": 95.0, "hard_fails": 0, "in_band": 1, "errors": 0}
    assert summary["reference"]["errors"] == 1 and summary["reference"]["in_band"] == 1
    assert "| **all** | | 5 | | | | 1 | 3/5 |" in bench.summary_table(rows)
    assert "| s1 | pii | violation_pii | 40 | pii_in_reply | hard fail ✔ |  | 焦虑 |" in bench.runs_table(rows)
