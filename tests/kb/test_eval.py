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


def test_eval_without_file_reports_every_standard_set(runner, runtime, tmp_path, monkeypatch):
    from knowledge_base import evaluate as kb_eval

    save(runtime, "E-1", "珊瑚卡挂失流程", category="借记卡")
    save(runtime, "E-2", "玳瑁理财赎回规则", category="理财")
    tuning = tmp_path / "kb_eval.jsonl"
    tuning.write_text(json.dumps({"text": "珊瑚卡挂失", "target": "E-1"}, ensure_ascii=False) + "\n", encoding="utf-8")
    held = tmp_path / "kb" / "eval"
    held.mkdir(parents=True)
    (held / "heldout.jsonl").write_text(
        json.dumps({"text": "玳瑁理财赎回规则", "target": "E-2"}, ensure_ascii=False) + "\n"
        + json.dumps({"text": "玳瑁理财赎回规则", "target": "E-1"}, ensure_ascii=False) + "\n", encoding="utf-8")
    (held / "homophones.jsonl").write_text(json.dumps(
        {"text": "珊瑚卡挂师", "clean": "珊瑚卡挂失", "target": "E-1", "kind": "ime"}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    monkeypatch.setattr(kb_eval, "default_cases_path", lambda: tuning)
    out = runner.invoke(args=["kb", "eval", "--json"])
    assert out.exit_code == 0, out.output
    sets = json.loads(out.output)["sets"]
    assert [s["label"] for s in sets] == ["调参集", "留出集", "同音错字集", "同音错字集（改正后）"]
    assert [s["n"] for s in sets] == [1, 2, 1, 1]
    assert sets[0]["hit@1"] == 1.0 and sets[1]["hit@1"] == 0.5 and sets[3]["hit@1"] == 1.0
    assert sets[3]["source"] == "homophones.jsonl:clean"
    human = runner.invoke(args=["kb", "eval", "--all"])
    assert human.exit_code == 0 and "调参集" in human.output and "留出集" in human.output and "同音错字集" in human.output
    assert runner.invoke(args=["kb", "eval", "--all", str(tuning)]).exit_code != 0
    recorded = runner.invoke(args=["kb", "eval", "--record"])
    assert recorded.exit_code == 0 and "已记入评测历史" in recorded.output
    with runtime.transaction() as s:
        assert len(kb_eval.run_history(s)) == 4
