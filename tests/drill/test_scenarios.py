"""Scenario files: every seeded one validates and is winnable; errors name file, line and field."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from sandbox.drill.facts import customer_ids
from sandbox.drill.scenario.errors import ScenarioInvalid
from sandbox.drill.scenario.files import load_file, scenario_files, seeded_scenarios_dir
from sandbox.drill.scenario.parse import parse_scenario
from sandbox.web.rehearse import rehearse

SEEDED = scenario_files(seeded_scenarios_dir())


def test_enough_scenarios_are_shipped():
    assert len(SEEDED) >= 19  # 16 seeded + the fault scenarios of issue 14 (other branches add more)


@pytest.mark.parametrize("path", SEEDED, ids=[p.stem for p in SEEDED])
def test_seeded_scenario_validates(path: Path):
    spec = load_file(path, customer_ids())
    assert spec.id == path.stem
    assert sum(c.points for c in spec.checks) > 0
    assert spec.reference_run[-1]["op"] == "finish"


@pytest.fixture
def tokens(api_token):
    return api_token("candidate1"), api_token("examiner")


@pytest.mark.parametrize("path", SEEDED, ids=[p.stem for p in SEEDED])
def test_reference_run_completes_and_scores_high(app, clock, tokens, path):
    spec = load_file(path)
    result = rehearse(app, clock, spec, *tokens)
    assert result.error is None, result.error
    assert result.report["hard_fail"] is False
    failed = [c["id"] for c in result.report["checks"] if not c["passed"]]
    assert result.report["total"] >= 95, failed


def _lookup_first(spec):
    steps = list(spec.reference_run)
    verify = next((i for i, s in enumerate(steps) if s["op"] == "identity.verify"), None)
    lookup = next((i for i, s in enumerate(steps) if s["op"].startswith("lookup.")), None)
    if verify is None or lookup is None or lookup < verify:
        return None
    step = steps.pop(lookup)
    steps.insert(verify, step)
    return dataclasses.replace(spec, reference_run=tuple(steps))


WITH_LOOKUPS = [p for p in SEEDED if _lookup_first(load_file(p)) is not None]


@pytest.mark.parametrize("path", WITH_LOOKUPS, ids=[p.stem for p in WITH_LOOKUPS])
def test_reference_run_with_lookup_before_verification_hard_fails(app, clock, tokens, path):
    spec = _lookup_first(load_file(path))
    # The refused lookup makes the player stop; the drill is then finished by hand.
    result = rehearse(app, clock, spec, *tokens)
    assert result.error and "403" in result.error
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    from sandbox.drill.models import Drill

    with app.extensions["bankdrill"].transaction() as s:
        drill_id = s.query(Drill).order_by(Drill.id.desc()).first().id
    report = client.post(f"/api/v1/drills/{drill_id}/finish", headers=headers).get_json()
    assert report["hard_fail"] is True and report["total"] <= 40
    assert report["hard_fails"][0]["kind"] == "lookup_before_verification"


def test_schema_errors_name_file_line_and_field(tmp_path):
    text = (seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8")
    broken = text.replace("difficulty: 初级", "difficulty: 超难").replace("    channel: 文字", "    channel: 传真")
    path = tmp_path / "cc-bill-enquiry.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ScenarioInvalid) as info:
        load_file(path)
    errors = {(e.field, e.line) for e in info.value.errors}
    lines = broken.splitlines()
    diff_line = next(i for i, text in enumerate(lines, 1) if text.startswith("difficulty:"))
    chan_line = next(i for i, text in enumerate(lines, 1) if "channel: 传真" in text)
    assert ("difficulty", diff_line) in errors
    assert ("contacts[0].channel", chan_line) in errors
    assert all(str(path) in str(e) for e in info.value.errors)


@pytest.mark.parametrize("text,field", [
    ("id: [unclosed", "(YAML)"),
    ("- just\n- a list\n", "(文件)"),
])
def test_malformed_yaml_is_a_clear_error(text, field):
    with pytest.raises(ScenarioInvalid) as info:
        parse_scenario(text, "x.yaml")
    assert info.value.errors[0].field == field


def test_unknown_customer_and_rule_references_are_reported():
    text = (seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8")
    text = text.replace("customer: C001", "customer: C999").replace(
        "    needs:\n", "    rules:\n      - id: late\n        when: {op: lookup.bill, after_rule: nope}\n        reply: 嗯。\n"
                     "    needs:\n", 1)
    assert "after_rule: nope" in text
    with pytest.raises(ScenarioInvalid) as info:
        parse_scenario(text, "cc-bill-enquiry.yaml", customer_ids())
    messages = " ".join(str(e) for e in info.value.errors)
    assert "C999" in messages and "nope" in messages


def test_cli_validate_list_and_rehearse(runner, tmp_path):
    result = runner.invoke(args=["scenarios", "validate", str(seeded_scenarios_dir())])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nversion: x\n", encoding="utf-8")
    result = runner.invoke(args=["scenarios", "validate", str(bad)])
    assert result.exit_code == 1 and "bad.yaml:2: version" in result.output
    result = runner.invoke(args=["scenarios", "list", "--json"])
    rows = json.loads(result.output)
    assert {r["id"] for r in rows} == {p.stem for p in SEEDED}
    assert {"id", "title", "difficulty", "channel", "time_limit"} <= set(rows[0])
    result = runner.invoke(args=["scenarios", "rehearse", "cc-bill-enquiry", "--no-variants", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out[0]["scenario"] == "cc-bill-enquiry" and out[0]["total"] >= 95 and out[0]["hard_fail"] is False
    result = runner.invoke(args=["scenarios", "rehearse"])
    assert result.exit_code == 1


def test_cli_rehearse_plays_the_variant_runs_and_prints_their_table(runner, tmp_path):
    result = runner.invoke(args=["scenarios", "rehearse", "cc-bill-enquiry"])
    assert result.exit_code == 0, result.output
    table = result.output
    assert "| cc-bill-enquiry |" in table and "stuffer" in table and "wrong_facts" in table
    row = next(line for line in table.splitlines() if line.startswith("| cc-bill-enquiry |"))
    assert "✘" not in row and row.count("✔") >= 10
    # A variant file whose band is wrong shows up at once.
    variants = (Path(__file__).parents[2] / "seed_data" / "validity" / "cc-bill-enquiry.yaml").read_text(encoding="utf-8")
    folder = tmp_path / "variants"
    folder.mkdir()
    (folder / "cc-bill-enquiry.yaml").write_text(
        re.sub(r"(kind: stuffer\n\s+expect:) \{[^}]*\}", r"\1 {min: 90}", variants, count=1), encoding="utf-8")
    result = runner.invoke(args=["scenarios", "rehearse", "cc-bill-enquiry", "--variants-dir", str(folder), "--json"])
    rows = json.loads(result.output)["rows"]
    stuffer = next(r for r in rows if r["kind"] == "stuffer")
    assert stuffer["in_band"] is False and stuffer["total"] <= 50
    assert all(r["in_band"] for r in rows if r["kind"] != "stuffer")
    result = runner.invoke(args=["scenarios", "rehearse", "cc-bill-enquiry", "--variants-dir", str(folder)])
    assert "不在应有区间" in result.output and "cc-bill-enquiry/stuffer" in result.output
    # A scenario without variants: its reference run alone, and a hint saying so.
    empty = tmp_path / "none"
    empty.mkdir()
    result = runner.invoke(args=["scenarios", "rehearse", "cc-bill-enquiry", "--variants-dir", str(empty)])
    assert result.exit_code == 0 and "没有变体答案" in result.output


def test_cli_rehearse_on_an_instance_never_initialised_says_so(empty_database, tmp_path):
    from sandbox.app import create_app

    app = create_app({"HOME": str(tmp_path / "fresh"), "DATABASE_URL": empty_database, "TESTING": True})
    result = app.test_cli_runner().invoke(args=["scenarios", "rehearse", "--all"])
    assert result.exit_code != 0
    assert "bankdrill init" in result.output and "Traceback" not in result.output
