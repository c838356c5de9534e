import json
from pathlib import Path

import pytest

from tests.kb.helpers import save

SEED = Path(__file__).resolve().parents[2] / "seed_data"


def _seed_eval_lines() -> list[str]:
    combined = SEED / "kb_eval.jsonl"
    files = [combined] if combined.exists() else sorted((SEED / "kb" / "eval").glob("*.jsonl"))
    return [line for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_eval_reports_metrics_and_misses(runner, runtime, tmp_path):
    save(runtime, "E-1", "珊瑚卡挂失流程", category="借记卡")
    save(runtime, "E-2", "玳瑁理财赎回规则", category="理财")
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"text": "珊瑚卡挂失流程是怎样的", "target": "E-1"},
        {"text": "玳瑁理财的赎回规则", "target": "E-2"},
        {"text": "珊瑚卡挂失", "target": "NO-SUCH"},
    ]) + "\n\n", encoding="utf-8")
    out = runner.invoke(args=["kb", "eval", str(cases), "--k", "3", "--json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert set(body) == {"n", "k", "hit@1", "hit@k", "mrr@10", "misses"}
    assert body["n"] == 3 and body["k"] == 3
    assert body["hit@1"] == body["hit@k"] == round(2 / 3, 4) and body["mrr@10"] == round(2 / 3, 4), body["misses"]
    assert [m["target"] for m in body["misses"]] == ["NO-SUCH"]
    human = runner.invoke(args=["kb", "eval", str(cases)])
    assert human.exit_code == 0 and "hit@1" in human.output and "NO-SUCH" in human.output


def test_eval_fails_on_unreadable_files(runner, tmp_path):
    assert runner.invoke(args=["kb", "eval", str(tmp_path / "none.jsonl")]).exit_code != 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "target": "y"}\n{oops\n', encoding="utf-8")
    out = runner.invoke(args=["kb", "eval", str(bad)])
    assert out.exit_code != 0 and "第 2 行" in out.output
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"text": "x"}\n', encoding="utf-8")
    assert runner.invoke(args=["kb", "eval", str(wrong)]).exit_code != 0


@pytest.mark.slow
def test_seed_eval_file_scores_well(runner, runtime, tmp_path):
    lines = _seed_eval_lines()
    assert lines, "seed eval file missing"
    path = tmp_path / "seed_eval.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    body = json.loads(runner.invoke(args=["kb", "eval", str(path), "--json"]).output)
    assert body["n"] == len(lines)
    assert body["hit@k"] >= 0.85, body["misses"]
